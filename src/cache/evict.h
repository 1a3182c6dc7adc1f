/* SPDX-License-Identifier: MIT */
/*
 * evict.h - keeping a pool under its memory limit: the pool's resident
 * pages in the order they came in, and the policies that pick which leave.
 */
#ifndef USERMAP_EVICT_H
#define USERMAP_EVICT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct um_cache;
struct um_pool;
struct um_private;

/* One resident usermap page: of a cache, or a private mapping's own. */
struct um_frame {
    struct um_cache *cache;     /* NULL for a private page */
    struct um_private *priv;
    uint64_t off;
    uint64_t seq;           /* fill order: the pool's fills so far, when noted */
    uint8_t age;            /* CLOCK: second chance given; LRU: recent use */
    bool touched;           /* filled for an access (a fault, MAP_POPULATE): referenced
                             * on arrival, which CLOCK need not ask the page tables */
};

/* A pool's frames, oldest first, in a ring. */
struct um_frames {
    pthread_mutex_t lock;
    struct um_frame *ring;
    size_t cap, head, count;
    uint64_t next_seq;      /* seq of the next frame noted */
};

/* 0, or -1 when out of memory. */
int frames_init(struct um_frames *f, uint64_t limit, size_t page);
void frames_destroy(struct um_frames *f);

/*
 * Reserves len bytes of the pool's budget for pages about to come in,
 * evicting others first when the limit requires it.  The budget is only
 * exceeded when nothing evictable is left.  Called with the library lock
 * shared (or exclusive).
 */
void evict_reserve(struct um_pool *pool, uint64_t len);

/* evict_reserve() for a prefetch, which no one waits for: room the
 * budget has free, or nothing (false).  Evicting for a speculation could
 * take the very page a waiting fault was just given, over and over (a
 * pwrite from a private mapping under a 256 KiB budget faulted for ever:
 * each fault's read-ahead evicted its page). */
bool evict_reserve_free(struct um_pool *pool, uint64_t len);

/* Gives back reserved bytes that did not become resident. */
void evict_unreserve(struct um_pool *pool, uint64_t len);

/* Records [off, off+len) of cache, usermap pages, as just filled; touched:
 * for an access that is about to reference them (not read-ahead). */
void evict_note_filled(struct um_pool *pool, struct um_cache *c, uint64_t off, uint64_t len,
                       bool touched);

/* Records the usermap page at off as a private mapping's own (private.h). */
void evict_note_private(struct um_pool *pool, struct um_private *p, uint64_t off);

/* Forgets the frames of a cache about to close (exclusive lock). */
void evict_forget(struct um_pool *pool, struct um_cache *c);
/* The same, for a private mapping's pages. */
void evict_forget_private(struct um_pool *pool, struct um_private *p);

#endif
