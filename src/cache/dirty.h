/* SPDX-License-Identifier: MIT */
/*
 * dirty.h - which pages of a cache hold writes the store has not yet
 * accepted, in memory that every process sharing the cache sees.
 *
 * Two bits per system page (the unit the page tables report writes in):
 *   dirty      written through a mapping since it was last taken for
 *              write-back (marked before or when the write is seen);
 *   writeback  taken by a write-back that has not finished: its bytes are
 *              on their way to the store and not there yet.
 * A page with either bit set must stay in memory: evicting or dropping it
 * would lose data or let a refill read stale bytes from the store.
 *
 * The map lives in the cache's state object (shared.h), mapped MAP_SHARED,
 * so every process attached to the cache, forked or not, marks the same
 * bits.  It is sized once, for the largest file usermap maps
 * (UM_DIRTY_MAX_BYTES), and never moves: write-back reads and writes it
 * without the library lock.  Only the pages touched take memory.
 */
#ifndef USERMAP_DIRTY_H
#define USERMAP_DIRTY_H

#include <stdbool.h>
#include <stdint.h>

#include "ranges.h"

/* The largest file a cache tracks: 4 TiB. */
#define UM_DIRTY_MAX_BYTES ((uint64_t)1 << 42)

struct um_dirty {
    uint64_t *words;        /* pairs: dirty bits, writeback bits of 64 pages */
    uint64_t pages;         /* capacity, in pages */
    uint64_t map_len;
    unsigned page_shift;    /* log2 of the page size */
};

/* The bytes a map of pages of page_size bytes takes. */
uint64_t dirty_map_bytes(uint64_t page_size);

/* Maps the map of pages of page_size bytes kept in fd at offset (which
 * the caller sized).  0, or -errno. */
int dirty_init(struct um_dirty *d, uint64_t page_size, int fd, uint64_t offset);
void dirty_destroy(struct um_dirty *d);

/* Marks the pages covering the bytes [lo, hi) dirty. */
void dirty_mark(struct um_dirty *d, uint64_t lo, uint64_t hi);

/* Whether any page covering [lo, hi) is dirty or being written back. */
bool dirty_busy(const struct um_dirty *d, uint64_t lo, uint64_t hi);

/*
 * Write-back takes the dirty pages of [lo, hi): each turns from dirty to
 * writeback, and its byte range (whole pages) goes into out.
 */
void dirty_take(struct um_dirty *d, uint64_t lo, uint64_t hi, struct um_ranges *out);

/* A write-back of [lo, hi) ended: the writeback bits go; failed: the pages
 * are dirty again, to be written next time. */
void dirty_done(struct um_dirty *d, uint64_t lo, uint64_t hi, bool failed);

/* Forgets the pages wholly at or past byte from (the file shrank). */
void dirty_forget_from(struct um_dirty *d, uint64_t from, uint64_t hi);

/* Whether any page below byte hi is dirty (or being written). */
bool dirty_any(const struct um_dirty *d, uint64_t hi);

/* Calls fn for each run of dirty pages below byte hi (for reports). */
void dirty_for_each(const struct um_dirty *d, uint64_t hi,
                    void (*fn)(void *arg, uint64_t lo, uint64_t hi), void *arg);

#endif
