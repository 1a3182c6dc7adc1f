/* SPDX-License-Identifier: MIT */
/*
 * store_file.c - a regular file as a backing store: pread and pwrite.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "store.h"

struct file_store {
    struct um_store base;
    int read_fd;        /* our own duplicate: the caller may close theirs */
    int write_fd;       /* -1 until a mapping that may write arrives */
    bool borrowed;      /* read_fd is the caller's, not ours to close */
    char path[256];
};

static struct file_store *to_file(struct um_store *s)
{
    return (struct file_store *)s;
}

static ssize_t file_read(struct um_store *s, void *buf, size_t len, uint64_t off)
{
    struct file_store *f = to_file(s);
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(f->read_fd, (char *)buf + done, len - done,
                          (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static int file_write(struct um_store *s, const void *buf, size_t len, uint64_t off)
{
    struct file_store *f = to_file(s);
    size_t done = 0;

    if (f->write_fd < 0)
        return -EBADF;
    while (done < len) {
        ssize_t n = pwrite(f->write_fd, (const char *)buf + done, len - done,
                           (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        done += (size_t)n;
    }
    return 0;
}

static int file_sync(struct um_store *s)
{
    struct file_store *f = to_file(s);
    int fd = f->write_fd >= 0 ? f->write_fd : f->read_fd;

    return fsync(fd) == 0 ? 0 : -errno;
}

static int file_stat(struct um_store *s, uint64_t *size, uint64_t *stamp)
{
    struct stat st;

    if (fstat(to_file(s)->read_fd, &st) < 0)
        return -errno;
    *size = (uint64_t)st.st_size;
    *stamp = um_store_stamp(&st);
    return 0;
}

uint64_t um_store_stamp(const struct stat *st)
{
    return (uint64_t)st->st_ctim.tv_sec * 1000000000u + (uint64_t)st->st_ctim.tv_nsec;
}

/* Blocks already there cost the filesystem a lookup, not space. */
static int file_reserve(struct um_store *s, uint64_t off, uint64_t len)
{
    struct file_store *f = to_file(s);
    int rc;

    if (f->write_fd < 0 || len == 0)
        return 0;
    do
        rc = fallocate(f->write_fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
    while (rc < 0 && errno == EINTR);
    return rc == 0 ? 0 : -errno;
}

/*
 * Descriptors of files the program may hold fcntl(2) record locks on.
 * Closing any descriptor of a file drops every such lock the process
 * holds on it, so usermap never closes its own while the program may
 * rely on one: they wait here until the program closes a descriptor of
 * the same file (um_close), which drops the locks anyway.  Past
 * PARKED_MAX, the oldest is closed (its file's locks with it).
 */
#define PARKED_MAX 256

static struct parked {
    dev_t dev;
    ino_t ino;
    int fd;
} parked[PARKED_MAX];
static size_t parked_count;
static pthread_mutex_t parked_lock = PTHREAD_MUTEX_INITIALIZER;

void um_store_close_fd(int fd)
{
    struct stat st;

    if (fd < 0)
        return;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return;
    }
    pthread_mutex_lock(&parked_lock);
    if (parked_count == PARKED_MAX) {
        close(parked[0].fd);
        memmove(parked, parked + 1, (PARKED_MAX - 1) * sizeof(parked[0]));
        parked_count--;
    }
    parked[parked_count++] = (struct parked){ st.st_dev, st.st_ino, fd };
    pthread_mutex_unlock(&parked_lock);
}

bool um_store_any_parked(void)
{
    return __atomic_load_n(&parked_count, __ATOMIC_RELAXED) != 0;
}

void um_store_close_parked(const struct stat *st)
{
    pthread_mutex_lock(&parked_lock);
    for (size_t i = 0; i < parked_count;) {
        if (parked[i].dev == st->st_dev && parked[i].ino == st->st_ino) {
            close(parked[i].fd);
            parked[i] = parked[--parked_count];
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&parked_lock);
}

static void file_close(struct um_store *s)
{
    struct file_store *f = to_file(s);

    um_store_close_fd(f->write_fd);
    if (!f->borrowed)
        um_store_close_fd(f->read_fd);
    free(f);
}

static const struct um_store_ops file_ops = {
    .read = file_read,
    .write = file_write,
    .sync = file_sync,
    .stat = file_stat,
    .reserve = file_reserve,
    .close = file_close,
};

/* The file's name, for messages only; a best effort. */
static void describe_fd(int fd, char *out, size_t size)
{
    char link[64];
    ssize_t n;

    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, out, size - 1);
    if (n < 0)
        n = snprintf(out, size, "fd %d", fd);
    out[n < (ssize_t)size ? n : (ssize_t)size - 1] = '\0';
}

/* Whether the file lives in memory (tmpfs, ramfs), where the kernel's
 * mapping is the file itself and nothing is ever written back. */
static bool keeps_pages_in_memory(int fd)
{
    struct statfs fs;

    return fstatfs(fd, &fs) == 0 && (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC);
}

static struct um_store *file_store_over(int fd, bool borrow)
{
    struct file_store *f = calloc(1, sizeof(*f));

    if (!f)
        return NULL;
    f->borrowed = borrow;
    f->read_fd = borrow ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (f->read_fd < 0) {
        free(f);
        return NULL;
    }
    f->write_fd = -1;
    f->base.ops = &file_ops;
    f->base.clears_past_end = !keeps_pages_in_memory(fd);
    describe_fd(fd, f->path, sizeof(f->path));
    f->base.name = f->path;
    return &f->base;
}

struct um_store *um_store_file_open(int fd)
{
    return file_store_over(fd, false);
}

struct um_store *um_store_file_borrow(int fd)
{
    return file_store_over(fd, true);
}

int um_store_file_keep(struct um_store *s, int fd)
{
    struct file_store *f = to_file(s);
    int mine;

    if (!f->borrowed)
        return 0;
    mine = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (mine < 0)
        return -errno;
    f->read_fd = mine;
    f->borrowed = false;
    return 0;
}

int um_store_file_allow_write(struct um_store *s, int fd)
{
    struct file_store *f = to_file(s);

    if (f->write_fd >= 0)
        return 0;
    f->write_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (f->write_fd < 0)
        return -errno;
    s->writable = true;
    return 0;
}
