/* SPDX-License-Identifier: MIT */
/*
 * private.c - the pages a private mapping owns, counted against the
 * budget and spilled to a swap file when evicted (see private.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "pagemap.h"
#include "pool.h"
#include "private.h"
#include "readahead.h"
#include "region.h"
#include "sparse.h"
#include "stats.h"

static struct um_private *privates;     /* every set, under the lock */

/* The program's own memory is read through /proc/self/mem: it reads
 * pages whatever their protection (a PROT_NONE page must spill too). */
static int self_mem = -1;

/* Where swap files go, chosen at the first private mapping. */
static char swap_dir[PATH_MAX];

/* Zeros to fill anonymous pages from, up to the largest usermap page. */
static char zeros[(size_t)2 << 20];

bool private_wanted(const struct um_pool *pool)
{
    return pool->cfg.memory_limit && um_engine->tracks_writes_sync;
}

static void choose_swap_dir(void)
{
    const char *dir = getenv("USERMAP_SWAP_DIR");

    if (!dir || !*dir)
        dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/var/tmp";
    snprintf(swap_dir, sizeof(swap_dir), "%s", dir);
}

/* An unlinked file only this process can reach, readable by its owner
 * only: O_TMPFILE where the file system has it, else a named file
 * removed at once. */
static int open_swap_file(void)
{
    char path[PATH_MAX + 32];
    int fd = open(swap_dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);

    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd < 0 ? -errno : fd;
    snprintf(path, sizeof(path), "%s/usermap-swap-XXXXXX", swap_dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    unlink(path);
    return fd;
}

/* ------------------------------------------------------------- life */

struct um_private *private_new(struct um_pool *pool, bool anonymous, uint64_t lo, uint64_t hi)
{
    struct um_private *p = calloc(1, sizeof(*p));
    uint64_t pages;

    if (!p) {
        um_fail(ENOMEM, "out of memory for a private mapping's page table");
        return NULL;
    }
    if (self_mem < 0)
        self_mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    if (self_mem < 0) {
        um_fail(errno, "cannot open /proc/self/mem to spill private pages: %s",
                strerror(errno));
        free(p);
        return NULL;
    }
    if (!swap_dir[0])
        choose_swap_dir();
    p->page_size = pool->cfg.page_size;
    p->base = lo & ~(p->page_size - 1);
    pages = (hi - p->base + p->page_size - 1) / p->page_size;
    /* Mapped, not allocated: a huge sparse mapping gets a huge bitmap, of
     * which only the pages in use take memory. */
    p->counted_len = (size_t)((pages + 7) / 8 + um_system_page() - 1) & ~(um_system_page() - 1);
    p->counted = um_private_mmap(p->counted_len, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1);
    if (p->counted == MAP_FAILED) {
        um_fail(ENOMEM, "out of memory for a private mapping of %llu pages",
                (unsigned long long)pages);
        free(p);
        return NULL;
    }
    p->refs = 1;
    p->pool = pool;
    p->anonymous = anonymous;
    p->lo = lo;
    p->hi = hi;
    p->swap_fd = p->swap_fd_for_child = -1;
    claims_init(&p->claims);
    p->next = privates;
    privates = p;
    return p;
}

void private_hold(struct um_private *p)
{
    p->refs++;
}

void private_release(struct um_private *p)
{
    if (--p->refs > 0)
        return;
    for (struct um_private **q = &privates; *q; q = &(*q)->next) {
        if (*q == p) {
            *q = p->next;
            break;
        }
    }
    evict_forget_private(p->pool, p);
    evict_unreserve(p->pool, p->resident);
    if (p->swap_fd >= 0)
        close(p->swap_fd);
    claims_destroy(&p->claims);
    um_private_munmap(p->counted, p->counted_len);
    free(p);
}

/* --------------------------------------------------------- counting */

static uint64_t page_index(const struct um_private *p, uint64_t page)
{
    return (page - p->base) / p->page_size;
}

static bool is_counted(struct um_private *p, uint64_t page)
{
    uint64_t i = page_index(p, page);

    return __atomic_load_n(&p->counted[i / 8], __ATOMIC_RELAXED) & (1u << (i % 8));
}

static void mark(struct um_private *p, uint64_t page, bool counted)
{
    uint64_t i = page_index(p, page);
    unsigned char bit = (unsigned char)(1u << (i % 8));

    if (counted)
        __atomic_fetch_or(&p->counted[i / 8], bit, __ATOMIC_RELAXED);
    else
        __atomic_fetch_and(&p->counted[i / 8], (unsigned char)~bit, __ATOMIC_RELAXED);
}

/* The bytes usermap page `page` counts for: the part the mapping covered. */
static uint64_t page_bytes(const struct um_private *p, uint64_t page)
{
    uint64_t lo = page > p->lo ? page : p->lo;
    uint64_t hi = page + p->page_size < p->hi ? page + p->page_size : p->hi;

    return hi > lo ? hi - lo : 0;
}

/* Counts a page against the budget (evicting others first if need be).
 * The caller holds the claim on the page. */
static void count_page(struct um_private *p, uint64_t page)
{
    uint64_t n = page_bytes(p, page);

    if (is_counted(p, page))
        return;
    evict_reserve(p->pool, n);
    mark(p, page, true);
    __atomic_fetch_add(&p->resident, n, __ATOMIC_RELAXED);
    evict_note_private(p->pool, p, page);
}

static uint64_t uncount_page(struct um_private *p, uint64_t page)
{
    uint64_t n = page_bytes(p, page);

    if (!is_counted(p, page))
        return 0;
    mark(p, page, false);
    __atomic_fetch_sub(&p->resident, n, __ATOMIC_RELAXED);
    evict_unreserve(p->pool, n);
    return n;
}

/* ------------------------------------------------------------ faults */

struct swap_in {
    const struct um_region *r;
    struct um_private *p;
    uint64_t page;
    int swap_fd;
    int rc;
};

/* Brings one spilled run of the swap file back to where it is mapped. */
static void swap_in_run(void *arg, uintptr_t lo, uintptr_t hi)
{
    struct swap_in *s = arg;
    size_t len = hi - lo;
    char *buf;
    ssize_t got;
    long placed;

    if (s->rc)
        return;
    count_page(s->p, s->page);      /* may evict, which uses the scratch buffer */
    buf = cache_scratch(len);
    if (!buf) {
        s->rc = -ENOMEM;
        return;
    }
    got = pread(s->swap_fd, buf, len, (off_t)lo);
    if (got != (ssize_t)len) {
        s->rc = got < 0 ? -errno : -EIO;
        return;
    }
    placed = um_engine->place((void *)region_addr_of(s->r, lo), buf, len);
    if (placed < 0) {
        s->rc = (int)placed;
        return;
    }
    STAT_ADD(&s->p->pool->counters, bytes_swapped_in, (uint64_t)len);
    s->rc = sparse_punch(s->swap_fd, lo, hi);
}

/* The end of what a file's memfd can show in r (past it: SIGBUS). */
static uintptr_t end_of_file_in(const struct um_region *r, uintptr_t end)
{
    uint64_t eof = cache_end(r->cache);

    if (eof <= r->offset)
        return r->start;
    return region_offset_of(r, end) > eof ? region_addr_of(r, eof) : end;
}

/* A page the mapping does not show: from the swap file if it was
 * spilled, else zeros or the file's page. */
static int bring_in(const struct um_region *r, struct um_private *p, uintptr_t start,
                    uintptr_t end, uint64_t page, enum um_fault_kind kind)
{
    struct swap_in s = { r, p, page, __atomic_load_n(&p->swap_fd, __ATOMIC_ACQUIRE), 0 };
    int rc;

    if (s.swap_fd >= 0) {
        rc = sparse_for_each_data(s.swap_fd, region_offset_of(r, start),
                                  region_offset_of(r, end), swap_in_run, &s);
        if (rc < 0 || s.rc < 0)
            return rc < 0 ? rc : s.rc;
    }
    if (p->anonymous) {
        long placed;

        count_page(p, page);
        placed = um_engine->place((void *)start, zeros, end - start);
        return placed < 0 ? (int)placed : 0;
    }
    /* Even for a minor fault: the page may have been evicted since. */
    rc = cache_fill(r->cache, region_offset_of(r, start), end - start, false);
    if (rc < 0)
        return rc;
    if (kind == UM_FAULT_MISSING)
        readahead_on_fault(r, page);
    end = end_of_file_in(r, end);
    if (!__atomic_load_n(&p->minor_watched, __ATOMIC_ACQUIRE) || end <= start)
        return 0;
    /* Not counted: protected, so that the first write is seen.  A page
     * evicted from the cache again meanwhile (EFAULT) faults again. */
    rc = um_engine->map_cached((void *)start, end - start, !is_counted(p, page));
    return rc == -EFAULT ? 0 : rc;
}

int private_fault(const struct um_region *r, uintptr_t start, uintptr_t end,
                  enum um_fault_kind kind)
{
    struct um_private *p = r->priv;
    uint64_t page = region_offset_of(r, start) & ~(p->page_size - 1);
    bool waited;
    int slot = claims_take(&p->claims, page, page + p->page_size, CLAIM_MUST, &waited), rc;

    if (kind == UM_FAULT_WRITE) {
        /* The kernel makes the copy once the write is let through. */
        count_page(p, page);
        rc = um_engine->unprotect((void *)start, end - start);
    } else {
        rc = bring_in(r, p, start, end, page, kind);
    }
    claims_release(&p->claims, slot);
    return rc;
}

/* ---------------------------------------------------------- eviction */

/* Spilled pages are copied in runs of up to this much (or one usermap
 * page, if larger): a pread and a pwrite per run, not per page. */
#define SPILL_CHUNK ((size_t)256 << 10)

struct spill {
    struct um_private *p;
    uint64_t lo, hi;            /* the usermap pages, in offsets */
    const struct um_region *r;  /* the piece being spilled */
    char *buf;
    size_t chunk;               /* buf's size */
    int swap_fd;
    int rc;
};

static int watch_minor(void *arg, const struct um_region *r)
{
    if (r->priv != arg)
        return 0;
    return um_engine->watch((void *)r->start, r->end - r->start, UM_TRACK_SYNC,
                            UM_WATCH_MINOR | UM_WATCH_UNPROTECTED) < 0 ? -errno : 0;
}

/* Copies one run of the program's own pages to the swap file. */
static void spill_run(void *arg, uintptr_t start, uintptr_t end)
{
    struct spill *s = arg;
    uint64_t off = region_offset_of(s->r, start);

    for (uintptr_t a = start; a < end && !s->rc;) {
        size_t n = end - a < s->chunk ? end - a : s->chunk;
        ssize_t got = pread(self_mem, s->buf, n, (off_t)a);

        if (got == (ssize_t)n)
            got = pwrite(s->swap_fd, s->buf, n, (off_t)off);
        if (got != (ssize_t)n)
            s->rc = got < 0 ? -errno : -EIO;
        else
            STAT_ADD(&s->p->pool->counters, bytes_swapped_out, (uint64_t)n);
        a += n;
        off += n;
    }
}

/*
 * Spills the pages where piece r maps them.  Protected first, so a write
 * waits (its fault needs the claim the eviction holds) and comes back
 * to a page read from the swap file.  The kernel then drops the pages:
 * for a file mapping that would show the memfd's page next, which is why
 * such mappings watch minor faults from their first spill on.
 */
static int spill_piece(void *arg, const struct um_region *r)
{
    struct spill *s = arg;
    struct pagemap_query own = { .all = PAGE_IS_PRESENT, .none = PAGE_IS_FILE };
    uint64_t lo, hi;
    uintptr_t start;
    size_t len;
    int rc;

    if (r->priv != s->p || !region_clip_offsets(r, s->lo, s->hi, &lo, &hi))
        return 0;
    start = region_addr_of(r, lo);
    len = (size_t)(hi - lo);
    if (!s->p->anonymous && !__atomic_load_n(&s->p->minor_watched, __ATOMIC_ACQUIRE)) {
        rc = region_for_each(watch_minor, s->p);
        if (rc < 0)
            return rc;
        __atomic_store_n(&s->p->minor_watched, true, __ATOMIC_RELEASE);
    }
    rc = um_engine->protect((void *)start, len);
    if (rc < 0)
        return rc;
    s->r = r;
    rc = pagemap_scan((void *)start, len, &own, spill_run, s);
    if (rc < 0 || s->rc < 0)
        return rc < 0 ? rc : s->rc;
    return madvise((void *)start, len, MADV_DONTNEED) < 0 ? -errno : 0;
}

/* The swap file, opened at the first spill.  Threads evicting pages of
 * the same mapping may race to it: the first one's file is kept. */
static int swap_file_of(struct um_private *p)
{
    int fd = __atomic_load_n(&p->swap_fd, __ATOMIC_ACQUIRE), none = -1;

    if (fd >= 0)
        return fd;
    fd = open_swap_file();
    if (fd < 0)
        return fd;
    if (!__atomic_compare_exchange_n(&p->swap_fd, &none, fd, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        close(fd);
        fd = none;
    }
    return fd;
}

int private_evict(struct um_private *p, uint64_t off, uint64_t len, uint64_t *freed)
{
    struct spill s = { .p = p, .lo = off, .hi = off + len };
    bool waited, any = false;
    int slot = claims_take(&p->claims, s.lo, s.hi, CLAIM_TRY, &waited), rc = 0;

    *freed = 0;
    if (slot < 0)
        return -EBUSY;
    /* Pages forgotten since they were noted hold nothing of their own. */
    for (uint64_t page = s.lo; page < s.hi && !any; page += p->page_size)
        any = is_counted(p, page);
    if (!any)
        goto out;
    s.chunk = p->page_size > SPILL_CHUNK ? p->page_size : SPILL_CHUNK;
    s.buf = cache_scratch(s.chunk);
    if (!s.buf) {
        rc = -ENOMEM;
        goto out;
    }
    rc = s.swap_fd = swap_file_of(p);
    if (rc < 0)
        goto out;
    rc = region_for_each(spill_piece, &s);
    for (uint64_t page = s.lo; rc == 0 && page < s.hi; page += p->page_size)
        *freed += uncount_page(p, page);
out:
    claims_release(&p->claims, slot);
    return rc;
}

/* ------------------------------------------------- the program drops */

void private_forget(const struct um_region *piece)
{
    struct um_private *p = piece->priv;
    uint64_t lo = piece->offset, hi = region_offset_of(piece, piece->end);

    if (!p)
        return;
    /* Protected again, so that after MADV_DONTNEED a first write to a
     * file's page is seen again (the pages' markers survive the drop). */
    if (!p->anonymous)
        um_engine->protect((void *)piece->start, piece->end - piece->start);
    for (uint64_t page = lo & ~(p->page_size - 1); page < hi; page += p->page_size) {
        uint64_t from = page > p->lo ? page : p->lo;
        uint64_t to = page + p->page_size < p->hi ? page + p->page_size : p->hi;

        if (from >= lo && to <= hi)
            uncount_page(p, page);
    }
    if (p->swap_fd >= 0)
        sparse_punch(p->swap_fd, lo, hi);
}

/* --------------------------------------------------------------- fork */

static void copy_run(void *arg, uintptr_t lo, uintptr_t hi)
{
    int *fds = arg;
    loff_t in = (loff_t)lo, out = (loff_t)lo;

    while (fds[2] == 0 && in < (loff_t)hi) {
        ssize_t n = copy_file_range(fds[0], &in, fds[1], &out, hi - (uintptr_t)in, 0);
        if (n <= 0)
            fds[2] = n < 0 ? -errno : -EIO;
    }
}

/* Parent and child would overwrite each other's spilled pages in one
 * file: the child gets a copy, made while the parent holds the lock. */
void private_before_fork(void)
{
    for (struct um_private *p = privates; p; p = p->next) {
        int fds[3] = { p->swap_fd, -1, 0 };

        if (p->swap_fd < 0)
            continue;
        fds[1] = open_swap_file();
        if (fds[1] >= 0)
            sparse_for_each_data(fds[0], 0, UINT64_MAX >> 1, copy_run, fds);
        if (fds[1] >= 0 && fds[2] < 0) {
            close(fds[1]);
            fds[1] = -1;
        }
        p->swap_fd_for_child = fds[1];
    }
}

void private_after_fork(bool in_child)
{
    for (struct um_private *p = privates; p; p = p->next) {
        if (p->swap_fd < 0)
            continue;
        if (in_child) {
            /* Without its own copy the child keeps the parent's file:
             * its spilled pages are right until the parent reuses them. */
            if (p->swap_fd_for_child >= 0) {
                close(p->swap_fd);
                p->swap_fd = p->swap_fd_for_child;
            }
        } else if (p->swap_fd_for_child >= 0) {
            close(p->swap_fd_for_child);
        }
        p->swap_fd_for_child = -1;
    }
    if (in_child && self_mem >= 0) {
        close(self_mem);
        self_mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    }
}
