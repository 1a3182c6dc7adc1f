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
#include "cache.h"
#include "error.h"
#include "lifecycle.h"
#include "pool.h"
#include "private.h"
#include "prefetch.h"
#include "ranges.h"
#include "region.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#define MAP_TYPE_BITS 0x0f

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

static int check_length(size_t len)
{
    if (len == 0)
        return um_fail(EINVAL, "the length is 0; a mapping needs at least one byte");
    if (len > SIZE_MAX - page_mask())
        return um_fail(ENOMEM, "the length %zu is larger than any address space", len);
    return 0;
}

static bool is_shared(int flags)
{
    int type = flags & MAP_TYPE_BITS;

    return type == MAP_SHARED || type == MAP_SHARED_VALIDATE;
}

static int check_type(int flags)
{
    int type = flags & MAP_TYPE_BITS;

    if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
        return um_fail(EINVAL, "flags 0x%x give no mapping type: exactly one of "
                       "MAP_SHARED and MAP_PRIVATE is needed", flags);
    return 0;
}

/* The checks of the caller's fd that the kernel would make on it. */
static int check_file_access(int fd, int accmode, int prot, int flags)
{
    if (accmode == O_WRONLY)
        return um_fail(EACCES, "fd %d is open write-only; a mapping needs read access", fd);
    if (is_shared(flags) && (prot & PROT_WRITE) && accmode == O_RDONLY)
        return um_fail(EACCES, "fd %d is open read-only; a MAP_SHARED mapping with "
                       "PROT_WRITE needs it open for reading and writing", fd);
    return 0;
}

/* Lets the kernel judge everything else about mapping this fd this way,
 * without placing anything or touching a page. */
static int probe_kernel(size_t len, int prot, int flags, int fd, off_t offset)
{
    int probe_flags = flags & ~(MAP_FIXED | MAP_FIXED_NOREPLACE | DEFERRED_FLAGS);
    void *p = mmap(NULL, len, prot, probe_flags, fd, offset);

    if (p == MAP_FAILED)
        return um_fail(errno, "the kernel refuses this mapping of fd %d: %s",
                       fd, strerror(errno));
    munmap(p, len);
    return 0;
}

/* Flags for the kernel's mmap of the memfd. */
static int kernel_flags(int flags, bool shared)
{
    flags &= ~(MAP_TYPE_BITS | MAP_ANONYMOUS | DEFERRED_FLAGS);
    return flags | (shared ? MAP_SHARED : MAP_PRIVATE);
}

/* Anonymous private pages are counted as they are filled; before the
 * kernel drops them, count them out (mincore tells which are there). */
static int uncount_anonymous(void *arg, const struct um_region *piece)
{
    size_t sys = um_system_page(), pages = (piece->end - piece->start) / sys;
    unsigned char vec[1024];
    uint64_t gone = 0;

    (void)arg;
    if (piece->cache || piece->priv)     /* private pages count themselves */
        return 0;
    for (size_t i = 0; i < pages; i += sizeof(vec)) {
        size_t n = pages - i < sizeof(vec) ? pages - i : sizeof(vec);
        if (mincore((void *)(piece->start + i * sys), n * sys, vec) < 0)
            break;
        for (size_t j = 0; j < n; j++)
            gone += (vec[j] & 1) ? sys : 0;
    }
    stat_sub(&piece->pool->counters.resident, gone);
    return 0;
}

/* The request, not the table, still owns the reference of this piece. */
static void keep_piece(const struct um_region *piece)
{
    (void)piece;
}

static int write_back_piece(void *arg, const struct um_region *piece)
{
    struct um_mapping *outer;
    int rc;

    if (!region_writes_back(piece))
        return 0;
    outer = stat_attribute(piece->mapping);
    rc = cache_writeback(piece->cache, piece->offset,
                         region_offset_of(piece, piece->end), *(bool *)arg);
    stat_attribute(outer);
    return rc;
}

/* protect: the range's page-table entries are about to be dropped while
 * the mapping stays (see cache_writeback). */
