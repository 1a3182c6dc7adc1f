/* SPDX-License-Identifier: MIT */
/*
 * flusher.h - the thread that writes dirty pages back for eviction.
 *
 * Eviction runs inside fault handlers and takes clean pages only: a
 * write-back there could wait on a lock the faulting thread holds.  When
 * it meets dirty pages it asks the flusher, which writes them back with no
 * lock held, so that the next eviction finds them clean.
 */
#ifndef USERMAP_FLUSHER_H
#define USERMAP_FLUSHER_H

#include <stdbool.h>
#include <stdint.h>

/* Starts the thread (at start-up, and again in a forked child).  0 or -1
 * with errno and a message. */
int flusher_start(void);

/* Whether flusher_start() succeeded (in this process). */
bool flusher_running(void);

/* Asks for a pass over every cache.  Async-signal-safe. */
void flusher_kick(void);

/* Passes finished so far. */
uint64_t flusher_passes(void);

/* Waits up to ms milliseconds for a pass to finish after `seen` passes.
 * Async-signal-safe; gives up rather than wait long, since the flusher
 * may itself wait for the caller (see above). */
void flusher_wait(uint64_t seen, unsigned ms);

#endif
