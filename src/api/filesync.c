/* SPDX-License-Identifier: MIT */
/*
 * filesync.c - fsync, fdatasync, sync_file_range and fallocate on a file
 * usermap caches: the first three write back what mappings dirtied
 * before the kernel makes the file durable, as the kernel's own write
 * back its page cache; fallocate's changes to the file's bytes reach the
 * cached pages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "usermap.h"
#include "cache.h"
#include "error.h"
#include "fileio.h"
#include "lifecycle.h"

/* Writes back the pages of [lo, hi) of fd's file dirtied through any
 * usermap mapping.  0, or -1 with errno (the pages stay dirty). */
static int write_back(int fd, uint64_t lo, uint64_t hi, const char *call)
{
    struct file_io io;
    int rc = 0;

    fileio_open_for(fd, &io, true);
    if (io.cache)
        rc = cache_flush(io.cache, lo, hi);
    fileio_close(&io);
    if (rc < 0)
        return um_fail(-rc, "%s: writing back pages mapped from fd %d failed: %s", call, fd,
                       strerror(-rc));
    return 0;
}

UM_API int um_fsync(int fd)
{
    if (write_back(fd, 0, UINT64_MAX, "fsync") < 0)
        return -1;
    return fsync(fd) == 0 ? 0 : um_fail(errno, "fsync: %s", strerror(errno));
}

UM_API int um_fdatasync(int fd)
{
    if (write_back(fd, 0, UINT64_MAX, "fdatasync") < 0)
        return -1;
    return fdatasync(fd) == 0 ? 0 : um_fail(errno, "fdatasync: %s", strerror(errno));
}

UM_API int um_sync_file_range(int fd, off_t offset, off_t nbytes, unsigned int flags)
{
    uint64_t end = nbytes == 0 ? UINT64_MAX : (uint64_t)offset + (uint64_t)nbytes;

    /* Bad arguments are the kernel's to refuse, before anything moves. */
    if (offset < 0 || nbytes < 0 || (uint64_t)offset + (uint64_t)nbytes < (uint64_t)offset ||
        (flags & ~(unsigned)(SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                             SYNC_FILE_RANGE_WAIT_AFTER)))
        return sync_file_range(fd, offset, nbytes, flags) == 0
                   ? 0 : um_fail(errno, "sync_file_range: %s", strerror(errno));
    if ((flags & SYNC_FILE_RANGE_WRITE) &&
        write_back(fd, (uint64_t)offset, end, "sync_file_range") < 0)
        return -1;
    return sync_file_range(fd, offset, nbytes, flags) == 0
               ? 0 : um_fail(errno, "sync_file_range: %s", strerror(errno));
}

struct allocation {
    int fd, mode;
    off_t offset, len;
};

static int allocate(void *arg)
{
    struct allocation *a = arg;

    return fallocate(a->fd, a->mode, a->offset, a->len) == 0 ? 0 : -errno;
}

/* Modes that change the file's bytes, not only its blocks or size. */
#define ZEROING (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)
#define SHIFTING (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)

static int allocate_cached(struct file_io *io, struct allocation *a)
{
    uint64_t lo = (uint64_t)a->offset, hi = lo + (uint64_t)a->len;
    struct stat now;
    int rc;

    if (a->mode & SHIFTING) {
        /* Every byte from the offset on moves: what mappings dirtied
         * goes to the file first, as the kernel writes its pages back,
         * and every cached page from there on goes after. */
        rc = cache_flush(io->cache, 0, UINT64_MAX);
        if (rc < 0)
            return rc;
        hi = (uint64_t)io->st.st_size + (uint64_t)a->len;
        hi = (hi + um_system_page() - 1) & ~(uint64_t)(um_system_page() - 1);
    }
    if (a->mode & (ZEROING | SHIFTING))
        rc = cache_file_zeroed(io->cache, a->fd, lo, hi, allocate, a);
    else
        rc = allocate(a);
    if (rc == 0 && fstat(a->fd, &now) == 0 && now.st_size != io->st.st_size) {
        io->st = now;
        fileio_follow(io);
    }
    return rc;
}

UM_API int um_fallocate(int fd, int mode, off_t offset, off_t len)
{
    struct allocation a = { fd, mode, offset, len };
    struct file_io io;
    int rc;

    fileio_open(fd, &io);
    /* Arguments the kernel refuses reach it untouched. */
    rc = io.cache && offset >= 0 && len > 0 ? allocate_cached(&io, &a) : allocate(&a);
    fileio_close(&io);
    return rc == 0 ? 0 : um_fail(-rc, "fallocate: %s", strerror(-rc));
}
