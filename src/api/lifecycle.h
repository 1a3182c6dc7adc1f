/* SPDX-License-Identifier: MIT */
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
