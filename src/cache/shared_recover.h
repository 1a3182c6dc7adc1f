/* SPDX-License-Identifier: MIT */
/*
 * shared_recover.h - the shared caches of shared.h taken by name, with
 * no cache of this process involved: listing them, and writing back and
 * removing those no live process is attached to (orphans, left by
 * processes that died with stores not yet written).
 *
 * Lock order is shared.c's: a state object is opened by name, its gate
 * taken, and only then is it checked to be still named (a leaving
 * process may have removed it in between).  Everything else about the
 * cache is read under the gate.
 */
#ifndef USERMAP_SHARED_RECOVER_H
#define USERMAP_SHARED_RECOVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "usermap.h"

/* Calls fn(arg, dir_fd, name) for each DEV-INO with a state object in
 * the cache directory open at dir_fd; stops at fn's first nonzero
 * return, which it returns.  0, or -1 with errno when the directory
 * cannot be read. */
int shared_for_each(int dir_fd, int (*fn)(void *arg, int dir_fd, const char *name), void *arg);

/* Describes the cache name (waits for its gate): its file, size,
 * resident and dirty bytes, the processes attached.  0, or -1 with errno
 * when it is gone or is no cache of this version. */
int shared_describe(int dir_fd, const char *name, struct um_cache_info *out);

enum shared_outcome {
    SHARED_GONE,        /* no such cache (any more) */
    SHARED_BUSY,        /* processes attached, or the gate taken */
    SHARED_FOREIGN,     /* made by another version of usermap: left alone */
    SHARED_WRITTEN,     /* dirty pages written to the file, objects removed */
    SHARED_DROPPED,     /* the file is deleted or replaced: objects removed */
    SHARED_FAILED,      /* a write failed: objects kept (err) */
};

struct shared_report {
    enum shared_outcome outcome;
    int err;                    /* SHARED_FAILED: the errno */
    int processes;              /* SHARED_BUSY: live processes (0: gate busy) */
    pid_t pid;                  /* ... the first of them */
    uint64_t dirty;             /* bytes written, or dropped */
    char path[4096];            /* the file, as the header names it */
};

/*
 * Recovers the cache name if no live process is attached: under its
 * gate (wait: block for it; else give up when it is taken), writes its
 * dirty and half-written pages to the file (cut at the file's size) and
 * fsyncs, or finds the file deleted or replaced; then removes the
 * objects.  A failed write keeps them.  The outcome is in *r.
 */
void shared_recover(int dir_fd, const char *name, bool wait, struct shared_report *r);

/*
 * Before a process that cannot write the file back (a read-only or
 * private mapping) attaches to its cache: recovers it if it is an
 * orphan, so that stores of dead processes reach the file now rather
 * than wait, dirty, for a writer (meanwhile a write(2) to the file would
 * be overwritten by their older pages).  Never fails; errno and
 * um_error_message() stay as they were.
 */
void shared_recover_file(const struct stat *st);

/*
 * At start-up: recovers every orphan cache whose gate is free.  Cheap
 * when the directory is empty or missing (it is never made here); never
 * fails, and leaves errno and um_error_message() as they were.
 */
void shared_sweep(void);

#endif
