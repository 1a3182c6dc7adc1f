/* SPDX-License-Identifier: MIT */
/*
 * policy.h - which of the program's mmap calls usermap takes.
 *
 * By default only MAP_SHARED and MAP_PRIVATE mappings of regular files;
 * USERMAP_ANONYMOUS=1 takes anonymous mappings too; USERMAP_PATHS, a
 * colon-separated list of fnmatch(3) patterns, keeps only files whose
 * path (as /proc/self/fd names it) matches one.  Everything else stays the
 * kernel's.  USERMAP_DEBUG=1 reports each decision on stderr.
 */
#ifndef USERMAP_PRELOAD_POLICY_H
#define USERMAP_PRELOAD_POLICY_H

#include <stdbool.h>

/* Whether usermap should serve mmap(..., flags, fd, ...). */
bool policy_takes(int flags, int fd);

/* With USERMAP_DEBUG set: one line "usermap-preload: " + the text. */
void policy_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
