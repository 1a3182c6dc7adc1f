/* SPDX-License-Identifier: MIT */
/*
 * shared_recover.c - shared caches taken by name: listing them, writing
 * back and removing orphans, and the sweep at start-up that does it to
 * every orphan.  See shared_recover.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addrspace.h"
#include "dirty.h"
#include "error.h"
#include "shared.h"
#include "shared_recover.h"
#include "store.h"
#include "sparse.h"

/* Bytes moved from the pages object to the file at a time. */
#define COPY_CHUNK ((size_t)1 << 20)

/* ------------------------------------------------------------ names */

/* Whether entry is DEV-INO.state as shared.c names it: other files in
 * the directory are not ours to touch. */
static bool state_name(const char *entry, char *name, size_t len)
{
    unsigned long long dev, ino;
    char again[96];
    int end = 0;

    if (sscanf(entry, "%llx-%llx.state%n", &dev, &ino, &end) != 2 || entry[end] != '\0')
        return false;
    snprintf(again, sizeof(again), "%llx-%llx.state", dev, ino);
    if (strcmp(again, entry) != 0)
        return false;
    snprintf(name, len, "%llx-%llx", dev, ino);
    return true;
}

int shared_for_each(int dir_fd, int (*fn)(void *arg, int dir_fd, const char *name), void *arg)
{
    int fd = dup(dir_fd), rc = 0;
    struct dirent *e;
    char name[64];
    DIR *d;

    /* Its own descriptor: closedir() closes it, and the position is ours. */
    d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while (rc == 0 && (e = readdir(d)))
        if (state_name(e->d_name, name, sizeof(name)))
            rc = fn(arg, dir_fd, name);
    closedir(d);
    return rc;
}

/* ----------------------------------------------- one cache, by name */

/* A cache opened by name, its gate held. */
struct named {
    int state_fd, pages_fd;
    struct shared_header *hdr;  /* NULL: the object is too short for one */
    bool has_dirty;             /* the dirty map is there */
    struct um_dirty dirty;
    uint64_t pages_size;        /* the pages object's size ... */
    uint64_t resident;          /* ... and the memory it takes */
};

/* Whether a live process holds a slot; *pid the first one's, *n their
 * number.  One lock query covers every slot when none is held. */
static bool count_live(const struct named *c, int *n, pid_t pids[], int max)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
                        .l_start = SHARED_LOCK_SLOT, .l_len = SHARED_SLOTS };

    *n = 0;
    if (fcntl(c->state_fd, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_UNLCK)
        return false;
    for (int i = 0; i < SHARED_SLOTS; i++) {
        if (!shared_slot_live(c->state_fd, i))
            continue;
        if (*n < max)
            pids[*n] = c->hdr ? __atomic_load_n(&c->hdr->pid[i], __ATOMIC_ACQUIRE) : 0;
        ++*n;
    }
    return *n > 0;
}

static void close_named(struct named *c)
{
    if (c->has_dirty)
        dirty_destroy(&c->dirty);
    if (c->hdr)
        um_private_munmap(c->hdr, sizeof(*c->hdr));
    if (c->pages_fd >= 0)
        close(c->pages_fd);
    if (c->state_fd >= 0) {
        shared_unlock_byte(c->state_fd, SHARED_LOCK_GATE);
        close(c->state_fd);
    }
}

/* Under the gate: the header and the dirty map, where the state object
 * is long enough to hold them (a creator that died early leaves it
 * empty), and the pages object if there is one. */
static void map_named(struct named *c, int dir_fd, const char *name)
{
    struct stat st;
    void *h;

    if (fstat(c->state_fd, &st) < 0 || (uint64_t)st.st_size < sizeof(*c->hdr))
        return;
    h = um_private_mmap(sizeof(*c->hdr), PROT_READ | PROT_WRITE, MAP_SHARED, c->state_fd);
    if (h == MAP_FAILED)
        return;
    c->hdr = h;
    c->has_dirty = (uint64_t)st.st_size >= shared_state_length() &&
                   dirty_init(&c->dirty, (uint64_t)sysconf(_SC_PAGESIZE), c->state_fd,
                              SHARED_DIRTY_OFFSET) == 0;
    c->pages_fd = shared_open_object(dir_fd, name, "pages", false);
    if (c->pages_fd >= 0 && fstat(c->pages_fd, &st) == 0) {
        c->pages_size = (uint64_t)st.st_size;
        c->resident = (uint64_t)st.st_blocks * 512;
    }
}

/*
 * Opens the cache name and takes its gate (wait: blocking).  0; 1 when
 * the gate is taken and wait is false; -1 when there is no such cache
 * (any more).
 */
