/* SPDX-License-Identifier: MIT */
/*
 * api.c - the public calls: argument checks with the kernel's errno rules,
 * then the region table and the caches.
 *
 * Where the kernel itself can judge a call, usermap lets it: the mapping
 * usermap makes is a real mapping of the cache's memfd with the caller's
 * address, length, protection and flags, so address errors, protection
 * faults, SIGBUS past the end of the file and mprotect/madvise/msync
 * argument errors all come from the kernel, exactly.  (One exception: the
 * memfd is always writable, so mprotect's EACCES for a shared mapping of a
 * read-only file is decided here.)  What the kernel
 * cannot see is the caller's file: those checks are made here, and a probe
 * mapping of the caller's fd (made and unmapped at once, never touched)
 * settles the rest, such as the limits of the file's filesystem.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "usermap.h"
#include "argcheck.h"
#include "cache.h"
#include "error.h"
#include "flush.h"
#include "lifecycle.h"
#include "mman_compat.h"
#include "pool.h"
#include "private.h"
#include "prefetch.h"
#include "ranges.h"
#include "region.h"


/* Flags usermap implements itself rather than passing to the kernel's
 * mmap of the memfd: populating or locking before the engine watches the
 * range would fill the memfd with zeros instead of the file's bytes. */
#define DEFERRED_FLAGS (MAP_POPULATE | MAP_LOCKED)

/* What um_mmap settled before placing the mapping. */
struct request {
    void *addr;
    size_t len;                 /* rounded up to whole pages */
    int prot, flags;
    int map_fd;                 /* what to mmap: the cache's memfd, or -1 */
    uint64_t offset;            /* in the memfd */
    struct um_region region;    /* the table entry, start and end unset */
};

static uintptr_t page_mask(void)
{
    return um_system_page() - 1;
}

/* ------------------------------------------------------------ um_mmap */

static bool is_shared(int flags)
{
    int type = flags & MAP_TYPE_BITS;

    return type == MAP_SHARED || type == MAP_SHARED_VALIDATE;
}

/* Flags for the kernel's mmap of the memfd. */
static int kernel_flags(int flags, bool shared)
{
    flags &= ~(MAP_TYPE_BITS | MAP_ANONYMOUS | DEFERRED_FLAGS);
    return flags | (shared ? MAP_SHARED : MAP_PRIVATE);
}

/* The request, not the table, still owns the reference of this piece. */
static void keep_piece(const struct um_region *piece)
{
    (void)piece;
}

/*
 * Maps, watches and records the request; under the exclusive lock.
 * MAP_FIXED replaces what was there, as the kernel's does: usermap's own
 * mappings there are written back first and leave the table afterwards.
 */
