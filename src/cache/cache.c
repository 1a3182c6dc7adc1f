/* SPDX-License-Identifier: MIT */
/*
 * cache.c - one memfd page cache per backing file: its life, from the
 * first mapping of the file to the last, and what is done to every cache
 * at once (exit, fork).  Filling is cache_fill.c, write-back and eviction
 * cache_writeback.c.  See cache.h for the model.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addrspace.h"
#include "cache.h"
#include "cache_impl.h"
#include "dirty.h"
#include "error.h"
#include "evict.h"
#include "lifecycle.h"
#include "pagemap.h"
#include "pool.h"
#include "prefetch.h"
#include "ranges.h"
#include "readahead.h"
#include "region.h"
#include "shared_recover.h"
#include "stats.h"
#include "store.h"

static struct um_cache *caches;     /* every open cache, under the lock */

/*
 * A per-thread buffer for moving pages between store and memfd, mapped
 * rather than allocated because it can be as large as a 2 MiB page.
 */
void *cache_scratch(size_t len)
{
    static __thread void *buf;
    static __thread size_t buf_len;

    if (len <= buf_len)
        return buf;
    if (buf)
        um_private_munmap(buf, buf_len);
    buf = um_private_mmap(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    if (buf == MAP_FAILED) {
        buf = NULL;
        buf_len = 0;
        return NULL;
    }
    buf_len = len;
    return buf;
}

/* ---------------------------------------------------------------- life */

/* Maps the window over the first len bytes and tells the engine about it:
 * the engine can only install pages in watched memory. */
static int map_window(struct um_cache *c, size_t len)
{
    void *w;

    if (len == 0)
        return 0;
    w = um_private_mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, c->memfd);
    if (w == MAP_FAILED)
        return um_fail(errno, "cannot map usermap's page cache window of %zu bytes: %s",
                       len, strerror(errno));
    if (um_engine->watch(w, len, UM_TRACK_NONE, 0) < 0) {
        int err = errno;
        um_private_munmap(w, len);
        errno = err;
        return -1;
    }
    c->window = w;
    c->window_len = len;
    return 0;
}

static void unmap_window(struct um_cache *c)
{
    if (c->window)
        um_private_munmap(c->window, c->window_len);
    c->window = NULL;
    c->window_len = 0;
}

bool cache_memfd_size(const struct um_cache *c, uint64_t *size)
{
    struct stat ps;

    if (fstat(c->memfd, &ps) < 0)
        return false;
    *size = (uint64_t)ps.st_size;
    return true;
}

/* The end of what a shared cache may hold dirty: another process may
 * know the file as longer than this one does. */
uint64_t cache_dirty_end(struct um_cache *c)
{
    uint64_t end = cache_end(c), size;

    if (cache_memfd_size(c, &size) && round_up(size, um_system_page()) > end)
        end = round_up(size, um_system_page());
    return end;
}

/* Whether a shared cache holds nothing unsaved, whoever wrote it. */
static bool nothing_unsaved(void *arg)
{
    struct um_cache *c = arg;

    return !dirty_any(&c->dirty, cache_dirty_end(c));
}

static void free_cache(struct um_cache *c)
{
    prefetch_forget(c->pool, c);
    evict_forget(c->pool, c);
    readahead_destroy(&c->readahead);
    claims_destroy(&c->claims);
    pthread_mutex_destroy(&c->wb_lock);
    pthread_mutex_destroy(&c->arm_lock);
    stat_sub(&c->pool->counters.resident, c->resident);
    unmap_window(c);
    /* The last process out removes the objects, if nothing is left
     * unsaved; otherwise they wait for recovery. */
    if (c->is_shared)
        shared_leave(&c->shared, nothing_unsaved, c);
    dirty_destroy(&c->dirty);
    if (c->shared.hdr)
        shared_forget(&c->shared);
    if (c->memfd >= 0)
        close(c->memfd);
    if (c->store)
        c->store->ops->close(c->store);
    free(c);
}

