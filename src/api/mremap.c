/* SPDX-License-Identifier: MIT */
/*
 * mremap.c - um_mremap: grow, shrink or move a mapping, as mremap(2).
 *
 * The kernel's own mremap does the work on the real mapping (of the
 * cache's memfd, or anonymous memory).  It keeps every page that is
 * there, the copies a private mapping made included, it judges the
 * address space (EFAULT, ENOMEM, EINVAL for an overlap, where a moved
 * mapping goes) exactly as it would for the program, and past the end of
 * the memfd, which is sized like the file, it raises SIGBUS itself.
 * usermap then makes its region table follow and has the engine watch
 * the result again: the kernel drops the userfaultfd registration of a
 * mapping it moves and the write protection of the pages it moves
 * (usermap does not ask for UFFD_FEATURE_EVENT_REMAP), and a grown part
 * has no protection yet.
 *
 * What the kernel may unmap (the target of MREMAP_FIXED, the tail of a
 * shrink) is written back first with no lock held, as um_munmap does.
 * Everything else happens under the exclusive lock, so that no fault is
 * served while the table and the kernel disagree.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "usermap.h"
#include "argcheck.h"
#include "cache.h"
#include "error.h"
#include "flush.h"
#include "lifecycle.h"
#include "mman_compat.h"
#include "private.h"
#include "region.h"
#include "stats.h"

struct span {
    uintptr_t start, end;
};

/* One call, as the kernel will carry it out if it succeeds. */
struct remap {
    struct mremap_call c;
    uintptr_t addr;
    size_t new_len;             /* in whole pages */
    size_t kept;                /* bytes of the old range that stay mapped */
    struct span target;         /* MREMAP_FIXED's target (the kernel unmaps it) */
    struct span tail;           /* a shrink's tail (the kernel unmaps it) */
    /* The part a grown mapping gains continues the region that held the
     * last byte kept (or old_address, for old_size 0); has_extension
     * when that region is usermap's. */
    bool has_extension;
    struct um_region extension;
    /* MREMAP_DONTUNMAP: the entries that stay at the old range, emptied. */
    struct um_region *left;
    size_t nleft, capleft;
};

static size_t page_align(size_t len)
{
    size_t mask = um_system_page() - 1;

    return (len + mask) & ~mask;
}

static bool implies_new_addr(int flags)
{
    return flags & (MREMAP_FIXED | MREMAP_DONTUNMAP);
}

/* ---------------------------------------------------------- references */

/* The private pages of a new entry of the same mapping, covering cache
 * offsets [lo, hi).  A set whose mapping watches minor faults makes the
 * new one watch them too: the kernel keeps a registration's modes when a
 * range is registered again with fewer (userfaultfd_register skips it). */
static int private_like(struct um_region *r, const struct um_private *model, uint64_t lo,
                        uint64_t hi)
{
    r->priv = NULL;
    if (!model)
        return 0;
    r->priv = private_new(r->pool, model->anonymous, lo, hi);
    if (!r->priv)
        return -1;
    if (__atomic_load_n(&model->minor_watched, __ATOMIC_ACQUIRE))
        __atomic_store_n(&r->priv->minor_watched, true, __ATOMIC_RELEASE);
    return 0;
}

/* A copy of r, holding references of its own, for cache offsets
 * [r->offset, r->offset + len).  0 or -1 with errno. */
static int entry_like(struct um_region *copy, const struct um_region *r, size_t len)
{
    *copy = *r;
    if (private_like(copy, r->priv, r->offset, r->offset + len) < 0)
        return -1;
    mapping_hold(copy->mapping);
    if (copy->cache)
        cache_hold(copy->cache);
    return 0;
}

static void entry_drop(struct um_region *r)
{
    if (r->priv)
        private_release(r->priv);
    if (r->cache)
        cache_release(r->cache);
    mapping_release(r->mapping);
}

/* ------------------------------------------------------------ planning */

/* What the kernel will unmap and keep, from the arguments alone. */
static void plan_ranges(struct remap *rm)
{
    size_t old_len = page_align(rm->c.old_len);

    rm->addr = rm->c.addr;
    rm->new_len = page_align(rm->c.new_len);
    rm->kept = old_len < rm->new_len ? old_len : rm->new_len;
    if (old_len > rm->new_len)
        rm->tail = (struct span){ rm->addr + rm->new_len, rm->addr + old_len };
    if (rm->c.flags & MREMAP_FIXED)
        rm->target = (struct span){ rm->c.new_addr, rm->c.new_addr + rm->new_len };
}

