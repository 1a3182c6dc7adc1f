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
#include "pool.h"
#include "region.h"

static struct um_region *table;
static size_t count, capacity;

bool region_writes_back(const struct um_region *r)
{
    return (r->flags & UM_REGION_WRITABLE) && r->cache && cache_has_store_writes(r->cache);
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

/* Cuts [start, end) out of table[i], which overlaps it; the piece cut out
 * goes to fn with its cache reference.  Returns how many
 * regions now stand at index i (0, 1 or 2), or -ENOMEM. */
static int cut_one(size_t i, uintptr_t start, uintptr_t end,
                   void (*fn)(const struct um_region *removed))
{
    struct um_region r = table[i];
    struct um_region removed = clip(&r, start, end);
    bool keep_left = r.start < start, keep_right = r.end > end;

    if (keep_left && keep_right) {
        struct um_region right = clip(&r, end, r.end);
        if (reserve(count + 1) < 0)
            return -ENOMEM;
        table[i].end = start;
        memmove(&table[i + 2], &table[i + 1], (count - i - 1) * sizeof(*table));
        table[i + 1] = right;
        count++;
        stat_add(&r.pool->counters.mappings, 1);
        if (right.cache)
            cache_hold(right.cache);
    } else if (keep_left) {
        table[i].end = start;
    } else if (keep_right) {
        table[i] = clip(&r, end, r.end);
    } else {
        memmove(&table[i], &table[i + 1], (count - i - 1) * sizeof(*table));
        count--;
        stat_sub(&r.pool->counters.mappings, 1);
    }
    /* Every piece owns a reference: the one that goes passes its own to
     * fn, so a piece that stays behind needs a fresh one. */
    if ((keep_left || keep_right) && removed.cache)
        cache_hold(removed.cache);
    if (fn)
        fn(&removed);
    else if (removed.cache)
        cache_release(removed.cache);
    return (int)keep_left + (int)keep_right;
}

int region_remove_range(uintptr_t start, uintptr_t end,
                        void (*fn)(const struct um_region *removed))
{
    size_t i = first_ending_after(start);

    while (i < count && table[i].start < end) {
        int left = cut_one(i, start, end, fn);
        if (left < 0)
            return left;
        i += (size_t)left;
    }
    if (count == 0) {
        free(table);
        table = NULL;
        capacity = 0;
    }
    return 0;
}
