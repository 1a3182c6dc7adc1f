/* SPDX-License-Identifier: MIT */
/*
 * thread.h - starting the library's own threads (fault handlers, fill
 * threads).
 */
#ifndef USERMAP_THREAD_H
#define USERMAP_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct um_thread {
    pthread_t id;
    void *stack;            /* from the library's address space */
    size_t stack_len;
};

/*
 * Starts fn(arg) on a new thread that takes no signals (they are the
 * program's) and whose stack lies in the library's reservation (never in
 * a hole the program just unmapped), and returns only once the thread runs
 * fn: a thread still starting up may hold locks inside the C library or a
 * sanitizer's allocator, and a fork() at that moment would leave them held
 * forever in the child.  Returns 0 or an errno value.
 */
int um_thread_start(struct um_thread *t, void *(*fn)(void *), void *arg);

/*
 * Called first on every thread um_thread_start() starts, when set.  The
 * LD_PRELOAD interposer sets it, so that anything those threads call
 * through another library (an allocator that maps memory) makes the
 * kernel's calls, never usermap's.  NULL in libusermap itself.
 */
extern void (*um_thread_hook)(void);

/* Waits for the thread to end and gives its stack back. */
void um_thread_join(struct um_thread *t);

#endif
