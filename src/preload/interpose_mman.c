/* SPDX-License-Identifier: MIT */
/*
 * interpose_mman.c - the program's mmap, munmap, mremap, msync, mprotect,
 * madvise, ftruncate and truncate, served by usermap.
 *
 * mmap goes to usermap when policy.h says so.  Whatever usermap refuses
 * goes to the kernel untouched: a failed um_mmap is tried again with the
 * kernel's mmap, whose answer (a mapping, or its own errno) is the one
 * the program gets, so the program never sees a failure the kernel would
 * not give (usermap unable to start, a budget, a file it cannot cache).
 * The other calls always go to usermap, which hands the kernel any range
 * it did not map.
 */
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <usermap.h>

#include "interpose.h"
#include "policy.h"
#include "stats.h"

static void *map(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    void *p;

    if (!policy_takes(flags, fd))
        return um_real_mmap(addr, len, prot, flags, fd, off);
    p = um_mmap(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED) {
        stats_note_mapping();
        policy_debug("mmap fd %d, %zu bytes at %p: usermap", fd, len, p);
        return p;
    }
    policy_debug("mmap fd %d, %zu bytes: to the kernel (%s)", fd, len, um_error_message());
    return um_real_mmap(addr, len, prot, flags, fd, off);
}

PRELOAD_API void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    INTERPOSE(void *, map(addr, len, prot, flags, fd, off),
              um_real_mmap(addr, len, prot, flags, fd, off));
}

PRELOAD_API void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    INTERPOSE(void *, map(addr, len, prot, flags, fd, off),
              um_real_mmap(addr, len, prot, flags, fd, off));
}

PRELOAD_API int munmap(void *addr, size_t len)
{
    INTERPOSE(int, um_munmap(addr, len), um_real_munmap(addr, len));
}

/* new_addr is there only with MREMAP_FIXED or MREMAP_DONTUNMAP. */
PRELOAD_API void *mremap(void *addr, size_t old_len, size_t new_len, int flags, ...)
{
    void *new_addr = NULL;
    va_list ap;

    va_start(ap, flags);
    if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP))
        new_addr = va_arg(ap, void *);
    va_end(ap);
    INTERPOSE(void *, um_mremap(addr, old_len, new_len, flags, new_addr),
              um_real_mremap(addr, old_len, new_len, flags, new_addr));
}

PRELOAD_API int msync(void *addr, size_t len, int flags)
{
    INTERPOSE(int, um_msync(addr, len, flags), um_real_msync(addr, len, flags));
}

PRELOAD_API int mprotect(void *addr, size_t len, int prot)
{
    INTERPOSE(int, um_mprotect(addr, len, prot), um_real_mprotect(addr, len, prot));
}

PRELOAD_API int madvise(void *addr, size_t len, int advice)
{
    INTERPOSE(int, um_madvise(addr, len, advice), um_real_madvise(addr, len, advice));
}

PRELOAD_API int ftruncate(int fd, off_t len)
{
    INTERPOSE(int, um_ftruncate(fd, len), um_real_ftruncate(fd, len));
}

PRELOAD_API int ftruncate64(int fd, off_t len)
{
    INTERPOSE(int, um_ftruncate(fd, len), um_real_ftruncate(fd, len));
}

PRELOAD_API int truncate(const char *path, off_t len)
{
    INTERPOSE(int, um_truncate(path, len), um_real_truncate(path, len));
}

PRELOAD_API int truncate64(const char *path, off_t len)
{
    INTERPOSE(int, um_truncate(path, len), um_real_truncate(path, len));
}
