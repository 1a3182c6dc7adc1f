/* SPDX-License-Identifier: MIT */
/*
 * usermap_redirect.h - build an existing mmap program against usermap
 * unchanged:  cc -include usermap_redirect.h prog.c -lusermap
 *
 * Every later use of mmap, munmap, msync, mprotect, madvise, mremap,
 * ftruncate, truncate and of the file calls that must see the mappings
 * (read, write, pread, pwrite, readv, writev, preadv, pwritev, fsync,
 * fdatasync, sync_file_range, fallocate, copy_file_range, sendfile,
 * close, and their *64 names) calls the usermap function of the same
 * contract.
 *
 * The header includes no system header: it comes first, before the
 * program's own #define _GNU_SOURCE (or any feature macro), and must not
 * fix the feature set the program's includes get.  It declares each
 * system call itself, with the C library's types, under the assembler
 * name of its um_* function (an asm label, not a macro: a C++ member
 * named read or close stays what it is).  The program's later
 * <sys/mman.h>, <unistd.h>, ... redeclare the same functions with the
 * same types, which keeps the label, and every call in the program goes
 * to usermap.
 *
 * Two glibc mechanisms would quietly send such calls back to the C
 * library, and are dealt with here:
 *  - _FILE_OFFSET_BITS=64 redeclares pread as pread64 with an asm label
 *    (a label of its own).  The declarations below come first: gcc keeps
 *    the first label; clang refuses a
 *    second one with an error, so with clang a -D_FILE_OFFSET_BITS=64 on
 *    the command line is dropped here (on 64-bit systems it changes no
 *    type, only symbol names); defined in the program's source, after this
 *    header, it stops the build with "conflicting asm label" instead of
 *    bypassing usermap.
 *  - _FORTIFY_SOURCE makes read and pread inline functions that call the
 *    C library directly; fortification is turned off in a file built with
 *    this header.
 *
 * 64-bit Linux only (off_t and off64_t are then the same type).
 */
#ifndef USERMAP_REDIRECT_H
#define USERMAP_REDIRECT_H

#if !defined(__LP64__) || !defined(__linux__)
#error "usermap_redirect.h needs 64-bit Linux"
#endif

#undef _FORTIFY_SOURCE
#if defined(__clang__) && defined(_FILE_OFFSET_BITS) && !defined(_TIME_BITS)
#undef _FILE_OFFSET_BITS
#endif

/* glibc's exception specifications (__THROW), which a C++ redeclaration
 * must repeat; the same definition as usermap.h's. */
#ifndef UM_NOTHROW
#if defined(__cplusplus) && __cplusplus >= 201103L
#define UM_NOTHROW noexcept(true)
#elif defined(__cplusplus)
#define UM_NOTHROW throw()
#else
#define UM_NOTHROW
#endif
#endif

/* The types of the prototypes, without <sys/types.h>: on 64-bit Linux
 * off_t, off64_t, loff_t and ssize_t are long, size_t is __SIZE_TYPE__.
 * UM_REDIRECT(ret, name, args, spec, target) declares the system call
 * name to be the symbol um_target. */
#define UM_REDIRECT_SIZE __SIZE_TYPE__
#define UM_REDIRECT(ret, name, args, spec, target) \
    extern ret name args spec __asm__("um_" #target)

#ifdef __cplusplus
extern "C" {
#endif

struct iovec;

UM_REDIRECT(void *, mmap, (void *, UM_REDIRECT_SIZE, int, int, int, long), UM_NOTHROW, mmap);
UM_REDIRECT(void *, mmap64, (void *, UM_REDIRECT_SIZE, int, int, int, long), UM_NOTHROW,
            mmap);
UM_REDIRECT(int, munmap, (void *, UM_REDIRECT_SIZE), UM_NOTHROW, munmap);
UM_REDIRECT(int, msync, (void *, UM_REDIRECT_SIZE, int), , msync);
UM_REDIRECT(int, mprotect, (void *, UM_REDIRECT_SIZE, int), UM_NOTHROW, mprotect);
UM_REDIRECT(int, madvise, (void *, UM_REDIRECT_SIZE, int), UM_NOTHROW, madvise);
UM_REDIRECT(void *, mremap, (void *, UM_REDIRECT_SIZE, UM_REDIRECT_SIZE, int, ...),
            UM_NOTHROW, mremap);
UM_REDIRECT(int, ftruncate, (int, long), UM_NOTHROW, ftruncate);
UM_REDIRECT(int, ftruncate64, (int, long), UM_NOTHROW, ftruncate);
UM_REDIRECT(int, truncate, (const char *, long), UM_NOTHROW, truncate);
UM_REDIRECT(int, truncate64, (const char *, long), UM_NOTHROW, truncate);
UM_REDIRECT(long, read, (int, void *, UM_REDIRECT_SIZE), , read);
UM_REDIRECT(long, write, (int, const void *, UM_REDIRECT_SIZE), , write);
UM_REDIRECT(long, pread, (int, void *, UM_REDIRECT_SIZE, long), , pread);
UM_REDIRECT(long, pread64, (int, void *, UM_REDIRECT_SIZE, long), , pread);
UM_REDIRECT(long, pwrite, (int, const void *, UM_REDIRECT_SIZE, long), , pwrite);
UM_REDIRECT(long, pwrite64, (int, const void *, UM_REDIRECT_SIZE, long), , pwrite);
UM_REDIRECT(long, readv, (int, const struct iovec *, int), , readv);
UM_REDIRECT(long, writev, (int, const struct iovec *, int), , writev);
UM_REDIRECT(long, preadv, (int, const struct iovec *, int, long), , preadv);
UM_REDIRECT(long, preadv64, (int, const struct iovec *, int, long), , preadv);
UM_REDIRECT(long, pwritev, (int, const struct iovec *, int, long), , pwritev);
UM_REDIRECT(long, pwritev64, (int, const struct iovec *, int, long), , pwritev);
UM_REDIRECT(int, fsync, (int), , fsync);
UM_REDIRECT(int, fdatasync, (int), , fdatasync);
UM_REDIRECT(int, sync_file_range, (int, long, long, unsigned int), , sync_file_range);
UM_REDIRECT(int, fallocate, (int, int, long, long), , fallocate);
UM_REDIRECT(int, fallocate64, (int, int, long, long), , fallocate);
UM_REDIRECT(long, copy_file_range, (int, long *, int, long *, UM_REDIRECT_SIZE, unsigned int), ,
            copy_file_range);
UM_REDIRECT(long, sendfile, (int, int, long *, UM_REDIRECT_SIZE), UM_NOTHROW, sendfile);
UM_REDIRECT(long, sendfile64, (int, int, long *, UM_REDIRECT_SIZE), UM_NOTHROW, sendfile);
UM_REDIRECT(int, close, (int), , close);

#ifdef __cplusplus
}
#endif

#endif /* USERMAP_REDIRECT_H */