static int write_back_range(uintptr_t start, uintptr_t end, bool protect)
{
    int rc = region_for_each_in(start, end, write_back_piece, &protect);

    return rc < 0 ? um_fail(-rc, "cannot write dirty pages back: %s", strerror(-rc)) : 0;
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
    if (fixed && write_back_range((uintptr_t)rq->addr, (uintptr_t)rq->addr + rq->len, false) < 0)
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

static void *map_file(struct request *rq, int fd, off_t offset)
{
    struct stat st;
    int fl = fcntl(fd, F_GETFL);
    int accmode;
    struct file_args args;

    if (fl < 0 || (fl & O_PATH) || fstat(fd, &st) < 0) {
        um_fail(EBADF, "fd %d is not a file descriptor open for reading", fd);
        return MAP_FAILED;
    }
    /* What usermap cannot page (devices, say) is the kernel's to map,
     * with the kernel's answer for what cannot be mapped at all. */
    if (!S_ISREG(st.st_mode)) {
        void *p = mmap(rq->addr, rq->len, rq->prot, rq->flags, fd, offset);
        if (p == MAP_FAILED)
            um_fail(errno, "fd %d is not a regular file and the kernel cannot map it: %s",
                    fd, strerror(errno));
        return p;
    }
    accmode = fl & O_ACCMODE;
    if (check_length(rq->len) < 0 || check_type(rq->flags) < 0 ||
        check_file_access(fd, accmode, rq->prot, rq->flags) < 0 ||
        probe_kernel(rq->len, rq->prot, rq->flags, fd, offset) < 0 || !um_start())
        return MAP_FAILED;
    args = (struct file_args){
        .pool = rq->region.pool,
        .fd = fd,
        .st = &st,
        .needs_write = is_shared(rq->flags) && accmode == O_RDWR,
    };
    rq->len = (rq->len + page_mask()) & ~page_mask();
    rq->offset = (uint64_t)offset;
    if (is_shared(rq->flags))
        rq->region.flags = UM_REGION_SHARED | (args.needs_write ? UM_REGION_WRITABLE : 0);
    return map_request(rq, get_file_cache, &args);
}

static void *map_anonymous(struct request *rq)
{
    if (check_length(rq->len) < 0 || check_type(rq->flags) < 0 || !um_start())
        return MAP_FAILED;
    /* Linux validates extension flags for files only, and so refuses
     * MAP_SHARED_VALIDATE for anonymous memory. */
    if ((rq->flags & MAP_TYPE_BITS) == MAP_SHARED_VALIDATE) {
        um_fail(EINVAL, "MAP_SHARED_VALIDATE applies to files; anonymous memory "
                "takes MAP_SHARED or MAP_PRIVATE");
        return MAP_FAILED;
    }
    rq->len = (rq->len + page_mask()) & ~page_mask();
    rq->offset = 0;
    if (!is_shared(rq->flags))
        return map_request(rq, NULL, NULL);
    rq->region.flags = UM_REGION_SHARED | UM_REGION_WRITABLE;
    return map_request(rq, get_anonymous_cache, rq);
}

UM_API void *um_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    return um_mmap_pool(NULL, addr, length, prot, flags, fd, offset);
}

UM_API void *um_mmap_pool(um_pool *pool, void *addr, size_t length, int prot, int flags,
                          int fd, off_t offset)
{
    struct request rq = {
        .addr = addr, .len = length, .prot = prot, .flags = flags, .map_fd = -1,
    };

    if ((uint64_t)offset & page_mask()) {
        um_fail(EINVAL, "offset %lld is not a multiple of the page size %zu",
                (long long)offset, um_system_page());
        return MAP_FAILED;
    }
    /* Huge pages are the kernel's own business. */
    if ((flags & MAP_ANONYMOUS) && (flags & MAP_HUGETLB))
        return mmap(addr, length, prot, flags, fd, offset);
    rq.region.pool = pool_or_default(pool);
    if (!rq.region.pool)
        return MAP_FAILED;
    if (flags & MAP_ANONYMOUS)
        return map_anonymous(&rq);
    return map_file(&rq, fd, offset);
}

/* ----------------------------------------------------------- um_munmap */

static bool started(void)
{
    return um_engine != NULL;
}

/* [start, end) of a call's page-aligned range; -1 with EINVAL as the
 * kernel's munmap/mprotect/msync checks would give. */
static int call_range(const char *call, void *addr, size_t len, uintptr_t *start, uintptr_t *end)
{
    uintptr_t a = (uintptr_t)addr;
    size_t rounded = (len + page_mask()) & ~page_mask();

    *start = *end = 0;  /* gcc cannot see that um_fail() returns -1 */
    if (a & page_mask())
        return um_fail(EINVAL, "%s: address %p is not page aligned", call, addr);
    if (rounded < len || a + rounded < a)
        return um_fail(EINVAL, "%s: the range at %p of %zu bytes wraps around", call, addr, len);
    *start = a;
    *end = a + rounded;
    return 0;
}

UM_API int um_munmap(void *addr, size_t length)
{
    uintptr_t start, end;
    int rc;

    if (length == 0)
        return um_fail(EINVAL, "munmap: the length is 0");
    if (call_range("munmap", addr, length, &start, &end) < 0)
        return -1;
    if (!started())
        return munmap(addr, length) == 0 ? 0 : um_fail(errno, "munmap: %s", strerror(errno));
    um_lock_exclusive();
    /* Written back while still mapped: dirty tracking lives in the
     * mapping's page tables, which munmap takes away. */
    rc = write_back_range(start, end, false);
    if (rc == 0)
        region_for_each_in(start, end, uncount_anonymous, NULL);
    if (rc == 0 && munmap(addr, length) < 0)
        rc = um_fail(errno, "munmap: %s", strerror(errno));
    /* Only after the kernel unmapped the range: a fault that finds no
     * region must find no mapping either. */
    if (rc == 0 && region_remove_range(start, end, NULL) < 0)
        rc = um_fail(ENOMEM, "munmap: out of memory splitting a mapping");
    um_unlock();
    return rc;
}

