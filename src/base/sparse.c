/* SPDX-License-Identifier: MIT */
/*
 * sparse.c - the data of sparse files, see sparse.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "lifecycle.h"
#include "sparse.h"

int sparse_for_each_data(int fd, uint64_t lo, uint64_t hi, um_range_fn fn, void *arg)
{
    off_t pos = (off_t)lo;

    while ((uint64_t)pos < hi) {
        off_t data = lseek(fd, pos, SEEK_DATA);
        off_t hole;

        if (data < 0)
            return errno == ENXIO ? 0 : -errno;
        if ((uint64_t)data >= hi)
            break;
        /* Data in the system page that reaches the end: no hole to look
         * for (one call, not two, per evicted 4 KiB page). */
        if (((uint64_t)data & ~(uint64_t)(um_system_page() - 1)) + um_system_page() >= hi) {
            fn(arg, (uintptr_t)data, (uintptr_t)hi);
            break;
        }
        hole = lseek(fd, data, SEEK_HOLE);
        if (hole < 0)
            return -errno;
        fn(arg, (uintptr_t)data, (uint64_t)hole < hi ? (uintptr_t)hole : (uintptr_t)hi);
        pos = hole;
    }
    return 0;
}

int sparse_punch(int fd, uint64_t lo, uint64_t hi)
{
    if (lo >= hi)
        return 0;
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)lo, (off_t)(hi - lo)) < 0)
        return -errno;
    return 0;
}
