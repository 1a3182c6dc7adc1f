/* SPDX-License-Identifier: MIT */
/*
 * cache_io.c - a file's own reads and writes through its page cache, as
 * the kernel's read(2) and write(2) go through its own: a read shows the
 * cached bytes (stores through mappings not yet written back included), a
 * write reaches the file and every cached copy of its bytes at once.
 *
 * Writes go through to the file: a process that does not use usermap
 * sees them at once, and a page the cache does not hold needs no fill.
 * What makes it safe is holding the range against everything that could
 * put older bytes over newer ones:
 *   - write-back (this process's wb_lock, every process's write-back
 *     lock): a page copied out before the write must not reach the file
 *     after it;
 *   - fills (the claim here, the page lock in other processes): a fill
 *     that read the file before the write must not install after it;
 *   - evictions, invalidation and truncation, which punch pages: a copy
 *     into a page just punched would bring it back holding zeros.
 * Alone on the cache, the lone-work count stands in for the locks of
 * other processes (shared.h).
 *
 * The caller's buffer must not be a usermap mapping: its fault could need
 * the very claim held here (api/fileio.c copies such buffers through one
 * of its own).  Any other buffer is handed to the system call as it is,
 * which answers EFAULT for a bad one, as it would without usermap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cache.h"
#include "cache_impl.h"
#include "lifecycle.h"
#include "sparse.h"
#include "store.h"

/* What a file I/O call holds on [start, end) of a cache. */
struct io_hold {
    uint64_t start, end;
    int slot;
    bool write;         /* also keeps write-back out */
    bool lone;          /* alone on the cache: the lone-work count */
    bool locked;        /* the page lock, in other processes' sight */
    bool wb_shared;     /* every process's write-back lock */
};

static void hold_range(struct um_cache *c, uint64_t start, uint64_t end, bool write,
                       struct io_hold *h)
{
    bool waited;

    *h = (struct io_hold){ .start = start, .end = end, .write = write };
    if (write)
        pthread_mutex_lock(&c->wb_lock);
    if (c->is_shared) {
        h->lone = shared_lone_begin(&c->shared);
        /* The order of cache_flush: write-back lock, then claims. */
        if (!h->lone && write) {
            h->wb_shared = true;
            if (shared_writeback_begin(&c->shared))
                dirty_done(&c->dirty, 0, cache_dirty_end(c), true);  /* its holder died */
        }
    }
    h->slot = cache_claim(c, start, end, CLAIM_MUST, &waited);
    if (c->is_shared && !h->lone)
        h->locked = shared_lock_pages(&c->shared, start, end - start, write, true);
}

static void release_range(struct um_cache *c, struct io_hold *h)
{
    if (h->locked)
        shared_unlock_pages(&c->shared, h->start, h->end - h->start);
    cache_unclaim(c, h->slot);
    if (h->wb_shared)
        shared_writeback_end(&c->shared);
    if (h->lone)
        shared_lone_end(&c->shared);
    if (h->write)
        pthread_mutex_unlock(&c->wb_lock);
}

/* Copies between buf, which holds the file's [off, off+len), and the
 * pages of it the cache holds. */
struct overlay {
    struct um_cache *cache;
    char *buf;
    uint64_t off;
    bool to_cache;
};

static void copy_present(void *arg, uintptr_t start, uintptr_t end)
{
    struct overlay *o = arg;
    char *page = o->cache->window + start, *mine = o->buf + (start - o->off);

    if (o->to_cache)
        memcpy(page, mine, end - start);
    else
        memcpy(mine, page, end - start);
}

/* The part of [off, off+len) the window shows (the cache's size may lag
 * the file's for a moment: the rest is the file's alone). */
static uint64_t window_stop(const struct um_cache *c, uint64_t off, uint64_t len)
{
    uint64_t stop = off + len;

    return stop < c->window_len ? stop : c->window_len;
}

/* Whether every system page of [off, off+len) is in memory, per
 * mincore (one system call, never a fault).  A page of shared memory
 * swapped out reads as absent: the caller then asks the memfd itself. */
static bool all_resident(const struct um_cache *c, uint64_t off, uint64_t len)
{
    uint64_t sys = um_system_page(), lo = round_down(off, sys), hi = round_up(off + len, sys);
    unsigned char vec[(CACHE_IO_MAX / 4096) + 2];

    if (hi > c->window_len || (hi - lo) / sys > sizeof(vec) ||
        mincore(c->window + lo, (size_t)(hi - lo), vec) < 0)
        return false;
    for (uint64_t i = 0; i < (hi - lo) / sys; i++)
        if (!(vec[i] & 1))
            return false;
    return true;
}

static int overlay(struct um_cache *c, char *buf, uint64_t off, uint64_t len, bool to_cache)
{
    struct overlay o = { c, buf, off, to_cache };
    uint64_t stop = window_stop(c, off, len);

    if (off >= stop)
        return 0;
    if (all_resident(c, off, stop - off)) {
        copy_present(&o, off, stop);
        return 0;
    }
    return sparse_for_each_data(c->memfd, off, stop, copy_present, &o);
}

