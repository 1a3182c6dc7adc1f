/* SPDX-License-Identifier: MIT */
/*
 * lifecycle.c - starting usermap on first use, and keeping its promises
 * across fork() and exit().
 *
 * fork: userfaultfd registrations do not survive into the child, so the
 * child handler opens a new engine and watches every region again before
 * the child's own code runs; the library lock is held across fork() so the
 * child inherits consistent tables.
 *
 * exit: dirty shared pages must reach their files, as the kernel's
 * mappings would; an atexit handler writes them back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "usermap.h"
#include "cache.h"
#include "error.h"
#include "flusher.h"
#include "lifecycle.h"
#include "pool.h"
#include "private.h"
#include "region.h"
#include "shared_recover.h"

const struct um_engine *um_engine;

static pthread_rwlock_t library_lock;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static bool started, lock_ready;
static int start_errno;
static char start_message[256];
static size_t system_page;

/* Known before anything else runs: argument checks need it before the
 * engine starts. */
__attribute__((constructor)) static void learn_system_page(void)
{
    system_page = (size_t)sysconf(_SC_PAGESIZE);
}

size_t um_system_page(void)
{
    return system_page;
}

/* Writers first: a program that faults constantly must not keep munmap
 * and msync waiting forever. */
static void init_library_lock(void)
{
    pthread_rwlockattr_t attr;

    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&library_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
}

void um_lock_exclusive(void)
{
    pthread_rwlock_wrlock(&library_lock);
}

void um_lock_shared(void)
{
    pthread_rwlock_rdlock(&library_lock);
}

void um_unlock(void)
{
    pthread_rwlock_unlock(&library_lock);
}

static int collect_region(void *arg, const struct um_region *r)
{
    (void)arg;
    if (region_writes_back(r))
        cache_collect(r->cache, r->offset, region_offset_of(r, r->end));
    return 0;
}

/* The dirty map learns what the page tables know, before there are two
 * processes whose page tables no one else can read.  (First writes mark
 * it themselves; this is for kernels where they cannot fault.) */
static void before_fork(void)
{
    um_lock_exclusive();
    region_for_each(collect_region, NULL);
    private_before_fork();
    cache_before_fork();
}

static void after_fork_in_parent(void)
{
    cache_after_fork_in_parent();
    private_after_fork(false);
    um_unlock();
}

static int rewatch_region(void *arg, const struct um_region *r)
{
    (void)arg;
    return region_watch(r) < 0 ? -errno : 0;
}

static int unmap_region(void *arg, const struct um_region *r)
{
    (void)arg;
    munmap((void *)r->start, r->end - r->start);
    return 0;
}

/*
 * The child has one thread, and a copy of a lock its parent's thread held:
 * make a fresh lock rather than unlock a copy owned by another thread id.
 * If the child cannot be given an engine, its unfilled pages would read as
 * zeros: its mappings are taken away instead, so that touching them is a
 * SIGSEGV, not silently wrong data.
 */
static void after_fork_in_child(void)
{
    init_library_lock();
    pool_reset_all_in_child();
    private_after_fork(true);
    if (um_engine->restart_in_child() < 0 || flusher_start() < 0 || cache_rewatch_all() < 0 ||
        region_for_each(rewatch_region, NULL) < 0) {
        region_for_each(unmap_region, NULL);
        region_remove_range(0, UINTPTR_MAX, NULL);
    }
}

/* Without the lock: write-back takes it only between its I/O. */
static void at_exit(void)
{
    cache_flush_at_exit();
    cache_leave_all_at_exit();
}

const struct um_engine *um_start(void)
{
    const struct um_engine *engine;

    if (__atomic_load_n(&started, __ATOMIC_ACQUIRE))
        return um_engine;
    /* A failure is not remembered: what made it (no descriptor left, say)
     * may be gone at the next call, which tries again. */
    pthread_mutex_lock(&start_lock);
    if (!started) {
        if (!lock_ready) {
            init_library_lock();
            lock_ready = true;
        }
        engine = flusher_running() || flusher_start() == 0 ? um_engine_uffd_start() : NULL;
        if (engine) {
            um_engine = engine;
            pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
            atexit(at_exit);
            /* Stores that processes which died left in shared caches
             * reach their files before this one maps anything. */
            shared_sweep();
            __atomic_store_n(&started, true, __ATOMIC_RELEASE);
        } else {
            start_errno = errno;
            snprintf(start_message, sizeof(start_message), "%s", um_error_message());
        }
    }
    pthread_mutex_unlock(&start_lock);
    if (!started) {
        um_fail(start_errno, "%s", start_message);
        return NULL;
    }
    return um_engine;
}