/* The entry for the part a grown mapping gains, with its references;
 * under the lock. */
static int plan_extension(struct remap *rm)
{
    uintptr_t last = rm->kept ? rm->addr + rm->kept - 1 : rm->addr;
    const struct um_region *r = region_find(last);
    size_t grown = rm->new_len - rm->kept;
    struct um_region from;

    if (rm->new_len <= rm->kept || !r)
        return 0;
    from = *r;
    from.offset = region_offset_of(r, rm->addr + rm->kept);
    if (entry_like(&rm->extension, &from, grown) < 0)
        return -1;
    rm->has_extension = true;
    return 0;
}

static int note_left(void *arg, const struct um_region *piece)
{
    struct remap *rm = arg;

    if (rm->nleft == rm->capleft) {
        size_t cap = rm->capleft ? 2 * rm->capleft : 4;
        struct um_region *v = realloc(rm->left, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        rm->left = v;
        rm->capleft = cap;
    }
    if (entry_like(&rm->left[rm->nleft], piece, piece->end - piece->start) < 0)
        return -errno;
    rm->nleft++;
    return 0;
}

/* MREMAP_DONTUNMAP leaves the old range mapped and empty: entries of
 * their own for it, whose private pages start with none (the kernel
 * moves the pages, and with them what the old sets count). */
static int plan_left(struct remap *rm)
{
    int rc;

    if (!(rm->c.flags & MREMAP_DONTUNMAP))
        return 0;
    rc = region_for_each_in(rm->addr, rm->addr + rm->kept, note_left, rm);
    return rc < 0 ? um_fail(-rc, "um_mremap: out of memory for the old range's entries") : 0;
}

static void drop_plan(struct remap *rm)
{
    if (rm->has_extension)
        entry_drop(&rm->extension);
    for (size_t i = 0; i < rm->nleft; i++)
        entry_drop(&rm->left[i]);
    free(rm->left);
}

/* ------------------------------------------------- before the kernel */

/* Writes back what the kernel may unmap, with no lock held, as munmap.
 * The store refusing fails the call before anything changed. */
static int flush_dropped(const struct remap *rm)
{
    if (rm->target.end > rm->target.start &&
        flush_range(rm->target.start, rm->target.end, FLUSH_WRITE) < 0)
        return -1;
    if (rm->tail.end > rm->tail.start && flush_range(rm->tail.start, rm->tail.end, FLUSH_WRITE) < 0)
        return -1;
    return 0;
}

/* Under the lock: the dirty bits of every page table the kernel is about
 * to drop or move (a move clears their write protection), and the count
 * of anonymous pages it may drop. */
static int before_kernel(struct remap *rm)
{
    if (collect_range(rm->target.start, rm->target.end) < 0 ||
        collect_range(rm->tail.start, rm->tail.end) < 0 ||
        collect_range(rm->addr, rm->addr + rm->kept) < 0)
        return -1;
    /* Room for every entry this call adds, so that following the kernel
     * cannot fail for want of memory: the extension, the entries left
     * behind, and the splits at the edges of three ranges. */
    if (region_reserve(rm->nleft + 1 + 6) < 0)
        return um_fail(ENOMEM, "um_mremap: out of memory for the region table");
    uncount_range(rm->target.start, rm->target.end);
    uncount_range(rm->tail.start, rm->tail.end);
    return 0;
}

/* ------------------------------------------------------ after a failure */

static bool is_mapped(uintptr_t addr)
{
    return msync((void *)addr, 1, MS_ASYNC) == 0 || errno != ENOMEM;
}

static int recount_kept(void *arg, const struct um_region *piece)
{
    (void)arg;
    if (is_mapped(piece->start))
        recount_range(piece->start, piece->end);
    return 0;
}

static int find_unmapped(void *arg, const struct um_region *piece)
{
    struct span *gone = arg;

    if (is_mapped(piece->start))
        return 0;
    *gone = (struct span){ piece->start, piece->end };
    return 1;
}

/* The kernel failed: it may still have unmapped the target and the tail
 * (it fails some calls only after that).  What it left is counted again,
 * what it took leaves the table. */
static void after_failure(struct span s)
{
    struct span gone;

    if (s.end <= s.start)
        return;
    region_for_each_in(s.start, s.end, recount_kept, NULL);
    while (region_for_each_in(s.start, s.end, find_unmapped, &gone) == 1)
        region_remove_range(gone.start, gone.end, NULL);
}

/* ------------------------------------------------------ after success */

static int watch_piece(void *arg, const struct um_region *piece)
{
    (void)arg;
    return region_watch(piece) < 0 ? -1 : 0;
}

/* A range the engine cannot watch would be filled by the kernel (zeros
 * in the cache), so it goes, as a mapping um_mmap could not watch. */
static int watch_range(uintptr_t start, uintptr_t end)
{
    int err;

    if (end <= start || region_for_each_in(start, end, watch_piece, NULL) == 0)
        return 0;
    err = errno;
    munmap((void *)start, end - start);
    region_remove_range(start, end, NULL);
    errno = err;
    return -1;
}

/*
 * The kernel merges a moved or grown mapping with the mappings around it
 * where it can, and without UFFD_FEATURE_EVENT_REMAP it then drops the
 * registration of the whole merged mapping: usermap's regions next to
 * [start, end), as far as they run on without a gap, lose their watch.
 * What they had written is collected (their write protection is still in
 * the page tables), then they are watched again.
 */
static int watch_neighbours(uintptr_t start, uintptr_t end)
{
    uintptr_t lo = start, hi = end;
    struct um_region *r;

    while (lo && (r = region_find(lo - 1)) != NULL)
        lo = r->start;
    while ((r = region_find(hi)) != NULL)
        hi = r->end;
    if (collect_range(lo, start) < 0 || collect_range(end, hi) < 0)
        return -1;
    return watch_range(lo, start) < 0 || watch_range(end, hi) < 0 ? -1 : 0;
}

/* The table follows what the kernel did; the room was reserved. */
static int follow(struct remap *rm, uintptr_t to)
{
    bool moved = to != rm->addr || implies_new_addr(rm->c.flags);

    region_remove_range(rm->target.start, rm->target.end, NULL);
    region_remove_range(rm->tail.start, rm->tail.end, NULL);
    if (moved)
        region_move_range(rm->addr, rm->addr + rm->kept, to);
    for (size_t i = 0; i < rm->nleft; i++)
        region_insert(&rm->left[i]);
    rm->nleft = 0;
    if (rm->has_extension) {
        rm->extension.start = to + rm->kept;
        rm->extension.end = to + rm->new_len;
        region_insert(&rm->extension);
        rm->has_extension = false;
    }
    if ((rm->c.flags & MREMAP_DONTUNMAP) && watch_range(rm->addr, rm->addr + rm->kept) < 0)
        return -1;
    if (moved ? watch_range(to, to + rm->new_len) < 0
              : watch_range(to + rm->kept, to + rm->new_len) < 0)
        return -1;
    return watch_neighbours(to, to + rm->new_len);
}

/* ------------------------------------------------------------ the call */

static void *kernel_mremap(const struct mremap_call *c)
{
    void *p = mremap((void *)c->addr, c->old_len, c->new_len, c->flags, (void *)c->new_addr);

    if (p == MAP_FAILED)
        um_fail(errno, "mremap: %s", strerror(errno));
    return p;
}

/* Under the lock, once the target and the tail were written back. */
static void *remap_locked(struct remap *rm)
{
    void *p;

    if (plan_extension(rm) < 0 || plan_left(rm) < 0 || before_kernel(rm) < 0)
        return MAP_FAILED;
    p = kernel_mremap(&rm->c);
    if (p == MAP_FAILED) {
        int err = errno;
        after_failure(rm->target);
        after_failure(rm->tail);
        errno = err;
        return MAP_FAILED;
    }
    if (follow(rm, (uintptr_t)p) < 0) {
        um_fail(errno, "um_mremap: the engine cannot watch the mapping at its new place "
                "(%s), so it was unmapped", strerror(errno));
        return MAP_FAILED;
    }
    return p;
}

static void *remap(struct remap *rm)
{
    void *p;

    plan_ranges(rm);
    if (flush_dropped(rm) < 0)
        return MAP_FAILED;
    um_lock_exclusive();
    p = remap_locked(rm);
    drop_plan(rm);
    um_unlock();
    /* A cache whose last mapping the kernel took writes what it holds. */
    cache_flush_unused();
    return p;
}

UM_API void *um_mremap(void *old_address, size_t old_size, size_t new_size, int flags, ...)
{
    struct remap rm = {
        .c = { (uintptr_t)old_address, old_size, new_size, flags, 0 },
    };

    if (implies_new_addr(flags)) {
        va_list ap;
        va_start(ap, flags);
        rm.c.new_addr = (uintptr_t)va_arg(ap, void *);
        va_end(ap);
    }
    if (argcheck_mremap(&rm.c) < 0)
        return MAP_FAILED;
    if (um_engine == NULL)
        return kernel_mremap(&rm.c);
    return remap(&rm);
}
