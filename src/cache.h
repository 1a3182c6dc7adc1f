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
 * mapping of the cache, pages land in it directly, already mapped. */
int cache_fill_for(struct um_cache *c, const struct um_region *r, uint64_t off, size_t len);

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
void cache_end_write(struct um_cache *c, int slot);

/* A per-thread buffer of at least len bytes, for moving pages.  Any
 * later call may move it: take it after evict_reserve(), which may use
 * it too. */
void *cache_scratch(size_t len);

/* The cache's read-ahead state (readahead.c). */
struct um_readahead *cache_readahead(struct um_cache *c);

/*
 * Writes the dirty pages of [lo, hi) to the store.  protect: the pages are
 * about to leave the page tables (eviction, MADV_DONTNEED), so every one
 * written is write-protected again first.  0 or -errno.
 */
int cache_writeback(struct um_cache *c, uint64_t lo, uint64_t hi, bool protect);

/* Drops the clean pages of [lo, hi), so they are read from the store again. */
int cache_invalidate(struct um_cache *c, uint64_t lo, uint64_t hi);

/* Makes written data durable (fsync).  0 or -errno. */
int cache_sync(struct um_cache *c);

/* Writes back every cache's dirty pages (at exit).  Best effort. */
void cache_writeback_everything(void);

/* Marks every cache with writable shared mappings as shared with another
 * process (called around fork). */
void cache_mark_all_forked(void);

/* Re-watches every cache's window in a forked child.  0 or -errno. */
int cache_rewatch_all(void);

#endif
