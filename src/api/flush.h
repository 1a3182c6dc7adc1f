/* SPDX-License-Identifier: MIT */
/*
 * flush.h - writing back the file pages a range of mappings holds
 * (msync, munmap), with no lock held while the store works.
 */
#ifndef USERMAP_FLUSH_H
#define USERMAP_FLUSH_H

#include <stdint.h>

enum {
    FLUSH_WRITE = 1 << 0,       /* write dirty pages to their files */
    FLUSH_INVALIDATE = 1 << 1,  /* then drop the clean ones */
    FLUSH_SYNC = 1 << 2,        /* then make the files durable (fsync) */
};

/*
 * Does what `what` asks for the caches mapped in [start, end).  Called
 * without the library lock.  0, or -1 with errno and a message (the first
 * failure; pages that could not be written stay dirty).
 */
int flush_range(uintptr_t start, uintptr_t end, unsigned what);

/* Under the library lock: moves what the page tables of [start, end) know
 * about written pages into the caches' dirty maps, before the kernel drops
 * those page tables (munmap, MAP_FIXED, MADV_DONTNEED).  0 or -1. */
int collect_range(uintptr_t start, uintptr_t end);

/* Under the library lock, before the kernel drops the pages of [start,
 * end): anonymous private memory counted as it was filled is counted
 * out. */
void uncount_range(uintptr_t start, uintptr_t end);
/* Undoes uncount_range() where the kernel kept the pages after all. */
void recount_range(uintptr_t start, uintptr_t end);

#endif
