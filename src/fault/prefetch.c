/* SPDX-License-Identifier: MIT */
/*
 * prefetch.c - a pool's fill threads: they take requests from a queue and
 * fill pages into caches while the program runs.
 *
 * A fill thread takes the library lock (shared) before it takes a request
 * off the queue: requests hold no reference, and a cache can only close
 * under the exclusive lock, which first forgets its requests.  So a
 * request seen under the shared lock always names a live cache.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "cache.h"
#include "lifecycle.h"
#include "pool.h"
#include "prefetch.h"
#include "thread.h"

void prefetch_init(struct um_prefetch *pf)
{
    memset(pf, 0, sizeof(*pf));
    pthread_mutex_init(&pf->lock, NULL);
    pthread_cond_init(&pf->wake, NULL);
}

static bool pop(struct um_prefetch *pf, struct prefetch_request *out)
{
    if (pf->count == 0)
        return false;
    *out = pf->queue[pf->head];
    pf->head = (pf->head + 1) % PREFETCH_QUEUE;
    pf->count--;
    return true;
}

/* Waits for work without holding the library lock.  False: stop. */
static bool wait_for_work(struct um_prefetch *pf)
{
    bool go;

    pthread_mutex_lock(&pf->lock);
    while (pf->count == 0 && !pf->stopping)
        pthread_cond_wait(&pf->wake, &pf->lock);
    go = !pf->stopping;
    pthread_mutex_unlock(&pf->lock);
    return go;
}

static void serve(struct um_pool *pool, const struct prefetch_request *rq)
{
    uint64_t page = pool->cfg.page_size;

    for (uint64_t p = rq->off; p < rq->end; p += page) {
        if (p == rq->skip)
            continue;
        if (cache_fill(rq->cache, p, page, true) < 0)
            break;
    }
}

static void *fill_thread_main(void *arg)
{
    struct um_pool *pool = arg;
    struct um_prefetch *pf = &pool->prefetch;
    struct prefetch_request rq;

    while (wait_for_work(pf)) {
        bool got;

        um_lock_shared();
        pthread_mutex_lock(&pf->lock);
        got = pop(pf, &rq);
        pthread_mutex_unlock(&pf->lock);
        if (got)
            serve(pool, &rq);
        um_unlock();
    }
    return NULL;
}

/* Starts the pool's threads on first use; with pf->lock held. */
static void start_threads(struct um_pool *pool)
{
    struct um_prefetch *pf = &pool->prefetch;

    while (pf->running < pool->cfg.fill_threads &&
           um_thread_start(&pf->threads[pf->running], fill_thread_main, pool) == 0)
        pf->running++;
}

void prefetch_start(struct um_pool *pool)
{
    struct um_prefetch *pf = &pool->prefetch;

    pthread_mutex_lock(&pf->lock);
    if (pf->running == 0 && !pf->stopping)
        start_threads(pool);
    pthread_mutex_unlock(&pf->lock);
}

void prefetch_request(struct um_pool *pool, struct um_cache *cache, uint64_t off,
                      uint64_t end, uint64_t skip)
{
    struct um_prefetch *pf = &pool->prefetch;

    if (off >= end)
        return;
    pthread_mutex_lock(&pf->lock);
    if (pf->running == 0 && !pf->stopping)
        start_threads(pool);
    if (pf->count < PREFETCH_QUEUE && pf->running > 0) {
        pf->queue[(pf->head + pf->count) % PREFETCH_QUEUE] =
            (struct prefetch_request){ cache, off, end, skip };
        pf->count++;
        pthread_cond_signal(&pf->wake);
    }
    pthread_mutex_unlock(&pf->lock);
}

void prefetch_forget(struct um_pool *pool, struct um_cache *cache)
{
    struct um_prefetch *pf = &pool->prefetch;
    unsigned kept = 0;

    pthread_mutex_lock(&pf->lock);
    for (unsigned i = 0; i < pf->count; i++) {
        struct prefetch_request rq = pf->queue[(pf->head + i) % PREFETCH_QUEUE];
        if (rq.cache != cache)
            pf->queue[(pf->head + kept++) % PREFETCH_QUEUE] = rq;
    }
    pf->count = kept;
    pthread_mutex_unlock(&pf->lock);
}

void prefetch_stop(struct um_pool *pool)
{
    struct um_prefetch *pf = &pool->prefetch;

    pthread_mutex_lock(&pf->lock);
    pf->stopping = true;
    pthread_cond_broadcast(&pf->wake);
    pthread_mutex_unlock(&pf->lock);
    for (unsigned i = 0; i < pf->running; i++)
        um_thread_join(&pf->threads[i]);
    pthread_mutex_destroy(&pf->lock);
    pthread_cond_destroy(&pf->wake);
}

void prefetch_reset_in_child(struct um_pool *pool)
{
    prefetch_init(&pool->prefetch);
}
