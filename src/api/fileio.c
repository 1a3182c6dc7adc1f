/* SPDX-License-Identifier: MIT */
/*
 * fileio.c - the file calls that must see usermap's caches, as the
 * kernel's see its page cache: reads and writes go through the cache of
 * a file usermap caches (this process's, or another usermap process's,
 * joined for the call), size changes move the end of every mapping, and
 * fsync writes back what mappings dirtied.  On any other descriptor each
 * call is the system call itself, after one fstat.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "usermap.h"
#include "cache.h"
#include "error.h"
#include "fileio.h"
#include "lifecycle.h"
#include "pool.h"
#include "region.h"
#include "store.h"

/* Bytes moved per hold of the cache: long enough for few system calls,
 * short enough that faults waiting on the range do not wait long. */
#define IO_CHUNK CACHE_IO_MAX

int fileio_open(int fd, struct file_io *io)
{
    return fileio_open_for(fd, io, false);
}

int fileio_open_for(int fd, struct file_io *io, bool write_back)
{
    io->cache = NULL;
    io->joined = false;
    if (fstat(fd, &io->st) < 0 || !S_ISREG(io->st.st_mode))
        return 0;
    if (um_engine) {
        um_lock_shared();
        io->cache = cache_find_file(&io->st);
        if (io->cache)
            cache_pin(io->cache);
        um_unlock();
    }
    if (!io->cache && cache_kept_elsewhere(&io->st))
        fileio_join(fd, io, write_back);
    if (io->cache && cache_size(io->cache) != (uint64_t)io->st.st_size)
        fileio_follow(io);
    return 0;
}

/* Another usermap process caches the file: this call goes through the
 * same cache, joined for its length (write_back: able to write back what
 * any process left dirty, for fsync).  Without it (the library cannot
 * start here), the system call alone is all there is. */
void fileio_join(int fd, struct file_io *io, bool write_back)
{
    struct um_pool *pool = pool_or_default(NULL);
    int err = errno, fl = fcntl(fd, F_GETFL);

    /* Writing back takes a descriptor open for writing. */
    write_back = write_back && fl >= 0 && (fl & O_ACCMODE) != O_RDONLY;
    if (pool && um_start()) {
        um_lock_exclusive();
        io->cache = cache_join_file(pool, fd, &io->st, write_back);
        um_unlock();
        io->joined = io->cache != NULL;
    }
    errno = err;
}

void fileio_close(struct file_io *io)
{
    if (!io->cache)
        return;
    if (io->joined) {
        um_lock_exclusive();
        cache_release(io->cache);
        um_unlock();
    } else {
        cache_unpin(io->cache);
    }
    io->cache = NULL;
}

/* The file's size, as fstat gives it now, moves every mapping's end. */
int fileio_follow(struct file_io *io)
{
    int rc;

    if (!um_engine)
        return 0;
    um_lock_exclusive();
    rc = cache_follow_file(&io->st);
    um_unlock();
    return rc;
}

/* Whether [buf, buf+len) touches usermap's own mappings, whose faults a
 * held cache range could block: such a buffer goes through a copy, which
 * the kernel makes.  The kernel's accesses cannot fill the pages of an
 * in-thread mapping (they fail EFAULT): those are filled here first. */
static int touches(void *arg, const struct um_region *piece)
{
    *(bool *)arg = true;
    if (region_in_thread(piece) && !piece->priv)
        um_fault_populate(piece, piece->start, piece->end);
    return 0;
}

static bool in_usermap(const void *buf, size_t len)
{
    uintptr_t start = (uintptr_t)buf, end = start + len;
    bool found = false;

    if (!um_engine || len == 0)
        return false;
    um_lock_shared();
    region_for_each_in(start, end < start ? UINTPTR_MAX : end, touches, &found);
    um_unlock();
    return found;
}

static ssize_t fail_io(ssize_t rc, const char *call)
{
    errno = (int)-rc;
    um_fail((int)-rc, "%s: %s", call, strerror((int)-rc));
    return -1;
}

/*
 * A buffer in usermap's mappings is copied to or from ours by the kernel,
 * with nothing held: ours is a mapping of a memfd of the thread's own,
 * which the caller's buffer is written into (pwrite) or read from (pread).
 * The kernel's copy is the one its read(2) or write(2) would make: a page
 * not in memory yet is filled as for any access, and a bad address stops
 * the copy where theirs would stop, with a short count, or EFAULT when
 * nothing was copied.
 */
struct staging {
    int fd;
    char *map;
};

