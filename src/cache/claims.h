/* SPDX-License-Identifier: MIT */
/*
 * claims.h - claims on ranges of pages: a fill, a write-back, an eviction
 * or a write fault holds one while it works on some pages, and the others
 * wait or step aside.  Each page cache and each set of private pages
 * (private.h) has its own.
 */
#ifndef USERMAP_CLAIMS_H
#define USERMAP_CLAIMS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ranges.h"

#define CLAIM_SLOTS 8

struct um_claims {
    pthread_mutex_t lock;
    pthread_cond_t done;
    struct um_range run[CLAIM_SLOTS];  /* end 0: a free slot */
};

/*
 *   CLAIM_FILL   waits for overlapping claims and for a free slot: a fill
 *                is always claimed, so that file I/O holding a claim
 *                never meets one that read the file before it wrote;
 *   CLAIM_MUST   the same (a write, a write-back);
 *   CLAIM_TRY    never waits: -1 if the pages or all slots are busy.
 */
enum claim_mode { CLAIM_FILL, CLAIM_MUST, CLAIM_TRY };

void claims_init(struct um_claims *c);
void claims_destroy(struct um_claims *c);

/* Claims [start, end).  Returns the slot to give to claims_release(), or
 * -1; *waited says the pages may have changed meanwhile. */
int claims_take(struct um_claims *c, uint64_t start, uint64_t end, enum claim_mode mode,
                bool *waited);

/* Gives a slot back (-1: nothing to give). */
void claims_release(struct um_claims *c, int slot);

#endif
