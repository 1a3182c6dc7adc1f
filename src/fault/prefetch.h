/* SPDX-License-Identifier: MIT */
/*
 * prefetch.h - filling pages before they are touched: a pool's fill
 * threads and their queue, fed by read-ahead and MADV_WILLNEED.
 *
 * A page already in the memfd when the program touches it costs a minor
 * kernel fault (about a microsecond), a page that is not costs a round
 * trip to the handler thread (tens of microseconds across cores): the
 * fastest fault is the one that never reaches usermap.
 */
#ifndef USERMAP_PREFETCH_H
#define USERMAP_PREFETCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "thread.h"

struct um_cache;
struct um_pool;

/* One request: fill [off, end) of cache, except the page at skip. */
struct prefetch_request {
    struct um_cache *cache;
    uint64_t off, end, skip;
};

#define PREFETCH_QUEUE 256

/* A pool's fill threads and their queue, embedded in the pool. */
struct um_prefetch {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct prefetch_request queue[PREFETCH_QUEUE];
    unsigned head, count;       /* ring buffer */
    unsigned running;           /* threads started */
    bool stopping;
    struct um_thread threads[64];
};

void prefetch_init(struct um_prefetch *pf);

/*
 * Asks the pool's fill threads to fill [off, end) of cache, all but the
 * usermap page at skip (UINT64_MAX: none), which is left for the program
 * to fault on: that fault is how read-ahead learns the program got there.
 * Never blocks; a full queue drops the request (it is only a hint).
 * Called with the library lock held, shared or exclusive.
 */
void prefetch_request(struct um_pool *pool, struct um_cache *cache, uint64_t off,
                      uint64_t end, uint64_t skip);

/* Starts the pool's fill threads now rather than on the first request,
 * which may come from a SIGBUS handler (in-thread faults), where starting
 * a thread is no business.  Idempotent. */
void prefetch_start(struct um_pool *pool);

/* Forgets queued requests for a cache about to close (exclusive lock). */
void prefetch_forget(struct um_pool *pool, struct um_cache *cache);

/* Stops the pool's fill threads (pool being destroyed; no mappings). */
void prefetch_stop(struct um_pool *pool);

/* In a child after fork: the threads are gone; start afresh on demand. */
void prefetch_reset_in_child(struct um_pool *pool);

#endif
