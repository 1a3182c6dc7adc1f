/* SPDX-License-Identifier: MIT */
/*
 * cache_writeback.c - dirty pages out of a cache: finding them (dirty
 * tracking), writing them to the store, dropping clean pages
 * (MS_INVALIDATE) and evicting pages under a budget.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addrspace.h"
#include "cache.h"
#include "cache_impl.h"
#include "dirty.h"
#include "error.h"
#include "evict.h"
#include "lifecycle.h"
#include "pagemap.h"
#include "pool.h"
#include "prefetch.h"
#include "ranges.h"
#include "readahead.h"
#include "sparse.h"
#include "region.h"
#include "stats.h"
#include "store.h"

/* ------------------------------------------------------ dirty tracking */

struct dirty_scan {
    struct um_cache *cache;
    uint64_t lo, hi;            /* cache offsets asked about */
    const struct um_region *region;
};

static void mark_written(void *arg, uintptr_t start, uintptr_t end)
{
    struct dirty_scan *s = arg;
    uint64_t lo = region_offset_of(s->region, start), hi = region_offset_of(s->region, end);

    dirty_mark(&s->cache->dirty, lo, hi);
    /* Protected again (collect_written does it first): this process can
     * no longer write them unseen. */
    if (s->cache->is_shared)
        shared_note_protected(&s->cache->shared, lo, hi - lo);
}

/* Every written page is protected again before it is marked: a write
 * after this scan faults (sync) or is recorded (async) anew, so none is
 * missed by the write-back that follows. */
static int scan_region(void *arg, const struct um_region *r)
{
    struct dirty_scan *s = arg;
    uint64_t lo, hi;
    int rc;

    if (r->cache != s->cache || !region_writes_back(r) ||
        !region_clip_offsets(r, s->lo, s->hi, &lo, &hi))
        return 0;
    s->region = r;
    rc = um_engine->collect_written((void *)region_addr_of(r, lo), (size_t)(hi - lo),
                                    region_tracking(r), true, mark_written, s);
    return rc < 0 ? rc : 0;
}

/* Whether r is a mapping through which pages of cache arg get dirty. */
int cache_has_writer(void *arg, const struct um_region *r)
{
    return r->cache == arg && region_writes_back(r);
}

/* Calls fn for each run of [lo, hi) present in the memfd, cut at the
 * file's size. */
static int for_each_present(struct um_cache *c, uint64_t lo, uint64_t hi, um_range_fn fn,
                            void *arg)
{
    return sparse_for_each_data(c->memfd, lo, hi < c->size ? hi : c->size, fn, arg);
}

static void add_range(void *arg, uintptr_t start, uintptr_t end)
{
    ranges_add(arg, start, end);
}


static void mark_present(void *arg, uintptr_t start, uintptr_t end)
{
    dirty_mark(&((struct um_cache *)arg)->dirty, start, end);
}

int cache_collect(struct um_cache *c, uint64_t lo, uint64_t hi)
{
    struct dirty_scan s = { .cache = c, .lo = lo, .hi = hi };

    if (!cache_has_store_writes(c))
        return 0;
    /* Without tracking, every present page a writer maps may be dirty. */
    if (!um_engine->tracks_writes)
        return region_for_each(cache_has_writer, c) ? for_each_present(c, lo, hi, mark_present, c)
                                                    : 0;
    return region_for_each(scan_region, &s);
}

/*
 * Space is reserved where the kernel reserves it, at the first write to a
 * page (page_mkwrite): the store keeps room for it, so that its
 * write-back cannot fail for want of space.  fallocate takes the file's
 * lock; a fault is served here only for a write, and a system call that
 * holds that lock while it writes into a mapping of the same file is
 * what it would wait for (none does on ext4 or tmpfs).
 */
int cache_reserve(struct um_cache *c, uint64_t start, uint64_t end)
{
    int rc;

    if (!cache_has_store_writes(c) || !c->store->ops->reserve)
        return 0;
    if (end > c->size)
        end = c->size;
    if (start >= end)
        return 0;
    rc = c->store->ops->reserve(c->store, start, end - start);
    return rc == -ENOSPC || rc == -EDQUOT ? rc : 0;
}

