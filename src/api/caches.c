/* SPDX-License-Identifier: MIT */
/*
 * caches.c - the public calls on shared caches: um_caches() lists them,
 * um_cache_flush() writes orphans back and removes them.  Neither starts
 * usermap nor touches this process's own caches: they work on the named
 * objects only (shared_recover.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "usermap.h"
#include "error.h"
#include "shared.h"
#include "shared_recover.h"

/* The cache directory if it exists: 1 with *fd; 0 when it does not; -1
 * with errno and a message when it cannot be used. */
static int open_existing_dir(char *path, size_t len, int *fd)
{
    *fd = shared_open_dir(path, len, false);
    if (*fd >= 0)
        return 1;
    return errno == ENOENT ? 0 : -1;
}

struct listing {
    struct um_cache_info *out;
    size_t max, n;
};

static int list_one(void *arg, int dir_fd, const char *name)
{
    struct listing *l = arg;
    struct um_cache_info spare;

    if (shared_describe(dir_fd, name, l->n < l->max ? &l->out[l->n] : &spare) == 0)
        l->n++;
    return 0;
}

UM_API int um_caches(struct um_cache_info *out, size_t max)
{
    struct listing l = { out, max, 0 };
    char dir[4096];
    int fd, rc;

    if (!out && max)
        return um_fail(EINVAL, "um_caches: out is NULL but max is %zu", max);
    rc = open_existing_dir(dir, sizeof(dir), &fd);
    if (rc <= 0)
        return rc;
    rc = shared_for_each(fd, list_one, &l);
    if (rc < 0) {
        int err = errno;
        close(fd);
        return um_fail(err, "cannot read usermap's cache directory %s: %s", dir, strerror(err));
    }
    close(fd);
    return l.n > INT_MAX ? INT_MAX : (int)l.n;
}

/* What a recovery that did not happen means for the caller: 0 or -1
 * with errno and a message. */
static int outcome_error(const struct shared_report *r, const char *what)
{
    switch (r->outcome) {
    case SHARED_BUSY:
        if (r->processes == 0)
            return um_fail(EBUSY, "%s: its shared cache is being attached or left", what);
        return um_fail(EBUSY,
                       "%s: %d process%s (pid %d%s) %s attached to its shared cache and "
                       "write%s it back %s",
                       what, r->processes, r->processes == 1 ? "" : "es", (int)r->pid,
                       r->processes == 1 ? "" : ", ...", r->processes == 1 ? "is" : "are",
                       r->processes == 1 ? "s" : "", r->processes == 1 ? "itself" : "themselves");
    case SHARED_FOREIGN:
        return um_fail(EBUSY, "%s: its shared cache was made by another version of usermap",
                       what);
    case SHARED_FAILED:
        return um_fail(r->err,
                       "cannot write usermap's shared cache back to %s: %s (the cache is "
                       "kept for a later try)",
                       r->path[0] ? r->path : what, strerror(r->err));
    default:
        return 0;
    }
}

struct flushing {
    int first_error;
    char message[256];
};

/* Every orphan: caches in use are skipped; the first failure is kept. */
static int flush_one(void *arg, int dir_fd, const char *name)
{
    struct flushing *f = arg;
    struct shared_report r;

    shared_recover(dir_fd, name, true, &r);
    if (r.outcome == SHARED_FAILED && !f->first_error) {
        outcome_error(&r, name);
        f->first_error = errno;
        snprintf(f->message, sizeof(f->message), "%s", um_error_message());
    }
    return 0;
}

static int flush_orphans(int dir_fd, const char *dir)
{
    struct flushing f = { 0, "" };

    if (shared_for_each(dir_fd, flush_one, &f) < 0)
        return um_fail(errno, "cannot read usermap's cache directory %s: %s", dir,
                       strerror(errno));
    return f.first_error ? um_fail(f.first_error, "%s", f.message) : 0;
}

/* The cache of the file at path, which must be an orphan. */
static int flush_file(int dir_fd, const char *path)
{
    struct shared_report r;
    struct stat st;
    char name[64];

    if (stat(path, &st) < 0)
        return um_fail(errno, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return 0;       /* only regular files have shared caches */
    snprintf(name, sizeof(name), "%llx-%llx", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    shared_recover(dir_fd, name, true, &r);
    return outcome_error(&r, path);
}

UM_API int um_cache_flush(const char *path)
{
    char dir[4096];
    int fd, rc;

    rc = open_existing_dir(dir, sizeof(dir), &fd);
    if (rc <= 0) {
        /* No directory, no cache; but a named file must still exist. */
        struct stat st;
        if (rc == 0 && path && stat(path, &st) < 0)
            return um_fail(errno, "%s: %s", path, strerror(errno));
        return rc;
    }
    rc = path ? flush_file(fd, path) : flush_orphans(fd, dir);
    {
        int err = errno;
        close(fd);
        errno = err;
    }
    return rc;
}
