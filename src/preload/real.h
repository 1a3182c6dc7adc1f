/* SPDX-License-Identifier: MIT */
/*
 * real.h - the C library's own calls, for the LD_PRELOAD interposer.
 *
 * In libusermap-preload.so every call the library's objects make to one
 * of the interposed names (mmap, pread, close, ...) is renamed at build
 * time (objcopy --redefine-syms, see real.syms) to um_real_NAME, so that
 * usermap's own I/O never comes back into the interposer.  The
 * interposer calls them too, for what it hands to the kernel.
 *
 * Each is the next definition of NAME after libusermap-preload.so
 * (dlsym(RTLD_NEXT), normally the C library's, so that cancellation
 * points and other interposers stay as they were), or the system call
 * itself while that lookup is under way (dlsym may allocate, and an
 * allocator may map) or when there is none.
 */
#ifndef USERMAP_PRELOAD_REAL_H
#define USERMAP_PRELOAD_REAL_H

#include <sys/types.h>

struct iovec;

void *um_real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int um_real_munmap(void *addr, size_t len);
void *um_real_mremap(void *addr, size_t old_len, size_t new_len, int flags, ... /* new_addr */);
int um_real_msync(void *addr, size_t len, int flags);
int um_real_mprotect(void *addr, size_t len, int prot);
int um_real_madvise(void *addr, size_t len, int advice);
int um_real_ftruncate(int fd, off_t len);
int um_real_truncate(const char *path, off_t len);
ssize_t um_real_read(int fd, void *buf, size_t n);
ssize_t um_real_write(int fd, const void *buf, size_t n);
ssize_t um_real_pread(int fd, void *buf, size_t n, off_t off);
ssize_t um_real_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t um_real_readv(int fd, const struct iovec *iov, int cnt);
ssize_t um_real_writev(int fd, const struct iovec *iov, int cnt);
ssize_t um_real_preadv(int fd, const struct iovec *iov, int cnt, off_t off);
ssize_t um_real_pwritev(int fd, const struct iovec *iov, int cnt, off_t off);
ssize_t um_real_preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags);
ssize_t um_real_pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags);
int um_real_fsync(int fd);
int um_real_fdatasync(int fd);
int um_real_sync_file_range(int fd, off_t off, off_t n, unsigned int flags);
int um_real_fallocate(int fd, int mode, off_t off, off_t len);
ssize_t um_real_copy_file_range(int in, off_t *in_off, int out, off_t *out_off, size_t len,
                                unsigned int flags);
ssize_t um_real_sendfile(int out, int in, off_t *off, size_t n);
int um_real_close(int fd);

#endif
