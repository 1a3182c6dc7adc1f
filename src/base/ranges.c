/* SPDX-License-Identifier: MIT */
/*
 * ranges.c - see ranges.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "ranges.h"

void ranges_add(struct um_ranges *list, uint64_t start, uint64_t end)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 64;
        struct um_range *v = realloc(list->v, cap * sizeof(*v));
        if (!v) {
            list->error = -ENOMEM;
            return;
        }
        list->v = v;
        list->cap = cap;
    }
    list->v[list->n++] = (struct um_range){ start, end };
}

static int by_start(const void *a, const void *b)
{
    const struct um_range *x = a, *y = b;

    return (x->start > y->start) - (x->start < y->start);
}

void ranges_merge(struct um_ranges *list)
{
    size_t out = 0;

    if (list->n == 0)
        return;
    qsort(list->v, list->n, sizeof(list->v[0]), by_start);
    for (size_t i = 1; i < list->n; i++) {
        if (list->v[i].start <= list->v[out].end) {
            if (list->v[i].end > list->v[out].end)
                list->v[out].end = list->v[i].end;
        } else {
            list->v[++out] = list->v[i];
        }
    }
    list->n = out + 1;
}

void ranges_free(struct um_ranges *list)
{
    free(list->v);
    *list = (struct um_ranges){ 0 };
}