void cache_mark_written(struct um_cache *c, uint64_t off, uint64_t len)
{
    if (!cache_has_store_writes(c))
        return;
    /* The flag first: a write-back in another process that takes the
     * page before the mark below sees the flag and keeps it dirty. */
    if (c->is_shared) {
        shared_set_writing(&c->shared, true);
        shared_note_enabled(&c->shared, off, len);
    }
    dirty_mark(&c->dirty, off, off + len);
}

/* ---------------------------------------------------------- write-back */

/*
 * Copies one chunk from the memfd to the store.  The chunk is claimed
 * while it is copied, so that no eviction or refill meets it half
 * written.  Only what is present is copied: a hole would read as zeros
 * (MADV_REMOVE can make one under a dirty page).
 */
static int write_present(struct um_cache *c, char *buf, uint64_t off, size_t n)
{
    ssize_t got = pread(c->memfd, buf, n, (off_t)off);
    int rc = got < 0 ? -errno : 0;

    if (rc == 0 && got > 0)
        rc = c->store->ops->write(c->store, buf, (size_t)got, off);
    if (rc == 0 && got > 0) {
        STAT_ADD(&c->pool->counters, bytes_written, (uint64_t)got);
        STAT_ADD(&c->pool->counters, pages_written,
                 ((uint64_t)got + c->page_size - 1) / c->page_size);
    }
    return rc;
}

/* Bytes stored past the end of the file in its last page read as zeros
 * once the page was written back, on filesystems whose kernel mapping
 * does so (store.h). */
static void clear_past_end(struct um_cache *c, uint64_t size)
{
    uint64_t end = round_up(size, um_system_page());

    if (c->store->clears_past_end && end > size && end <= c->window_len)
        memset(c->window + size, 0, (size_t)(end - size));
}

/* [off, off+n) lies below size, the store's size now: this process's
 * c->size may lag it (another process grew the file). */
static int write_chunk(struct um_cache *c, char *buf, uint64_t off, size_t n, uint64_t size)
{
    bool waited;
    int slot = cache_claim(c, off, off + n, CLAIM_MUST, &waited);
    struct um_ranges present = { 0 };
    int rc = sparse_for_each_data(c->memfd, off, off + n, add_range, &present);

    for (size_t i = 0; i < present.n && rc == 0; i++)
        rc = write_present(c, buf, present.v[i].start,
                           (size_t)(present.v[i].end - present.v[i].start));
    if (rc == 0 && present.n && present.v[present.n - 1].end == size)
        clear_past_end(c, size);
    ranges_free(&present);
    cache_unclaim(c, slot);
    return rc;
}

/* Writes [off, stop) of the taken pages, bytes below size only; they
 * leave the writeback state, dirty again if the write failed. */
/* The taken pages [off, stop) leave the writeback state: dirty again if
 * their write failed, or (w) if another process may still write them
 * without a fault; clean otherwise. */
static void finish_pages(struct um_cache *c, uint64_t off, uint64_t stop, bool failed,
                         const struct shared_writers *w)
{
    uint64_t sys = um_system_page(), run = off;

    if (failed || !w || !w->any) {
        dirty_done(&c->dirty, off, stop, failed);
        return;
    }
    /* In runs of pages that stay dirty, or not. */
    for (uint64_t p = off; p < stop; p += sys) {
        bool keep = shared_keeps(&c->shared, w, p);

        if (p + sys >= stop || shared_keeps(&c->shared, w, p + sys) != keep) {
            dirty_done(&c->dirty, run, p + sys < stop ? p + sys : stop, keep);
            run = p + sys;
        }
    }
}

static int write_part(struct um_cache *c, char *buf, uint64_t off, uint64_t stop, uint64_t size,
                      const struct shared_writers *w)
{
    uint64_t upto = stop < size ? stop : size;
    int rc = !buf ? -ENOMEM : off < upto ? write_chunk(c, buf, off, (size_t)(upto - off), size) : 0;

    finish_pages(c, off, stop, rc < 0, w);
    return rc;
}

/* Writes the taken pages [start, end) chunk by chunk.  A chunk the store
 * refuses (a full disk) is tried again a system page at a time, so that
 * every page that fits gets there and only the others stay dirty.  w:
 * the other processes that may write pages without a fault (shared
 * caches), whose pages stay dirty.  Returns the first error. */