static struct um_cache *alloc_cache(struct um_pool *pool, uint64_t size, bool anonymous)
{
    struct um_cache *c = calloc(1, sizeof(*c));

    if (!c) {
        um_fail(ENOMEM, "out of memory for a page cache");
        return NULL;
    }
    c->refs = 1;
    c->memfd = -1;
    c->pool = pool;
    c->anonymous = anonymous;
    c->size = size;
    c->stamp = &c->own_stamp;
    c->page_size = pool->cfg.page_size;
    readahead_init(&c->readahead);
    claims_init(&c->claims);
    pthread_mutex_init(&c->wb_lock, NULL);
    pthread_mutex_init(&c->arm_lock, NULL);
    return c;
}

/* Sizes the pages to the file and maps the window over them. */
static int size_and_map(struct um_cache *c)
{
    if (ftruncate(c->memfd, (off_t)c->size) < 0)
        return um_fail(errno, "cannot size the page cache to %llu bytes: %s",
                       (unsigned long long)c->size, strerror(errno));
    return map_window(c, round_up(c->size, um_system_page()));
}

static struct um_cache *fail_cache(struct um_cache *c)
{
    int err = errno;

    free_cache(c);
    errno = err;
    return NULL;
}

/* An anonymous shared mapping's cache: a memfd of this process tree. */
static struct um_cache *new_anonymous_cache(struct um_pool *pool, uint64_t size)
{
    struct um_cache *c = alloc_cache(pool, size, true);

    if (!c)
        return NULL;
    c->memfd = memfd_create("usermap:anonymous", MFD_CLOEXEC);
    if (c->memfd < 0) {
        um_fail(errno, "cannot create the page cache (memfd_create): %s", strerror(errno));
        return fail_cache(c);
    }
    return size_and_map(c) < 0 ? fail_cache(c) : c;
}

/*
 * A regular file's cache: the shared objects of the file (shared.h).
 * When no other live process is attached, pages a dead one left dirty or
 * half written back are the new owner's to write (c->recovering).
 */
static struct um_cache *new_file_cache(struct um_pool *pool, int fd, const struct stat *st,
                                       bool needs_write)
{
    struct um_cache *c = alloc_cache(pool, (uint64_t)st->st_size, false);
    bool alone = false;
    int rc;

    if (!c)
        return NULL;
    if (!needs_write)
        shared_recover_file(st);
    if (shared_attach(&c->shared, fd, st, &alone) < 0) {
        int err = errno;
        free(c);
        errno = err;
        return NULL;
    }
    c->is_shared = true;
    c->memfd = c->shared.pages_fd;     /* the cache's now */
    c->shared.pages_fd = -1;
    c->stamp = &c->shared.hdr->stamp;
    /* Tracked per system page, as the kernel's: a usermap page of which a
     * mapping wrote one system page must not write the others back,
     * which may be older than the file's. */
    rc = dirty_init(&c->dirty, um_system_page(), c->shared.state_fd, SHARED_DIRTY_OFFSET);
    if (rc < 0) {
        um_fail(-rc, "cannot map the dirty map of a page cache: %s", strerror(-rc));
        return fail_cache(c);
    }
    if (alone) {
        uint64_t end = cache_dirty_end(c);

        /* Whoever held pages in writeback died: they are dirty again. */
        dirty_done(&c->dirty, 0, end, true);
        c->recovering = dirty_any(&c->dirty, end);
    }
    return size_and_map(c) < 0 ? fail_cache(c) : c;
}

static void link_cache(struct um_cache *c)
{
    c->next = caches;
    caches = c;
}

static void unlink_cache(struct um_cache *c)
{
    for (struct um_cache **p = &caches; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            return;
        }
    }
}

/* A cache no mapping uses any more stays while it holds data the store
 * has not accepted (or a write-back is running): a new mapping of the
 * file takes it up again rather than read stale bytes from the store. */