static void *place(struct request *rq)
{
    bool fixed = (rq->flags & MAP_FIXED) && !(rq->flags & MAP_FIXED_NOREPLACE);
    int kflags = kernel_flags(rq->flags, rq->region.flags & UM_REGION_SHARED);
    void *p;

    if (rq->map_fd < 0)
        kflags |= MAP_ANONYMOUS;
    if (fixed && collect_range((uintptr_t)rq->addr, (uintptr_t)rq->addr + rq->len) < 0)
        return MAP_FAILED;
    rq->region.mapping = mapping_new();
    if (!rq->region.mapping) {
        um_fail(ENOMEM, "out of memory for a mapping's counters");
        return MAP_FAILED;
    }
    p = mmap(rq->addr, rq->len, rq->prot, kflags, rq->map_fd, (off_t)rq->offset);
    if (p == MAP_FAILED) {
        um_fail(errno, "mmap of %zu bytes failed: %s", rq->len, strerror(errno));
        mapping_release(rq->region.mapping);
        return MAP_FAILED;
    }
    rq->region.start = (uintptr_t)p;
    rq->region.end = (uintptr_t)p + rq->len;
    rq->region.offset = rq->offset;
    /* In a pool with a limit, a private mapping's own pages count too. */
    if (!(rq->region.flags & UM_REGION_SHARED) && private_wanted(rq->region.pool)) {
        rq->region.priv = private_new(rq->region.pool, !rq->region.cache, rq->offset,
                                      rq->offset + rq->len);
        if (!rq->region.priv) {
            int err = errno;
            mapping_release(rq->region.mapping);
            munmap(p, rq->len);
            errno = err;
            return MAP_FAILED;
        }
    }
    /* Entries left where the kernel placed us are stale (replaced by
     * MAP_FIXED, or unmapped behind usermap's back). */
    if (region_remove_range(rq->region.start, rq->region.end, NULL) < 0 ||
        region_insert(&rq->region) < 0) {
        mapping_release(rq->region.mapping);
        munmap(p, rq->len);
        um_fail(ENOMEM, "out of memory recording a mapping of %zu bytes", rq->len);
        return MAP_FAILED;
    }
    if (region_in_thread(&rq->region))
        prefetch_start(rq->region.pool);
    if ((region_in_thread(&rq->region) && um_engine_catch_sigbus() < 0) ||
        region_watch(&rq->region) < 0) {
        int err = errno;
        munmap(p, rq->len);
        region_remove_range(rq->region.start, rq->region.end, keep_piece);
        errno = err;
        return MAP_FAILED;
    }
    return p;
}

/* MAP_POPULATE and MAP_LOCKED, once the engine watches the range: fill
 * the cache in bulk here rather than one fault at a time, then let the
 * kernel map what is there. */
static void populate(void *p, const struct request *rq)
{
    bool write = !(rq->region.flags & UM_REGION_SHARED) && (rq->prot & PROT_WRITE);

    if (rq->region.cache) {
        um_lock_shared();
        cache_fill(rq->region.cache, rq->offset, rq->len, false);
        um_unlock();
    }
    /* Best effort, like the kernel's: pages past the end stay unmapped. */
    if (rq->flags & MAP_POPULATE)
        madvise(p, rq->len, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
    if (rq->flags & MAP_LOCKED)
        mlock(p, rq->len);
}

static void *map_request(struct request *rq, struct um_cache *(*get_cache)(void *), void *arg)
{
    void *p;

    /* Replacing usermap's own mappings: what they hold is written first,
     * with no lock held, as munmap does. */
    if ((rq->flags & MAP_FIXED) && !(rq->flags & MAP_FIXED_NOREPLACE) &&
        flush_range((uintptr_t)rq->addr, (uintptr_t)rq->addr + rq->len, FLUSH_WRITE) < 0)
        return MAP_FAILED;
    um_lock_exclusive();
    if (get_cache) {
        rq->region.cache = get_cache(arg);
        if (!rq->region.cache) {
            um_unlock();
            return MAP_FAILED;
        }
        rq->map_fd = cache_map_fd(rq->region.cache);
    }
    p = place(rq);
    if (p == MAP_FAILED && rq->region.cache)
        cache_release(rq->region.cache);
    if (p == MAP_FAILED && rq->region.priv)
        private_release(rq->region.priv);
    um_unlock();
    /* A cache MAP_FIXED took the last mapping of holds its dirty pages
     * until they are written, now that no lock is held. */
    if (rq->flags & MAP_FIXED)
        cache_flush_unused();
    /* Stores of processes that died reach the file before the mapping
     * is handed out. */
    if (p != MAP_FAILED && rq->region.cache)
        cache_flush_recovered(rq->region.cache);
    if (p != MAP_FAILED && (rq->flags & DEFERRED_FLAGS))
        populate(p, rq);
    return p;
}

struct file_args {
    struct um_pool *pool;
    int fd;
    const struct stat *st;
    bool needs_write;
};

static struct um_cache *get_file_cache(void *arg)
{
    struct file_args *a = arg;

    return cache_for_file(a->pool, a->fd, a->st, a->needs_write);
}

static struct um_cache *get_anonymous_cache(void *arg)
{
    struct request *rq = arg;

    return cache_for_anonymous(rq->region.pool, rq->len);
}

/* After argcheck_mmap (argcheck.c: the checks in the kernel's order)
 * accepted the call: the table entry, the cache, the mapping. */
static void *map_checked(struct um_pool *pool, const struct mmap_call *c)
{
    struct request rq = {
        .addr = c->addr, .prot = c->prot, .flags = c->flags, .map_fd = -1,
        .len = (c->len + page_mask()) & ~page_mask(),
    };
    struct file_args args;

    rq.region.pool = pool_or_default(pool);
    if (!rq.region.pool || !um_start())
        return MAP_FAILED;
    if (c->anon) {
        rq.offset = 0;
        if (!is_shared(c->flags))
            return map_request(&rq, NULL, NULL);
        rq.region.flags = UM_REGION_SHARED | UM_REGION_WRITABLE;
        return map_request(&rq, get_anonymous_cache, &rq);
    }
    args = (struct file_args){
        .pool = rq.region.pool,
        .fd = c->fd,
        .st = &c->st,
        .needs_write = is_shared(c->flags) && c->accmode == O_RDWR,
    };
    rq.offset = (uint64_t)c->offset;
    if (is_shared(c->flags))
        rq.region.flags = UM_REGION_SHARED | (args.needs_write ? UM_REGION_WRITABLE : 0);
    return map_request(&rq, get_file_cache, &args);
}

UM_API void *um_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    return um_mmap_pool(NULL, addr, length, prot, flags, fd, offset);
}

