/* SPDX-License-Identifier: MIT */
/*
 * pagemap.h - asking the kernel about page-table entries of a range
 * (PAGEMAP_SCAN on /proc/self/pagemap): which pages were written, which
 * are mapped.
 */
#ifndef USERMAP_PAGEMAP_H
#define USERMAP_PAGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"     /* um_range_fn */
#include "linux_compat.h"

/* What to look for: pages whose categories include all of `all` and
 * none of `none`. */
struct pagemap_query {
    uint64_t all;           /* PAGE_IS_* that must all be set */
    uint64_t none;          /* PAGE_IS_* that must all be clear */
    bool reset_written;     /* write-protect the matches again */
};

/*
 * Calls fn for each range of [addr, addr+len) matching q.  Returns 0, or
 * -errno (-ENOTTY on kernels without PAGEMAP_SCAN).
 */
int pagemap_scan(void *addr, size_t len, const struct pagemap_query *q,
                 um_range_fn fn, void *arg);

/* Whether pagemap_scan() works on this kernel. */
bool pagemap_available(void);

/* In a forked child: /proc/self must be opened again to mean the child. */
void pagemap_reopen_in_child(void);

#endif