static int write_taken(struct um_cache *c, uint64_t start, uint64_t end, uint64_t size,
                       const struct shared_writers *w)
{
    size_t chunk = c->page_size > (1u << 20) ? c->page_size : (1u << 20);
    uint64_t sys = um_system_page();
    char *buf = cache_scratch(chunk);
    int first_error = 0;

    for (uint64_t off = start; off < end; off += chunk) {
        uint64_t stop = end - off < chunk ? end : off + chunk;
        int rc = write_part(c, buf, off, stop, size, w);

        if (rc < 0 && buf && stop - off > sys) {
            /* The failed chunk is dirty again: take it page by page. */
            rc = 0;
            for (uint64_t p = off; p < stop; p += sys) {
                struct um_ranges one = { 0 };
                int err = 0;

                dirty_take(&c->dirty, p, p + sys, &one);
                if (one.n)
                    err = write_part(c, buf, p, p + sys, size, w);
                ranges_free(&one);
                if (err < 0 && rc == 0)
                    rc = err;
            }
        }
        if (rc < 0 && !first_error)
            first_error = rc;
    }
    return first_error;
}

/* Under the shared lock: cache_collect(); when it covered every page,
 * every page this process could write is protected again, and its
 * writing flag goes down (under arm_lock, so that no write fault lifts
 * a protection in between). */
static int collect_all(struct um_cache *c, uint64_t lo, uint64_t hi)
{
    int rc;

    if (!c->is_shared)
        return cache_collect(c, lo, hi);
    pthread_mutex_lock(&c->arm_lock);
    rc = cache_collect(c, lo, hi);
    if (rc == 0 && lo == 0 && hi >= cache_end(c) && um_engine->tracks_writes_sync)
        shared_set_writing(&c->shared, false);
    pthread_mutex_unlock(&c->arm_lock);
    return rc;
}

int cache_flush(struct um_cache *c, uint64_t lo, uint64_t hi)
{
    struct um_ranges taken = { 0 };
    uint64_t size = 0, stamp = 0;
    int rc = 0;

    struct shared_writers writers, *w = NULL;
    bool shared;

    if (!cache_has_store_writes(c))
        return 0;
    pthread_mutex_lock(&c->wb_lock);
    /* Read once: at exit the cache stops being shared meanwhile. */
    shared = __atomic_load_n(&c->is_shared, __ATOMIC_ACQUIRE);
    if (shared && shared_writeback_begin(&c->shared))
        dirty_done(&c->dirty, 0, cache_dirty_end(c), true);   /* its holder died */
    um_lock_shared();
    rc = collect_all(c, lo, hi);
    um_unlock();
    if (rc == 0)
        rc = c->store->ops->stat(c->store, &size, &stamp);
    if (rc == 0) {
        /* Pages the file no longer reaches are gone, as the kernel's are
         * after a truncation: written nowhere. */
        dirty_forget_from(&c->dirty, size, hi);
        dirty_take(&c->dirty, lo, hi < size ? hi : size, &taken);
        /* After the take: a writer that raised its flag later marks its
         * page dirty again itself. */
        if (shared && taken.n) {
            shared_writers_now(&c->shared, &writers);
            w = &writers;
        }
        rc = taken.error;
        for (size_t i = 0; i < taken.n; i++) {
            int err = write_taken(c, taken.v[i].start, taken.v[i].end, size, w);
            if (err < 0 && rc == 0)
                rc = err;
        }
    }
    /* Our own writes change the file's stamp: if the cache agreed with
     * the file before them, it still does. */
    if (rc == 0 && taken.n && __atomic_load_n(c->stamp, __ATOMIC_ACQUIRE) == stamp &&
        c->store->ops->stat(c->store, &size, &stamp) == 0)
        __atomic_store_n(c->stamp, stamp, __ATOMIC_RELEASE);
    ranges_free(&taken);
    if (shared)
        shared_writeback_end(&c->shared);
    pthread_mutex_unlock(&c->wb_lock);
    return rc;
}

void cache_pin(struct um_cache *c)
{
    __atomic_fetch_add(&c->pins, 1, __ATOMIC_ACQ_REL);
}

void cache_unpin(struct um_cache *c)
{
    __atomic_fetch_sub(&c->pins, 1, __ATOMIC_ACQ_REL);
}

