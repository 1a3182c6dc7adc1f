/*
 * cache.c - one memfd page cache per backing file: fill, write-back,
 * invalidation.  See cache.h for the model.
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
#include "error.h"
#include "evict.h"
#include "lifecycle.h"
#include "pool.h"
#include "prefetch.h"
#include "ranges.h"
#include "readahead.h"
#include "pagemap.h"
#include "region.h"
#include "stats.h"
#include "store.h"

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

static struct um_cache *caches;     /* every open cache, under the lock */

static uint64_t round_up(uint64_t x, uint64_t unit)
{
    return (x + unit - 1) & ~(unit - 1);
}

static uint64_t round_down(uint64_t x, uint64_t unit)
{
    return x & ~(unit - 1);
}

/*
 * A per-thread buffer for moving pages between store and memfd, mapped
 * rather than allocated because it can be as large as a 2 MiB page.
 */
static void *scratch(size_t len)
{
    static __thread void *buf;
    static __thread size_t buf_len;

    if (len <= buf_len)
        return buf;
    if (buf)
        um_private_munmap(buf, buf_len);
    buf = um_private_mmap(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    if (buf == MAP_FAILED) {
        buf = NULL;
        buf_len = 0;
        return NULL;
    }
    buf_len = len;
    return buf;
}

/* ---------------------------------------------------------------- life */

/* Maps the window over the first len bytes and tells the engine about it:
 * the engine can only install pages in watched memory. */
static int map_window(struct um_cache *c, size_t len)
{
    void *w;

    if (len == 0)
        return 0;
    w = um_private_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, c->memfd);
    if (w == MAP_FAILED)
        return um_fail(errno, "cannot map usermap's page cache window of %zu bytes: %s",
                       len, strerror(errno));
    if (um_engine->watch(w, len, UM_TRACK_NONE) < 0) {
        int err = errno;
        um_private_munmap(w, len);
        errno = err;
        return -1;
    }
    c->window = w;
    c->window_len = len;
    return 0;
}

static void unmap_window(struct um_cache *c)
{
    if (c->window)
        um_private_munmap(c->window, c->window_len);
    c->window = NULL;
    c->window_len = 0;
}

static void free_cache(struct um_cache *c)
{
    prefetch_forget(c->pool, c);
    evict_forget(c->pool, c);
    readahead_destroy(&c->readahead);
    pthread_mutex_destroy(&c->in_flight.lock);
    pthread_cond_destroy(&c->in_flight.done);
    stat_sub(&c->pool->counters.resident, c->resident);
    unmap_window(c);
    if (c->memfd >= 0)
        close(c->memfd);
    if (c->store)
        c->store->ops->close(c->store);
    free(c);
}

static struct um_cache *new_cache(struct um_pool *pool, const char *name, uint64_t size,
                                  bool anonymous)
{
    struct um_cache *c = calloc(1, sizeof(*c));
    char label[64];

    if (!c) {
        um_fail(ENOMEM, "out of memory for a page cache");
        return NULL;
    }
    c->refs = 1;
    c->pool = pool;
    c->anonymous = anonymous;
    c->size = size;
    c->page_size = pool->cfg.page_size;
    readahead_init(&c->readahead);
    pthread_mutex_init(&c->in_flight.lock, NULL);
    pthread_cond_init(&c->in_flight.done, NULL);
    snprintf(label, sizeof(label), "usermap:%s", name);
    c->memfd = memfd_create(label, MFD_CLOEXEC);
    if (c->memfd < 0) {
        um_fail(errno, "cannot create the page cache (memfd_create): %s", strerror(errno));
        goto fail;
    }
    if (ftruncate(c->memfd, (off_t)size) < 0) {
        um_fail(errno, "cannot size the page cache to %llu bytes: %s",
                (unsigned long long)size, strerror(errno));
        goto fail;
    }
    if (map_window(c, round_up(size, um_system_page())) < 0)
        goto fail;
    return c;
fail:
    {
        int err = errno;
        free_cache(c);
        errno = err;
    }
    return NULL;
}

