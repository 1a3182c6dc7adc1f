/* SPDX-License-Identifier: MIT */
/*
 * interpose.h - shared by the files that define the interposed calls.
 */
#ifndef USERMAP_PRELOAD_INTERPOSE_H
#define USERMAP_PRELOAD_INTERPOSE_H

#include "guard.h"
#include "real.h"

/* The interposed names are the only ones libusermap-preload.so exports
 * (preload.map); the rest of it is hidden. */
#define PRELOAD_API __attribute__((visibility("default")))

/*
 * INTERPOSE(type, um_call, real_call): the body of an interposed call,
 * the expression um_call inside the guard, real_call when this thread is
 * inside usermap already.  errno is the call's own.
 */
#define INTERPOSE(type, um_call, real_call) \
    do {                                    \
        type rc_;                           \
        if (!guard_enter())                 \
            return real_call;               \
        rc_ = um_call;                      \
        guard_leave();                      \
        return rc_;                         \
    } while (0)

#endif
