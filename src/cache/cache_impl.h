/* SPDX-License-Identifier: MIT */
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

#include "claims.h"
#include "dirty.h"
#include "ranges.h"
#include "readahead.h"
#include "shared.h"

struct um_region;

struct um_cache {
    int refs;                   /* mapping pieces that use the cache */
    struct um_pool *pool;       /* page size, budget, counters */
    uint64_t resident;          /* bytes of pages in the memfd (filled by us) */
    bool anonymous;             /* zeros, no file behind it */
    int pins;                   /* write-backs running without the library lock */
    dev_t dev;                  /* identity of the file (not anonymous) */
    ino_t ino;
    int memfd;                  /* the pages (a regular file's: shared.pages_fd) */
    uint64_t size;              /* the file's size: the end of write-back */
    uint64_t *stamp;            /* the store's stamp when the cache last agreed
                                 * with it (made, or written back); atomic, in
                                 * the shared header for a regular file */
    uint64_t own_stamp;
    /* A regular file's cache is shared with every usermap process that
     * maps the file (shared.h); an anonymous one is this process tree's. */
    bool is_shared;
    struct um_shared shared;
    bool recovering;            /* dirty pages of dead processes to write */
    /* Keeps "this process may write pages without a fault" (the shared
     * writing flag) true: taken around raising the flag and lifting a
     * page's protection, and around protecting every page again and
     * lowering the flag. */
    pthread_mutex_t arm_lock;
    size_t page_size;           /* unit of fill and write-back */
    char *window;               /* library-only mapping of the memfd */
    size_t window_len;
    struct um_store *store;
    struct um_readahead readahead;
    struct um_claims claims;    /* runs being filled, written or evicted now */
    struct um_dirty dirty;      /* pages the store has not accepted yet */
    /* One write-back of the cache at a time, so that older bytes never
     * reach the store after newer ones.  Taken before the library lock,
     * never while holding it, and never by a fault. */
    pthread_mutex_t wb_lock;
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

/* Claims on the cache's pages (claims.h).  Eviction uses CLAIM_TRY: a
 * thread evicting to make room for its own claimed fill must not wait, or
 * it could wait for itself. */
static inline int cache_claim(struct um_cache *c, uint64_t start, uint64_t end,
                              enum claim_mode mode, bool *waited)
{
    return claims_take(&c->claims, start, end, mode, waited);
}

static inline void cache_unclaim(struct um_cache *c, int slot)
{
    claims_release(&c->claims, slot);
}

/* Takes [start, end) out of the memfd, dirty or not (cache_writeback.c). */
int cache_punch(struct um_cache *c, uint64_t start, uint64_t end);

/* Zeroes the bytes of [lo, hi) the memfd holds, leaving holes holes
 * (cache_io.c); the caller holds the range. */
void cache_zero_present(struct um_cache *c, uint64_t lo, uint64_t hi);

/* cache_invalidate() by a caller that claimed [lo, hi) already. */
int cache_invalidate_claimed(struct um_cache *c, uint64_t lo, uint64_t hi);

/* The memfd's size now, which another process sharing the cache may
 * have changed (cache.c).  False if fstat fails. */
bool cache_memfd_size(const struct um_cache *c, uint64_t *size);

/* The end of what the cache's dirty map may hold (cache.c): another
 * process may know the file as longer than this one. */
uint64_t cache_dirty_end(struct um_cache *c);

/* Region callback: whether r writes back pages of cache arg
 * (cache_writeback.c). */
int cache_has_writer(void *arg, const struct um_region *r);

#endif
