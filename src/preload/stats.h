/* SPDX-License-Identifier: MIT */
/*
 * stats.h - `usermap run --stats`: the default pool's counters, printed
 * when the program exits.
 *
 * USERMAP_STATS names where: "-" for stderr, else a file the lines are
 * appended to.  They are printed by every process that made a usermap
 * mapping, and by the process whose pid is USERMAP_STATS_PID (the one
 * `usermap run` started) whether it did or not; each block starts with
 * the process's pid and name.  A process that leaves by _exit(2) or a
 * signal prints nothing.
 */
#ifndef USERMAP_PRELOAD_STATS_H
#define USERMAP_PRELOAD_STATS_H

/* Records that this process has a usermap mapping. */
void stats_note_mapping(void);

#endif