static int open_named(int dir_fd, const char *name, bool wait, struct named *c)
{
    memset(c, 0, sizeof(*c));
    c->pages_fd = -1;
    c->state_fd = shared_open_object(dir_fd, name, "state", false);
    if (c->state_fd < 0)
        return -1;
    if (!shared_lock_byte(c->state_fd, SHARED_LOCK_GATE, true, wait)) {
        close(c->state_fd);
        c->state_fd = -1;
        return 1;
    }
    if (!shared_still_named(dir_fd, name, "state", c->state_fd)) {
        close_named(c);
        c->state_fd = -1;
        return -1;
    }
    map_named(c, dir_fd, name);
    return 0;
}

/* Sums dirty bytes, cut at the pages object's size. */
struct dirty_sum {
    uint64_t end, bytes;
};

static void add_dirty(void *arg, uint64_t lo, uint64_t hi)
{
    struct dirty_sum *s = arg;

    if (hi > s->end)
        hi = s->end;
    if (lo < hi)
        s->bytes += hi - lo;
}

static uint64_t dirty_bytes(const struct named *c)
{
    struct dirty_sum s = { c->pages_size, 0 };

    if (c->has_dirty)
        dirty_for_each(&c->dirty, c->pages_size, add_dirty, &s);
    return s.bytes;
}

int shared_describe(int dir_fd, const char *name, struct um_cache_info *out)
{
    struct named c;
    int rc = open_named(dir_fd, name, true, &c);

    if (rc != 0)
        return -1;
    memset(out, 0, sizeof(*out));
    if (!c.hdr || !shared_header_valid(c.hdr)) {
        close_named(&c);
        errno = ENOENT;
        return -1;
    }
    memcpy(out->path, c.hdr->path, sizeof(out->path) - 1);
    out->dev = c.hdr->dev;
    out->ino = c.hdr->ino;
    out->size = c.pages_size;
    out->resident = c.resident;
    out->dirty = dirty_bytes(&c);
    count_live(&c, &out->processes, out->pids, UM_CACHE_PIDS);
    close_named(&c);
    return 0;
}

/* ------------------------------------------------------------ recovery */

/*
 * The file the header names, open for writing, if it is still the file
 * the cache was made for: 0; 1 when it is deleted or replaced; -errno
 * when it is there but cannot be opened for writing.  The identity is
 * checked through an O_PATH descriptor first, so that a replacement the
 * user may not write is recognised as one, not as an error.
 */
static int open_file(const struct shared_header *h, int *out)
{
    struct shared_header id;
    struct stat st;
    char link[64];
    int path_fd, fd;

    path_fd = open(h->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (path_fd < 0)
        return errno == ENOENT || errno == ELOOP || errno == ENOTDIR ? 1 : -errno;
    if (fstat(path_fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_dev != h->dev ||
        (uint64_t)st.st_ino != h->ino) {
        close(path_fd);
        return 1;
    }
    /* The same inode, reopened: no rename in between can swap it. */
    snprintf(link, sizeof(link), "/proc/self/fd/%d", path_fd);
    fd = open(link, O_RDWR | O_CLOEXEC);
    close(path_fd);
    if (fd < 0)
        return -errno;
    shared_identify(fd, &st, &id);
    if (!shared_same_file(h, &id)) {    /* the inode number was reused */
        um_store_close_fd(fd);
        return 1;
    }
    *out = fd;
    return 0;
}

static int pwrite_all(int fd, const char *buf, size_t len, off_t at)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, len, at);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        buf += n;
        len -= (size_t)n;
        at += n;
    }
    return 0;
}

/* Copies [lo, hi), all present in the pages object, to the file. */
static int copy_range(int pages_fd, int fd, char *buf, uint64_t lo, uint64_t hi)
{
    while (lo < hi) {
        size_t n = hi - lo < COPY_CHUNK ? (size_t)(hi - lo) : COPY_CHUNK;
        ssize_t got = pread(pages_fd, buf, n, (off_t)lo);
        int rc;

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        memset(buf + got, 0, n - (size_t)got);
        rc = pwrite_all(fd, buf, n, (off_t)lo);
        if (rc < 0)
            return rc;
        lo += n;
    }
    return 0;
}

/* Writes the dirty runs of a cache to its file, cut at the file's size. */
struct write_back {
    int pages_fd, fd;
    char *buf;
    uint64_t size, written;
    int err;
};

static void write_present(void *arg, uintptr_t lo, uintptr_t hi)
{
    struct write_back *w = arg;
    int rc;

    if (w->err)
        return;
    rc = copy_range(w->pages_fd, w->fd, w->buf, lo, hi);
    if (rc < 0)
        w->err = rc;
    else
        w->written += hi - lo;
}

/* Only what the pages object holds: a hole under a dirty page (made by
 * MADV_REMOVE) would read as zeros, and zeros are not what was stored
 * there; the library's own write-back skips holes too. */