static void link_cache(struct um_cache *c)
{
    c->next = caches;
    caches = c;
}

static void unlink_cache(struct um_cache *c)
{
    for (struct um_cache **p = &caches; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            return;
        }
    }
}

static struct um_cache *find_file_cache(struct um_pool *pool, const struct stat *st)
{
    for (struct um_cache *c = caches; c; c = c->next)
        if (!c->anonymous && c->pool == pool && c->dev == st->st_dev && c->ino == st->st_ino)
            return c;
    return NULL;
}

/*
 * The file changed size since the cache was made (a write(2) or truncate
 * by someone else).  Follow it: the memfd's size is what makes pages past
 * the end raise SIGBUS, and the old partial last page holds zeros where
 * the file now has data.
 */
static int follow_file_size(struct um_cache *c, uint64_t size)
{
    uint64_t sys = um_system_page(), old = c->size;

    if (size == old)
        return 0;
    if (size > old && old % sys)
        cache_invalidate(c, round_down(old, sys), round_up(old, sys));
    if (ftruncate(c->memfd, (off_t)size) < 0)
        return um_fail(errno, "cannot resize the page cache of %s: %s",
                       c->store->name, strerror(errno));
    c->size = size;
    if (round_up(size, sys) > c->window_len) {
        unmap_window(c);
        if (map_window(c, round_up(size, sys)) < 0)
            return -1;
    }
    return 0;
}

struct um_cache *cache_for_file(struct um_pool *pool, int fd, const struct stat *st,
                                bool needs_write)
{
    struct um_cache *c = find_file_cache(pool, st);
    bool created = false;

    if (c) {
        if (follow_file_size(c, (uint64_t)st->st_size) < 0)
            return NULL;
        c->refs++;
    } else {
        c = new_cache(pool, "file", (uint64_t)st->st_size, false);
        if (!c)
            return NULL;
        created = true;
        c->dev = st->st_dev;
        c->ino = st->st_ino;
        c->store = um_store_file_open(fd);
        if (!c->store) {
            um_fail(errno, "cannot keep fd %d open for the mapping: %s", fd, strerror(errno));
            goto fail;
        }
    }
    if (needs_write) {
        int rc = um_store_file_allow_write(c->store, fd);
        if (rc < 0) {
            um_fail(-rc, "cannot keep fd %d open for write-back: %s", fd, strerror(-rc));
            goto fail;
        }
    }
    if (created)
        link_cache(c);
    return c;
fail:
    {
        int err = errno;
        if (created)
            free_cache(c);
        else
            c->refs--;
        errno = err;
    }
    return NULL;
}

struct um_cache *cache_for_anonymous(struct um_pool *pool, size_t len)
{
    struct um_cache *c = new_cache(pool, "anonymous", len, true);

    if (!c)
        return NULL;
    c->store = um_store_zero();
    link_cache(c);
    return c;
}

void cache_hold(struct um_cache *c)
{
    c->refs++;
}

void cache_release(struct um_cache *c)
{
    if (--c->refs > 0)
        return;
    /* Pages written by another process after fork are known only by
     * their bytes: the last chance to save them is now. */
    if (c->forked)
        cache_writeback(c, 0, c->size, false);
    unlink_cache(c);
    free_cache(c);
}

int cache_map_fd(const struct um_cache *c)
{
    return c->memfd;
}

bool cache_has_store_writes(const struct um_cache *c)
{
    return !c->anonymous && c->store->ops->write != NULL;
}

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

/* Reads [off, off+len) from the store and installs it where pages are
 * missing.  Returns the usermap pages read, or -errno. */
