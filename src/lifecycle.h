/*
 * lifecycle.h - what the library sets up once, and what it must do around
 * fork() and exit(): the library lock, the engine, the page size.
 */
#ifndef USERMAP_LIFECYCLE_H
#define USERMAP_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"

/*
 * Starts usermap on first use: the engine, fork and exit handlers.
 * Returns the engine, or NULL with errno and um_error_message() set.
 */
const struct um_engine *um_start(void);

/* The running engine; only valid after um_start() succeeded. */
extern const struct um_engine *um_engine;

/*
 * Whether this process forked, or is a child forked from a usermap
 * process.  Its writes to shared file pages are then tracked
 * synchronously: the dirty map the processes share must know of them
 * before they land, since a child may leave with _exit() and never write
 * back itself, and either may drop clean pages the other wrote.
 */
bool um_has_forked(void);

/* The system's page size. */
size_t um_system_page(void);

/*
 * The library lock.  Exclusive for changes to the region table and the
 * caches (API calls), shared for serving faults.
 */
void um_lock_exclusive(void);
void um_lock_shared(void);
void um_unlock(void);

#endif
