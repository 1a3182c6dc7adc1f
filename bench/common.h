/* SPDX-License-Identifier: MIT */
/*
 * common.h - what the benchmarks share: the clock, the random reads of
 * W3 and W4 (the same offsets for every contender), medians.
 */
#ifndef USERMAP_BENCH_COMMON_H
#define USERMAP_BENCH_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define RANDOM_READS 200000u
#define READ_SEED 0x2545f4914f6cdd1dull

static inline uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static inline int bench_by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The median of n figures (sorts them). */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), bench_by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
