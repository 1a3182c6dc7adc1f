/* SPDX-License-Identifier: MIT */
/*
 * private.h - the pages a MAP_PRIVATE mapping owns, in a pool with a
 * memory limit: its anonymous memory, or its copy-on-write copies of a
 * file's pages.  They count against the budget like cache pages, and
 * when evicted they are spilled to an unlinked 0600 swap file and come
 * back from it byte-exact.
 *
 * A mapping's pages are kept at offsets: the file's for copies of a file,
 * from the start of the mapping for anonymous memory.  The swap file is
 * sparse and keeps each page at its own offset, so whether a page is
 * spilled is whether the swap file has data there (SEEK_DATA).
 *
 * Counting is by usermap page.  Anonymous memory counts a page when it
 * is first filled.  Copies of a file count a page on its first write:
 * such mappings are write-protected (synchronous mode), so the write
 * faults to usermap, which counts the page and lets the write through;
 * the kernel makes the copy.  A counted page stays writable until it is
 * evicted, which protects it again (a write then waits for the eviction
 * and finds the page back from the swap file).
 *
 * Pages of a file mapping that were spilled must not be shown from the
 * memfd again: the first spill makes the mapping watch minor faults too,
 * so every page it has not mapped yet comes through usermap.
 */
#ifndef USERMAP_PRIVATE_H
#define USERMAP_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "claims.h"
#include "engine.h"

struct um_pool;
struct um_region;

struct um_private {
    int refs;                   /* region pieces that use it */
    struct um_pool *pool;
    bool anonymous;             /* zeros at first; else copies of a file */
    bool minor_watched;         /* watched for minor faults (after a spill) */
    uint64_t lo, hi;            /* the offsets the mapping covered */
    uint64_t base;              /* lo rounded down to a usermap page */
    uint64_t page_size;
    unsigned char *counted;     /* a bit per usermap page from base */
    size_t counted_len;
    uint64_t resident;          /* bytes counted */
    int swap_fd;                /* -1 until the first spill */
    int swap_fd_for_child;      /* a copy made just before fork */
    struct um_claims claims;    /* pages being counted, filled or spilled */
    struct um_private *next;    /* every set, for fork */
};

/* Whether a private mapping in pool needs its pages owned this way. */
bool private_wanted(const struct um_pool *pool);

/* The pages of a new private mapping covering offsets [lo, hi).  NULL
 * with errno and a message on failure. */
struct um_private *private_new(struct um_pool *pool, bool anonymous, uint64_t lo,
                               uint64_t hi);
void private_hold(struct um_private *p);
/* Drops a reference; the last one gives back the budget and the swap. */
void private_release(struct um_private *p);

/*
 * Serves a fault in [start, end), the usermap page around the address
 * cut to region r (which has private pages): brings pages back from the
 * swap file, fills the rest, or lets a first write through.  The caller
 * wakes the range.  0 or -errno.
 */
int private_fault(const struct um_region *r, uintptr_t start, uintptr_t end,
                  enum um_fault_kind kind);

/* Spills and drops the usermap pages [off, off+len), with one call of
 * each kind for the run; *freed says how many bytes of the budget that
 * gave back.  0, -EBUSY when a page is in use right now, or another
 * -errno. */
int private_evict(struct um_private *p, uint64_t off, uint64_t len, uint64_t *freed);

/* The program is about to drop the pages of a piece (munmap,
 * MADV_DONTNEED): forget what they held.  Exclusive lock. */
void private_forget(const struct um_region *piece);

/* Around fork: each process needs a swap file of its own. */
void private_before_fork(void);
void private_after_fork(bool in_child);

#endif