static pthread_key_t staging_key;
static pthread_once_t staging_once = PTHREAD_ONCE_INIT;

static void drop_staging(void *arg)
{
    struct staging *st = arg;

    munmap(st->map, IO_CHUNK);
    close(st->fd);
    free(st);
}

static void make_staging_key(void)
{
    pthread_key_create(&staging_key, drop_staging);
}

static struct staging *staging(void)
{
    struct staging *st;

    pthread_once(&staging_once, make_staging_key);
    st = pthread_getspecific(staging_key);
    if (st)
        return st;
    st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->fd = memfd_create("usermap-io", MFD_CLOEXEC);
    if (st->fd < 0 || ftruncate(st->fd, (off_t)IO_CHUNK) < 0)
        goto fail;
    st->map = mmap(NULL, IO_CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED, st->fd, 0);
    if (st->map == MAP_FAILED)
        goto fail;
    pthread_setspecific(staging_key, st);
    return st;
fail:
    if (st->fd >= 0)
        close(st->fd);
    free(st);
    return NULL;
}

static ssize_t copy_with_kernel(struct staging *st, void *caller, size_t len, bool to_caller)
{
    ssize_t n;

    do
        n = to_caller ? pread(st->fd, caller, len, 0) : pwrite(st->fd, caller, len, 0);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

/* One chunk through the cache; a buffer in usermap's mappings goes
 * through the staging one. */
static ssize_t read_chunk(struct um_cache *c, int fd, char *buf, struct staging *st, size_t len,
                          uint64_t off, uint64_t file_size)
{
    ssize_t got = cache_pread(c, fd, st ? st->map : buf, len, off, file_size, st != NULL);

    if (got > 0 && st)
        got = copy_with_kernel(st, buf, (size_t)got, true);
    return got;
}

static ssize_t write_chunk(struct um_cache *c, int fd, const char *buf, struct staging *st,
                           size_t len, uint64_t off)
{
    if (st) {
        ssize_t got = copy_with_kernel(st, (char *)buf, len, false);

        /* Not one byte readable: the system call itself answers, with
         * its own side effects (a write at an offset past the end
         * leaves the file that long, EFAULT or not).  It cannot wait on
         * usermap: the buffer's first page is no page usermap serves. */
        if (got == -EFAULT) {
            got = pwrite(fd, buf, len, (off_t)off);
            return got < 0 ? -errno : got;
        }
        if (got <= 0)
            return got;
        len = (size_t)got;
    }
    return cache_pwrite(c, fd, st ? st->map : buf, len, off);
}

/* Moves len bytes between buf and the file at off through the cache, a
 * chunk at a time; stops at a short transfer.  Bytes done, or -errno
 * when nothing was. */
static ssize_t transfer(struct um_cache *c, int fd, char *buf, size_t len, uint64_t off,
                        bool write, uint64_t file_size)
{
    struct staging *st = NULL;
    size_t done = 0;

    if (in_usermap(buf, len) && !(st = staging()))
        return -ENOMEM;
    while (done < len) {
        size_t n = len - done < IO_CHUNK ? len - done : IO_CHUNK;
        ssize_t rc = write ? write_chunk(c, fd, buf + done, st, n, off + done)
                           : read_chunk(c, fd, buf + done, st, n, off + done, file_size);

        if (rc < 0)
            return done ? (ssize_t)done : rc;
        done += (size_t)rc;
        if ((size_t)rc < n)
            break;
    }
    return (ssize_t)done;
}

/* The offset a write to fd lands at: an O_APPEND descriptor writes at
 * the end (size) whatever it is told (pwrite(2) included, on Linux). */
static off_t landing(int fd, off_t size, off_t off)
{
    int fl = fcntl(fd, F_GETFL);

    return fl >= 0 && (fl & O_APPEND) ? size : off;
}

ssize_t fileio_pread(int fd, void *buf, size_t count, off_t offset, struct file_io *io)
{
    ssize_t rc;

    if (!io->cache)
        return pread(fd, buf, count, offset);
    if (offset < 0)
        return fail_io(-EINVAL, "pread");
    rc = transfer(io->cache, fd, buf, count, (uint64_t)offset, false, (uint64_t)io->st.st_size);
    return rc < 0 ? fail_io(rc, "pread") : rc;
}

ssize_t fileio_pwrite(int fd, const void *buf, size_t count, off_t offset, struct file_io *io)
{
    struct stat now;
    ssize_t rc;

    if (!io->cache)
        return pwrite(fd, buf, count, offset);
    if (offset < 0)
        return fail_io(-EINVAL, "pwrite");
    offset = landing(fd, io->st.st_size, offset);
    /* A write past the end makes the file longer.  Every mapping's end
     * moves first, so that the write lands in whatever pages they fill
     * meanwhile (and what was stored past the old end is cleared first,
     * not after); a write that falls short moves it back. */
    if ((uint64_t)offset + count > (uint64_t)io->st.st_size) {
        struct stat longer = io->st;

        longer.st_size = offset + (off_t)count;
        um_lock_exclusive();
        cache_follow_write(&longer, (uint64_t)offset);
        um_unlock();
    }
    rc = transfer(io->cache, fd, (char *)buf, count, (uint64_t)offset, true, 0);
    /* Within the file, the size cannot have changed through this write. */
    if ((uint64_t)offset + count > (uint64_t)io->st.st_size) {
        if (fstat(fd, &now) == 0)
            io->st = now;
        fileio_follow(io);
    }
    return rc < 0 ? fail_io(rc, "pwrite") : rc;
}

/* The uncached write found a cache that appeared meanwhile: another
 * process began to cache the file while the write went to the file
 * alone, and may have read the old bytes.  The same write again,
 * through the cache, puts the new ones everywhere. */
static ssize_t pwrite_again(int fd, const void *buf, ssize_t done, off_t offset,
                            struct file_io *io)
{
    if (done <= 0 || !cache_kept_elsewhere(&io->st))
        return done;
    fileio_join(fd, io, false);
    if (io->cache)
        fileio_pwrite(fd, buf, (size_t)done, offset, io);
    return done;
}

UM_API ssize_t um_pread(int fd, void *buf, size_t count, off_t offset)
{
    struct file_io io;
    ssize_t rc;

    fileio_open(fd, &io);
    rc = fileio_pread(fd, buf, count, offset, &io);
    fileio_close(&io);
    return rc;
}

UM_API ssize_t um_pwrite(int fd, const void *buf, size_t count, off_t offset)
{
    struct file_io io;
    ssize_t rc;

    fileio_open(fd, &io);
    if (io.cache) {
        rc = fileio_pwrite(fd, buf, count, offset, &io);
    } else {
        rc = pwrite(fd, buf, count, offset);
        if (S_ISREG(io.st.st_mode))
            pwrite_again(fd, buf, rc, offset, &io);
    }
    fileio_close(&io);
    return rc;
}

/* read(2) and write(2): pread and pwrite at the descriptor's offset,
 * which then moves past what was done. */
UM_API ssize_t um_read(int fd, void *buf, size_t count)
{
    struct file_io io;
    ssize_t rc;
    off_t at;

    fileio_open(fd, &io);
    if (!io.cache)
        return read(fd, buf, count);
    at = lseek(fd, 0, SEEK_CUR);
    rc = at < 0 ? -1 : fileio_pread(fd, buf, count, at, &io);
    if (rc > 0)
        lseek(fd, at + rc, SEEK_SET);
    fileio_close(&io);
    return rc;
}

UM_API ssize_t um_write(int fd, const void *buf, size_t count)
{
    struct file_io io;
    ssize_t rc;
    off_t at;

    fileio_open(fd, &io);
    if (!io.cache) {
        rc = write(fd, buf, count);
        if (rc > 0 && S_ISREG(io.st.st_mode) && cache_kept_elsewhere(&io.st)) {
            at = lseek(fd, 0, SEEK_CUR);
            if (at >= rc)
                pwrite_again(fd, buf, rc, at - rc, &io);
        }
        fileio_close(&io);
        return rc;
    }
    at = landing(fd, io.st.st_size, lseek(fd, 0, SEEK_CUR));
    rc = at < 0 ? -1 : fileio_pwrite(fd, buf, count, at, &io);
    if (rc > 0)
        lseek(fd, at + rc, SEEK_SET);
    fileio_close(&io);
    return rc;
}

/* The vector calls: one element after the other, as a short transfer
 * of one stops the whole. */
static ssize_t vector(int fd, const struct iovec *iov, int iovcnt, off_t offset, bool write)
{
    struct file_io io;
    ssize_t total = 0;

    fileio_open(fd, &io);
    /* The system call judges its own arguments; the cached path, after
     * the descriptor proved good, judges the count as it would. */
    if (io.cache && (iovcnt < 0 || iovcnt > IOV_MAX)) {
        fileio_close(&io);
        return fail_io(-EINVAL, write ? "pwritev" : "preadv");
    }
    if (!io.cache) {
        total = write ? pwritev(fd, iov, iovcnt, offset) : preadv(fd, iov, iovcnt, offset);
        if (write && S_ISREG(io.st.st_mode) && total > 0 && cache_kept_elsewhere(&io.st)) {
            fileio_join(fd, &io, false);
            for (ssize_t i = 0, done = 0; io.cache && i < iovcnt && done < total; i++) {
                size_t n = iov[i].iov_len < (size_t)(total - done) ? iov[i].iov_len
                                                                   : (size_t)(total - done);
                fileio_pwrite(fd, iov[i].iov_base, n, offset + done, &io);
                done += (ssize_t)n;
            }
        }
        fileio_close(&io);
        return total;
    }
    for (int i = 0; i < iovcnt; i++) {
        ssize_t rc = write ? fileio_pwrite(fd, iov[i].iov_base, iov[i].iov_len, offset + total, &io)
                           : fileio_pread(fd, iov[i].iov_base, iov[i].iov_len, offset + total, &io);

        if (rc < 0) {
            if (total == 0)
                total = -1;
            break;
        }
        total += rc;
        if ((size_t)rc < iov[i].iov_len)
            break;
    }
    fileio_close(&io);
    return total;
}

UM_API ssize_t um_preadv(int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
    return vector(fd, iov, iovcnt, offset, false);
}

UM_API ssize_t um_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
    return vector(fd, iov, iovcnt, offset, true);
}

