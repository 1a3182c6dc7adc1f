/* SPDX-License-Identifier: MIT */
/*
 * stats.c - counters, the fault latency histogram, and um_stats().
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "usermap.h"
#include "error.h"
#include "lifecycle.h"
#include "pool.h"
#include "region.h"
#include "stats.h"

__thread struct um_mapping *stat_current_mapping;

struct um_mapping *mapping_new(void)
{
    struct um_mapping *m = calloc(1, sizeof(*m));

    if (m)
        m->refs = 1;
    return m;
}

void mapping_hold(struct um_mapping *m)
{
    if (m)
        __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
}

void mapping_release(struct um_mapping *m)
{
    if (m && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(m);
}

static uint64_t load(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

void stat_add_resident(struct um_counters *c, uint64_t n)
{
    uint64_t now = __atomic_add_fetch(&c->resident, n, __ATOMIC_RELAXED);
    uint64_t peak = load(&c->peak_resident);

    while (now > peak &&
           !__atomic_compare_exchange_n(&c->peak_resident, &peak, now, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

uint64_t stat_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Bucket b holds times from 2^(b/4) up: four buckets per doubling, so a
 * percentile read back is within 19% of the truth. */
static unsigned bucket_of(uint64_t ns)
{
    unsigned log2, quarter;

    if (ns < 2)
        return 0;
    log2 = 63u - (unsigned)__builtin_clzll(ns);
    quarter = log2 >= 2 ? (unsigned)((ns >> (log2 - 2)) & 3) : 0;
    return log2 * 4 + quarter;
}

static uint64_t bucket_floor(unsigned b)
{
    unsigned log2 = b / 4, quarter = b % 4;

    if (log2 < 2)
        return (uint64_t)1 << log2;
    return ((uint64_t)4 + quarter) << (log2 - 2);
}

void stat_add_latency(struct um_counters *c, uint64_t ns)
{
    stat_add(&c->latency[bucket_of(ns)], 1);
}

static uint64_t percentile(const struct um_counters *c, unsigned pct)
{
    uint64_t counts[UM_LATENCY_BUCKETS], total = 0, seen = 0, want;

    for (unsigned b = 0; b < UM_LATENCY_BUCKETS; b++)
        total += counts[b] = load(&c->latency[b]);
    if (total == 0)
        return 0;
    want = (total * pct + 99) / 100;
    for (unsigned b = 0; b < UM_LATENCY_BUCKETS; b++) {
        seen += counts[b];
        if (seen >= want)
            return bucket_floor(b);
    }
    return 0;
}

/* A snapshot of counters c, with the pool's configuration. */
static void snapshot(const struct um_pool *pool, const struct um_counters *c,
                     struct um_stats *out)
{
    *out = (struct um_stats){
        .page_size = pool->cfg.page_size,
        .memory_limit = pool->cfg.memory_limit,
        .faults = load(&c->faults),
        .pages_filled = load(&c->pages_filled),
        .pages_prefetched = load(&c->pages_prefetched),
        .bytes_read = load(&c->bytes_read),
        .bytes_written = load(&c->bytes_written),
        .pages_written = load(&c->pages_written),
        .evictions = load(&c->evictions),
        .resident_bytes = load(&c->resident),
        .peak_resident_bytes = load(&c->peak_resident),
        .fault_p50_ns = percentile(c, 50),
        .fault_p99_ns = percentile(c, 99),
        .mappings = load(&c->mappings),
        .bytes_swapped_out = load(&c->bytes_swapped_out),
        .bytes_swapped_in = load(&c->bytes_swapped_in),
    };
}

UM_API int um_stats(um_pool *pool, struct um_stats *out)
{
    if (!out)
        return um_fail(EINVAL, "um_stats: the output pointer is NULL");
    pool = pool_or_default(pool);
    if (!pool)
        return -1;
    snapshot(pool, &pool->counters, out);
    return 0;
}

UM_API int um_mapping_stats(const void *addr, struct um_stats *out)
{
    struct um_region *r;
    int rc = 0;

    if (!out)
        return um_fail(EINVAL, "um_mapping_stats: the output pointer is NULL");
    if (!um_engine)
        return um_fail(EINVAL, "um_mapping_stats: %p is not in a usermap mapping", addr);
    um_lock_shared();
    r = region_find((uintptr_t)addr);
    if (r && r->mapping) {
        snapshot(r->pool, &r->mapping->counters, out);
        /* Residency and eviction belong to the pool's memory as a whole. */
        out->resident_bytes = load(&r->pool->counters.resident);
        out->peak_resident_bytes = load(&r->pool->counters.peak_resident);
        out->evictions = load(&r->pool->counters.evictions);
        out->mappings = (uint64_t)__atomic_load_n(&r->mapping->refs, __ATOMIC_RELAXED);
    } else {
        rc = um_fail(EINVAL, "um_mapping_stats: %p is not in a usermap mapping", addr);
    }
    um_unlock();
    return rc;
}
