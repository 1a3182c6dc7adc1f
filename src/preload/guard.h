/* SPDX-License-Identifier: MIT */
/*
 * guard.h - the interposer's recursion guard.
 *
 * Inside a usermap call made by the interposer, the same thread may come
 * back to an interposed name: through an allocator that maps memory
 * (malloc is the program's to replace), a signal handler of the program,
 * or a library usermap calls.  Usermap's own objects never do (real.h),
 * but those paths would re-enter usermap with its locks held.  So each
 * interposed call enters the guard first; a thread already inside makes
 * the real call.  usermap's own threads are inside for their whole life.
 */
#ifndef USERMAP_PRELOAD_GUARD_H
#define USERMAP_PRELOAD_GUARD_H

#include <stdbool.h>

/* Enters: true if this thread was outside usermap, and must call
 * guard_leave() after its usermap call; false if it is inside already,
 * and must make the real call. */
bool guard_enter(void);
void guard_leave(void);

#endif