UM_API void *um_mmap_pool(um_pool *pool, void *addr, size_t length, int prot, int flags,
                          int fd, off_t offset)
{
    struct mmap_call c = {
        .addr = addr, .len = length, .prot = prot, .flags = flags, .fd = fd,
        .offset = offset, .anon = flags & MAP_ANONYMOUS,
    };
    int rc = argcheck_mmap(&c);
    void *p;

    if (rc == ARGCHECK_OK)
        return map_checked(pool, &c);
    if (rc == ARGCHECK_KERNEL) {
        p = mmap(addr, length, prot, flags, fd, offset);
        if (p == MAP_FAILED)
            um_fail(errno, "um_mmap: the kernel cannot map this: %s", strerror(errno));
        return p;
    }
    /* A MAP_FIXED the kernel fails only after unmapping its target. */
    if (c.target_unmapped) {
        int err = errno;
        um_munmap(addr, length);
        errno = err;
    }
    return MAP_FAILED;
}

/* ----------------------------------------------------------- um_munmap */

static bool started(void)
{
    return um_engine != NULL;
}

UM_API int um_munmap(void *addr, size_t length)
{
    uintptr_t start, end;
    int rc;

    if (argcheck_munmap(addr, length, &start, &end) < 0)
        return -1;
    if (!started())
        return munmap(addr, length) == 0 ? 0 : um_fail(errno, "munmap: %s", strerror(errno));
    /* Written back while still mapped, with no lock held: if the store
     * refuses, the range stays mapped and its pages dirty, as they were. */
    if (flush_range(start, end, FLUSH_WRITE) < 0)
        return -1;
    um_lock_exclusive();
    /* Writes since the flush are in the page tables munmap takes away. */
    rc = collect_range(start, end);
    if (rc == 0)
        uncount_range(start, end);
    if (rc == 0 && munmap(addr, length) < 0)
        rc = um_fail(errno, "munmap: %s", strerror(errno));
    /* Only after the kernel unmapped the range: a fault that finds no
     * region must find no mapping either. */
    if (rc == 0 && region_remove_range(start, end, NULL) < 0)
        rc = um_fail(ENOMEM, "munmap: out of memory splitting a mapping");
    um_unlock();
    /* Caches left without mappings write what they still hold; what
     * fails stays for the next try and is reported at exit. */
    if (rc == 0)
        cache_flush_unused();
    return rc;
}

