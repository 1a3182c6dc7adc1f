/* SPDX-License-Identifier: MIT */
/*
 * pagemap.c - PAGEMAP_SCAN, see pagemap.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pagemap.h"

static int pagemap_fd = -1;
static pthread_once_t opened = PTHREAD_ONCE_INIT;

static void open_pagemap(void)
{
    pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
}

static int fd(void)
{
    pthread_once(&opened, open_pagemap);
    return pagemap_fd;
}

int pagemap_scan(void *addr, size_t len, const struct pagemap_query *q,
                 um_range_fn fn, void *arg)
{
    struct page_region vec[256];
    struct pm_scan_arg scan = {
        .size = sizeof(scan),
        .flags = q->reset_written ? PM_SCAN_WP_MATCHING : 0,
        .start = (uintptr_t)addr,
        .end = (uintptr_t)addr + len,
        .vec = (uintptr_t)vec,
        .vec_len = sizeof(vec) / sizeof(vec[0]),
        .category_inverted = q->none,
        .category_mask = q->all | q->none,
        .return_mask = q->all | q->none,
    };

    if (fd() < 0)
        return -ENOTTY;
    while (scan.start < scan.end) {
        int n = ioctl(pagemap_fd, PAGEMAP_SCAN, &scan);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        for (int i = 0; i < n; i++)
            fn(arg, (uintptr_t)vec[i].start, (uintptr_t)vec[i].end);
        scan.start = scan.walk_end;
    }
    return 0;
}

static void ignore(void *arg, uintptr_t start, uintptr_t end)
{
    (void)arg;
    (void)start;
    (void)end;
}

bool pagemap_available(void)
{
    static int answer = -1;     /* -1: not asked yet */
    static char probe[4096] __attribute__((aligned(4096)));   /* ranges are page aligned */
    struct pagemap_query q = { .all = PAGE_IS_PRESENT };
    int known = __atomic_load_n(&answer, __ATOMIC_RELAXED);

    if (known < 0) {
        known = pagemap_scan(probe, sizeof(probe), &q, ignore, NULL) == 0;
        __atomic_store_n(&answer, known, __ATOMIC_RELAXED);
    }
    return known;
}

void pagemap_reopen_in_child(void)
{
    if (pagemap_fd >= 0) {
        close(pagemap_fd);
        open_pagemap();
    }
}
