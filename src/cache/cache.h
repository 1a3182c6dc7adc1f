/* SPDX-License-Identifier: MIT */
/*
 * cache.h - the page cache of one backing file (or of one anonymous shared
 * mapping): a memfd holding the pages that are in memory.
 *
 * Every mapping of the file, private or shared, maps this memfd, so shared
 * mappings share physical pages and a private mapping reads the same clean
 * pages until the kernel copies one on its first write.  A page absent from
 * the memfd is filled from the store through the window, a mapping of the
 * memfd that only the library uses.  Write-back copies dirty pages from the
 * memfd to the store; bytes past the file's size are never written.
 *
 * All functions are called with the library lock held: exclusive, except
 * cache_fill(), which the fault path calls under the shared lock.
 */
#ifndef USERMAP_CACHE_H
#define USERMAP_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct um_cache;
struct um_pool;
struct um_region;

/*
 * The cache of the regular file open at fd (st is its fstat) in pool,
 * created on first use and shared by every mapping of the same file in the
 * pool; the caller gets a reference.  needs_write: the mapping will write back (MAP_SHARED on a
 * writable fd).  Returns NULL with errno and a message on failure.
 */
struct um_cache *cache_for_file(struct um_pool *pool, int fd, const struct stat *st,
                                bool needs_write);

/* cache_follow_file() for a write at write_at that makes the file st
 * describes longer: of what mappings stored past the old end, in its
 * page, only the bytes before the write read as zeros (the kernel's
 * write clears the gap it leaves, not what lies past its own end). */
int cache_follow_write(const struct stat *st, uint64_t write_at);

/* cache_for_file() for one file call on fd (api/fileio.c): the store
 * borrows fd rather than keep a duplicate, unless write_back (fsync),
 * which may leave the cache holding pages it must write later. */
struct um_cache *cache_join_file(struct um_pool *pool, int fd, const struct stat *st,
                                 bool write_back);

/* The file st describes has the size st gives now: every cache of it (in
 * any pool) follows, under the exclusive lock.  0 or -1 with errno. */
int cache_follow_file(const struct stat *st);

/* The cache of the file st describes in any pool of this process, or
 * NULL.  Under the library lock. */
struct um_cache *cache_find_file(const struct stat *st);

/* Whether another usermap process may keep a cache of the file st
 * describes (its shared objects exist). */
bool cache_kept_elsewhere(const struct stat *st);

/* Under the exclusive lock: the cache takes the size of its memfd, which
 * another process sharing it may have changed.  0 or -1 with errno. */
int cache_follow_memfd(struct um_cache *c);

/*
 * A file's own I/O through its cache (cache_io.c), with fd the caller's
 * descriptor.  Called without the library lock, the cache pinned or
 * referenced, buf never a usermap mapping (the copy would fault while
 * the range is held).  cache_pread: the file's bytes, with the cache's
 * copies over them.  cache_pwrite: to the file and the cached copies at
 * once.  Bytes done, or -errno.  At most CACHE_IO_MAX bytes a call;
 * file_size: the file's size as the caller last saw it (a read wholly
 * below it and wholly in memory, into a buffer of the library's own
 * (buf_is_ours), is served from the cache alone).
 */
#define CACHE_IO_MAX ((size_t)1 << 20)
ssize_t cache_pread(struct um_cache *c, int fd, void *buf, size_t len, uint64_t off,
                    uint64_t file_size, bool buf_is_ours);
ssize_t cache_pwrite(struct um_cache *c, int fd, const void *buf, size_t len, uint64_t off);

/* change(arg) turns [lo, hi) of the file to zeros (fallocate's punch or
 * zero range), with the range held: cached whole pages of it go, dirty
 * or not, and partial ones are zeroed.  0 or change's -errno. */
int cache_file_zeroed(struct um_cache *c, int fd, uint64_t lo, uint64_t hi,
                      int (*change)(void *arg), void *arg);

/* A new cache of len zero bytes, for one anonymous shared mapping. */
struct um_cache *cache_for_anonymous(struct um_pool *pool, size_t len);

void cache_hold(struct um_cache *c);
/* Drops a reference; the last one closes the cache. */
void cache_release(struct um_cache *c);

/* The descriptor to mmap for a mapping of the cache.  Always writable:
 * userfaultfd refuses to watch mappings that may never be written. */
int cache_map_fd(const struct um_cache *c);

/* The size of the file (or anonymous memory) behind the cache. */
uint64_t cache_size(const struct um_cache *c);

/* The end of what the memfd can show: the size rounded up to a system
 * page.  Past it, an access is the kernel's SIGBUS. */
uint64_t cache_end(const struct um_cache *c);

/* Whether the cache has somewhere to write back to (not anonymous). */
bool cache_has_store_writes(const struct um_cache *c);

/*
 * Makes the usermap pages covering [off, off+len) present; prefetch says
 * no one is waiting for them (counted as prefetched).  Returns the number
 * of pages read from the store, or -errno.
 */
int cache_fill(struct um_cache *c, uint64_t off, size_t len, bool prefetch);