/* ------------------------------------------------------------ um_msync */

UM_API int um_msync(void *addr, size_t length, int flags)
{
    uintptr_t start, end;
    unsigned what = ((flags & (MS_SYNC | MS_ASYNC)) ? FLUSH_WRITE : 0) |
                    ((flags & MS_INVALIDATE) ? FLUSH_INVALIDATE : 0) |
                    ((flags & MS_SYNC) ? FLUSH_SYNC : 0);
    int krc, kerr;

    if (argcheck_msync(addr, length, flags, &start, &end) < 0)
        return -1;
    if (start == end)
        return 0;
    /* The kernel judges the mappings: ENOMEM for a hole, EBUSY for
     * MS_INVALIDATE over a locked one.  Either way it has written back
     * every mapped part (the kernel's page cache holds what was written
     * at all times), so usermap writes back every mapped part too before
     * saying so. */
    krc = msync(addr, length, flags);
    kerr = errno;
    if (krc < 0 && kerr != ENOMEM && kerr != EBUSY)
        return um_fail(kerr, "msync: %s", strerror(kerr));
    if (started() && flush_range(start, end, what) < 0)
        return -1;
    if (krc < 0)
        return um_fail(kerr, "msync: %s", kerr == ENOMEM
                       ? "part of the range is not mapped (the rest was written back)"
                       : "MS_INVALIDATE over a locked mapping");
    return 0;
}

/* --------------------------------------------------------- um_mprotect */

/* The start of the first region in [start, end) that is a MAP_SHARED
 * mapping of a file that was not open for writing, into *(uintptr_t *)arg. */
static int refuses_write(void *arg, const struct um_region *piece)
{
    if (!piece->cache || !(piece->flags & UM_REGION_SHARED) || (piece->flags & UM_REGION_WRITABLE))
        return 0;
    *(uintptr_t *)arg = piece->start;
    return 1;
}

UM_API int um_mprotect(void *addr, size_t length, int prot)
{
    uintptr_t start, end, refused = 0;

    if (argcheck_mprotect(addr, length, prot, &start, &end) < 0)
        return -1;
    if (start == end)
        return 0;
    /*
     * The memfd behind every file mapping is writable (userfaultfd only
     * watches mappings that may be written), so the kernel cannot see that
     * the caller's file was read-only: that EACCES is decided here, where
     * the kernel's walk of the range would meet it.  The kernel changes
     * the mappings before the first one that fails and keeps them changed,
     * so the part before a refusing region is the kernel's to change (or
     * to fail on, with a hole: ENOMEM).
     */
    if ((prot & PROT_WRITE) && started()) {
        um_lock_shared();
        region_for_each_in(start, end, refuses_write, &refused);
        um_unlock();
    }
    if (!refused) {
        if (mprotect(addr, length, prot) < 0)
            return um_fail(errno, "mprotect: %s", strerror(errno));
        return 0;
    }
    if (refused > start) {
        if (mprotect(addr, refused - start, prot) < 0)
            return um_fail(errno, "mprotect: %s", strerror(errno));
    } else if (prot & (PROT_GROWSDOWN | PROT_GROWSUP)) {
        return um_fail(EINVAL, "mprotect: PROT_GROWSDOWN or PROT_GROWSUP, and the mapping "
                       "at %p does not grow", addr);
    }
    return um_fail(EACCES, "mprotect: PROT_WRITE on a MAP_SHARED mapping of a file "
                   "opened read-only (at %p)", (void *)refused);
}

/* ---------------------------------------------------------- um_madvise */

/* Advice that takes pages out of the page tables. */
static bool zaps_pages(int advice)
{
    return advice == MADV_DONTNEED || advice == MADV_REMOVE || advice == MADV_PAGEOUT
#ifdef MADV_DONTNEED_LOCKED
           || advice == MADV_DONTNEED_LOCKED
#endif
        ;
}