/* At the descriptor's offset; a descriptor that cannot seek is no
 * file usermap caches, and gets the system call. */
static ssize_t vector_at_offset(int fd, const struct iovec *iov, int iovcnt, bool write)
{
    struct stat st;
    off_t at;
    ssize_t rc;

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (at = lseek(fd, 0, SEEK_CUR)) < 0)
        return write ? writev(fd, iov, iovcnt) : readv(fd, iov, iovcnt);
    if (write)
        at = landing(fd, st.st_size, at);
    rc = vector(fd, iov, iovcnt, at, write);
    if (rc > 0)
        lseek(fd, at + rc, SEEK_SET);
    return rc;
}

UM_API ssize_t um_readv(int fd, const struct iovec *iov, int iovcnt)
{
    return vector_at_offset(fd, iov, iovcnt, false);
}

UM_API ssize_t um_writev(int fd, const struct iovec *iov, int iovcnt)
{
    return vector_at_offset(fd, iov, iovcnt, true);
}

/* A size change through fd: the cache is found (or joined) before the
 * change, so that it grows from the size it had, clearing what mappings
 * stored past the old end as the kernel does, and every mapping's end
 * moves after it. */
static int resize_through(int fd, int (*change)(const void *arg), const void *arg,
                          const char *call)
{
    struct file_io io;
    int rc = 0;

    fileio_open(fd, &io);
    if (change(arg) < 0) {
        rc = um_fail(errno, "%s: %s", call, strerror(errno));
    } else if (io.cache && fstat(fd, &io.st) == 0) {
        rc = fileio_follow(&io);
    }
    fileio_close(&io);
    return rc;
}