static struct um_cache *find_file_cache(struct um_pool *pool, const struct stat *st)
{
    for (struct um_cache *c = caches; c; c = c->next)
        if (!c->anonymous && c->pool == pool && c->dev == st->st_dev && c->ino == st->st_ino)
            return c;
    return NULL;
}

/* Whether an unused cache can go: nothing unsaved, nobody writing it. */
static bool may_free(struct um_cache *c)
{
    /* A cache this process cannot write back leaves what another
     * process left dirty to that one (or to recovery). */
    return c->refs == 0 && __atomic_load_n(&c->pins, __ATOMIC_ACQUIRE) == 0 &&
           (!cache_has_store_writes(c) || !dirty_any(&c->dirty, cache_end(c)));
}

/*
 * The file changed size since the cache was made (a write(2) or truncate
 * by someone else).  Follow it: the memfd's size is what makes pages past
 * the end raise SIGBUS, and the old partial last page holds zeros where
 * the file now has data.  The whole cache is claimed meanwhile: file I/O
 * (cache_io.c) copies through the window without the library lock, and
 * must meet neither a page cut off nor a window being moved.
 */
static int resize_claimed(struct um_cache *c, uint64_t size, uint64_t clear_to)
{
    uint64_t sys = um_system_page(), old = c->size, was = old;
    /* Other processes copying file I/O through their windows hold the
     * page lock on what they copy (cache_io.c): none may meet the cut. */
    uint64_t cut = round_down(size, sys), to_end = (uint64_t)1 << 50;
    bool cutting, from_partial, clear_tail;
    int rc = 0;

    /* The memfd's size, not this process's: another process sharing the
     * cache may have resized it since (and written past its end). */
    cache_memfd_size(c, &was);
    cutting = size < was && c->is_shared;
    /* Growing from a partial page: what mappings stored past the end in
     * it, up to clear_to, reads as zeros from now on, as the kernel's
     * filesystems make it (those that clear it at write-back: store.h); a
     * page no write dirtied is read again, in case someone else wrote
     * there. */
    from_partial = size > was && was % sys;
    clear_tail = from_partial && !c->anonymous && c->store->clears_past_end;
    if (from_partial)
        cache_invalidate_claimed(c, round_down(was, sys), round_up(was, sys));
    if (cutting)
        shared_lock_pages(&c->shared, cut, to_end, true, true);
    if (ftruncate(c->memfd, (off_t)size) < 0)
        rc = um_fail(errno, "cannot resize the page cache of %s: %s", c->store->name,
                     strerror(errno));
    if (cutting)
        shared_unlock_pages(&c->shared, cut, to_end);
    if (rc < 0)
        return rc;
    if (clear_tail)
        cache_zero_present(c, was, clear_to < round_up(was, sys) ? clear_to : round_up(was, sys));
    if (size < (old > was ? old : was))
        dirty_forget_from(&c->dirty, size, round_up(old > was ? old : was, c->page_size));
    c->size = size;
    /* A file that grows a page at a time (LMDB's pwrite past the end)
     * would move the window at every write: it at least doubles. */
    if (round_up(size, sys) > c->window_len) {
        uint64_t len = round_up(size, sys), twice = 2 * (uint64_t)c->window_len;

        unmap_window(c);
        if (map_window(c, len > twice ? len : twice) < 0)
            return -1;
    }
    return 0;
}

static int follow_size_clearing(struct um_cache *c, uint64_t size, uint64_t clear_to)
{
    bool waited;
    int slot, rc;

    uint64_t shared_size;

    /* The memfd too: another process sharing it may have resized it. */
    if (size == c->size && (c->anonymous || !cache_memfd_size(c, &shared_size) ||
                            shared_size == size))
        return 0;
    slot = cache_claim(c, 0, UINT64_MAX, CLAIM_MUST, &waited);
    rc = resize_claimed(c, size, clear_to);
    cache_unclaim(c, slot);
    return rc;
}

