/* SPDX-License-Identifier: MIT */
/*
 * evict.c - the budget of a pool and the eviction policies.
 *
 * Resident bytes are reserved before a fill (evict_reserve), so that
 * threads filling at once cannot together overshoot the limit.  Victims
 * are chosen under the frames lock and taken out of their caches after
 * it, each contiguous run with one hole punch.
 *
 * usermap does not see accesses to pages that are present, so "recently
 * used" is read from the page tables: a page mapped in some region was
 * touched since its entries were last cleared (cache_page_referenced).
 *   FIFO   evicts in fill order.
 *   CLOCK  gives a referenced page one second chance.  A page filled for
 *          a fault is referenced by that fault's own access: it gets its
 *          chance without a look at the page tables, and a page that had
 *          its chance goes without one, so CLOCK never clears entries.
 *   LRU    approximates least-recently-used with an age per page that a
 *          reference resets and each pass of the hand lowers.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "evict.h"
#include "flusher.h"
#include "pool.h"
#include "private.h"
#include "ranges.h"

#define LRU_MAX_AGE 3
#define KEEP_NEWEST_MAX 8

/* Room for every page the budget holds, twice over, made up front: frames
 * are noted from fault handlers, the SIGBUS one included, where growing
 * the ring (malloc) is no business.  A full ring still grows. */
int frames_init(struct um_frames *f, uint64_t limit, size_t page)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    if (!limit)
        return 0;
    f->cap = (size_t)(2 * (limit / page) + 64);
    f->ring = malloc(f->cap * sizeof(*f->ring));
    if (!f->ring) {
        pthread_mutex_destroy(&f->lock);
        return -1;
    }
    return 0;
}

void frames_destroy(struct um_frames *f)
{
    pthread_mutex_destroy(&f->lock);
    free(f->ring);
}

static struct um_frame *at(struct um_frames *f, size_t i)
{
    return &f->ring[(f->head + i) % f->cap];
}

static int grow(struct um_frames *f)
{
    size_t cap = f->cap ? f->cap * 2 : 1024;
    struct um_frame *ring = malloc(cap * sizeof(*ring));

    if (!ring)
        return -1;
    for (size_t i = 0; i < f->count; i++)
        ring[i] = *at(f, i);
    free(f->ring);
    f->ring = ring;
    f->cap = cap;
    f->head = 0;
    return 0;
}

static void push(struct um_frames *f, struct um_frame fr)
{
    if (f->count == f->cap && grow(f) < 0)
        return;     /* untracked: the page stays resident until its cache closes */
    *at(f, f->count++) = fr;
}

/* A new frame, in fill order. */
static void note(struct um_frames *f, struct um_frame fr)
{
    fr.seq = f->next_seq++;
    push(f, fr);
}

static struct um_frame pop(struct um_frames *f)
{
    struct um_frame fr = *at(f, 0);

    f->head = (f->head + 1) % f->cap;
    f->count--;
    return fr;
}

void evict_note_filled(struct um_pool *pool, struct um_cache *c, uint64_t off, uint64_t len,
                       bool touched)
{
    uint64_t page = pool->cfg.page_size;

    if (!pool->cfg.memory_limit)
        return;
    pthread_mutex_lock(&pool->frames.lock);
    for (uint64_t p = off; p < off + len; p += page)
        note(&pool->frames, (struct um_frame){ .cache = c, .off = p, .touched = touched });
    pthread_mutex_unlock(&pool->frames.lock);
}

void evict_note_private(struct um_pool *pool, struct um_private *p, uint64_t off)
{
    pthread_mutex_lock(&pool->frames.lock);
    note(&pool->frames, (struct um_frame){ .priv = p, .off = off });
    pthread_mutex_unlock(&pool->frames.lock);
}

