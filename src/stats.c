/*
 * stats.c - um_stats(): a snapshot of the counters.
 */
#include <errno.h>

#include "usermap.h"
#include "error.h"
#include "lifecycle.h"
#include "stats.h"

struct um_counters um_counters;

static uint64_t load(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

UM_API int um_stats(um_pool *pool, struct um_stats *out)
{
    if (pool)
        return um_fail(EINVAL, "um_stats: no pools exist yet; pass NULL for the default pool");
    if (!out)
        return um_fail(EINVAL, "um_stats: the output pointer is NULL");
    out->page_size = um_page_size();
    out->faults = load(&um_counters.faults);
    out->pages_filled = load(&um_counters.pages_filled);
    out->bytes_read = load(&um_counters.bytes_read);
    out->bytes_written = load(&um_counters.bytes_written);
    out->writebacks = load(&um_counters.writebacks);
    out->mappings = load(&um_counters.mappings);
    return 0;
}