/* Advice after which a private mapping reads the file (or zeros) again. */
static bool drops_private_pages(int advice)
{
    return advice == MADV_DONTNEED
#ifdef MADV_DONTNEED_LOCKED
           || advice == MADV_DONTNEED_LOCKED
#endif
        ;
}

static int forget_private(void *arg, const struct um_region *piece)
{
    (void)arg;
    private_forget(piece);
    return 0;
}

/* MADV_WILLNEED: the fill threads bring the range in while the call
 * returns at once. */
static int prefetch_piece(void *arg, const struct um_region *piece)
{
    (void)arg;
    if (piece->cache)
        prefetch_request(piece->pool, piece->cache, piece->offset,
                         region_offset_of(piece, piece->end), UINT64_MAX);
    return 0;
}

/* Read-ahead advice is kept per region, as the kernel keeps it per VMA. */
static int steer_readahead(uintptr_t start, uintptr_t end, int advice)
{
    unsigned flags = advice == MADV_SEQUENTIAL ? UM_REGION_SEQUENTIAL
                     : advice == MADV_RANDOM   ? UM_REGION_RANDOM
                                               : 0;

    if (region_set_advice(start, end, flags) < 0)
        return um_fail(ENOMEM, "madvise: out of memory splitting a mapping");
    return 0;
}

/* What usermap does for advice after the kernel accepted it (for the
 * mapped parts of [start, end)). */
static int follow_advice(uintptr_t start, uintptr_t end, int advice)
{
    int rc = 0;

    if (advice != MADV_WILLNEED && advice != MADV_SEQUENTIAL && advice != MADV_RANDOM &&
        advice != MADV_NORMAL)
        return 0;
    if (advice == MADV_WILLNEED) {
        um_lock_shared();
        region_for_each_in(start, end, prefetch_piece, NULL);
    } else {
        um_lock_exclusive();
        rc = steer_readahead(start, end, advice);
    }
    um_unlock();
    return rc;
}

/* In-thread mappings: the kernel's populate would meet pages only a
 * fault can fill, and fail EFAULT; fill them first. */
static int populate_piece(void *arg, const struct um_region *piece)
{
    (void)arg;
    return region_in_thread(piece) && !piece->priv
               ? um_fault_populate(piece, piece->start, piece->end) : 0;
}

static bool populates(int advice)
{
    return advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE;
}

UM_API int um_madvise(void *addr, size_t length, int advice)
{
    uintptr_t start, end;
    int err;

    if (argcheck_madvise(addr, length, advice, &start, &end) < 0)
        return -1;
    if (start == end)
        return 0;
    /* Dirty bits live in the page tables: save what they say before the
     * kernel drops the entries, which also leaves the pages protected so
     * that later writes are seen. */
    if (started() && zaps_pages(advice)) {
        int rc;
        um_lock_exclusive();
        rc = collect_range(start, end);
        if (rc == 0 && advice != MADV_PAGEOUT)
            uncount_range(start, end);
        if (rc == 0 && drops_private_pages(advice))
            region_for_each_in(start, end, forget_private, NULL);
        um_unlock();
        if (rc < 0)
            return -1;
    }
    if (started() && populates(advice)) {
        um_lock_shared();
        region_for_each_in(start, end, populate_piece, NULL);
        um_unlock();
    }
    if (madvise(addr, length, advice) == 0)
        return started() ? follow_advice(start, end, advice) : 0;
    err = errno;
    /* usermap marks a page that must raise SIGBUS (past the end of the
     * file, a failed read) poisoned; the kernel's MADV_POPULATE_* reports
     * such a page as EFAULT. */
    if (err == EHWPOISON && (advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE))
        err = EFAULT;
    /* With a hole the kernel still applied the advice to the mapped parts. */
    if (err == ENOMEM && advice != MADV_POPULATE_READ && advice != MADV_POPULATE_WRITE &&
        started() && follow_advice(start, end, advice) < 0)
        return -1;
    return um_fail(err, "madvise: %s", strerror(err));
}