/* Drops the frames of one owner (cache or private pages). */
static void forget(struct um_pool *pool, const struct um_cache *c, const struct um_private *p)
{
    struct um_frames *f = &pool->frames;
    size_t kept = 0;

    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->count; i++)
        if (at(f, i)->cache != c || at(f, i)->priv != p)
            *at(f, kept++) = *at(f, i);
    f->count = kept;
    pthread_mutex_unlock(&f->lock);
}

void evict_forget(struct um_pool *pool, struct um_cache *c)
{
    forget(pool, c, NULL);
}

void evict_forget_private(struct um_pool *pool, struct um_private *p)
{
    forget(pool, NULL, p);
}

/* Whether the policy lets fr go now; if not, fr is updated to go back in
 * the ring. */
static bool policy_allows(enum um_policy policy, struct um_frame *fr, uint64_t page)
{
    bool referenced;

    /* A private page's use cannot be seen without dropping it, which
     * would lose it: private pages get no second chance. */
    if (policy == UM_POLICY_FIFO || fr->priv)
        return true;
    if (policy == UM_POLICY_CLOCK) {
        /* Each page is asked at most once, so nothing needs clearing. */
        if (!fr->age && (fr->touched || cache_page_referenced(fr->cache, fr->off, page, false))) {
            fr->age = 1;
            return false;
        }
        return true;
    }
    referenced = cache_page_referenced(fr->cache, fr->off, page, true);
    if (referenced) {
        fr->age = LRU_MAX_AGE;
        return false;
    }
    if (fr->age) {
        fr->age--;
        return false;
    }
    return true;
}

/*
 * Picks up to cap victims worth want bytes into out; each frame is looked
 * at most twice, so a ring of unevictable or busy pages ends the search.
 * Returns how many.
 */
