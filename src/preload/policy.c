/* SPDX-License-Identifier: MIT */
/*
 * policy.c - see policy.h.
 */
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "policy.h"
#include "real.h"

/* Read once, at load time: before main, while the environment is the one
 * the program was started with (a program may change it later, and
 * getenv is not safe against a concurrent setenv). */
static bool anonymous, debug;
static char *paths;     /* a copy of USERMAP_PATHS, or NULL: any file */

static bool env_on(const char *name)
{
    const char *v = getenv(name);

    return v && *v && strcmp(v, "0") != 0;
}

__attribute__((constructor)) static void read_environment(void)
{
    const char *p = getenv("USERMAP_PATHS");

    anonymous = env_on("USERMAP_ANONYMOUS");
    debug = env_on("USERMAP_DEBUG");
    if (p && *p)
        paths = strdup(p);
}

void policy_debug(const char *fmt, ...)
{
    char line[PATH_MAX + 128];
    va_list ap;
    int n;

    if (!debug)
        return;
    n = snprintf(line, sizeof(line), "usermap-preload[%d]: ", (int)getpid());
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    /* The real write: stdio could hold a lock the program holds. */
    um_real_write(STDERR_FILENO, line, (size_t)n);
}

/* Whether path matches one of the USERMAP_PATHS patterns. */
static bool path_listed(const char *path)
{
    const char *p = paths;

    while (p && *p) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char pattern[PATH_MAX];

        if (len > 0 && len < sizeof(pattern)) {
            memcpy(pattern, p, len);
            pattern[len] = '\0';
            if (fnmatch(pattern, path, 0) == 0)
                return true;
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}

/* The file's path, from /proc/self/fd; false if it has none. */
static bool fd_path(int fd, char *path, size_t size)
{
    char link[64];
    ssize_t n;

    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, path, size - 1);
    if (n < 0)
        return false;
    path[n] = '\0';
    return true;
}

/* Filesystems whose files are made as they are read (procfs, sysfs and
 * their kind): their size says nothing, and the kernel maps few of them. */
static bool pseudo_filesystem(int fd)
{
    static const long magic[] = {
        0x9fa0,         /* proc */
        0x62656572,     /* sysfs */
        0x64626720,     /* debugfs */
        0x74726163,     /* tracefs */
        0x73636673,     /* securityfs */
        0x62656570,     /* configfs */
        0x27e0eb,       /* cgroup */
        0x63677270,     /* cgroup2 */
        0xcafe4a11,     /* bpf */
        0x65735546,     /* fuse control */
    };
    struct statfs sf;

    if (fstatfs(fd, &sf) < 0)
        return true;
    for (size_t i = 0; i < sizeof(magic) / sizeof(magic[0]); i++)
        if ((long)sf.f_type == magic[i])
            return true;
    return false;
}

static bool takes_file(int fd)
{
    char path[PATH_MAX];
    struct stat st;
    bool listed;

    /* A descriptor that is not a regular file (a device, a pipe, a bad
     * one) is the kernel's, which gives it its own answer. */
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || pseudo_filesystem(fd))
        return false;
    if (!paths && !debug)
        return true;
    if (!fd_path(fd, path, sizeof(path)))
        return paths == NULL;
    listed = !paths || path_listed(path);
    policy_debug("fd %d (%s): %s", fd, path, listed ? "usermap" : "kernel, not in USERMAP_PATHS");
    return listed;
}

bool policy_takes(int flags, int fd)
{
    int type = flags & MAP_SHARED_VALIDATE;

    if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
        return false;
    if (flags & MAP_ANONYMOUS)
        return anonymous;
    return takes_file(fd);
}