static int fill_run(struct um_cache *c, uint64_t off, size_t len, bool prefetch)
{
    struct um_counters *counters = &c->pool->counters;
    int pages = (int)((len + c->page_size - 1) / c->page_size);
    void *buf;
    ssize_t got;
    long placed;

    evict_reserve(c->pool, len);
    if (c->anonymous) {
        placed = um_engine->place_zero(c->window + off, len);
        count_placed(c, len, placed);
        return placed < 0 ? (int)placed : 0;
    }
    buf = scratch(len);
    got = buf ? c->store->ops->read(c->store, buf, len, off) : -ENOMEM;
    if (got < 0) {
        evict_unreserve(c->pool, len);
        return (int)got;
    }
    memset((char *)buf + got, 0, len - (size_t)got);
    stat_add(&counters->bytes_read, (uint64_t)got);
    stat_add(&counters->pages_filled, (uint64_t)pages);
    if (prefetch)
        stat_add(&counters->pages_prefetched, (uint64_t)pages);
    placed = um_engine->place(c->window + off, buf, len);
    count_placed(c, len, placed);
    if (placed > 0)
        evict_note_filled(c->pool, c, off, len);
    return placed < 0 ? (int)placed : pages;
}

#define IN_FLIGHT_SLOTS (sizeof(((struct fills_in_flight *)0)->run) / sizeof(struct um_range))

/*
 * Claims [start, end) for reading, after waiting for any overlapping run
 * that another thread is reading (a fault on a page the fill threads are
 * bringing in waits for them rather than reading it again).  Returns the
 * slot to release, or -1 when every slot is taken (then read unclaimed:
 * installing is atomic, so a duplicate read costs time, not correctness).
 * *waited says the pages may have changed meanwhile.
 *
 * Evictions and write faults claim pages too (see cache_evict):
 *   CLAIM_FILL   as above;
 *   CLAIM_MUST   also waits for a free slot;
 *   CLAIM_TRY    never waits: -1 if the pages or all slots are busy.  A
 *                thread evicting to make room for its own claimed fill
 *                must not wait, or it could wait for itself.
 */
enum claim_mode { CLAIM_FILL, CLAIM_MUST, CLAIM_TRY };

static int claim_run(struct um_cache *c, uint64_t start, uint64_t end, enum claim_mode mode,
                     bool *waited)
{
    struct fills_in_flight *f = &c->in_flight;
    int slot = -1;

    *waited = false;
    pthread_mutex_lock(&f->lock);
    for (;;) {
        bool busy = false;
        for (unsigned i = 0; i < IN_FLIGHT_SLOTS && !busy; i++)
            busy = f->run[i].end && f->run[i].start < end && start < f->run[i].end;
        for (unsigned i = 0; i < IN_FLIGHT_SLOTS && slot < 0 && !busy; i++) {
            if (!f->run[i].end) {
                f->run[i] = (struct um_range){ start, end };
                slot = (int)i;
            }
        }
        if (slot >= 0 || mode == CLAIM_TRY || (!busy && mode == CLAIM_FILL))
            break;
        pthread_cond_wait(&f->done, &f->lock);
        *waited = *waited || busy;
    }
    pthread_mutex_unlock(&f->lock);
    return slot;
}

