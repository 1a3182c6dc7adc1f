/* SPDX-License-Identifier: MIT */
/*
 * usermap.h - mmap(2) implemented in user space.
 *
 * This is the whole public API of libusermap.  A program calls um_mmap()
 * where it would call mmap(): the same arguments, the same PROT_*, MAP_*,
 * MS_* and MADV_* constants from <sys/mman.h>, the same MAP_FAILED and the
 * same errno.  The difference is who brings the pages in: usermap's own
 * fault handler reads them from the file, tracks which ones were written,
 * and writes those back, instead of the kernel's page cache.
 *
 * Every call that fails returns -1 (MAP_FAILED for um_mmap), sets errno as
 * Linux would for the same call, and leaves a sentence explaining the
 * failure in um_error_message().  The library never aborts or exits.
 *
 * Thread safety: every call may be made from any thread.
 */
#ifndef USERMAP_H
#define USERMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define USERMAP_VERSION_MAJOR 0
#define USERMAP_VERSION_MINOR 1

/* Marks the library's exported symbols; everything else stays hidden. */
#if defined(__GNUC__)
#define UM_API __attribute__((visibility("default")))
#else
#define UM_API
#endif

/*
 * The exception specification the C library gives the call of the same
 * name (__THROW: noexcept in C++): a C++ program that turns mmap into
 * um_mmap with a macro has glibc's declaration and this one name the same
 * function, and C++ refuses two exception specifications for one
 * function.  Nothing in C.  usermap_redirect.h defines it the same way.
 */
#ifndef UM_NOTHROW
#if defined(__cplusplus) && __cplusplus >= 201103L
#define UM_NOTHROW noexcept(true)
#elif defined(__cplusplus)
#define UM_NOTHROW throw()
#else
#define UM_NOTHROW
#endif
#endif

/*
 * um_mmap - map a file or anonymous memory, paged by usermap.
 *
 * Arguments and result are those of mmap(2).  Regular files and anonymous
 * memory are paged by usermap; any other kind of file (a device, say) is
 * handed to the kernel's mmap unchanged, so the call behaves exactly as
 * mmap would for it.
 *
 * Supported flags: MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE,
 * MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE,
 * MAP_NORESERVE, MAP_LOCKED.  Anonymous MAP_HUGETLB mappings are the
 * kernel's.
 *
 * Returns the address of the mapping, or MAP_FAILED with errno set.
 */
UM_API void *um_mmap(void *addr, size_t length, int prot, int flags, int fd,
              off_t offset) UM_NOTHROW;

/*
 * um_munmap - unmap a range, as munmap(2).
 *
 * Dirty pages of MAP_SHARED file mappings in the range are written to the
 * file before the range goes away.  Part of a mapping may be unmapped; the
 * rest stays.  Unmapping a range that holds no mapping succeeds.
 */
UM_API int um_munmap(void *addr, size_t length) UM_NOTHROW;

/*
 * um_msync - write a range back, as msync(2).
 *
 * MS_SYNC writes the dirty pages of the range to the file and waits for
 * them to reach the disk (fsync).  MS_ASYNC writes them to the file without
 * waiting for the disk.  MS_INVALIDATE drops the clean pages of the range
 * from usermap's cache, so that later reads see the file's current bytes
 * (for example after a write(2) to the file).  MS_SYNC together with
 * MS_ASYNC is EINVAL; a range that is not mapped is ENOMEM.
 */
UM_API int um_msync(void *addr, size_t length, int flags);

/*
 * um_mprotect - change the protection of a range, as mprotect(2).
 *
 * The protection is enforced by the MMU: a forbidden access raises a real
 * SIGSEGV (SEGV_ACCERR) at the faulting address.  PROT_WRITE on a
 * MAP_SHARED mapping of a file opened read-only is EACCES.
 */
UM_API int um_mprotect(void *addr, size_t length, int prot) UM_NOTHROW;

/*
 * um_madvise - give advice about a range, as madvise(2).
 *
 * MADV_DONTNEED drops the range's pages from the mapping: a later access to
 * a MAP_PRIVATE file mapping sees the file's bytes again, to an anonymous
 * private mapping zeros, and to a MAP_SHARED mapping the shared bytes
 * (dirty shared pages are written back first).  Other advice is passed to
 * the kernel.
 */
UM_API int um_madvise(void *addr, size_t length, int advice) UM_NOTHROW;

