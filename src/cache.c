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
#include "error.h"
#include "evict.h"
#include "lifecycle.h"
#include "pagemap.h"
#include "pool.h"
#include "prefetch.h"
#include "ranges.h"
#include "readahead.h"
#include "region.h"
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

static void free_cache(struct um_cache *c)
{
    prefetch_forget(c->pool, c);
    evict_forget(c->pool, c);
    readahead_destroy(&c->readahead);
    claims_destroy(&c->claims);
    stat_sub(&c->pool->counters.resident, c->resident);
    unmap_window(c);
    if (c->memfd >= 0)
        close(c->memfd);
    if (c->store)
        c->store->ops->close(c->store);
    free(c);
}

static struct um_cache *new_cache(struct um_pool *pool, const char *name, uint64_t size,
                                  bool anonymous)
{
    struct um_cache *c = calloc(1, sizeof(*c));
    char label[64];

    if (!c) {
        um_fail(ENOMEM, "out of memory for a page cache");
        return NULL;
    }
    c->refs = 1;
    c->pool = pool;
    c->anonymous = anonymous;
    c->size = size;
    c->page_size = pool->cfg.page_size;
    readahead_init(&c->readahead);
    claims_init(&c->claims);
    snprintf(label, sizeof(label), "usermap:%s", name);
    c->memfd = memfd_create(label, MFD_CLOEXEC);
    if (c->memfd < 0) {
        um_fail(errno, "cannot create the page cache (memfd_create): %s", strerror(errno));
        goto fail;
    }
    if (ftruncate(c->memfd, (off_t)size) < 0) {
        um_fail(errno, "cannot size the page cache to %llu bytes: %s",
                (unsigned long long)size, strerror(errno));
        goto fail;
    }
    if (map_window(c, round_up(size, um_system_page())) < 0)
        goto fail;
    return c;
fail:
    {
        int err = errno;
        free_cache(c);
        errno = err;
    }
    return NULL;
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

static struct um_cache *find_file_cache(struct um_pool *pool, const struct stat *st)
{
    for (struct um_cache *c = caches; c; c = c->next)
        if (!c->anonymous && c->pool == pool && c->dev == st->st_dev && c->ino == st->st_ino)
            return c;
    return NULL;
}

/*
 * The file changed size since the cache was made (a write(2) or truncate
 * by someone else).  Follow it: the memfd's size is what makes pages past
 * the end raise SIGBUS, and the old partial last page holds zeros where
 * the file now has data.
 */
static int follow_file_size(struct um_cache *c, uint64_t size)
{
    uint64_t sys = um_system_page(), old = c->size;

    if (size == old)
        return 0;
    if (size > old && old % sys)
        cache_invalidate(c, round_down(old, sys), round_up(old, sys));
    if (ftruncate(c->memfd, (off_t)size) < 0)
        return um_fail(errno, "cannot resize the page cache of %s: %s",
                       c->store->name, strerror(errno));
    c->size = size;
    if (round_up(size, sys) > c->window_len) {
        unmap_window(c);
        if (map_window(c, round_up(size, sys)) < 0)
            return -1;
    }
    return 0;
}

struct um_cache *cache_for_file(struct um_pool *pool, int fd, const struct stat *st,
                                bool needs_write)
{
    struct um_cache *c = find_file_cache(pool, st);
    bool created = false;

    if (c) {
        if (follow_file_size(c, (uint64_t)st->st_size) < 0)
            return NULL;
        c->refs++;
    } else {
        c = new_cache(pool, "file", (uint64_t)st->st_size, false);
        if (!c)
            return NULL;
        created = true;
        c->dev = st->st_dev;
        c->ino = st->st_ino;
        c->store = um_store_file_open(fd);
        if (!c->store) {
            um_fail(errno, "cannot keep fd %d open for the mapping: %s", fd, strerror(errno));
            goto fail;
        }
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

struct um_cache *cache_for_anonymous(struct um_pool *pool, size_t len)
{
    struct um_cache *c = new_cache(pool, "anonymous", len, true);

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
    if (--c->refs > 0)
        return;
    /* Pages written by another process after fork are known only by
     * their bytes: the last chance to save them is now. */
    if (c->forked)
        cache_writeback(c, 0, c->size, false);
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

bool cache_has_store_writes(const struct um_cache *c)
{
    return !c->anonymous && c->store->ops->write != NULL;
}

/* ------------------------------------------------------- whole process */

void cache_writeback_everything(void)
{
    for (struct um_cache *c = caches; c; c = c->next)
        cache_writeback(c, 0, c->size, false);
}

/* Only caches the other process can write to need comparing: with no
 * writable shared mapping, its copy of the pages stays clean. */
void cache_mark_all_forked(void)
{
    for (struct um_cache *c = caches; c; c = c->next)
        if (region_for_each(cache_has_writer, c))
            c->forked = true;
}

int cache_rewatch_all(void)
{
    for (struct um_cache *c = caches; c; c = c->next)
        if (c->window && um_engine->watch(c->window, c->window_len, UM_TRACK_NONE, 0) < 0)
            return -errno;
    return 0;
}

