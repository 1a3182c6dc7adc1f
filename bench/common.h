/* SPDX-License-Identifier: MIT */
/*
 * common.h - what usermap-bench and usermap-floor share: the clock and
 * the random reads of W3 and W4 (the same offsets for every contender).
 */
#ifndef USERMAP_BENCH_COMMON_H
#define USERMAP_BENCH_COMMON_H

#include <stdint.h>
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

#endif
