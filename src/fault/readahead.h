/* SPDX-License-Identifier: MIT */
/*
 * readahead.h - telling sequential faults from random ones, and deciding
 * what to fill ahead.  The state lives in each cache: one stream per file,
 * like the kernel's file read-ahead.
 */
#ifndef USERMAP_READAHEAD_H
#define USERMAP_READAHEAD_H

#include <pthread.h>
#include <stdint.h>

struct um_region;

struct um_readahead {
    pthread_mutex_t lock;
    uint64_t next;          /* offset a sequential fault would hit next */
    uint64_t ahead;         /* end of what was already asked for */
    uint64_t window;        /* current window in bytes; grows while sequential */
};

void readahead_init(struct um_readahead *ra);
void readahead_destroy(struct um_readahead *ra);

/*
 * Notes a fault at cache offset off (a usermap page boundary) through
 * region r and asks for read-ahead when the faults look sequential.
 * Called with the library lock shared.
 */
void readahead_on_fault(const struct um_region *r, uint64_t off);

#endif