/*
 * um_ftruncate - set a file's size, as ftruncate(2), and move the end of
 * every usermap mapping of it: past the new end an access raises SIGBUS,
 * the new partial last page reads zeros past the end, and write-back never
 * writes past it (dirty pages wholly past it are dropped, as the kernel
 * drops them).  usermap_redirect.h makes ftruncate() this call.
 */
UM_API int um_ftruncate(int fd, off_t length) UM_NOTHROW;

/*
 * um_mremap - grow, shrink or move a mapping, as mremap(2): the same
 * flags (MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP), the same
 * results and errno.  new_address is read only with MREMAP_FIXED (the
 * target) or MREMAP_DONTUNMAP (a hint, as the kernel takes it).  The
 * pages a mapping holds keep their contents when it moves, those a
 * private mapping wrote included; the part a file mapping gains is paged
 * in from the file, and raises SIGBUS past its end.  Dirty pages of a
 * range the call unmaps (a shrink's tail, MREMAP_FIXED's target) are
 * written back first, as um_munmap() does.  A range usermap did not map
 * is handed to the kernel's mremap.  usermap_redirect.h makes mremap()
 * this call.
 */
UM_API void *um_mremap(void *old_address, size_t old_size, size_t new_size, int flags,
                       ... /* void *new_address */) UM_NOTHROW;

/*
 * File I/O that sees usermap's page cache, as the kernel's calls see its
 * own.  On a regular file that usermap caches (in this process, or in
 * another usermap process of the same user through the shared cache), a
 * read returns the cached bytes, stores not yet written back included; a
 * write updates the cached pages and the file together; a size change
 * moves the end of every mapping of the file.  On any other descriptor
 * each is the system call itself.  A buffer inside a usermap mapping is
 * filled first, whatever the fault mode.  Arguments, results and errno
 * are those of the system call of the same name.
 */
UM_API ssize_t um_read(int fd, void *buf, size_t count);
UM_API ssize_t um_write(int fd, const void *buf, size_t count);
UM_API ssize_t um_pread(int fd, void *buf, size_t count, off_t offset);
UM_API ssize_t um_pwrite(int fd, const void *buf, size_t count, off_t offset);
struct iovec;
UM_API ssize_t um_readv(int fd, const struct iovec *iov, int iovcnt);
UM_API ssize_t um_writev(int fd, const struct iovec *iov, int iovcnt);
UM_API ssize_t um_preadv(int fd, const struct iovec *iov, int iovcnt, off_t offset);
UM_API ssize_t um_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset);
/* Writes back every page of the file dirtied through a mapping, then
 * fsync(2) / fdatasync(2) / sync_file_range(2). */
UM_API int um_fsync(int fd);
UM_API int um_fdatasync(int fd);
UM_API int um_sync_file_range(int fd, off_t offset, off_t nbytes, unsigned int flags);
/* fallocate(2); a mode that changes the file's bytes or size (punching
 * a hole, collapsing, zeroing, growing) is seen by the mappings. */
UM_API int um_fallocate(int fd, int mode, off_t offset, off_t len);
UM_API int um_truncate(const char *path, off_t length) UM_NOTHROW;
/* Copies through the cache when either file is cached. */
UM_API ssize_t um_copy_file_range(int fd_in, off_t *off_in, int fd_out, off_t *off_out,
                                  size_t len, unsigned int flags);
UM_API ssize_t um_sendfile(int out_fd, int in_fd, off_t *offset, size_t count) UM_NOTHROW;
/* close(2).  usermap keeps its own descriptor of a mapped file, and
 * closing any descriptor of a file drops the process's fcntl(2) record
 * locks on it; um_close keeps usermap's descriptors from being the ones
 * that drop a lock the program still holds. */
UM_API int um_close(int fd);

/*
 * um_error_message - why the last failing usermap call on this thread
 * failed, as one sentence (for example "fd 3 is open write-only; a mapping
 * needs read access").  Never NULL; "" when no call has failed yet.  The
 * text stays valid until the next usermap call on the same thread.
 */
UM_API const char *um_error_message(void);

/*
 * um_version - the version of the library the program runs with, as
 * "MAJOR.MINOR.PATCH" (for example "0.1.0").  USERMAP_VERSION_MAJOR and
 * USERMAP_VERSION_MINOR are those of the header the program was built
 * with; the two differ when the program runs with a newer libusermap.so.
 * Never NULL; the string is static.
 */