static int follow_file_size(struct um_cache *c, uint64_t size)
{
    return follow_size_clearing(c, size, UINT64_MAX);
}

/*
 * A new mapping of a file someone changed since the cache last agreed
 * with it (a write(2) that usermap did not see): the clean pages go, so
 * that the mapping shows the file as it is now, as a mapping made after
 * the write must.  Dirty pages stay: they hold writes not yet saved.
 */
static void follow_file_change(struct um_cache *c, const struct stat *st)
{
    uint64_t now = um_store_stamp(st), was = __atomic_exchange_n(c->stamp, now, __ATOMIC_ACQ_REL);

    /* A stamp of 0: the objects were just made (or reset), and hold no
     * page to drop. */
    if (was != now && was != 0)
        cache_invalidate(c, 0, cache_end(c));
}

struct um_cache *cache_find_file(const struct stat *st)
{
    for (struct um_cache *c = caches; c; c = c->next)
        if (!c->anonymous && c->dev == st->st_dev && c->ino == st->st_ino)
            return c;
    return NULL;
}

bool cache_kept_elsewhere(const struct stat *st)
{
    return shared_exists(st);
}

int cache_follow_memfd(struct um_cache *c)
{
    uint64_t size;

    if (c->anonymous || !cache_memfd_size(c, &size))
        return 0;
    return follow_file_size(c, size);
}

int cache_follow_file(const struct stat *st)
{
    for (struct um_cache *c = caches; c; c = c->next)
        if (!c->anonymous && c->dev == st->st_dev && c->ino == st->st_ino &&
            follow_file_size(c, (uint64_t)st->st_size) < 0)
            return -1;
    return 0;
}

static struct um_cache *open_file_cache(struct um_pool *pool, int fd, const struct stat *st,
                                        bool needs_write, bool borrow)
{
    struct um_cache *c = find_file_cache(pool, st);
    bool created = false;

    /* A cache a file call joined, taken up by a mapping: it keeps a
     * descriptor of its own from now on. */
    if (c && !borrow && um_store_file_keep(c->store, fd) < 0) {
        um_fail(errno, "cannot keep fd %d open for the mapping: %s", fd, strerror(errno));
        return NULL;
    }
    if (c) {
        if (follow_file_size(c, (uint64_t)st->st_size) < 0)
            return NULL;
        follow_file_change(c, st);
        /* Mapped again with no other process left: what a process that
         * died since left dirty reaches the file now, as at a first
         * attach (new_file_cache). */
        if (c->is_shared && !shared_others_attached(&c->shared) &&
            shared_others_died(&c->shared) && dirty_any(&c->dirty, cache_dirty_end(c)))
            c->recovering = true;
        c->refs++;
    } else {
        c = new_file_cache(pool, fd, st, needs_write);
        if (!c)
            return NULL;
        created = true;
        c->dev = st->st_dev;
        c->ino = st->st_ino;
        c->store = borrow ? um_store_file_borrow(fd) : um_store_file_open(fd);
        if (!c->store) {
            um_fail(errno, "cannot keep fd %d open for the mapping: %s", fd, strerror(errno));
            goto fail;
        }
        /* Another process may have kept pages the file no longer holds
         * (a write(2) since): the clean ones go. */
        follow_file_change(c, st);
    }
    if (needs_write) {
        int rc = um_store_file_allow_write(c->store, fd);
        if (rc < 0) {
            um_fail(-rc, "cannot keep fd %d open for write-back: %s", fd, strerror(-rc));
            goto fail;
        }
    }
    if (created)
        link_cache(c);
    return c;
fail:
    {
        int err = errno;
        if (created)
            free_cache(c);
        else
            c->refs--;
        errno = err;
    }
    return NULL;
}