static void write_run(void *arg, uint64_t lo, uint64_t hi)
{
    struct write_back *w = arg;
    int rc;

    if (hi > w->size)
        hi = w->size;
    if (w->err || lo >= hi)
        return;
    rc = sparse_for_each_data(w->pages_fd, lo, hi, write_present, w);
    if (rc < 0 && !w->err)
        w->err = rc;
}

/* The dirty and half-written pages of c, to the file open at fd, made
 * durable.  0 or -errno; *written the bytes written. */
static int write_dirty(const struct named *c, int fd, uint64_t *written)
{
    struct write_back w = { c->pages_fd, fd, NULL, 0, 0, 0 };
    struct stat st;

    *written = 0;
    if (!c->has_dirty || !dirty_any(&c->dirty, c->pages_size))
        return 0;
    if (c->pages_fd < 0 || fstat(fd, &st) < 0)
        return c->pages_fd < 0 ? -ENOENT : -errno;
    /* Past the pages object's end no mapping could store, and the file
     * may hold bytes written there since. */
    w.size = (uint64_t)st.st_size < c->pages_size ? (uint64_t)st.st_size : c->pages_size;
    w.buf = malloc(COPY_CHUNK);
    if (!w.buf)
        return -ENOMEM;
    dirty_for_each(&c->dirty, c->pages_size, write_run, &w);
    free(w.buf);
    if (w.err == 0 && w.written && fsync(fd) < 0)
        w.err = -errno;
    *written = w.written;
    return w.err;
}

/* Under the gate, no process attached: the stores to the file, or
 * dropped with it; then the objects go unless a write failed. */
static void recover_named(struct named *c, int dir_fd, const char *name,
                          struct shared_report *r)
{
    int fd = -1, rc;

    memcpy(r->path, c->hdr->path, sizeof(r->path) - 1);
    rc = open_file(c->hdr, &fd);
    if (rc == 1) {
        r->outcome = SHARED_DROPPED;
        r->dirty = dirty_bytes(c);
    } else if (rc == 0) {
        rc = write_dirty(c, fd, &r->dirty);
        um_store_close_fd(fd);      /* the program's record locks stay */
        r->outcome = rc < 0 ? SHARED_FAILED : SHARED_WRITTEN;
    } else {
        r->outcome = SHARED_FAILED;
    }
    r->err = rc < 0 ? -rc : 0;
    if (r->outcome != SHARED_FAILED)
        shared_remove_objects(dir_fd, name);
}

void shared_recover(int dir_fd, const char *name, bool wait, struct shared_report *r)
{
    struct named c;
    int rc;

    memset(r, 0, sizeof(*r));
    rc = open_named(dir_fd, name, wait, &c);
    if (rc != 0) {
        r->outcome = rc < 0 ? SHARED_GONE : SHARED_BUSY;
        return;
    }
    if (count_live(&c, &r->processes, &r->pid, 1))
        r->outcome = SHARED_BUSY;
    else if (c.hdr && c.hdr->magic == SHARED_MAGIC && !shared_header_valid(c.hdr))
        r->outcome = SHARED_FOREIGN;
    else if (!c.hdr || !shared_header_valid(c.hdr)) {
        /* Made by a process that died before it wrote the header: the
         * cache never held anything. */
        r->outcome = SHARED_DROPPED;
        shared_remove_objects(dir_fd, name);
    } else
        recover_named(&c, dir_fd, name, r);
    close_named(&c);
}

/* ------------------------------------------------------------ the sweep */

static int sweep_one(void *arg, int dir_fd, const char *name)
{
    struct shared_report r;

    (void)arg;
    shared_recover(dir_fd, name, false, &r);
    return 0;
}

void shared_recover_file(const struct stat *st)
{
    char dir[4096], name[64], message[256];
    struct shared_report r;
    int err = errno, dir_fd;

    snprintf(message, sizeof(message), "%s", um_error_message());
    dir_fd = shared_open_dir(dir, sizeof(dir), false);
    if (dir_fd >= 0) {
        shared_name_of(st, name, sizeof(name));
        shared_recover(dir_fd, name, true, &r);
        close(dir_fd);
    }
    um_fail(err, "%s", message);
}

void shared_sweep(void)
{
    char dir[4096], message[256];
    int err = errno, dir_fd;

    /* The caller's errno and message stay as they were: whatever the
     * sweep meets is not the caller's failure. */
    snprintf(message, sizeof(message), "%s", um_error_message());
    dir_fd = shared_open_dir(dir, sizeof(dir), false);
    if (dir_fd >= 0) {
        shared_for_each(dir_fd, sweep_one, NULL);
        close(dir_fd);
    }
    um_fail(err, "%s", message);
}
