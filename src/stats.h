/*
 * stats.h - the counters behind um_stats().  Updated from any thread
 * without locks.
 */
#ifndef USERMAP_STATS_H
#define USERMAP_STATS_H

#include <stdint.h>

struct um_counters {
    uint64_t faults;
    uint64_t pages_filled;
    uint64_t bytes_read;
    uint64_t bytes_written;
    uint64_t writebacks;
    uint64_t mappings;
};

extern struct um_counters um_counters;

static inline void stat_add(uint64_t *counter, uint64_t n)
{
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static inline void stat_sub(uint64_t *counter, uint64_t n)
{
    __atomic_fetch_sub(counter, n, __ATOMIC_RELAXED);
}

#endif