static size_t choose_victims(struct um_pool *pool, uint64_t want, struct um_frame *out,
                             size_t cap)
{
    struct um_frames *f = &pool->frames;
    uint64_t page = pool->cfg.page_size, chosen = 0, keep;
    size_t budget, n = 0;

    keep = pool->cfg.memory_limit / page / 8;
    keep = keep < 1 ? 1 : keep > KEEP_NEWEST_MAX ? KEEP_NEWEST_MAX : keep;
    pthread_mutex_lock(&f->lock);
    budget = 2 * f->count;
    while (n < cap && chosen < want && f->count && budget--) {
        struct um_frame fr = pop(f);

        /* The pages filled last stay: the access being served may need
         * them at the same time as the one coming in (a system call
         * copying from a buffer that spans pages faults each in, then
         * copies; evicting one for the other would have it fault for
         * ever).  One fault can add two frames (a private page swapped in
         * and the cache page under it), so up to KEEP_NEWEST_MAX stay,
         * an eighth of the budget at most. */
        if (fr.seq + keep >= f->next_seq) {
            push(f, fr);
            continue;
        }
        if ((fr.priv || cache_may_evict(fr.cache, fr.off, page)) &&
            policy_allows(pool->cfg.policy, &fr, page)) {
            out[n++] = fr;
            chosen += page;
        } else {
            push(f, fr);
        }
    }
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* Victims that could not go now (being filled or written) stay frames. */
static void give_back(struct um_pool *pool, const struct um_frame *v, size_t n)
{
    pthread_mutex_lock(&pool->frames.lock);
    for (size_t i = 0; i < n; i++)
        push(&pool->frames, v[i]);
    pthread_mutex_unlock(&pool->frames.lock);
}

static bool before(const struct um_frame *x, const struct um_frame *y)
{
    if (x->priv != y->priv)
        return (uintptr_t)x->priv < (uintptr_t)y->priv;
    if (x->cache != y->cache)
        return (uintptr_t)x->cache < (uintptr_t)y->cache;
    return x->off < y->off;
}

/* By cache, then offset, so that contiguous victims go in one punch.  An
 * insertion sort: a few hundred frames, and qsort may allocate, which a
 * SIGBUS handler must not. */
static void sort_frames(struct um_frame *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct um_frame x = v[i];
        size_t j = i;

        for (; j > 0 && before(&x, &v[j - 1]); j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Evicts up to want bytes, at most VICTIMS_PER_PASS pages (the caller
 * loops).  Allocates nothing: it runs in fault handlers, the SIGBUS one
 * included.  Returns whether any victim left the ring: a frame whose page
 * was gone already (forgotten, or taken out by someone else) frees no
 * bytes, yet is progress. */
#define VICTIMS_PER_PASS 256

static bool evict_some(struct um_pool *pool, uint64_t want, bool *met_dirty)
{
    uint64_t page = pool->cfg.page_size;
    bool progress = false;
    struct um_frame v[VICTIMS_PER_PASS];
    size_t n = choose_victims(pool, want, v, VICTIMS_PER_PASS), i = 0;

    sort_frames(v, n);
    while (i < n) {
        size_t j = i + 1;
        uint64_t gone;
        int rc;

        while (j < n && v[j].cache == v[i].cache && v[j].priv == v[i].priv &&
               v[j].off == v[j - 1].off + page)
            j++;
        rc = v[i].priv ? private_evict(v[i].priv, v[i].off, (j - i) * page, &gone)
                       : cache_evict(v[i].cache, v[i].off, (j - i) * page, &gone);
        /* Busy now, dirty (the flusher's), or failed: they stay, to try
         * later. */
        if (rc == -EAGAIN)
            *met_dirty = true;
        if (rc < 0)
            give_back(pool, &v[i], j - i);
        else
            progress = true;
        stat_add(&pool->counters.evictions, (gone + page - 1) / page);
        i = j;
    }
    return progress;
}

#define FLUSH_WAIT_MS 50

void evict_reserve(struct um_pool *pool, uint64_t len)
{
    /* What eviction writes back is the pool's doing, not the mapping's
     * that happens to be faulting. */
    struct um_mapping *faulting = stat_attribute(NULL);
    struct um_counters *c = &pool->counters;
    uint64_t limit = pool->cfg.memory_limit;
    /* Evict in batches: one pass of the policy frees room for many fills. */
    uint64_t batch = limit / 16 > pool->cfg.page_size ? limit / 16 : pool->cfg.page_size;
    bool reserved = false, met_dirty = false, waited = false;

    if (batch > ((uint64_t)4 << 20))
        batch = (uint64_t)4 << 20;
    while (limit) {
        uint64_t now = __atomic_load_n(&c->resident, __ATOMIC_RELAXED);

        if (now + len <= limit) {
            if (__atomic_compare_exchange_n(&c->resident, &now, now + len, false,
                                            __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
                stat_add_resident(c, 0);    /* raise the peak */
                reserved = true;
                break;
            }
            continue;
        }
        if (evict_some(pool, now + len - limit > batch ? now + len - limit : batch, &met_dirty))
            continue;
        /* Only dirty pages left: the flusher cleans them.  Wait for it a
         * little, never long: it may be waiting for this very fault (a
         * write(2) from a mapping of its own file).  Then over budget
         * rather than stuck. */
        if (!met_dirty || waited)
            break;
        {
            uint64_t seen = flusher_passes();
            flusher_kick();
            flusher_wait(seen, FLUSH_WAIT_MS);
        }
        waited = true;
    }
    if (!reserved)
        stat_add_resident(c, len);
    stat_attribute(faulting);
}

bool evict_reserve_free(struct um_pool *pool, uint64_t len)
{
    struct um_counters *c = &pool->counters;
    uint64_t limit = pool->cfg.memory_limit;
    uint64_t now = __atomic_load_n(&c->resident, __ATOMIC_RELAXED);

    if (!limit) {
        stat_add_resident(c, len);
        return true;
    }
    do
        if (now + len > limit)
            return false;
    while (!__atomic_compare_exchange_n(&c->resident, &now, now + len, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED));
    stat_add_resident(c, 0);    /* raise the peak */
    return true;
}

void evict_unreserve(struct um_pool *pool, uint64_t len)
{
    stat_sub(&pool->counters.resident, len);
}
