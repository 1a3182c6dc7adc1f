/* SPDX-License-Identifier: MIT */
/*
 * real.c - see real.h.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "real.h"

enum real_call {
    R_MMAP, R_MUNMAP, R_MREMAP, R_MSYNC, R_MPROTECT, R_MADVISE, R_FTRUNCATE, R_TRUNCATE,
    R_READ, R_WRITE, R_PREAD, R_PWRITE, R_READV, R_WRITEV, R_PREADV, R_PWRITEV,
    R_PREADV2, R_PWRITEV2, R_FSYNC, R_FDATASYNC, R_SYNC_FILE_RANGE, R_FALLOCATE,
    R_COPY_FILE_RANGE, R_SENDFILE, R_CLOSE, R_COUNT
};

static const char *const real_name[R_COUNT] = {
    "mmap", "munmap", "mremap", "msync", "mprotect", "madvise", "ftruncate", "truncate",
    "read", "write", "pread", "pwrite", "readv", "writev", "preadv", "pwritev",
    "preadv2", "pwritev2", "fsync", "fdatasync", "sync_file_range", "fallocate",
    "copy_file_range", "sendfile", "close",
};

/* NULL: not looked up yet; NO_NEXT: none to use, the system call serves. */
static void *real_fn[R_COUNT];
static char no_next;
#define NO_NEXT ((void *)&no_next)

/* Set while this thread is inside dlsym: what dlsym itself calls (an
 * allocator that maps memory) takes the system call instead of looking up
 * again.  initial-exec: static TLS, reachable without an allocation. */
static __thread bool looking_up __attribute__((tls_model("initial-exec")));

/* A definition in this very object (libusermap-preload.so loaded twice,
 * say) would call itself for ever. */
static bool is_ours(void *fn)
{
    Dl_info theirs, ours;

    return dladdr(fn, &theirs) && dladdr((void *)is_ours, &ours) &&
           theirs.dli_fbase == ours.dli_fbase;
}

/* The next definition of call c, or NULL for the system call. */
static void *next_fn(enum real_call c)
{
    void *fn = __atomic_load_n(&real_fn[c], __ATOMIC_ACQUIRE);

    if (fn == NULL) {
        if (looking_up)
            return NULL;
        looking_up = true;
        fn = dlsym(RTLD_NEXT, real_name[c]);
        looking_up = false;
        if (fn == NULL || is_ours(fn))
            fn = NO_NEXT;
        __atomic_store_n(&real_fn[c], fn, __ATOMIC_RELEASE);
    }
    return fn == NO_NEXT ? NULL : fn;
}

/* Looks every call up at load time, before the program's threads exist;
 * the lazy lookup above covers calls made before this runs (another
 * library's constructor). */
__attribute__((constructor)) static void look_up_all(void)
{
    for (int c = 0; c < R_COUNT; c++)
        next_fn((enum real_call)c);
}

/* REAL(c, type) is the next definition of c as a pointer of that type. */
#define REAL(c, type) ((type)next_fn(c))

void *um_real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    void *(*fn)(void *, size_t, int, int, int, off_t) =
        REAL(R_MMAP, void *(*)(void *, size_t, int, int, int, off_t));
    return fn ? fn(addr, len, prot, flags, fd, off)
              : (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int um_real_munmap(void *addr, size_t len)
{
    int (*fn)(void *, size_t) = REAL(R_MUNMAP, int (*)(void *, size_t));
    return fn ? fn(addr, len) : (int)syscall(SYS_munmap, addr, len);
}

/* new_addr is read only when the flags say so, as mremap(2) does. */
void *um_real_mremap(void *addr, size_t old_len, size_t new_len, int flags, ...)
{
    void *(*fn)(void *, size_t, size_t, int, ...) =
        REAL(R_MREMAP, void *(*)(void *, size_t, size_t, int, ...));
    void *new_addr = NULL;
    va_list ap;

    va_start(ap, flags);
    if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP))
        new_addr = va_arg(ap, void *);
    va_end(ap);
    return fn ? fn(addr, old_len, new_len, flags, new_addr)
              : (void *)syscall(SYS_mremap, addr, old_len, new_len, flags, new_addr);
}