/* Bytes of [start, end) present in the memfd. */
static void add_length(void *arg, uintptr_t start, uintptr_t end)
{
    *(uint64_t *)arg += round_up(end, um_system_page()) - start;
}

static uint64_t present_bytes(struct um_cache *c, uint64_t start, uint64_t end)
{
    uint64_t total = 0;

    for_each_present(c, start, end, add_length, &total);
    return total;
}

/* Takes up to n bytes off the cache's resident count and returns what
 * it took: pages another process filled were never counted here. */
static uint64_t uncount(struct um_cache *c, uint64_t n)
{
    uint64_t now = __atomic_load_n(&c->resident, __ATOMIC_RELAXED), take;

    do
        take = n < now ? n : now;
    while (!__atomic_compare_exchange_n(&c->resident, &now, now - take, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED));
    return take;
}

/* Takes [start, end) out of the memfd; *freed (if asked) gets the bytes
 * that were there, as far as this process counted them. */
static int punch_counted(struct um_cache *c, uint64_t start, uint64_t end, uint64_t *freed)
{
    uint64_t gone;
    int rc;

    if (start >= end)
        return 0;
    gone = present_bytes(c, start, end);
    rc = sparse_punch(c->memfd, start, end);
    if (rc < 0)
        return rc;
    gone = uncount(c, gone);
    stat_sub(&c->pool->counters.resident, gone);
    if (freed)
        *freed = gone;
    return 0;
}

int cache_punch(struct um_cache *c, uint64_t start, uint64_t end)
{
    return punch_counted(c, start, end, NULL);
}

/* Drops the clean pages of [lo, hi): those neither dirty nor on their
 * way to the store, whose bytes the store holds.  Claimed: file I/O
 * (cache_io.c) may be copying to or from them without the library lock. */
int cache_invalidate(struct um_cache *c, uint64_t lo, uint64_t hi)
{
    bool waited;
    int slot = cache_claim(c, lo, hi, CLAIM_MUST, &waited);
    int rc = cache_invalidate_claimed(c, lo, hi);

    cache_unclaim(c, slot);
    return rc;
}

int cache_invalidate_claimed(struct um_cache *c, uint64_t lo, uint64_t hi)
{
    /* Page by system page, the dirty map's unit: one dirty system page
     * must not keep the clean rest of its usermap page in memory. */
    uint64_t page = um_system_page(), run = lo;
    int rc = 0;

    if (c->anonymous)
        return 0;
    if (c->is_shared && hi > lo)
        shared_lock_pages(&c->shared, lo, hi - lo, true, true);
    if (um_engine->tracks_writes)
        rc = cache_collect(c, lo, hi);
    for (uint64_t p = round_down(lo, page); rc == 0 && p < hi; p += page) {
        uint64_t from = p > lo ? p : lo, to = p + page < hi ? p + page : hi;

        if (dirty_busy(&c->dirty, from, to)) {
            rc = punch_counted(c, run, from, NULL);
            run = to;
        }
    }
    if (rc == 0)
        rc = punch_counted(c, run, hi, NULL);
    if (c->is_shared && hi > lo)
        shared_unlock_pages(&c->shared, lo, hi - lo);
    return rc;
}

int cache_sync(struct um_cache *c)
{
    return cache_has_store_writes(c) ? c->store->ops->sync(c->store) : 0;
}

/* ------------------------------------------------------------ eviction */

struct page_query {
    struct um_cache *cache;
    uint64_t off, end;
    bool found;
    bool reset;                 /* cache_page_referenced: clear what it finds */
};

/* Whether a writable shared mapping covers [off, end) of the cache:
 * such pages could be written while they are being evicted. */
static int writer_covers(void *arg, const struct um_region *r)
{
    struct page_query *q = arg;
    uint64_t lo, hi;

    return r->cache == q->cache && region_writes_back(r) &&
           region_clip_offsets(r, q->off, q->end, &lo, &hi);
}

bool cache_may_evict(struct um_cache *c, uint64_t off, uint64_t len)
{
    struct page_query q = { c, off, off + len, false, false };

    if (c->anonymous)
        return false;
    /* Writable mappings in a pool with a limit track writes synchronously
     * (region_tracking), which makes their pages safe to evict. */
    if (c->pool->cfg.memory_limit && um_engine->tracks_writes_sync)
        return true;
    return !region_for_each(writer_covers, &q);
}

