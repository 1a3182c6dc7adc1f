/* SPDX-License-Identifier: MIT */
/*
 * engine.h - the fault path: how usermap learns that a page is wanted and
 * how it puts bytes in place.
 *
 * An engine watches address ranges.  When a watched page that is not
 * present is touched, the engine calls um_fault() (fault.c) from one of its
 * handler threads; um_fault() fills the page and the engine wakes the
 * faulting thread.  Dirty tracking is part of the engine too, because it
 * is done by the same mechanism (write protection).
 *
 * One implementation today: userfaultfd (engine_uffd.c).
 */
#ifndef USERMAP_ENGINE_H
#define USERMAP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called for each written range found by collect_written(). */
typedef void (*um_range_fn)(void *arg, uintptr_t start, uintptr_t end);

/* How writes to a watched range are tracked. */
enum um_tracking {
    UM_TRACK_NONE,      /* not at all */
    UM_TRACK_ASYNC,     /* recorded by the kernel, seen by collect_written() */
    UM_TRACK_SYNC,      /* as ASYNC, and a first write faults to um_fault() */
};

/* How a watched range is watched (flags to watch()). */
enum {
    UM_WATCH_IN_THREAD = 1 << 0,  /* the faulting thread gets SIGBUS and serves
                                   * the fault itself (um_fault_in_thread) */
    UM_WATCH_MINOR = 1 << 1,      /* a page present in the memfd but not mapped
                                   * here faults too (UM_FAULT_MINOR) */
    UM_WATCH_UNPROTECTED = 1 << 2, /* track writes, but protect nothing now */
};

/* What a fault is about. */
enum um_fault_kind {
    UM_FAULT_MISSING,   /* no page behind the address */
    UM_FAULT_WRITE,     /* a first write to a write-protected page */
    UM_FAULT_MINOR,     /* the memfd has the page; this mapping does not show it */
};

struct um_engine {
    const char *name;
    /* Whether UM_TRACK_ASYNC works; without it, all present pages of a
     * written file count as dirty. */
    bool tracks_writes;
    /* Whether UM_TRACK_SYNC works; without it, pages of writable mappings
     * cannot be evicted safely. */
    bool tracks_writes_sync;

    /* Watches [addr, addr+len): missing pages fault to us, and writes are
     * tracked as asked (or as well as the kernel allows): the whole range
     * is write-protected now, unless UM_WATCH_UNPROTECTED.  Watching a
     * watched range again changes how (UM_WATCH_MINOR added, say). */
    int (*watch)(void *addr, size_t len, enum um_tracking tracking, unsigned flags);
    /* Installs len bytes from src at dst where no page is present yet;
     * pages already present are left alone.  Wakes nobody.  Returns the
     * bytes installed, or -errno. */
    long (*place)(void *dst, const void *src, size_t len);
    /* As place(), but into a MAP_SHARED mapping of the memfd watched
     * with this tracking (and in_thread): the pages enter the memfd and
     * are mapped there at once, which spares the program a second fault.
     * Tracked pages arrive write-protected, unless writable: the caller
     * recorded them dirty already (a write fault is waiting). */
    long (*place_in)(void *dst, const void *src, size_t len, enum um_tracking tracking,
                     bool in_thread, bool writable);
    /* Maps the memfd's pages into [dst, dst+len) of a private mapping
     * watched with UM_WATCH_MINOR, where nothing is mapped yet; protect:
     * write-protected (UM_TRACK_SYNC).  Wakes nobody.  0 or -errno. */
    int (*map_cached)(void *dst, size_t len, bool protect);
    /* As place(), with zero bytes. */
    long (*place_zero)(void *dst, size_t len);
    /* Makes the faulting accesses in the range fail with SIGBUS
     * (an unreadable page).  Wakes nobody. */
    int (*place_error)(void *dst, size_t len);
    /* Lets threads waiting on faults in the range retry their access. */
    int (*wake)(void *addr, size_t len);
    /* UM_TRACK_SYNC: lets writes to the range through (and wakes). */
    int (*unprotect)(void *addr, size_t len);
    /* UM_TRACK_SYNC: write-protects the range again; a write then faults
     * (UM_FAULT_WRITE) and waits for us.  0 or -errno. */
    int (*protect)(void *addr, size_t len);
    /* Reports the written pages of a range watched with tracking; with
     * reset, they are protected again before fn sees them, so that fn may
     * read their bytes and miss no later write. */
    int (*collect_written)(void *addr, size_t len, enum um_tracking tracking, bool reset,
                           um_range_fn fn, void *arg);
    /* In a child after fork(): a new engine for the child's own memory,
     * with nothing watched yet. */
    int (*restart_in_child)(void);
};

/*
 * Starts the engine usermap runs on: the first that works on this system.
 * Returns it, or NULL with um_error_message() saying why none works.
 */
const struct um_engine *um_engine_start(void);

/* The userfaultfd engine; NULL with errno and a message if unavailable. */
const struct um_engine *um_engine_uffd_start(void);

/* Serves one fault at addr; called by engines from their handler
 * threads.  write: the access that faulted was a write (as far as the
 * engine knows). */
void um_fault(uintptr_t addr, enum um_fault_kind kind, bool write);

struct um_region;

/* Fills every page of [start, end) in r that the file reaches, as faults
 * would (MADV_POPULATE_* in in-thread mode, where the kernel's own
 * accesses cannot fault to usermap).  Under the shared lock.  0 or
 * -errno. */
int um_fault_populate(const struct um_region *r, uintptr_t start, uintptr_t end);

/* Serves a fault at addr in the faulting thread (from its SIGBUS
 * handler).  False: addr is not a missing page of an in-thread mapping
 * (past the end of its file, say), and the SIGBUS is the program's. */
bool um_fault_in_thread(uintptr_t addr);

/* From the SIGBUS handler: if addr is in a page usermap marked failed
 * (place_error), clears the mark so the next access faults to usermap
 * again, and returns true.  Async-signal-safe. */
bool um_fault_forget_error(uintptr_t addr);

/* Installs the SIGBUS handler of in-thread faults and failed reads
 * (once). */
int um_engine_catch_sigbus(void);

#endif