int um_real_msync(void *addr, size_t len, int flags)
{
    int (*fn)(void *, size_t, int) = REAL(R_MSYNC, int (*)(void *, size_t, int));
    return fn ? fn(addr, len, flags) : (int)syscall(SYS_msync, addr, len, flags);
}

int um_real_mprotect(void *addr, size_t len, int prot)
{
    int (*fn)(void *, size_t, int) = REAL(R_MPROTECT, int (*)(void *, size_t, int));
    return fn ? fn(addr, len, prot) : (int)syscall(SYS_mprotect, addr, len, prot);
}

int um_real_madvise(void *addr, size_t len, int advice)
{
    int (*fn)(void *, size_t, int) = REAL(R_MADVISE, int (*)(void *, size_t, int));
    return fn ? fn(addr, len, advice) : (int)syscall(SYS_madvise, addr, len, advice);
}

int um_real_ftruncate(int fd, off_t len)
{
    int (*fn)(int, off_t) = REAL(R_FTRUNCATE, int (*)(int, off_t));
    return fn ? fn(fd, len) : (int)syscall(SYS_ftruncate, fd, len);
}

int um_real_truncate(const char *path, off_t len)
{
    int (*fn)(const char *, off_t) = REAL(R_TRUNCATE, int (*)(const char *, off_t));
    return fn ? fn(path, len) : (int)syscall(SYS_truncate, path, len);
}

ssize_t um_real_read(int fd, void *buf, size_t n)
{
    ssize_t (*fn)(int, void *, size_t) = REAL(R_READ, ssize_t (*)(int, void *, size_t));
    return fn ? fn(fd, buf, n) : syscall(SYS_read, fd, buf, n);
}

ssize_t um_real_write(int fd, const void *buf, size_t n)
{
    ssize_t (*fn)(int, const void *, size_t) =
        REAL(R_WRITE, ssize_t (*)(int, const void *, size_t));
    return fn ? fn(fd, buf, n) : syscall(SYS_write, fd, buf, n);
}

ssize_t um_real_pread(int fd, void *buf, size_t n, off_t off)
{
    ssize_t (*fn)(int, void *, size_t, off_t) =
        REAL(R_PREAD, ssize_t (*)(int, void *, size_t, off_t));
    return fn ? fn(fd, buf, n, off) : syscall(SYS_pread64, fd, buf, n, off);
}

ssize_t um_real_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    ssize_t (*fn)(int, const void *, size_t, off_t) =
        REAL(R_PWRITE, ssize_t (*)(int, const void *, size_t, off_t));
    return fn ? fn(fd, buf, n, off) : syscall(SYS_pwrite64, fd, buf, n, off);
}

typedef ssize_t (*vec_fn)(int, const struct iovec *, int);
typedef ssize_t (*vec_at_fn)(int, const struct iovec *, int, off_t);
typedef ssize_t (*vec_at_flags_fn)(int, const struct iovec *, int, off_t, int);

ssize_t um_real_readv(int fd, const struct iovec *iov, int cnt)
{
    vec_fn fn = REAL(R_READV, vec_fn);
    return fn ? fn(fd, iov, cnt) : syscall(SYS_readv, fd, iov, cnt);
}

ssize_t um_real_writev(int fd, const struct iovec *iov, int cnt)
{
    vec_fn fn = REAL(R_WRITEV, vec_fn);
    return fn ? fn(fd, iov, cnt) : syscall(SYS_writev, fd, iov, cnt);
}

/* The vectored calls take the offset as two longs; on a 64-bit system the
 * low one holds all of it. */
ssize_t um_real_preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
    vec_at_fn fn = REAL(R_PREADV, vec_at_fn);
    return fn ? fn(fd, iov, cnt, off) : syscall(SYS_preadv, fd, iov, cnt, off, 0L);
}

