/* SPDX-License-Identifier: MIT */
/*
 * flush.c - see flush.h.
 *
 * The pieces of the range are found and their caches pinned under the
 * shared lock; the write-back itself runs with no lock held, because the
 * store's I/O can wait on the file's own locks (a write(2) from a mapping
 * of the same file holds one while it faults, and its fault needs the
 * library lock).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cache.h"
#include "error.h"
#include "flush.h"
#include "lifecycle.h"
#include "pool.h"
#include "region.h"
#include "stats.h"

struct piece {
    struct um_cache *cache;
    struct um_mapping *mapping;
    uint64_t lo, hi;            /* cache offsets */
    bool writes_back;
};

struct pieces {
    struct piece *v;
    size_t n, cap;
};

static int add_piece(void *arg, const struct um_region *r)
{
    struct pieces *list = arg;

    if (!r->cache)
        return 0;
    if (list->n == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 8;
        struct piece *v = realloc(list->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        list->v = v;
        list->cap = cap;
    }
    cache_pin(r->cache);
    mapping_hold(r->mapping);
    list->v[list->n++] = (struct piece){ r->cache, r->mapping, r->offset,
                                         region_offset_of(r, r->end), region_writes_back(r) };
    return 0;
}

static void release_pieces(struct pieces *list)
{
    for (size_t i = 0; i < list->n; i++) {
        cache_unpin(list->v[i].cache);
        mapping_release(list->v[i].mapping);
    }
    free(list->v);
}

static int keep_first(int rc, int err)
{
    return rc < 0 ? rc : err;
}

int flush_range(uintptr_t start, uintptr_t end, unsigned what)
{
    struct pieces list = { 0 };
    int rc;

    um_lock_shared();
    rc = region_for_each_in(start, end, add_piece, &list);
    um_unlock();
    for (size_t i = 0; i < list.n && (what & FLUSH_WRITE); i++) {
        struct piece *p = &list.v[i];
        struct um_mapping *outer;

        if (!p->writes_back)
            continue;
        outer = stat_attribute(p->mapping);
        rc = keep_first(rc, cache_flush(p->cache, p->lo, p->hi));
        stat_attribute(outer);
    }
    if (what & FLUSH_INVALIDATE) {
        um_lock_shared();
        for (size_t i = 0; i < list.n; i++)
            rc = keep_first(rc, cache_invalidate(list.v[i].cache, list.v[i].lo, list.v[i].hi));
        um_unlock();
    }
    for (size_t i = 0; i < list.n && (what & FLUSH_SYNC); i++)
        if (list.v[i].writes_back)
            rc = keep_first(rc, cache_sync(list.v[i].cache));
    release_pieces(&list);
    /* As the kernel's msync: ENOSPC stays, every other failure is EIO. */
    if (rc < 0)
        return um_fail(rc == -ENOSPC ? ENOSPC : EIO, "cannot write dirty pages back to the file: %s (they stay "
                       "dirty, to be written by the next msync, munmap or exit)", strerror(-rc));
    return 0;
}

static int collect_piece(void *arg, const struct um_region *r)
{
    (void)arg;
    return region_writes_back(r) ? cache_collect(r->cache, r->offset, region_offset_of(r, r->end))
                                 : 0;
}

int collect_range(uintptr_t start, uintptr_t end)
{
    int rc = region_for_each_in(start, end, collect_piece, NULL);

    return rc < 0 ? um_fail(-rc, "cannot read which pages were written: %s", strerror(-rc)) : 0;
}

/* The bytes of anonymous private memory present in a piece (mincore
 * tells which pages are there), which fault.c counted as it filled them;
 * private pages in a pool with a limit count themselves. */
static uint64_t anonymous_present(const struct um_region *piece)
{
    size_t sys = um_system_page(), pages = (piece->end - piece->start) / sys;
    unsigned char vec[1024];
    uint64_t bytes = 0;

    if (piece->cache || piece->priv)
        return 0;
    for (size_t i = 0; i < pages; i += sizeof(vec)) {
        size_t n = pages - i < sizeof(vec) ? pages - i : sizeof(vec);
        if (mincore((void *)(piece->start + i * sys), n * sys, vec) < 0)
            break;
        for (size_t j = 0; j < n; j++)
            bytes += (vec[j] & 1) ? sys : 0;
    }
    return bytes;
}

static int uncount_piece(void *arg, const struct um_region *piece)
{
    (void)arg;
    stat_sub(&piece->pool->counters.resident, anonymous_present(piece));
    return 0;
}

static int recount_piece(void *arg, const struct um_region *piece)
{
    (void)arg;
    stat_add(&piece->pool->counters.resident, anonymous_present(piece));
    return 0;
}

void uncount_range(uintptr_t start, uintptr_t end)
{
    region_for_each_in(start, end, uncount_piece, NULL);
}

void recount_range(uintptr_t start, uintptr_t end)
{
    region_for_each_in(start, end, recount_piece, NULL);
}
