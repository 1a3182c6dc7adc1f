/* SPDX-License-Identifier: MIT */
/*
 * guard.c - see guard.h.
 */
#include "guard.h"
#include "thread.h"

/* initial-exec: static TLS, read without a call that could allocate; the
 * library is loaded with the program (LD_PRELOAD), so it has some. */
static __thread bool inside __attribute__((tls_model("initial-exec")));

bool guard_enter(void)
{
    if (inside)
        return false;
    inside = true;
    return true;
}

void guard_leave(void)
{
    inside = false;
}

/* The fault handler, fill and flusher threads: inside for good. */
static void mark_library_thread(void)
{
    inside = true;
}

__attribute__((constructor)) static void install_thread_hook(void)
{
    um_thread_hook = mark_library_thread;
}
