/* SPDX-License-Identifier: MIT */
/*
 * claims.c - claims on ranges of pages (see claims.h).  A handful of
 * slots under one mutex: claims are few and short, and the code runs in
 * fault handlers (the SIGBUS one included), so it allocates nothing.
 */
#include "claims.h"

void claims_init(struct um_claims *c)
{
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->done, NULL);
    for (unsigned i = 0; i < CLAIM_SLOTS; i++)
        c->run[i] = (struct um_range){ 0, 0 };
}

void claims_destroy(struct um_claims *c)
{
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->done);
}

static bool overlaps_a_claim(const struct um_claims *c, uint64_t start, uint64_t end)
{
    for (unsigned i = 0; i < CLAIM_SLOTS; i++)
        if (c->run[i].end && c->run[i].start < end && start < c->run[i].end)
            return true;
    return false;
}

static int free_slot(const struct um_claims *c)
{
    for (unsigned i = 0; i < CLAIM_SLOTS; i++)
        if (!c->run[i].end)
            return (int)i;
    return -1;
}

int claims_take(struct um_claims *c, uint64_t start, uint64_t end, enum claim_mode mode,
                bool *waited)
{
    int slot = -1;

    *waited = false;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        bool busy = overlaps_a_claim(c, start, end);

        if (!busy)
            slot = free_slot(c);
        if (slot >= 0) {
            c->run[slot] = (struct um_range){ start, end };
            break;
        }
        if (mode == CLAIM_TRY)
            break;
        pthread_cond_wait(&c->done, &c->lock);
        *waited = *waited || busy;
    }
    pthread_mutex_unlock(&c->lock);
    return slot;
}

void claims_release(struct um_claims *c, int slot)
{
    if (slot < 0)
        return;
    pthread_mutex_lock(&c->lock);
    c->run[slot] = (struct um_range){ 0, 0 };
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->lock);
}
