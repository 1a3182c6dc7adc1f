/* SPDX-License-Identifier: MIT */
/*
 * stats.h - the counters of a pool, behind um_stats().  Updated from any
 * thread without locks.
 */
#ifndef USERMAP_STATS_H
#define USERMAP_STATS_H

#include <stdint.h>

/* Fault service times, in buckets a quarter of a power of two wide. */
#define UM_LATENCY_BUCKETS 256

struct um_counters {
    uint64_t faults;
    uint64_t pages_filled;
    uint64_t pages_prefetched;
    uint64_t bytes_read;
    uint64_t bytes_written;
    uint64_t pages_written;
    uint64_t evictions;
    uint64_t bytes_swapped_out;
    uint64_t bytes_swapped_in;
    uint64_t resident;
    uint64_t peak_resident;
    uint64_t mappings;
    uint64_t latency[UM_LATENCY_BUCKETS];
};

static inline void stat_add(uint64_t *counter, uint64_t n)
{
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static inline void stat_sub(uint64_t *counter, uint64_t n)
{
    __atomic_fetch_sub(counter, n, __ATOMIC_RELAXED);
}

/*
 * The counters of one mapping (one um_mmap call, all its pieces), shared
 * by its regions and freed with the last of them.
 */
struct um_mapping {
    int refs;                   /* regions (pieces) that hold it; atomic */
    struct um_counters counters;
};

struct um_mapping *mapping_new(void);
void mapping_hold(struct um_mapping *m);
void mapping_release(struct um_mapping *m);

/*
 * The mapping that work on this thread is done for, if any: a fault, an
 * msync.  Fills and write-backs count to it as well as to their pool.
 * Set with stat_attribute(), which returns the previous one to restore.
 */
extern __thread struct um_mapping *stat_current_mapping;

static inline struct um_mapping *stat_attribute(struct um_mapping *m)
{
    struct um_mapping *previous = stat_current_mapping;

    stat_current_mapping = m;
    return previous;
}

/* Adds n to a counter of the pool and of the current mapping. */
#define STAT_ADD(pool_counters, field, n)                                      \
    do {                                                                       \
        stat_add(&(pool_counters)->field, (n));                                \
        if (stat_current_mapping)                                              \
            stat_add(&stat_current_mapping->counters.field, (n));             \
    } while (0)

/* Adds n resident bytes and raises the peak if needed. */
void stat_add_resident(struct um_counters *c, uint64_t n);

/* Records the time one fault took to serve. */
void stat_add_latency(struct um_counters *c, uint64_t ns);

/* Monotonic nanoseconds, for timing faults. */
uint64_t stat_now_ns(void);

#endif