UM_API const char *um_version(void);

/*
 * Pools.  A pool is a set of mappings that share a page size, a memory
 * budget and the policies that keep them under it.  um_mmap() uses the
 * default pool, configured from the environment when first used:
 *
 *   USERMAP_PAGE_SIZE     usermap page size: 4K ... 2M, a power of two
 *   USERMAP_MEMORY_LIMIT  budget in bytes, with K, M, G or T (0: none)
 *   USERMAP_POLICY        clock, fifo or lru
 *   USERMAP_READAHEAD     read-ahead window in bytes (0: off)
 *   USERMAP_FILL_THREADS  threads that fill pages ahead of the program
 *   USERMAP_FAULT_MODE    handler (default) or in-thread
 *   USERMAP_SWAP_DIR      where pools with a limit spill private pages
 *                         (default $TMPDIR, else /var/tmp)
 *
 * An invalid value makes the first um_mmap() fail with EINVAL and a
 * message naming the variable; it is never silently replaced.
 */
typedef struct um_pool um_pool;

enum um_policy {
    UM_POLICY_CLOCK = 0,     /* second chance (default) */
    UM_POLICY_FIFO,          /* first in, first out */
    UM_POLICY_LRU,           /* least recently used, approximated */
};

/*
 * Who serves a fault.  UM_FAULTS_HANDLER: usermap's handler thread; the
 * faulting thread waits (a round trip across cores costs tens of
 * microseconds).  UM_FAULTS_IN_THREAD: the faulting thread itself, in a
 * SIGBUS handler usermap installs (the signal costs about 2 us), with two
 * limits: a system call that touches a page not yet filled (read(2) into it,
 * write(2) from it) fails with EFAULT instead of waiting, and the program
 * must not block SIGBUS, nor replace usermap's SIGBUS handler without
 * calling the previous one.  MAP_SHARED mappings of files open for
 * writing are served by the handler thread even in this mode: the first
 * write to each page faults synchronously (it reserves the page's room in
 * the file and records it dirty before it lands), which only the handler
 * can serve.
 */
enum um_fault_mode {
    UM_FAULTS_HANDLER = 0,
    UM_FAULTS_IN_THREAD,
};

typedef struct um_pool_config {
    size_t page_size;        /* bytes, power of two, 4 KiB..2 MiB; 0: system page */
    uint64_t memory_limit;   /* bytes of resident pages; 0: no limit */
    enum um_policy policy;   /* which pages leave first under the limit */
    size_t readahead;        /* bytes filled ahead of sequential faults; 0: off */
    unsigned fill_threads;   /* threads filling ahead of the program; 0: default */
    enum um_fault_mode fault_mode; /* who serves faults (see above) */
} um_pool_config;

/* Fills *cfg with the defaults: system page, no limit, CLOCK, 1 MiB
 * read-ahead, 1 fill thread. */
UM_API void um_pool_config_init(um_pool_config *cfg);

/*
 * um_pool_create - a new pool configured by *cfg (NULL: the defaults).
 * Returns NULL with errno EINVAL and a message for a bad configuration.
 */
UM_API um_pool *um_pool_create(const um_pool_config *cfg);

/*
 * um_pool_destroy - frees a pool that has no mappings left.  Returns 0,
 * or -1 with errno EBUSY while mappings remain, EINVAL for the default pool.
 */
UM_API int um_pool_destroy(um_pool *pool);

/* um_mmap_pool - um_mmap() in the given pool (NULL: the default pool). */
UM_API void *um_mmap_pool(um_pool *pool, void *addr, size_t length, int prot,
                          int flags, int fd, off_t offset);

/*
 * Counters of a pool since it was created.  Pages are usermap pages
 * (page_size bytes), not the system's 4 KiB pages.
 */
