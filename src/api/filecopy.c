/* SPDX-License-Identifier: MIT */
/*
 * filecopy.c - copy_file_range and sendfile.  The kernel copies between
 * its own page caches; where either file is one usermap caches, the copy
 * goes through usermap's (the source's unsaved stores are read, the
 * destination's cached pages updated), a chunk at a time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "usermap.h"
#include "error.h"
#include "fileio.h"

#define COPY_CHUNK ((size_t)1 << 20)

/* One end of a copy: a descriptor, and where in it (NULL: its offset,
 * which then moves). */
struct copy_end {
    int fd;
    off_t *off;
    struct file_io io;
    off_t at;
};

static int begin_end(struct copy_end *e)
{
    fileio_open(e->fd, &e->io);
    if (e->off) {
        e->at = *e->off;
        return 0;
    }
    e->at = S_ISREG(e->io.st.st_mode) ? lseek(e->fd, 0, SEEK_CUR) : 0;
    return e->at < 0 ? -errno : 0;
}

static void finish_end(struct copy_end *e, ssize_t moved)
{
    if (moved > 0) {
        if (e->off)
            *e->off = e->at + moved;
        else if (S_ISREG(e->io.st.st_mode))
            lseek(e->fd, e->at + moved, SEEK_SET);
    }
    fileio_close(&e->io);
}

/* Writes all of buf to a descriptor that is no regular file (a socket, a
 * pipe): what it takes.  -errno when it took nothing. */
static ssize_t write_stream(int fd, const char *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return done ? (ssize_t)done : (n < 0 ? -errno : 0);
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* Copies up to len bytes from in to out through a buffer.  Bytes
 * copied, or -errno when none were. */
static ssize_t copy_through(struct copy_end *in, struct copy_end *out, size_t len)
{
    size_t chunk = len < COPY_CHUNK ? len : COPY_CHUNK, done = 0;
    char *buf = malloc(chunk ? chunk : 1);
    ssize_t rc = 0;

    if (!buf)
        return -ENOMEM;
    while (done < len) {
        size_t n = len - done < chunk ? len - done : chunk;
        ssize_t got = fileio_pread(in->fd, buf, n, in->at + (off_t)done, &in->io), put;

        if (got <= 0) {
            rc = got < 0 ? -errno : 0;
            break;
        }
        put = S_ISREG(out->io.st.st_mode)
                  ? fileio_pwrite(out->fd, buf, (size_t)got, out->at + (off_t)done, &out->io)
                  : write_stream(out->fd, buf, (size_t)got);
        if (put < 0 && S_ISREG(out->io.st.st_mode))
            put = -errno;
        if (put <= 0) {
            rc = put;
            break;
        }
        done += (size_t)put;
        if (put < got)
            break;
    }
    free(buf);
    return done ? (ssize_t)done : rc;
}

static bool same_file(const struct copy_end *a, const struct copy_end *b)
{
    return a->io.st.st_dev == b->io.st.st_dev && a->io.st.st_ino == b->io.st.st_ino;
}

/* The kernel's refusals for a copy it would not start. */
static int copy_refusal(const struct copy_end *in, const struct copy_end *out, size_t len,
                        unsigned flags)
{
    int in_fl = fcntl(in->fd, F_GETFL), out_fl = fcntl(out->fd, F_GETFL);

    if (in_fl < 0 || out_fl < 0)
        return EBADF;
    if (flags)
        return EINVAL;
    if ((in_fl & O_ACCMODE) == O_WRONLY || (out_fl & O_ACCMODE) == O_RDONLY ||
        (out_fl & O_APPEND))
        return EBADF;
    if (S_ISDIR(in->io.st.st_mode) || S_ISDIR(out->io.st.st_mode))
        return EISDIR;
    if (!S_ISREG(in->io.st.st_mode) || !S_ISREG(out->io.st.st_mode))
        return EINVAL;
    if (in->at < 0 || out->at < 0)
        return EINVAL;
    if (same_file(in, out) && in->at < out->at + (off_t)len && out->at < in->at + (off_t)len)
        return EINVAL;
    return 0;
}

UM_API ssize_t um_copy_file_range(int fd_in, off_t *off_in, int fd_out, off_t *off_out,
                                  size_t len, unsigned int flags)
{
    struct copy_end in = { .fd = fd_in, .off = off_in }, out = { .fd = fd_out, .off = off_out };
    ssize_t rc;
    int err;

    begin_end(&in);
    begin_end(&out);
    if (!in.io.cache && !out.io.cache) {
        fileio_close(&in.io);
        fileio_close(&out.io);
        rc = copy_file_range(fd_in, off_in, fd_out, off_out, len, flags);
        return rc < 0 ? um_fail(errno, "copy_file_range: %s", strerror(errno)) : rc;
    }
    err = copy_refusal(&in, &out, len, flags);
    rc = err ? -err : copy_through(&in, &out, len);
    finish_end(&in, rc);
    finish_end(&out, rc);
    return rc < 0 ? um_fail((int)-rc, "copy_file_range: %s", strerror((int)-rc)) : rc;
}

UM_API ssize_t um_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    struct copy_end in = { .fd = in_fd, .off = offset }, out = { .fd = out_fd };
    int in_fl, out_fl;
    ssize_t rc;

    begin_end(&in);
    begin_end(&out);
    if (!in.io.cache && !out.io.cache) {
        fileio_close(&in.io);
        fileio_close(&out.io);
        rc = sendfile(out_fd, in_fd, offset, count);
        return rc < 0 ? um_fail(errno, "sendfile: %s", strerror(errno)) : rc;
    }
    in_fl = fcntl(in_fd, F_GETFL);
    out_fl = fcntl(out_fd, F_GETFL);
    if (in_fl < 0 || out_fl < 0 || (in_fl & O_ACCMODE) == O_WRONLY ||
        (out_fl & O_ACCMODE) == O_RDONLY)
        rc = -EBADF;
    else if ((out_fl & O_APPEND) && S_ISREG(out.io.st.st_mode))
        rc = -EINVAL;
    else
        rc = copy_through(&in, &out, count);
    finish_end(&in, rc);
    /* A stream's offset is its own business. */
    finish_end(&out, S_ISREG(out.io.st.st_mode) ? rc : 0);
    return rc < 0 ? um_fail((int)-rc, "sendfile: %s", strerror((int)-rc)) : rc;
}
