/* SPDX-License-Identifier: MIT */
/*
 * interpose_io.c - the program's file calls, through usermap's, so that
 * they see the mappings and the mappings see them (on any file usermap
 * does not cache, each um_* call is the system call).  The *64 names are
 * the same calls on a 64-bit system.
 */
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#include <usermap.h>

#include "interpose.h"

PRELOAD_API ssize_t read(int fd, void *buf, size_t n)
{
    INTERPOSE(ssize_t, um_read(fd, buf, n), um_real_read(fd, buf, n));
}

PRELOAD_API ssize_t write(int fd, const void *buf, size_t n)
{
    INTERPOSE(ssize_t, um_write(fd, buf, n), um_real_write(fd, buf, n));
}

PRELOAD_API ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    INTERPOSE(ssize_t, um_pread(fd, buf, n, off), um_real_pread(fd, buf, n, off));
}

PRELOAD_API ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
    INTERPOSE(ssize_t, um_pread(fd, buf, n, off), um_real_pread(fd, buf, n, off));
}

PRELOAD_API ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    INTERPOSE(ssize_t, um_pwrite(fd, buf, n, off), um_real_pwrite(fd, buf, n, off));
}

PRELOAD_API ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    INTERPOSE(ssize_t, um_pwrite(fd, buf, n, off), um_real_pwrite(fd, buf, n, off));
}

PRELOAD_API ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    INTERPOSE(ssize_t, um_readv(fd, iov, cnt), um_real_readv(fd, iov, cnt));
}

PRELOAD_API ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    INTERPOSE(ssize_t, um_writev(fd, iov, cnt), um_real_writev(fd, iov, cnt));
}

PRELOAD_API ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
    INTERPOSE(ssize_t, um_preadv(fd, iov, cnt, off), um_real_preadv(fd, iov, cnt, off));
}

PRELOAD_API ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off)
{
    INTERPOSE(ssize_t, um_preadv(fd, iov, cnt, off), um_real_preadv(fd, iov, cnt, off));
}

PRELOAD_API ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    INTERPOSE(ssize_t, um_pwritev(fd, iov, cnt, off), um_real_pwritev(fd, iov, cnt, off));
}

PRELOAD_API ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
    INTERPOSE(ssize_t, um_pwritev(fd, iov, cnt, off), um_real_pwritev(fd, iov, cnt, off));
}

/* preadv2 without flags is preadv, or readv at offset -1 (the file
 * position); with flags (RWF_NOWAIT, RWF_HIPRI, ...) usermap has no
 * equivalent and the kernel serves it. */
static ssize_t um_preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    if (flags != 0)
        return um_real_preadv2(fd, iov, cnt, off, flags);
    return off == -1 ? um_readv(fd, iov, cnt) : um_preadv(fd, iov, cnt, off);
}

static ssize_t um_pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    if (flags != 0)
        return um_real_pwritev2(fd, iov, cnt, off, flags);
    return off == -1 ? um_writev(fd, iov, cnt) : um_pwritev(fd, iov, cnt, off);
}

PRELOAD_API ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    INTERPOSE(ssize_t, um_preadv2(fd, iov, cnt, off, flags),
              um_real_preadv2(fd, iov, cnt, off, flags));
}

PRELOAD_API ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    INTERPOSE(ssize_t, um_preadv2(fd, iov, cnt, off, flags),
              um_real_preadv2(fd, iov, cnt, off, flags));
}

PRELOAD_API ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    INTERPOSE(ssize_t, um_pwritev2(fd, iov, cnt, off, flags),
              um_real_pwritev2(fd, iov, cnt, off, flags));
}

PRELOAD_API ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    INTERPOSE(ssize_t, um_pwritev2(fd, iov, cnt, off, flags),
              um_real_pwritev2(fd, iov, cnt, off, flags));
}

PRELOAD_API int fsync(int fd)
{
    INTERPOSE(int, um_fsync(fd), um_real_fsync(fd));
}

PRELOAD_API int fdatasync(int fd)
{
    INTERPOSE(int, um_fdatasync(fd), um_real_fdatasync(fd));
}

PRELOAD_API int sync_file_range(int fd, off_t off, off_t n, unsigned int flags)
{
    INTERPOSE(int, um_sync_file_range(fd, off, n, flags),
              um_real_sync_file_range(fd, off, n, flags));
}

PRELOAD_API int fallocate(int fd, int mode, off_t off, off_t len)
{
    INTERPOSE(int, um_fallocate(fd, mode, off, len), um_real_fallocate(fd, mode, off, len));
}

PRELOAD_API int fallocate64(int fd, int mode, off_t off, off_t len)
{
    INTERPOSE(int, um_fallocate(fd, mode, off, len), um_real_fallocate(fd, mode, off, len));
}

PRELOAD_API ssize_t copy_file_range(int in, off_t *in_off, int out, off_t *out_off, size_t len,
                                    unsigned int flags)
{
    INTERPOSE(ssize_t, um_copy_file_range(in, in_off, out, out_off, len, flags),
              um_real_copy_file_range(in, in_off, out, out_off, len, flags));
}

PRELOAD_API ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
    INTERPOSE(ssize_t, um_sendfile(out, in, off, n), um_real_sendfile(out, in, off, n));
}

PRELOAD_API ssize_t sendfile64(int out, int in, off_t *off, size_t n)
{
    INTERPOSE(ssize_t, um_sendfile(out, in, off, n), um_real_sendfile(out, in, off, n));
}

PRELOAD_API int close(int fd)
{
    INTERPOSE(int, um_close(fd), um_real_close(fd));
}