struct um_cache *cache_for_file(struct um_pool *pool, int fd, const struct stat *st,
                                bool needs_write)
{
    return open_file_cache(pool, fd, st, needs_write, false);
}

int cache_follow_write(const struct stat *st, uint64_t write_at)
{
    for (struct um_cache *c = caches; c; c = c->next)
        if (!c->anonymous && c->dev == st->st_dev && c->ino == st->st_ino &&
            follow_size_clearing(c, (uint64_t)st->st_size, write_at) < 0)
            return -1;
    return 0;
}

struct um_cache *cache_join_file(struct um_pool *pool, int fd, const struct stat *st,
                                 bool write_back)
{
    return open_file_cache(pool, fd, st, write_back, !write_back);
}

struct um_cache *cache_for_anonymous(struct um_pool *pool, size_t len)
{
    struct um_cache *c = new_anonymous_cache(pool, len);

    if (!c)
        return NULL;
    c->store = um_store_zero();
    link_cache(c);
    return c;
}

void cache_hold(struct um_cache *c)
{
    c->refs++;
}

void cache_release(struct um_cache *c)
{
    if (--c->refs > 0 || !may_free(c))
        return;
    unlink_cache(c);
    free_cache(c);
}

int cache_map_fd(const struct um_cache *c)
{
    return c->memfd;
}

uint64_t cache_size(const struct um_cache *c)
{
    return c->size;
}

uint64_t cache_end(const struct um_cache *c)
{
    return round_up(c->size, um_system_page());
}

/* Only a store a writable mapping opened for writing: the dirty pages of
 * a shared cache may be other processes', which a process that maps the
 * file read-only must leave to them (its msync succeeds, as the
 * kernel's). */
bool cache_has_store_writes(const struct um_cache *c)
{
    return !c->anonymous && c->store->writable && c->store->ops->write != NULL;
}

/* ------------------------------------------------------- whole process */

enum which_caches {
    ALL_CACHES,
    UNUSED_CACHES,          /* no mapping uses them, something is dirty */
    WRITING_CACHES,         /* shared, and this process's writing flag is up */
    SHARED_CACHES,          /* shared, whether this process writes or not */
};

static bool is_one_of(struct um_cache *c, enum which_caches which)
{
    if (which == SHARED_CACHES)
        return c->is_shared;
    if (!cache_has_store_writes(c))
        return false;
    switch (which) {
    case UNUSED_CACHES:
        return c->refs == 0 && dirty_any(&c->dirty, cache_end(c));
    case WRITING_CACHES:
        /* Alone, the flag keeps no one's pages dirty: nothing to do. */
        return c->is_shared &&
               __atomic_load_n(&c->shared.hdr->writing[c->shared.slot], __ATOMIC_RELAXED) &&
               shared_others_attached(&c->shared);
    default:
        return true;
    }
}

/* Pins the caches to write back into a list, under the shared lock. */
static size_t pin_caches(enum which_caches which, struct um_cache ***out)
{
    size_t n = 0, i = 0;
    struct um_cache **list;

    for (struct um_cache *c = caches; c; c = c->next)
        n++;
    list = n ? malloc(n * sizeof(*list)) : NULL;
    if (!list)
        return 0;
    for (struct um_cache *c = caches; c; c = c->next) {
        if (!is_one_of(c, which))
            continue;
        cache_pin(c);
        list[i++] = c;
    }
    *out = list;
    return i;
}

struct report {
    char *text;
    size_t len, cap;
};

static void report_range(void *arg, uint64_t lo, uint64_t hi)
{
    struct report *r = arg;
    int n;

    if (r->len + 64 > r->cap)
        return;
    n = snprintf(r->text + r->len, r->cap - r->len, "%s%llu-%llu", r->len ? ", " : "",
                 (unsigned long long)lo, (unsigned long long)hi - 1);
    if (n > 0)
        r->len += (size_t)n;
}

/* Says on stderr which bytes of which file usermap could not save: the
 * last word of a program that leaves with them unsaved. */
