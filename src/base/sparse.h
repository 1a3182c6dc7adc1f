/* SPDX-License-Identifier: MIT */
/*
 * sparse.h - the data of sparse files (memfds, the swap file): where it
 * is (SEEK_DATA/SEEK_HOLE) and taking it out (hole punching).
 */
#ifndef USERMAP_SPARSE_H
#define USERMAP_SPARSE_H

#include <stdint.h>

#include "engine.h"     /* um_range_fn */

/* Calls fn for each run of data in [lo, hi) of fd.  Allocates nothing:
 * eviction runs it from the SIGBUS handler of in-thread faults.  0 or
 * -errno. */
int sparse_for_each_data(int fd, uint64_t lo, uint64_t hi, um_range_fn fn, void *arg);

/* Frees the blocks of [lo, hi) of fd, keeping its size.  0 or -errno. */
int sparse_punch(int fd, uint64_t lo, uint64_t hi);

#endif
