/* SPDX-License-Identifier: MIT */
/*
 * cache_fill.c - bringing pages into a cache: contiguous runs of missing
 * pages read from the store and installed atomically, and the claims that
 * keep fills, write-backs, evictions and write faults out of each other's
 * way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addrspace.h"
#include "cache.h"
#include "cache_impl.h"
#include "error.h"
#include "evict.h"
#include "lifecycle.h"
#include "pagemap.h"
#include "pool.h"
#include "prefetch.h"
#include "ranges.h"
#include "readahead.h"
#include "region.h"
#include "stats.h"
#include "store.h"

/* ---------------------------------------------------------------- fill */

/* Fills are read and installed in runs of up to this many bytes (or one
 * usermap page, if larger): one store read and one UFFDIO_COPY per run,
 * not per page, yet short enough that a fault waiting for a run the fill
 * threads are reading does not wait long. */
#define FILL_BATCH ((size_t)256 << 10)
#define MAX_FILL_BATCH ((size_t)2 << 20)    /* the largest usermap page */

/* Settles a reservation of len bytes after placed of them came in. */
static void count_placed(struct um_cache *c, size_t len, long placed)
{
    uint64_t in = placed > 0 ? (uint64_t)placed : 0;

    __atomic_fetch_add(&c->resident, in, __ATOMIC_RELAXED);
    if (in < len)
        evict_unreserve(c->pool, len - in);
}

/* Installs a run read for a fault through via (or for no one: NULL).
 * A run of one system page, the faulting one, goes straight into via when
 * via is a shared mapping, which spares the program the fault that would
 * map it (a longer run could cross into a VMA of another protection,
 * which UFFDIO_COPY refuses); anything else goes through the window. */
static long place_run(struct um_cache *c, const struct um_region *via, uint64_t off,
                      const void *buf, size_t len, bool write)
{
    uint64_t lo, hi;
    long placed;

    if (!via || !(via->flags & UM_REGION_SHARED) || len != um_system_page() ||
        !region_clip_offsets(via, off, off + len, &lo, &hi) || lo != off || hi != off + len)
        return um_engine->place(c->window + off, buf, len);
    /* A write fault on a missing page of a tracked mapping: the page is
     * recorded dirty, then comes in writable, which spares the writer
     * the protection fault its first write would take.  Under arm_lock,
     * as any first write (cache_begin_write). */
    write = write && region_writes_back(via) && region_tracking(via) == UM_TRACK_SYNC;
    if (write) {
        pthread_mutex_lock(&c->arm_lock);
        cache_mark_written(c, off, len);
    }
    placed = um_engine->place_in((void *)region_addr_of(via, off), buf, len,
                                 region_tracking(via), region_in_thread(via), write);
    if (write)
        pthread_mutex_unlock(&c->arm_lock);
    return placed;
}

/* Reads [off, off+len) from the store and installs it where pages are
 * missing.  Returns the usermap pages read, or -errno. */
static int fill_run(struct um_cache *c, uint64_t off, size_t len, bool prefetch,
                    const struct um_region *via, bool write)
{
    struct um_counters *counters = &c->pool->counters;
    int pages = (int)((len + c->page_size - 1) / c->page_size);
    void *buf;
    ssize_t got;
    long placed;

    if (!prefetch)
        evict_reserve(c->pool, len);
    else if (!evict_reserve_free(c->pool, len))
        return 0;
    if (c->anonymous) {
        placed = um_engine->place_zero(c->window + off, len);
        count_placed(c, len, placed);
        return placed < 0 ? (int)placed : 0;
    }
    buf = cache_scratch(len);
    got = buf ? c->store->ops->read(c->store, buf, len, off) : -ENOMEM;
    if (got < 0) {
        evict_unreserve(c->pool, len);
        return (int)got;
    }
    memset((char *)buf + got, 0, len - (size_t)got);
    STAT_ADD(counters, bytes_read, (uint64_t)got);
    placed = place_run(c, via, off, buf, len, write);
    count_placed(c, len, placed);
    if (placed > 0) {
        /* Pages that came in: a page someone else installed meanwhile
         * (read twice) counts once, as bytes read twice. */
        uint64_t in = ((uint64_t)placed + c->page_size - 1) / c->page_size;

        STAT_ADD(counters, pages_filled, in);
        if (prefetch)
            STAT_ADD(counters, pages_prefetched, in);
        evict_note_filled(c->pool, c, off, len, !prefetch);
    }
    return placed < 0 ? (int)placed : pages;
}

/* Whether any system page of [first, first+n) is missing, per mincore. */
static bool any_missing(const unsigned char *vec, size_t first, size_t n)
{
    for (size_t i = first; i < first + n; i++)
        if (!(vec[i] & 1))
            return true;
    return false;
}

/*
 * Finds the first run of usermap pages with something missing in
 * [pos, end) (at most MAX_FILL_BATCH bytes).  False if all is present.
 */