static ssize_t pread_all(int fd, char *buf, size_t len, uint64_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd, buf + done, len - done, (off_t)(off + done));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return done ? (ssize_t)done : -errno;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

ssize_t cache_pread(struct um_cache *c, int fd, void *buf, size_t len, uint64_t off,
                    uint64_t file_size, bool buf_is_ours)
{
    uint64_t sys = um_system_page();
    struct io_hold h;
    ssize_t got;

    hold_range(c, round_down(off, sys), round_up(off + len, sys), false, &h);
    /* All of it in memory and in the file: the cache's copy is the read,
     * once a read of nothing has shown the descriptor may read.  Only
     * into a buffer of the library's: the caller's may be bad, which the
     * system call answers with EFAULT. */
    if (buf_is_ours && off + len <= file_size && all_resident(c, off, len) &&
        pread(fd, buf, 0, (off_t)off) == 0) {
        memcpy(buf, c->window + off, len);
        release_range(c, &h);
        return (ssize_t)len;
    }
    /* The file first, then the cache's copies over it: a page the cache
     * holds may hold stores the file has not seen.  Only up to the end
     * the file gave: past it, a read returns nothing, as the kernel's. */
    got = pread_all(fd, buf, len, off);
    if (got > 0) {
        int rc = overlay(c, buf, off, (uint64_t)got, false);
        if (rc < 0)
            got = rc;
    }
    release_range(c, &h);
    return got;
}

/* The stamp after our own write: if the cache agreed with the file
 * before it, it still does (as after a write-back). */
static void keep_stamp(struct um_cache *c, int fd, uint64_t before)
{
    struct stat st;

    if (fstat(fd, &st) == 0 && __atomic_load_n(c->stamp, __ATOMIC_ACQUIRE) == before)
        __atomic_store_n(c->stamp, um_store_stamp(&st), __ATOMIC_RELEASE);
}

ssize_t cache_pwrite(struct um_cache *c, int fd, const void *buf, size_t len, uint64_t off)
{
    uint64_t sys = um_system_page(), stamp;
    struct io_hold h;
    ssize_t put;

    /* The stamp is read with every writer of the file held off (the
     * write-back locks), so that two writers cannot leave the older of
     * their stamps behind: a stale stamp drops every clean page of the
     * cache at the next mapping, in every process. */
    hold_range(c, round_down(off, sys), round_up(off + len, sys), true, &h);
    stamp = __atomic_load_n(c->stamp, __ATOMIC_ACQUIRE);
    put = pwrite(fd, buf, len, (off_t)off);
    if (put < 0)
        put = -errno;
    if (put > 0) {
        int rc = overlay(c, (char *)buf, off, (uint64_t)put, true);
        if (rc < 0)
            put = rc;
        keep_stamp(c, fd, stamp);
    }
    release_range(c, &h);
    return put;
}

/* The file's bytes changed under [lo, hi) by other means than a write
 * (fallocate punched or zeroed them): cached copies of whole pages go,
 * dirty or not, as the kernel drops its own; a partial page at an edge
 * is zeroed where it is cached.  The caller wrote dirty pages first. */
static void zero_present(void *arg, uintptr_t start, uintptr_t end)
{
    memset(((struct um_cache *)arg)->window + start, 0, end - start);
}

void cache_zero_present(struct um_cache *c, uint64_t lo, uint64_t hi)
{
    if (hi > c->window_len)
        hi = c->window_len;
    if (lo < hi)
        sparse_for_each_data(c->memfd, lo, hi, zero_present, c);
}

static void zero_part(struct um_cache *c, uint64_t lo, uint64_t hi, uint64_t stop)
{
    cache_zero_present(c, lo, hi < stop ? hi : stop);
}

int cache_file_zeroed(struct um_cache *c, int fd, uint64_t lo, uint64_t hi,
                      int (*change)(void *arg), void *arg)
{
    uint64_t sys = um_system_page(), stamp;
    uint64_t inner_lo = round_up(lo, sys), inner_hi = round_down(hi, sys);
    struct io_hold h;
    int rc;

    hold_range(c, round_down(lo, sys), round_up(hi, sys), true, &h);
    stamp = __atomic_load_n(c->stamp, __ATOMIC_ACQUIRE);
    rc = change(arg);
    if (rc == 0) {
        uint64_t stop = window_stop(c, 0, hi);

        if (inner_lo >= inner_hi) {
            zero_part(c, lo, hi, stop);
        } else {
            dirty_forget_from(&c->dirty, inner_lo, inner_hi);
            rc = cache_punch(c, inner_lo, inner_hi < stop ? inner_hi : stop);
            zero_part(c, lo, inner_lo, stop);
            zero_part(c, inner_hi, hi, stop);
        }
        keep_stamp(c, fd, stamp);
    }
    release_range(c, &h);
    return rc;
}