/* A mapped page-table entry found: the page was touched.  Dropping the
 * entry (it maps the memfd page, never a private copy: PAGE_IS_FILE)
 * costs the next access a minor fault and makes the next look telling. */
static void clear_reference(void *arg, uintptr_t start, uintptr_t end)
{
    struct page_query *q = arg;

    q->found = true;
    if (q->reset)
        madvise((void *)start, end - start, MADV_DONTNEED);
}

static int look_for_reference(void *arg, const struct um_region *r)
{
    struct page_query *q = arg;
    struct pagemap_query pq = { .all = PAGE_IS_PRESENT | PAGE_IS_FILE };
    uint64_t lo, hi;

    if (r->cache == q->cache && region_clip_offsets(r, q->off, q->end, &lo, &hi))
        pagemap_scan((void *)region_addr_of(r, lo), (size_t)(hi - lo), &pq, clear_reference, q);
    return q->found && !q->reset;   /* one mapping is answer enough, unless clearing */
}

bool cache_page_referenced(struct um_cache *c, uint64_t off, uint64_t len, bool reset)
{
    struct page_query q = { c, off, off + len, false, reset };

    region_for_each(look_for_reference, &q);
    return q.found;
}

/*
 * Evicting takes only clean pages: writing dirty ones back here, in a
 * fault handler, could wait on a lock the faulting thread holds (a
 * write(2) from a mapping of the same file holds the file's).  The claim
 * keeps write faults out (cache_begin_write) from the look to the punch,
 * so a write either lands before the look, which sees it, or waits and
 * then lands on a fresh copy read back from the store.  Dirty pages are
 * left to the flusher (-EAGAIN).
 */
int cache_evict(struct um_cache *c, uint64_t off, uint64_t len, uint64_t *freed)
{
    uint64_t end = off + len < cache_end(c) ? off + len : cache_end(c);
    bool waited, locked = false, alone = false;
    int slot = cache_claim(c, off, end, CLAIM_TRY, &waited), rc;

    *freed = 0;
    if (slot < 0)
        return -EBUSY;
    /* Other processes: a fill or a first write of these pages is under
     * way there; step aside.  Alone, no lock is needed (shared.h). */
    if (c->is_shared) {
        alone = shared_lone_begin(&c->shared);
        locked = !alone && shared_lock_pages(&c->shared, off, end - off, true, false);
        if (!alone && !locked) {
            cache_unclaim(c, slot);
            return -EBUSY;
        }
    }
    rc = cache_collect(c, off, end);
    if (rc == 0 && dirty_busy(&c->dirty, off, end))
        rc = -EAGAIN;
    /* What the punch found, not the change in c->resident: fills of other
     * pages add to it meanwhile, and a difference could wrap. */
    if (rc == 0)
        rc = punch_counted(c, off, end, freed);
    /* The frames were counted when this process filled them: pages of
     * them another process took out of the cache since (an invalidation,
     * a truncation) still leave the count here, or it would only grow. */
    if (rc == 0 && *freed < len) {
        uint64_t stale = uncount(c, len - *freed);

        stat_sub(&c->pool->counters.resident, stale);
        *freed += stale;
    }
    if (locked)
        shared_unlock_pages(&c->shared, off, end - off);
    if (alone)
        shared_lone_end(&c->shared);
    cache_unclaim(c, slot);
    return rc;
}

/* In a shared cache the page is also held (shared) against evictions in
 * other processes, and arm_lock against this process's write-back
 * lowering its writing flag meanwhile. */
bool cache_begin_write(struct um_cache *c, uint64_t off, uint64_t len, int *slot)
{
    bool waited;

    *slot = cache_claim(c, off, off + len, CLAIM_MUST, &waited);
    if (c->is_shared) {
        shared_lock_pages(&c->shared, off, len, false, true);
        pthread_mutex_lock(&c->arm_lock);
    }
    return !waited;
}

void cache_end_write(struct um_cache *c, uint64_t off, uint64_t len, int slot)
{
    if (c->is_shared) {
        pthread_mutex_unlock(&c->arm_lock);
        shared_unlock_pages(&c->shared, off, len);
    }
    cache_unclaim(c, slot);
}
