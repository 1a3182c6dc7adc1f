/* SPDX-License-Identifier: MIT */
/*
 * region.c - the region table: a sorted array, searched by bisection.
 *
 * Programs hold from a handful to some thousands of mappings; a sorted
 * array keeps lookups cheap and the code short.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "lifecycle.h"
#include "pool.h"
#include "private.h"
#include "region.h"

static struct um_region *table;
static size_t count, capacity;

bool region_writes_back(const struct um_region *r)
{
    return (r->flags & UM_REGION_WRITABLE) && r->cache && cache_has_store_writes(r->cache);
}

enum um_tracking region_tracking(const struct um_region *r)
{
    /* Private pages are evicted under writes, and a file's are counted
     * at their first write. */
    if (r->priv)
        return UM_TRACK_SYNC;
    if (!region_writes_back(r))
        return UM_TRACK_NONE;
    /* Every first write faults: it reserves the page's room in the file
     * and marks it dirty in the shared dirty map before it lands, which
     * eviction, forked children and crash recovery depend on. */
    return UM_TRACK_SYNC;
}

/* A mapping that writes back, or owns private pages in a pool with a
 * limit, is served by the handlers whatever the pool's mode: its first
 * writes fault synchronously, which in-thread faults cannot deliver. */
bool region_in_thread(const struct um_region *r)
{
    return r->pool->cfg.fault_mode == UM_FAULTS_IN_THREAD && !r->priv &&
           !(region_tracking(r) == UM_TRACK_SYNC && region_writes_back(r));
}

int region_watch(const struct um_region *r)
{
    unsigned flags = 0;

    if (region_in_thread(r))
        flags |= UM_WATCH_IN_THREAD;
    if (r->priv && __atomic_load_n(&r->priv->minor_watched, __ATOMIC_ACQUIRE))
        flags |= UM_WATCH_MINOR;
    /* Anonymous pages are counted when filled: nothing to see on writes
     * until an eviction protects them. */
    if (r->priv && r->priv->anonymous)
        flags |= UM_WATCH_UNPROTECTED;
    return um_engine->watch((void *)r->start, r->end - r->start, region_tracking(r), flags);
}

/* Index of the first region whose end is above addr (count if none). */
static size_t first_ending_after(uintptr_t addr)
{
    size_t lo = 0, hi = count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (table[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct um_region *region_find(uintptr_t addr)
{
    size_t i = first_ending_after(addr);

    return i < count && table[i].start <= addr ? &table[i] : NULL;
}

static int reserve(size_t n)
{
    struct um_region *bigger;
    size_t want;

    if (n <= capacity)
        return 0;
    want = capacity ? capacity * 2 : 16;
    while (want < n)
        want *= 2;
    bigger = realloc(table, want * sizeof(*table));
    if (!bigger)
        return -ENOMEM;
    table = bigger;
    capacity = want;
    return 0;
}

int region_insert(const struct um_region *r)
{
    size_t i;

    if (reserve(count + 1) < 0)
        return -ENOMEM;
    i = first_ending_after(r->start);
    memmove(&table[i + 1], &table[i], (count - i) * sizeof(*table));
    table[i] = *r;
    count++;
    stat_add(&r->pool->counters.mappings, 1);
    return 0;
}

static struct um_region clip(const struct um_region *r, uintptr_t start, uintptr_t end)
{
    struct um_region c = *r;

    if (c.start < start) {
        c.offset += start - c.start;
        c.start = start;
    }
    if (c.end > end)
        c.end = end;
    return c;
}

int region_for_each_in(uintptr_t start, uintptr_t end, region_fn fn, void *arg)
{
    for (size_t i = first_ending_after(start); i < count && table[i].start < end; i++) {
        struct um_region c = clip(&table[i], start, end);
        int rc = fn(arg, &c);
        if (rc)
            return rc;
    }
    return 0;
}

int region_for_each(region_fn fn, void *arg)
{
    for (size_t i = 0; i < count; i++) {
        int rc = fn(arg, &table[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* Splits the region holding addr (if any, and addr inside it) in two at
 * addr.  Returns 0 or -ENOMEM. */
static int split_at(uintptr_t addr)
{
    size_t i = first_ending_after(addr);
    struct um_region right;

    if (i >= count || table[i].start >= addr)
        return 0;
    if (reserve(count + 1) < 0)
        return -ENOMEM;
    right = clip(&table[i], addr, table[i].end);
    table[i].end = addr;
    memmove(&table[i + 2], &table[i + 1], (count - i - 1) * sizeof(*table));
    table[i + 1] = right;
    count++;
    stat_add(&right.pool->counters.mappings, 1);
    mapping_hold(right.mapping);
    if (right.cache)
        cache_hold(right.cache);
    if (right.priv)
        private_hold(right.priv);
    return 0;
}

int region_reserve(size_t n)
{
    return reserve(count + n);
}

int region_move_range(uintptr_t start, uintptr_t end, uintptr_t to)
{
    size_t i;

    if (split_at(start) < 0 || split_at(end) < 0)
        return -ENOMEM;
    /* One entry at a time: it leaves its slot and takes one at its new
     * place.  The destination is outside [start, end), so a moved entry
     * is never met again. */
    while ((i = first_ending_after(start)) < count && table[i].start < end) {
        struct um_region moving = table[i];

        memmove(&table[i], &table[i + 1], (count - i - 1) * sizeof(*table));
        count--;
        moving.start = moving.start - start + to;
        moving.end = moving.end - start + to;
        i = first_ending_after(moving.start);
        memmove(&table[i + 1], &table[i], (count - i) * sizeof(*table));
        table[i] = moving;
        count++;
    }
    return 0;
}

int region_set_advice(uintptr_t start, uintptr_t end, unsigned advice)
{
    if (split_at(start) < 0 || split_at(end) < 0)
        return -ENOMEM;
    for (size_t i = first_ending_after(start); i < count && table[i].start < end; i++)
        table[i].flags = (table[i].flags & ~UM_REGION_ADVICE) | advice;
    return 0;
}

int region_remove_range(uintptr_t start, uintptr_t end,
                        void (*fn)(const struct um_region *removed))
{
    size_t i;

    if (split_at(start) < 0 || split_at(end) < 0)
        return -ENOMEM;
    /* Now every region overlapping [start, end) lies inside it.  Each
     * leaves the table before fn sees it, with the reference it owns. */
    while ((i = first_ending_after(start)) < count && table[i].start < end) {
        struct um_region gone = table[i];

        memmove(&table[i], &table[i + 1], (count - i - 1) * sizeof(*table));
        count--;
        stat_sub(&gone.pool->counters.mappings, 1);
        if (fn) {
            fn(&gone);
        } else {
            if (gone.cache)
                cache_release(gone.cache);
            if (gone.priv) {
                private_forget(&gone);
                private_release(gone.priv);
            }
        }
        mapping_release(gone.mapping);
    }
    if (count == 0) {
        free(table);
        table = NULL;
        capacity = 0;
    }
    return 0;
}
