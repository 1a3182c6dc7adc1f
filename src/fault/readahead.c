/* SPDX-License-Identifier: MIT */
/*
 * readahead.c - sequential fault detection and the read-ahead window.
 *
 * usermap never sees an access to a page that is already present, so a
 * scan that runs over prefetched pages is invisible.  Each window is
 * therefore filled all but one page, the marker, half way in: the
 * program's fault on the marker says it got there, and asks for the next
 * window while the rest of this one is still ahead of it.
 */
#include "cache.h"
#include "pool.h"
#include "prefetch.h"
#include "readahead.h"
#include "region.h"

void readahead_init(struct um_readahead *ra)
{
    pthread_mutex_init(&ra->lock, NULL);
    ra->next = 0;
    ra->ahead = 0;
    ra->window = 0;
}

void readahead_destroy(struct um_readahead *ra)
{
    pthread_mutex_destroy(&ra->lock);
}

/* The largest window the region's advice allows, in bytes. */
static uint64_t max_window(const struct um_region *r)
{
    uint64_t base = r->pool->cfg.readahead;

    if (r->flags & UM_REGION_RANDOM)
        return 0;
    if (r->flags & UM_REGION_SEQUENTIAL)
        return 4 * base;
    return base;
}

void readahead_on_fault(const struct um_region *r, uint64_t off)
{
    struct um_readahead *ra;
    uint64_t page = r->pool->cfg.page_size, max = max_window(r);
    uint64_t region_end = region_offset_of(r, r->end);
    bool sequential;

    if (!r->cache || max < 2 * page)
        return;
    ra = cache_readahead(r->cache);
    pthread_mutex_lock(&ra->lock);
    sequential = off == ra->next || (off > ra->next && off < ra->ahead) ||
                 (r->flags & UM_REGION_SEQUENTIAL);
    if (!sequential) {
        ra->window = 0;
        ra->ahead = off + page;
    } else {
        /* Start small and double: a stream that stops soon costs little. */
        ra->window = ra->window ? ra->window * 2 : 4 * page;
        if (ra->window > max)
            ra->window = max;
        if (ra->ahead < off + page)
            ra->ahead = off + page;
        if (ra->ahead < off + page + ra->window / 2 && ra->ahead < region_end) {
            uint64_t from = ra->ahead, to = off + page + ra->window;
            if (to > region_end)
                to = region_end;
            prefetch_request(r->pool, r->cache, from, to,
                             from + ((to - from) / 2 / page) * page);
            ra->ahead = to;
        }
    }
    ra->next = off + page;
    pthread_mutex_unlock(&ra->lock);
}