struct new_size {
    int fd;
    const char *path;
    off_t length;
};

static int ftruncate_to(const void *arg)
{
    const struct new_size *n = arg;

    return ftruncate(n->fd, n->length);
}

static int truncate_to(const void *arg)
{
    const struct new_size *n = arg;

    return truncate(n->path, n->length);
}

UM_API int um_ftruncate(int fd, off_t length)
{
    struct new_size n = { .fd = fd, .length = length };

    return resize_through(fd, ftruncate_to, &n, "ftruncate");
}

UM_API int um_truncate(const char *path, off_t length)
{
    /* The file's identity, to find its caches: an O_PATH descriptor
     * reads nothing and, closed, drops no record lock. */
    struct new_size n = { .path = path, .length = length };
    int fd = open(path, O_PATH | O_CLOEXEC), rc;

    if (fd < 0)
        return truncate(path, length) == 0 ? 0
                                           : um_fail(errno, "truncate %s: %s", path, strerror(errno));
    rc = resize_through(fd, truncate_to, &n, "truncate");
    close(fd);
    return rc;
}

UM_API int um_close(int fd)
{
    struct stat st;
    bool known = um_store_any_parked() && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);

    if (close(fd) < 0)
        return um_fail(errno, "close: %s", strerror(errno));
    if (known)
        um_store_close_parked(&st);
    return 0;
}
