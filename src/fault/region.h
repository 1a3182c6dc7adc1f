/* SPDX-License-Identifier: MIT */
/*
 * region.h - the table of usermap's mappings: which address range maps
 * which cache at which offset.
 *
 * The table is protected by the library lock (lifecycle.h): the fault path
 * reads it under the shared lock, the API changes it under the exclusive
 * one.  No code touches mapped memory while holding the lock, so a fault
 * can never wait for a lock its own thread holds.
 */
#ifndef USERMAP_REGION_H
#define USERMAP_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

struct um_cache;
struct um_pool;
struct um_private;

enum {
    UM_REGION_SHARED = 1 << 0,    /* MAP_SHARED: writes go to the cache */
    UM_REGION_WRITABLE = 1 << 1,  /* shared and allowed to write (fd open for writing) */
    UM_REGION_SEQUENTIAL = 1 << 2, /* MADV_SEQUENTIAL: read ahead further */
    UM_REGION_RANDOM = 1 << 3,    /* MADV_RANDOM: no read-ahead */
};

#define UM_REGION_ADVICE (UM_REGION_SEQUENTIAL | UM_REGION_RANDOM)

struct um_region {
    uintptr_t start, end;         /* [start, end), page aligned */
    struct um_pool *pool;         /* page size, budget, counters */
    struct um_mapping *mapping;   /* the um_mmap call's counters (stats.h) */
    struct um_cache *cache;       /* NULL: anonymous private memory */
    struct um_private *priv;      /* the pages a private mapping owns, in a pool
                                   * with a limit (private.h); else NULL */
    uint64_t offset;              /* cache offset mapped at start */
    unsigned flags;
};

/* Whether writes through r must reach its store (and so are tracked). */
bool region_writes_back(const struct um_region *r);

/* How writes through r are tracked: synchronously where pages may be
 * evicted while written (pools with a memory limit, served by handlers). */
enum um_tracking region_tracking(const struct um_region *r);

/* Whether r's faults are served in the faulting thread (an in-thread
 * pool's, but for writable mappings under a memory limit). */
bool region_in_thread(const struct um_region *r);

/* Asks the engine to watch r as its kind needs.  0 or -1 with errno. */
int region_watch(const struct um_region *r);

/* The region holding addr, or NULL.  Valid while the lock is held. */
struct um_region *region_find(uintptr_t addr);

/* Adds r (which must not overlap any region).  Returns 0 or -ENOMEM. */
int region_insert(const struct um_region *r);

/*
 * Calls fn for every region overlapping [start, end), clipped to it: the
 * clipped copy has its start, end and offset adjusted.  Stops and returns
 * fn's value when it is not 0.
 */
typedef int (*region_fn)(void *arg, const struct um_region *clipped);
int region_for_each_in(uintptr_t start, uintptr_t end, region_fn fn, void *arg);

/* Calls fn for every region (unclipped), as region_for_each_in. */
int region_for_each(region_fn fn, void *arg);

/*
 * Removes [start, end) from the table, splitting regions that straddle its
 * edges.  fn is called with each removed piece (after it left the table)
 * and must release the piece's cache and private references; with fn
 * NULL the table releases them, forgetting the piece's private pages.
 * Returns 0 or -ENOMEM.
 */
int region_remove_range(uintptr_t start, uintptr_t end,
                        void (*fn)(const struct um_region *removed));

/* Makes room for n more regions, so that the next n inserts (or splits)
 * cannot fail.  0 or -ENOMEM. */
int region_reserve(size_t n);

/*
 * Moves the regions of [start, end), split at its edges, to start at to,
 * as mremap(2) moves the pages: each keeps its cache, offsets, private
 * pages and counters.  [to, to + (end - start)) must hold no region.
 * Returns 0 or -ENOMEM (then nothing moved).
 */
int region_move_range(uintptr_t start, uintptr_t end, uintptr_t to);

/*
 * Sets the advice flags of [start, end) to advice (clearing the others),
 * splitting regions at the edges.  Returns 0 or -ENOMEM.
 */
int region_set_advice(uintptr_t start, uintptr_t end, unsigned advice);

/* The file offset that address addr of region r maps. */
static inline uint64_t region_offset_of(const struct um_region *r, uintptr_t addr)
{
    return r->offset + (addr - r->start);
}

/* Cuts the cache offsets [lo, hi) to those r maps, into [*from, *to).
 * False when r maps none of them. */
static inline bool region_clip_offsets(const struct um_region *r, uint64_t lo, uint64_t hi,
                                       uint64_t *from, uint64_t *to)
{
    uint64_t end = region_offset_of(r, r->end);

    *from = lo > r->offset ? lo : r->offset;
    *to = hi < end ? hi : end;
    return *from < *to;
}

/* The address in r that maps cache offset off (off must lie in r). */
static inline uintptr_t region_addr_of(const struct um_region *r, uint64_t off)
{
    return r->start + (uintptr_t)(off - r->offset);
}

#endif