/* ------------------------------------------------------------ um_msync */

static int sync_piece(void *arg, const struct um_region *piece)
{
    int flags = *(int *)arg;
    uint64_t lo = piece->offset, hi = region_offset_of(piece, piece->end);
    struct um_mapping *outer;
    int rc = 0;

    if (!piece->cache)
        return 0;
    outer = stat_attribute(piece->mapping);
    if ((flags & (MS_SYNC | MS_ASYNC)) && region_writes_back(piece))
        rc = cache_writeback(piece->cache, lo, hi, false);
    if (rc == 0 && (flags & MS_INVALIDATE))
        rc = cache_invalidate(piece->cache, lo, hi);
    if (rc == 0 && (flags & MS_SYNC) && region_writes_back(piece))
        rc = cache_sync(piece->cache);
    stat_attribute(outer);
    return rc;
}

UM_API int um_msync(void *addr, size_t length, int flags)
{
    uintptr_t start, end;
    int rc;

    /* The kernel judges flags, alignment and whether all is mapped. */
    if (msync(addr, length, flags) < 0)
        return um_fail(errno, "msync: %s%s", strerror(errno),
                       errno == ENOMEM ? " (part of the range is not mapped)" : "");
    if (!started() || call_range("msync", addr, length, &start, &end) < 0)
        return 0;
    /* Write-back changes no table: the shared lock lets faults go on
     * meanwhile (a program that msyncs in a loop must not starve them). */
    um_lock_shared();
    rc = region_for_each_in(start, end, sync_piece, &flags);
    um_unlock();
    if (rc < 0)
        return um_fail(-rc == ENOSPC ? ENOSPC : EIO, "msync: cannot write back to the file: %s",
                       strerror(-rc));
    return 0;
}

/* --------------------------------------------------------- um_mprotect */

/* Whether a region in [start, end) is a MAP_SHARED mapping of a file
 * that was not open for writing. */
static int refuses_write(void *arg, const struct um_region *piece)
{
    (void)arg;
    return piece->cache && (piece->flags & UM_REGION_SHARED) &&
           !(piece->flags & UM_REGION_WRITABLE);
}

UM_API int um_mprotect(void *addr, size_t length, int prot)
{
    uintptr_t start, end;
    int refused = 0;

    /*
     * The memfd behind every file mapping is writable (userfaultfd only
     * watches mappings that may be written), so the kernel cannot see that
     * the caller's file was read-only: that EACCES is decided here.
     * Everything else is the kernel's, on the real mapping.
     */
    if ((prot & PROT_WRITE) && started() &&
        call_range("mprotect", addr, length, &start, &end) == 0) {
        um_lock_shared();
        refused = region_for_each_in(start, end, refuses_write, NULL);
        um_unlock();
    }
    if (refused)
        return um_fail(EACCES, "mprotect: PROT_WRITE on a MAP_SHARED mapping of a file "
                       "opened read-only");
    if (mprotect(addr, length, prot) < 0)
        return um_fail(errno, "mprotect: %s", strerror(errno));
    return 0;
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

/* What usermap does for advice after the kernel accepted it. */
static int follow_advice(void *addr, size_t length, int advice)
{
    uintptr_t start, end;
    int rc = 0;

    if (advice != MADV_WILLNEED && advice != MADV_SEQUENTIAL && advice != MADV_RANDOM &&
        advice != MADV_NORMAL)
        return 0;
    if (call_range("madvise", addr, length, &start, &end) < 0)
        return -1;
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

UM_API int um_madvise(void *addr, size_t length, int advice)
{
    uintptr_t start, end;

    /* Dirty bits live in the page tables: save what they say before the
     * kernel drops the entries, which also leaves the pages protected so
     * that later writes are seen. */
    if (started() && zaps_pages(advice) && call_range("madvise", addr, length, &start, &end) == 0) {
        int rc;
        um_lock_exclusive();
        rc = write_back_range(start, end, true);
        if (rc == 0 && advice != MADV_PAGEOUT)
            region_for_each_in(start, end, uncount_anonymous, NULL);
        if (rc == 0 && drops_private_pages(advice))
            region_for_each_in(start, end, forget_private, NULL);
        um_unlock();
        if (rc < 0)
            return -1;
    }
    if (madvise(addr, length, advice) < 0)
        return um_fail(errno, "madvise: %s", strerror(errno));
    return started() ? follow_advice(addr, length, advice) : 0;
}
