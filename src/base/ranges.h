/* SPDX-License-Identifier: MIT */
/*
 * ranges.h - a growable list of [start, end) ranges, sorted and merged on
 * demand: how write-back gathers dirty pages found through several mappings.
 */
#ifndef USERMAP_RANGES_H
#define USERMAP_RANGES_H

#include <stddef.h>
#include <stdint.h>

struct um_range {
    uint64_t start, end;
};

struct um_ranges {
    struct um_range *v;
    size_t n, cap;
    int error;          /* -ENOMEM once an add failed */
};

/* Appends [start, end); on failure sets list->error. */
void ranges_add(struct um_ranges *list, uint64_t start, uint64_t end);

/* Sorts the list and merges ranges that overlap or touch. */
void ranges_merge(struct um_ranges *list);

void ranges_free(struct um_ranges *list);

#endif
