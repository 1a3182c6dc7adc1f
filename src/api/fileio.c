/* SPDX-License-Identifier: MIT */
/*
 * fileio.c - the file calls that must see usermap's caches: a file's size
 * set through usermap moves the end of every mapping of it.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "usermap.h"
#include "cache.h"
#include "error.h"
#include "lifecycle.h"

UM_API int um_ftruncate(int fd, off_t length)
{
    struct stat st;
    int rc = 0;

    if (ftruncate(fd, length) < 0)
        return um_fail(errno, "ftruncate: %s", strerror(errno));
    if (um_engine == NULL)
        return 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    um_lock_exclusive();
    rc = cache_follow_file(&st);
    um_unlock();
    return rc;
}