static void report_unsaved(struct um_cache *c, int err)
{
    char text[512];
    struct report r = { text, 0, sizeof(text) };

    dirty_for_each(&c->dirty, cache_end(c), report_range, &r);
    fprintf(stderr, "usermap: %s: cannot write back bytes %s%s: %s\n", c->store->name, text,
            r.len + 64 > r.cap ? " (and more)" : "", strerror(-err));
}

/* Frees the caches no mapping uses and nothing holds back (exclusive). */
static void free_unused(void)
{
    struct um_cache **p = &caches;

    while (*p) {
        struct um_cache *c = *p;

        if (may_free(c)) {
            *p = c->next;
            free_cache(c);
        } else {
            p = &c->next;
        }
    }
}

/* Writes back what the caches hold, without the library lock held on
 * entry; report: say on stderr what could not be written. */
static int flush_caches(enum which_caches which, bool report)
{
    struct um_cache **list = NULL;
    size_t n;
    int first_error = 0;

    um_lock_shared();
    n = pin_caches(which, &list);
    um_unlock();
    for (size_t i = 0; i < n; i++) {
        int rc = cache_flush(list[i], 0, cache_end(list[i]));
        if (rc < 0 && report)
            report_unsaved(list[i], rc);
        if (rc < 0 && !first_error)
            first_error = rc;
        cache_unpin(list[i]);
    }
    free(list);
    if (n && which == UNUSED_CACHES) {
        um_lock_exclusive();
        free_unused();
        um_unlock();
    }
    return first_error;
}

int cache_flush_dirty(void)
{
    return flush_caches(ALL_CACHES, false);
}

int cache_flush_unused(void)
{
    return flush_caches(UNUSED_CACHES, false);
}

int cache_flush_shared_writers(void)
{
    return flush_caches(WRITING_CACHES, false);
}

void cache_flush_at_exit(void)
{
    flush_caches(ALL_CACHES, true);
}

int cache_rewatch_all(void)
{
    for (struct um_cache *c = caches; c; c = c->next) {
        if (c->window && um_engine->watch(c->window, c->window_len, UM_TRACK_NONE, 0) < 0)
            return -errno;
        if (c->is_shared && shared_after_fork(&c->shared, true) < 0)
            return -errno;
    }
    return 0;
}

/* In the order of the locks: a cache's wb_lock (no write-back of it
 * runs), then the library lock (no fault is using its locks). */
static void leave_at_exit(struct um_cache *c)
{
    pthread_mutex_lock(&c->wb_lock);
    um_lock_exclusive();
    if (c->is_shared) {
        __atomic_store_n(&c->is_shared, false, __ATOMIC_RELEASE);
        shared_leave(&c->shared, nothing_unsaved, c);
    }
    um_unlock();
    pthread_mutex_unlock(&c->wb_lock);
}

void cache_before_fork(void)
{
    for (struct um_cache *c = caches; c; c = c->next)
        if (c->is_shared)
            shared_before_fork(&c->shared);
}

void cache_after_fork_in_parent(void)
{
    for (struct um_cache *c = caches; c; c = c->next)
        if (c->is_shared)
            shared_after_fork(&c->shared, false);
}

void cache_leave_all_at_exit(void)
{
    struct um_cache **list = NULL;
    size_t n;

    um_lock_shared();
    n = pin_caches(SHARED_CACHES, &list);
    um_unlock();
    for (size_t i = 0; i < n; i++) {
        leave_at_exit(list[i]);
        cache_unpin(list[i]);
    }
    free(list);
}

void cache_flush_recovered(struct um_cache *c)
{
    /* Kept for a later mapping that can write, if this one cannot. */
    if (cache_has_store_writes(c) && __atomic_exchange_n(&c->recovering, false, __ATOMIC_ACQ_REL))
        cache_flush(c, 0, cache_dirty_end(c));
}