static void release_run(struct um_cache *c, int slot)
{
    struct fills_in_flight *f = &c->in_flight;

    if (slot < 0)
        return;
    pthread_mutex_lock(&f->lock);
    f->run[slot] = (struct um_range){ 0, 0 };
    pthread_cond_broadcast(&f->done);
    pthread_mutex_unlock(&f->lock);
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

/* Fills the missing usermap pages of [start, end), at most one batch,
 * one contiguous run at a time. */
static int fill_batch(struct um_cache *c, uint64_t start, uint64_t end, bool prefetch)
{
    uint64_t pos = start, run_start, run_end;
    int filled = 0;

    while (pos < end && next_missing_run(c, pos, end, &run_start, &run_end)) {
        bool waited;
        int slot = claim_run(c, run_start, run_end, CLAIM_FILL, &waited), rc;

        if (waited) {           /* someone else filled part of it: look again */
            release_run(c, slot);
            pos = run_start;
            continue;
        }
        rc = fill_run(c, run_start, (size_t)(run_end - run_start), prefetch);
        release_run(c, slot);
        if (rc < 0)
            return rc;
        filled += rc;
        pos = run_end;
    }
    return filled;
}

int cache_fill(struct um_cache *c, uint64_t off, size_t len, bool prefetch)
{
    uint64_t page = c->page_size;
    uint64_t start = round_down(off, page);
    uint64_t end = round_up(off + len, page);
    /* Pages wholly past the end of the file are the kernel's SIGBUS. */
    uint64_t limit = round_up(c->size, um_system_page());
    uint64_t batch = page > FILL_BATCH ? page : FILL_BATCH;
    int filled = 0;

    if (end > limit)
        end = limit;

    for (uint64_t b = start; b < end; b += batch) {
        int rc = fill_batch(c, b, b + batch < end ? b + batch : end, prefetch);
        if (rc < 0)
            return rc;
        filled += rc;
    }
    return filled;
}

struct um_readahead *cache_readahead(struct um_cache *c)
{
    return &c->readahead;
}

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

    if (r->cache != s->cache || !region_writes_back(r))
        return 0;
    lo = s->lo > r->offset ? s->lo : r->offset;
    hi = s->hi < region_offset_of(r, r->end) ? s->hi : region_offset_of(r, r->end);
    if (lo >= hi)
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
static int has_writer(void *arg, const struct um_region *r)
{
    return r->cache == arg && region_writes_back(r);
}

/* Adds the pages of [lo, hi) present in the memfd (SEEK_DATA). */
static int add_present(struct um_cache *c, uint64_t lo, uint64_t hi, struct um_ranges *out)
{
    uint64_t end = hi < c->size ? hi : c->size;
    off_t pos = (off_t)lo;

    while ((uint64_t)pos < end) {
        off_t data = lseek(c->memfd, pos, SEEK_DATA);
        off_t hole;

        if (data < 0)
            return errno == ENXIO ? 0 : -errno;
        if ((uint64_t)data >= end)
            break;
        hole = lseek(c->memfd, data, SEEK_HOLE);
        if (hole < 0)
            return -errno;
        ranges_add(out, (uint64_t)data, (uint64_t)hole < end ? (uint64_t)hole : end);
        pos = hole;
    }
    return 0;
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
        return region_for_each(has_writer, c) ? add_present(c, lo, hi, out) : 0;
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
    int slot = mode.claim ? claim_run(c, off, off + n, CLAIM_MUST, &waited) : -1;
    struct um_ranges present = { 0 };
    int rc = add_present(c, off, off + n, &present);

    for (size_t i = 0; i < present.n && rc == 0; i++)
        rc = write_present(c, buf, chunk, present.v[i].start,
                           (size_t)(present.v[i].end - present.v[i].start), mode);
    ranges_free(&present);
    release_run(c, slot);
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
        stat_add(&c->pool->counters.bytes_written, (uint64_t)got);
        stat_add(&c->pool->counters.pages_written,
                 ((uint64_t)got + c->page_size - 1) / c->page_size);
    }
    return rc;
}

static int write_range(struct um_cache *c, uint64_t start, uint64_t end, struct wb_mode mode)
{
    size_t chunk = c->page_size > (1u << 20) ? c->page_size : (1u << 20);
    char *buf = scratch(2 * chunk);

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
static uint64_t present_bytes(struct um_cache *c, uint64_t start, uint64_t end)
{
    struct um_ranges present = { 0 };
    uint64_t total = 0;

    add_present(c, start, end, &present);
    for (size_t i = 0; i < present.n; i++)
        total += round_up(present.v[i].end, um_system_page()) - present.v[i].start;
    ranges_free(&present);
    return total;
}

static int punch(struct um_cache *c, uint64_t start, uint64_t end)
{
    uint64_t gone;

    if (start >= end)
        return 0;
    gone = present_bytes(c, start, end);
    if (fallocate(c->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  (off_t)start, (off_t)(end - start)) < 0)
        return -errno;
    __atomic_fetch_sub(&c->resident, gone, __ATOMIC_RELAXED);
    stat_sub(&c->pool->counters.resident, gone);
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
        rc = punch(c, pos, round_down(dirty.v[i].start, sys));
        pos = round_up(dirty.v[i].end, sys);
    }
    if (rc == 0)
        rc = punch(c, pos, round_down(hi, sys) > pos ? round_down(hi, sys) : pos);
out:
    ranges_free(&dirty);
    return rc;
}

