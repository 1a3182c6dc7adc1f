/*
 * cache_impl.h - the inside of a cache, shared by the files that make one
 * up: cache.c (life, identity, the whole process), cache_fill.c (bringing
 * pages in), cache_writeback.c (dirty pages out, invalidation, eviction).
 * Nothing outside them includes it.
 */
#ifndef USERMAP_CACHE_IMPL_H
#define USERMAP_CACHE_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ranges.h"
#include "readahead.h"

struct um_region;

struct um_cache {
    int refs;                   /* mapping pieces that use the cache */
    struct um_pool *pool;       /* page size, budget, counters */
    uint64_t resident;          /* bytes of pages in the memfd (filled by us) */
    bool anonymous;             /* zeros, no file behind it */
    bool forked;                /* another process may have written pages */
    dev_t dev;                  /* identity of the file (not anonymous) */
    ino_t ino;
    int memfd;                  /* the pages */
    uint64_t size;              /* the file's size: the end of write-back */
    size_t page_size;           /* unit of fill and write-back */
    char *window;               /* library-only mapping of the memfd */
    size_t window_len;
    struct um_store *store;
    struct um_readahead readahead;
    struct fills_in_flight {    /* runs being read now, so no one reads them twice */
        pthread_mutex_t lock;
        pthread_cond_t done;
        struct um_range run[8];   /* end 0: a free slot */
    } in_flight;
    struct um_cache *next;
};

static inline uint64_t round_up(uint64_t x, uint64_t unit)
{
    return (x + unit - 1) & ~(unit - 1);
}

static inline uint64_t round_down(uint64_t x, uint64_t unit)
{
    return x & ~(unit - 1);
}

/* A per-thread buffer of at least len bytes (cache.c). */
void *cache_scratch(size_t len);

/*
 * Claims on page ranges (cache_fill.c): a fill, a write-back chunk, an
 * eviction or a write fault holds one while it works on the pages, and
 * the others wait or step aside.
 *   CLAIM_FILL   waits for overlapping claims; if every slot is taken,
 *                proceeds unclaimed (installing pages is atomic anyway);
 *   CLAIM_MUST   also waits for a free slot;
 *   CLAIM_TRY    never waits: -1 if the pages or all slots are busy.
 * Returns the slot to give to cache_unclaim(), or -1; *waited says the
 * pages may have changed meanwhile.
 */
enum claim_mode { CLAIM_FILL, CLAIM_MUST, CLAIM_TRY };
int cache_claim(struct um_cache *c, uint64_t start, uint64_t end, enum claim_mode mode,
                bool *waited);
void cache_unclaim(struct um_cache *c, int slot);

/* Region callback: whether r writes back pages of cache arg
 * (cache_writeback.c). */
int cache_has_writer(void *arg, const struct um_region *r);

#endif
