/* SPDX-License-Identifier: MIT */
/*
 * pool.h - a pool: the page size, budget and policies shared by a set of
 * mappings, and their counters.
 */
#ifndef USERMAP_POOL_H
#define USERMAP_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "usermap.h"
#include "evict.h"
#include "prefetch.h"
#include "stats.h"

struct um_pool {
    um_pool_config cfg;         /* resolved: no zeros meaning "default" */
    bool is_default;
    struct um_counters counters;
    struct um_prefetch prefetch;
    struct um_frames frames;
    struct um_pool *next;       /* every pool, for fork */
};

/* In a forked child: the pools' threads are gone; reset their state. */
void pool_reset_all_in_child(void);

/*
 * The pool um_mmap() uses, made on first call from the environment.
 * NULL with errno EINVAL and a message naming the variable when the
 * environment is invalid.
 */
struct um_pool *pool_default(void);

/* The pool to use for a call given pool (NULL: the default). */
struct um_pool *pool_or_default(struct um_pool *pool);


#endif