static bool next_missing_run(struct um_cache *c, uint64_t pos, uint64_t end,
                             uint64_t *run_start, uint64_t *run_end)
{
    size_t sys = um_system_page();
    unsigned char vec[MAX_FILL_BATCH / 4096];
    uint64_t p;

    /* Unknown residency counts as missing: installing skips pages that
     * turn out to be there. */
    if (mincore(c->window + pos, (size_t)(end - pos), vec) < 0)
        memset(vec, 0, sizeof(vec));
    for (p = pos; p < end; p += c->page_size) {
        uint64_t pend = p + c->page_size < end ? p + c->page_size : end;
        if (any_missing(vec, (size_t)(p - pos) / sys, (size_t)(pend - p) / sys))
            break;
    }
    if (p >= end)
        return false;
    *run_start = p;
    for (; p < end; p += c->page_size) {
        uint64_t pend = p + c->page_size < end ? p + c->page_size : end;
        if (!any_missing(vec, (size_t)(p - pos) / sys, (size_t)(pend - p) / sys))
            break;
    }
    *run_end = p < end ? p : end;
    return true;
}

/* How a run being filled is held against other processes. */
enum run_hold { RUN_FREE, RUN_LOCKED, RUN_LONE };

/*
 * Holds a claimed run against other processes, so that one of them reads
 * it and the others find it present, and so that file I/O in another
 * process (cache_io.c) never meets a fill that read the file before it
 * wrote.  Alone on the cache, the run needs no lock, only the lone-work
 * count a newcomer waits for (two system calls spared a fill).  False:
 * another process was filling the run; it is done now (or died), and the
 * caller looks again.
 */
static bool hold_run(struct um_cache *c, uint64_t start, uint64_t end, enum run_hold *hold)
{
    *hold = RUN_FREE;
    if (!c->is_shared)
        return true;
    if (shared_lone_begin(&c->shared)) {
        *hold = RUN_LONE;
        return true;
    }
    if (shared_lock_pages(&c->shared, start, end - start, true, false)) {
        *hold = RUN_LOCKED;
        return true;
    }
    if (shared_lock_pages(&c->shared, start, end - start, true, true))
        shared_unlock_pages(&c->shared, start, end - start);
    return false;
}

static void release_run(struct um_cache *c, uint64_t start, uint64_t end, enum run_hold hold)
{
    if (hold == RUN_LOCKED)
        shared_unlock_pages(&c->shared, start, end - start);
    else if (hold == RUN_LONE)
        shared_lone_end(&c->shared);
}

/* Fills the missing usermap pages of [start, end), at most one batch,
 * one contiguous run at a time. */
static int fill_batch(struct um_cache *c, uint64_t start, uint64_t end, bool prefetch,
                      const struct um_region *via, bool write)
{
    uint64_t pos = start, run_start, run_end;
    int filled = 0;

    while (pos < end && next_missing_run(c, pos, end, &run_start, &run_end)) {
        enum run_hold hold;
        bool waited;
        int slot = cache_claim(c, run_start, run_end, CLAIM_FILL, &waited), rc;

        if (waited || !hold_run(c, run_start, run_end, &hold)) {
            /* someone else filled part of it: look again */
            cache_unclaim(c, slot);
            pos = run_start;
            continue;
        }
        rc = fill_run(c, run_start, (size_t)(run_end - run_start), prefetch, via, write);
        release_run(c, run_start, run_end, hold);
        cache_unclaim(c, slot);
        if (rc < 0)
            return rc;
        filled += rc;
        pos = run_end;
    }
    return filled;
}

/* The end of what the memfd holds now, rounded to a system page. */
static uint64_t memfd_end(const struct um_cache *c)
{
    uint64_t size;

    return cache_memfd_size(c, &size) ? round_up(size, um_system_page()) : UINT64_MAX;
}

static int fill_range(struct um_cache *c, uint64_t off, size_t len, bool prefetch,
                      const struct um_region *via, bool write)
{
    uint64_t page = c->page_size;
    uint64_t start = round_down(off, page);
    uint64_t end = round_up(off + len, page);
    /* Pages wholly past the end of the file are the kernel's SIGBUS. */
    uint64_t limit = cache_end(c);
    uint64_t batch = page > FILL_BATCH ? page : FILL_BATCH;
    int filled = 0;

    if (end > limit)
        end = limit;
    if (write && cache_reserve(c, start, end) < 0)
        return -ENOSPC;

    for (uint64_t b = start; b < end; b += batch) {
        int rc = fill_batch(c, b, b + batch < end ? b + batch : end, prefetch, via, write);
        /* Pages past the memfd's end cannot be installed: another process
         * sharing the cache cut the file below the size this one knows.
         * What lies before the cut is filled all the same. */
        if (rc < 0 && c->is_shared) {
            uint64_t cut = memfd_end(c);

            if (cut < end) {
                end = cut;
                rc = b < end ? fill_batch(c, b, b + batch < end ? b + batch : end, prefetch,
                                          via, write) : 0;
            }
        }
        if (rc < 0)
            return rc;
        filled += rc;
    }
    return filled;
}

int cache_fill(struct um_cache *c, uint64_t off, size_t len, bool prefetch)
{
    return fill_range(c, off, len, prefetch, NULL, false);
}

int cache_fill_for(struct um_cache *c, const struct um_region *r, uint64_t off, size_t len,
                   bool write)
{
    return fill_range(c, off, len, false, r, write);
}

struct um_readahead *cache_readahead(struct um_cache *c)
{
    return &c->readahead;
}