int cache_sync(struct um_cache *c)
{
    return cache_has_store_writes(c) ? c->store->ops->sync(c->store) : 0;
}

/* ------------------------------------------------------- whole process */

void cache_writeback_everything(void)
{
    for (struct um_cache *c = caches; c; c = c->next)
        cache_writeback(c, 0, c->size, false);
}

/* Only caches the other process can write to need comparing: with no
 * writable shared mapping, its copy of the pages stays clean. */
void cache_mark_all_forked(void)
{
    for (struct um_cache *c = caches; c; c = c->next)
        if (region_for_each(has_writer, c))
            c->forked = true;
}

int cache_rewatch_all(void)
{
    for (struct um_cache *c = caches; c; c = c->next)
        if (c->window && um_engine->watch(c->window, c->window_len, UM_TRACK_NONE) < 0)
            return -errno;
    return 0;
}

/* ------------------------------------------------------------ eviction */

struct page_query {
    struct um_cache *cache;
    uint64_t off, end;
    bool found;
};

/* Whether a writable shared mapping covers [off, end) of the cache:
 * such pages could be written while they are being evicted. */
static int writer_covers(void *arg, const struct um_region *r)
{
    struct page_query *q = arg;

    return r->cache == q->cache && region_writes_back(r) && r->offset < q->end &&
           q->off < region_offset_of(r, r->end);
}

bool cache_may_evict(struct um_cache *c, uint64_t off, uint64_t len)
{
    struct page_query q = { c, off, off + len, false };

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
    madvise((void *)start, end - start, MADV_DONTNEED);
}

static int look_for_reference(void *arg, const struct um_region *r)
{
    struct page_query *q = arg;
    struct pagemap_query pq = { .all = PAGE_IS_PRESENT | PAGE_IS_FILE };
    uint64_t lo, hi;

    if (r->cache != q->cache)
        return 0;
    lo = q->off > r->offset ? q->off : r->offset;
    hi = q->end < region_offset_of(r, r->end) ? q->end : region_offset_of(r, r->end);
    if (lo < hi)
        pagemap_scan((void *)region_addr_of(r, lo), (size_t)(hi - lo), &pq, clear_reference, q);
    return 0;
}

bool cache_page_referenced(struct um_cache *c, uint64_t off, uint64_t len)
{
    struct page_query q = { c, off, off + len, false };

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
    uint64_t before = __atomic_load_n(&c->resident, __ATOMIC_RELAXED);
    uint64_t end = off + len < round_up(c->size, um_system_page())
                       ? off + len : round_up(c->size, um_system_page());
    bool waited;
    int slot = claim_run(c, off, end, CLAIM_TRY, &waited), rc;

    *freed = 0;
    if (slot < 0)
        return -EBUSY;
    rc = writeback(c, off, end, true, false);
    if (rc == 0)
        rc = punch(c, off, end);
    release_run(c, slot);
    *freed = before - __atomic_load_n(&c->resident, __ATOMIC_RELAXED);
    return rc;
}

bool cache_begin_write(struct um_cache *c, uint64_t off, uint64_t len, int *slot)
{
    bool waited;

    *slot = claim_run(c, off, off + len, CLAIM_MUST, &waited);
    return !waited;
}

void cache_end_write(struct um_cache *c, int slot)
{
    release_run(c, slot);
}
