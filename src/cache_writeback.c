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
    bool reset;                 /* protect again where it costs no fault */
    bool protect;               /* protect again everywhere */
    const struct um_region *region;
    struct um_ranges found;     /* cache offsets */
};

static void add_written(void *arg, uintptr_t start, uintptr_t end)
{
    struct dirty_scan *s = arg;

    ranges_add(&s->found, region_offset_of(s->region, start),
               region_offset_of(s->region, end));
}

static int scan_region(void *arg, const struct um_region *r)
{
    struct dirty_scan *s = arg;
    uint64_t lo, hi;
    int rc;

    if (r->cache != s->cache || !region_writes_back(r) ||
        !region_clip_offsets(r, s->lo, s->hi, &lo, &hi))
        return 0;
    s->region = r;
    /* Protecting a synchronously tracked page again makes its next write
     * a round trip to the handler: only worth it when the page is about to
     * leave the page tables.  (A program writing while another msyncs in a
     * loop would otherwise keep both busy.) */
    rc = um_engine->collect_written((void *)region_addr_of(r, lo), (size_t)(hi - lo),
                                    region_tracking(r),
                                    s->protect || (s->reset && region_tracking(r) != UM_TRACK_SYNC),
                                    add_written, s);
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

static int add_present(struct um_cache *c, uint64_t lo, uint64_t hi, struct um_ranges *out)
{
    return for_each_present(c, lo, hi, add_range, out);
}

/*
 * The pages of [lo, hi) that may differ from the store.  With tracking,
 * those written through any writable mapping of this process (reset: they
 * count as clean from now on).  Without tracking, every present page.
 */
static int collect_dirty(struct um_cache *c, uint64_t lo, uint64_t hi, bool reset,
                         bool protect, struct um_ranges *out)
{
    struct dirty_scan s = { .cache = c, .lo = lo, .hi = hi, .reset = reset, .protect = protect };
    int rc;

    if (!um_engine->tracks_writes)
        return region_for_each(cache_has_writer, c) ? add_present(c, lo, hi, out) : 0;
    rc = region_for_each(scan_region, &s);
    *out = s.found;
    if (rc == 0)
        rc = out->error;
    return rc;
}

/* ---------------------------------------------------------- write-back */

/* How a write-back goes about it. */
struct wb_mode {
    bool only_if_changed;   /* compare with the store first (after fork) */
    bool claim;             /* claim each chunk while copying it */
};

/*
 * Copies one chunk from the memfd to the store.  Two write-backs of the
 * same page (an msync and an eviction, say) must not interleave, or the
 * older bytes could reach the store last: each chunk is claimed while it
 * is copied, unless the caller holds the claim already (eviction).  A
 * page evicted since it was found dirty was written back by its eviction:
 * only what is still present is copied (a hole would read as zeros).
 */
static int write_present(struct um_cache *c, char *buf, size_t chunk, uint64_t off,
                         size_t n, struct wb_mode mode);

static int write_chunk(struct um_cache *c, char *buf, size_t chunk, uint64_t off, size_t n,
                       struct wb_mode mode)
{
    bool waited;
    int slot = mode.claim ? cache_claim(c, off, off + n, CLAIM_MUST, &waited) : -1;
    struct um_ranges present = { 0 };
    int rc = add_present(c, off, off + n, &present);

    for (size_t i = 0; i < present.n && rc == 0; i++)
        rc = write_present(c, buf, chunk, present.v[i].start,
                           (size_t)(present.v[i].end - present.v[i].start), mode);
    ranges_free(&present);
    cache_unclaim(c, slot);
    return rc;
}

static int write_present(struct um_cache *c, char *buf, size_t chunk, uint64_t off,
                         size_t n, struct wb_mode mode)
{
    ssize_t got = pread(c->memfd, buf, n, (off_t)off);
    int rc = got < 0 ? -errno : 0;

    if (rc == 0 && mode.only_if_changed) {
        ssize_t old = c->store->ops->read(c->store, buf + chunk, (size_t)got, off);
        if (old == got && memcmp(buf, buf + chunk, (size_t)got) == 0)
            got = 0;
    }
    if (rc == 0 && got > 0)
        rc = c->store->ops->write(c->store, buf, (size_t)got, off);
    if (rc == 0 && got > 0) {
        STAT_ADD(&c->pool->counters, bytes_written, (uint64_t)got);
        STAT_ADD(&c->pool->counters, pages_written,
                 ((uint64_t)got + c->page_size - 1) / c->page_size);
    }
    return rc;
}

static int write_range(struct um_cache *c, uint64_t start, uint64_t end, struct wb_mode mode)
{
    size_t chunk = c->page_size > (1u << 20) ? c->page_size : (1u << 20);
    char *buf = cache_scratch(2 * chunk);

    if (!buf)
        return -ENOMEM;
    for (uint64_t off = start; off < end; off += chunk) {
        int rc = write_chunk(c, buf, chunk, off, (size_t)(end - off < chunk ? end - off : chunk),
                             mode);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Writes each range, widened to whole usermap pages and cut at the end of
 * the file, whose size the store must keep.  Widening comes before the
 * merge, so that a usermap page holding several written ranges is written
 * once. */
static int write_ranges(struct um_cache *c, struct um_ranges *list, struct wb_mode mode)
{
    for (size_t i = 0; i < list->n; i++) {
        list->v[i].start = round_down(list->v[i].start, c->page_size);
        list->v[i].end = round_up(list->v[i].end, c->page_size);
    }
    ranges_merge(list);
    for (size_t i = 0; i < list->n; i++) {
        uint64_t end = list->v[i].end < c->size ? list->v[i].end : c->size;
        int rc;

        if (list->v[i].start >= end)
            continue;
        rc = write_range(c, list->v[i].start, end, mode);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* cache_writeback(), by a caller that claims the pages itself (claim
 * false) or not. */
static int writeback(struct um_cache *c, uint64_t lo, uint64_t hi, bool protect, bool claim)
{
    struct um_ranges dirty = { 0 };
    int rc;

    if (!cache_has_store_writes(c))
        return 0;
    rc = collect_dirty(c, lo, hi, true, protect, &dirty);
    if (rc == 0)
        rc = write_ranges(c, &dirty, (struct wb_mode){ .claim = claim });
    ranges_free(&dirty);
    /* After fork, the other process's writes are invisible to our tracking:
     * compare every present page with the store. */
    if (rc == 0 && c->forked) {
        rc = add_present(c, lo, hi, &dirty);
        if (rc == 0)
            rc = write_ranges(c, &dirty, (struct wb_mode){ .only_if_changed = true, .claim = claim });
        ranges_free(&dirty);
    }
    return rc;
}

int cache_writeback(struct um_cache *c, uint64_t lo, uint64_t hi, bool protect)
{
    return writeback(c, lo, hi, protect, true);
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

/* Takes [start, end) out of the memfd; *freed (if asked) gets the bytes
 * that were there. */
static int punch(struct um_cache *c, uint64_t start, uint64_t end, uint64_t *freed)
{
    uint64_t gone;
    int rc;

    if (start >= end)
        return 0;
    gone = present_bytes(c, start, end);
    rc = sparse_punch(c->memfd, start, end);
    if (rc < 0)
        return rc;
    __atomic_fetch_sub(&c->resident, gone, __ATOMIC_RELAXED);
    stat_sub(&c->pool->counters.resident, gone);
    if (freed)
        *freed = gone;
    return 0;
}

int cache_invalidate(struct um_cache *c, uint64_t lo, uint64_t hi)
{
    uint64_t sys = um_system_page(), pos;
    struct um_ranges dirty = { 0 };
    int rc = 0;

    if (c->anonymous)
        return 0;
    /* Where dirty pages cannot be told apart, save them all first. */
    if (!um_engine->tracks_writes || c->forked)
        rc = cache_writeback(c, lo, hi, false);
    else
        rc = collect_dirty(c, lo, hi, false, false, &dirty);
    if (rc < 0)
        goto out;
    ranges_merge(&dirty);
    pos = round_up(lo, sys);
    for (size_t i = 0; i < dirty.n && rc == 0; i++) {
        rc = punch(c, pos, round_down(dirty.v[i].start, sys), NULL);
        pos = round_up(dirty.v[i].end, sys);
    }
    if (rc == 0)
        rc = punch(c, pos, round_down(hi, sys) > pos ? round_down(hi, sys) : pos, NULL);
out:
    ranges_free(&dirty);
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
 * Evicting a page that a mapping may write: the claim keeps write faults
 * out (cache_begin_write) from the write-back to the punch, so that every
 * write either lands before the write-back, which saves it, or waits and
 * then lands on a fresh copy read back from the store.
 */
int cache_evict(struct um_cache *c, uint64_t off, uint64_t len, uint64_t *freed)
{
    uint64_t end = off + len < cache_end(c) ? off + len : cache_end(c);
    bool waited;
    int slot = cache_claim(c, off, end, CLAIM_TRY, &waited), rc;

    *freed = 0;
    if (slot < 0)
        return -EBUSY;
    /* What the punch found, not the change in c->resident: fills of other
     * pages add to it meanwhile, and a difference could wrap. */
    rc = writeback(c, off, end, true, false);
    if (rc == 0)
        rc = punch(c, off, end, freed);
    cache_unclaim(c, slot);
    return rc;
}

bool cache_begin_write(struct um_cache *c, uint64_t off, uint64_t len, int *slot)
{
    bool waited;

    *slot = cache_claim(c, off, off + len, CLAIM_MUST, &waited);
    return !waited;
}

void cache_end_write(struct um_cache *c, int slot)
{
    cache_unclaim(c, slot);
}