ssize_t um_real_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    vec_at_fn fn = REAL(R_PWRITEV, vec_at_fn);
    return fn ? fn(fd, iov, cnt, off) : syscall(SYS_pwritev, fd, iov, cnt, off, 0L);
}

ssize_t um_real_preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    vec_at_flags_fn fn = REAL(R_PREADV2, vec_at_flags_fn);
    return fn ? fn(fd, iov, cnt, off, flags)
              : syscall(SYS_preadv2, fd, iov, cnt, off, 0L, flags);
}

ssize_t um_real_pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    vec_at_flags_fn fn = REAL(R_PWRITEV2, vec_at_flags_fn);
    return fn ? fn(fd, iov, cnt, off, flags)
              : syscall(SYS_pwritev2, fd, iov, cnt, off, 0L, flags);
}

int um_real_fsync(int fd)
{
    int (*fn)(int) = REAL(R_FSYNC, int (*)(int));
    return fn ? fn(fd) : (int)syscall(SYS_fsync, fd);
}

int um_real_fdatasync(int fd)
{
    int (*fn)(int) = REAL(R_FDATASYNC, int (*)(int));
    return fn ? fn(fd) : (int)syscall(SYS_fdatasync, fd);
}

int um_real_sync_file_range(int fd, off_t off, off_t n, unsigned int flags)
{
    int (*fn)(int, off_t, off_t, unsigned int) =
        REAL(R_SYNC_FILE_RANGE, int (*)(int, off_t, off_t, unsigned int));
    return fn ? fn(fd, off, n, flags) : (int)syscall(SYS_sync_file_range, fd, off, n, flags);
}

int um_real_fallocate(int fd, int mode, off_t off, off_t len)
{
    int (*fn)(int, int, off_t, off_t) = REAL(R_FALLOCATE, int (*)(int, int, off_t, off_t));
    return fn ? fn(fd, mode, off, len) : (int)syscall(SYS_fallocate, fd, mode, off, len);
}

ssize_t um_real_copy_file_range(int in, off_t *in_off, int out, off_t *out_off, size_t len,
                                unsigned int flags)
{
    ssize_t (*fn)(int, off_t *, int, off_t *, size_t, unsigned int) =
        REAL(R_COPY_FILE_RANGE, ssize_t (*)(int, off_t *, int, off_t *, size_t, unsigned int));
    return fn ? fn(in, in_off, out, out_off, len, flags)
              : syscall(SYS_copy_file_range, in, in_off, out, out_off, len, flags);
}

ssize_t um_real_sendfile(int out, int in, off_t *off, size_t n)
{
    ssize_t (*fn)(int, int, off_t *, size_t) =
        REAL(R_SENDFILE, ssize_t (*)(int, int, off_t *, size_t));
    return fn ? fn(out, in, off, n) : syscall(SYS_sendfile, out, in, off, n);
}

int um_real_close(int fd)
{
    int (*fn)(int) = REAL(R_CLOSE, int (*)(int));
    return fn ? fn(fd) : (int)syscall(SYS_close, fd);
}

/* The *64 names are the same calls on a 64-bit system; objcopy renames
 * each name to a symbol of its own, so they are aliases here. */
#define REAL_ALIAS(name, target) \
    __typeof__(target) name __attribute__((alias(#target)))
REAL_ALIAS(um_real_mmap64, um_real_mmap);
REAL_ALIAS(um_real_ftruncate64, um_real_ftruncate);
REAL_ALIAS(um_real_truncate64, um_real_truncate);
REAL_ALIAS(um_real_pread64, um_real_pread);
REAL_ALIAS(um_real_pwrite64, um_real_pwrite);
REAL_ALIAS(um_real_preadv64, um_real_preadv);
REAL_ALIAS(um_real_pwritev64, um_real_pwritev);
REAL_ALIAS(um_real_preadv64v2, um_real_preadv2);
REAL_ALIAS(um_real_pwritev64v2, um_real_pwritev2);
REAL_ALIAS(um_real_fallocate64, um_real_fallocate);
REAL_ALIAS(um_real_sendfile64, um_real_sendfile);