/* cache_fill() for a fault through region r: where r is a MAP_SHARED
 * mapping of the cache, pages land in it directly, already mapped.  For
 * a write (as far as the engine tells), a file that has no room for the
 * pages fails with -ENOSPC (or -EDQUOT), the kernel's SIGBUS. */
int cache_fill_for(struct um_cache *c, const struct um_region *r, uint64_t off, size_t len,
                   bool write);

/* Whether the pages [off, off+len) may be evicted now: pages no writable
 * mapping can change, or whose writes are tracked synchronously. */
bool cache_may_evict(struct um_cache *c, uint64_t off, uint64_t len);

/* Whether [off, off+len) was touched since last reset (it is mapped in
 * some region); reset: drop those entries, so that the next ask tells
 * (and the next access takes a minor fault). */
bool cache_page_referenced(struct um_cache *c, uint64_t off, uint64_t len, bool reset);

/* Writes back and takes [off, off+len) out of memory; *freed says how
 * many bytes left.  Returns 0, -EBUSY when the pages are being filled or
 * written right now (try later), or another -errno. */
int cache_evict(struct um_cache *c, uint64_t off, uint64_t len, uint64_t *freed);

/*
 * A first write to a protected page [off, off+len) (UM_TRACK_SYNC): claims
 * the pages so no eviction runs meanwhile.  True: the caller may lift the
 * protection, then calls cache_end_write().  False: an eviction or fill
 * was in progress, the page may be gone; the caller only wakes the writer
 * (and still calls cache_end_write), whose retry faults afresh.
 */
bool cache_begin_write(struct um_cache *c, uint64_t off, uint64_t len, int *slot);
void cache_end_write(struct um_cache *c, uint64_t off, uint64_t len, int slot);

/* A per-thread buffer of at least len bytes, for moving pages.  Any
 * later call may move it: take it after evict_reserve(), which may use
 * it too. */
void *cache_scratch(size_t len);

/* The cache's read-ahead state (readahead.c). */
struct um_readahead *cache_readahead(struct um_cache *c);

/*
 * Dirty pages.  Which pages hold writes the store has not accepted is kept
 * in the cache's dirty map (dirty.h), shared with forked children; the
 * page tables of this process's mappings feed it (cache_collect), and so
 * do first writes that fault (cache_mark_written).
 */

/* Under the library lock: marks dirty the pages of [lo, hi) written
 * through this process's mappings since the last look, and protects them
 * again, so that later writes are seen too.  0 or -errno. */
int cache_collect(struct um_cache *c, uint64_t lo, uint64_t hi);

/* Reserves room in the store for [start, end) (a first write comes):
 * 0, or -ENOSPC / -EDQUOT when the store is full (the kernel's SIGBUS).
 * Other failures (a store that cannot reserve) count as success. */
int cache_reserve(struct um_cache *c, uint64_t start, uint64_t end);

/* Marks [off, off+len) dirty: a first write is about to land there. */
void cache_mark_written(struct um_cache *c, uint64_t off, uint64_t len);

/*
 * Writes the dirty pages of [lo, hi) to the store, cut at the store's
 * size now.  Called WITHOUT the library lock (it takes it briefly), with
 * the cache pinned or referenced: the store's I/O may wait on the file's
 * own locks, which a faulting thread may hold.  A page whose write fails
 * stays dirty for the next attempt.  0 or the first -errno.
 */
int cache_flush(struct um_cache *c, uint64_t lo, uint64_t hi);

/* Keeps a cache alive across a write-back made without the lock. */
void cache_pin(struct um_cache *c);
void cache_unpin(struct um_cache *c);

/* Drops the clean pages of [lo, hi), so they are read from the store
 * again; dirty ones stay. */
int cache_invalidate(struct um_cache *c, uint64_t lo, uint64_t hi);

/* Makes written data durable (fsync).  0 or -errno. */
int cache_sync(struct um_cache *c);

/* Without the library lock: writes back the caches no mapping uses any
 * more and frees those that are clean.  0 or the first -errno. */
int cache_flush_unused(void);

/* Without the library lock: writes back every cache (the flusher's
 * pass).  0 or the first -errno. */
int cache_flush_dirty(void);

/* Without the library lock: writes back the shared caches this process
 * may write without a fault, which protects their pages again and lowers
 * its writing flag, so that other processes' write-backs stop keeping
 * the pages dirty for its sake (the flusher, every few seconds).  0 or
 * the first -errno. */
int cache_flush_shared_writers(void);

/* At exit: writes back every cache; what cannot be written is named on
 * stderr. */
void cache_flush_at_exit(void);

/* Under the exclusive lock, around fork: every shared cache takes a slot
 * for the child (shared_before_fork), which the child adopts in
 * cache_rewatch_all() and the parent lets go of after fork. */
void cache_before_fork(void);
void cache_after_fork_in_parent(void);

/* In a forked child: re-watches every cache's window and attaches the
 * child to every shared cache as a process of its own.  0 or -errno. */
int cache_rewatch_all(void);

/* At exit, after the last write-back: leaves every shared cache (the
 * last process out removes the objects of a clean one). */
void cache_leave_all_at_exit(void);

/* Without the library lock, with a reference: writes what dead
 * processes left dirty in a cache this process found alone (once). */
void cache_flush_recovered(struct um_cache *c);

#endif