struct um_stats {
    size_t page_size;           /* usermap page size of the pool, in bytes     */
    uint64_t memory_limit;      /* the pool's budget in bytes (0: none)         */
    uint64_t faults;            /* faults served by usermap (some find their page
                                 * brought in meanwhile by read-ahead)         */
    uint64_t pages_filled;      /* pages brought in from a backing store, each
                                 * counted once (so faults + prefetched may
                                 * exceed it; a page read twice by a fault and
                                 * read-ahead at once shows in bytes_read)     */
    uint64_t pages_prefetched;  /* of those, filled ahead of any fault          */
    uint64_t bytes_read;        /* bytes read from backing stores               */
    uint64_t bytes_written;     /* bytes written back to backing stores         */
    uint64_t pages_written;     /* pages written back                           */
    uint64_t evictions;         /* pages taken out of memory for the budget     */
    uint64_t resident_bytes;    /* bytes of pages in memory now                 */
    uint64_t peak_resident_bytes; /* the most there ever were                   */
    uint64_t fault_p50_ns;      /* median time to serve a fault                 */
    uint64_t fault_p99_ns;      /* 99th percentile of the same                  */
    uint64_t mappings;          /* live mappings (pieces after partial munmap)  */
    uint64_t bytes_swapped_out; /* private pages spilled to the swap file       */
    uint64_t bytes_swapped_in;  /* and brought back from it                     */
};

/*
 * um_stats - copy the counters of a pool into *out.  pool NULL means the
 * default pool, the one um_mmap() uses.  Returns 0, or -1 with errno
 * EINVAL when out is NULL.
 */
UM_API int um_stats(um_pool *pool, struct um_stats *out);

/*
 * um_mapping_stats - the counters of the mapping that holds addr: what
 * its faults filled, what its msync and munmap wrote, its fault times
 * (pages filled ahead by read-ahead count to the pool only).  The budget's
 * figures (memory_limit, resident and peak bytes, evictions) are its
 * pool's; mappings is the number of pieces the mapping is in after
 * partial unmaps.  Returns 0, or -1 with errno EINVAL when addr is in no
 * usermap mapping or out is NULL.
 */
UM_API int um_mapping_stats(const void *addr, struct um_stats *out);

/*
 * Shared caches.  The page cache of a regular file is one for every
 * usermap process of the user that maps the file: two objects in the
 * cache directory, $USERMAP_CACHE_DIR (default /dev/shm/usermap-UID, mode
 * 0700, owned by the user, never a link), named after the file's device
 * and inode: DEV-INO.pages holds the pages, DEV-INO.state who is attached
 * and which pages are dirty.  The last process to leave a clean cache
 * removes them.  A process that dies (a signal, _exit) leaves them with
 * its stores not yet written: the next usermap process to start, or to
 * map the file while no other process is attached, writes those to the
 * file and removes the objects.  These calls list the caches and do the
 * same on request; they need no mapping, and start nothing.
 */

/* How many of a cache's processes um_caches() names. */
#define UM_CACHE_PIDS 16

struct um_cache_info {
    char path[4096];        /* the file, as the first process to map it named it */
    uint64_t dev, ino;      /* the file's device and inode (st_dev, st_ino) */
    uint64_t size;          /* bytes the cache covers: the file's size as last seen */
    uint64_t resident;      /* bytes of memory its pages take */
    uint64_t dirty;         /* bytes of pages written and not yet in the file */
    int processes;          /* live processes attached (0: an orphan) */
    pid_t pids[UM_CACHE_PIDS]; /* the first of them (0: not known yet) */
};

/*
 * um_caches - describe the user's shared caches: up to max of them into
 * out[] (out may be NULL when max is 0).  Returns how many there are,
 * which may exceed max (call again with a larger array), 0 when the cache
 * directory does not exist; or -1 with errno (EACCES: the directory is
 * not the user's own, mode 0700) and um_error_message().  A cache being
 * attached or left at the moment is waited for.
 */
UM_API int um_caches(struct um_cache_info *out, size_t max);

/*
 * um_cache_flush - write a shared cache's dirty pages to its file, and
 * remove the cache.  path NULL: every orphan cache (no live process
 * attached); caches in use are left to their processes, and caches of
 * files deleted or replaced since are removed, their stores dropped (the
 * kernel's page cache drops a deleted file's pages too).  path a file:
 * that file's cache, which must be an orphan: while a process is
 * attached (the caller itself included, whose own mappings um_msync()
 * writes back) the call fails with EBUSY and names the process, because
 * an attached process may be writing or truncating the file and only it
 * can write its pages back safely.  No cache for the file is success.
 * Pages are written up to the file's current size, never past it, then
 * the file is fsynced.  Returns 0, or -1 with errno (ENOENT for a path
 * that names no file, EBUSY, or the error of the write that failed, the
 * cache then kept for a later try) and um_error_message().
 */
UM_API int um_cache_flush(const char *path);

#ifdef __cplusplus
}
#endif

#endif /* USERMAP_H */
