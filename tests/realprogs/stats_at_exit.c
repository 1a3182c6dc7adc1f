/* SPDX-License-Identifier: MIT */
/*
 * stats_at_exit.c - linked into the programs built from source with
 * usermap_redirect.h (fromsource.sh): at exit, appends the default pool's
 * counters to $REALPROGS_STATS in the format of `usermap run --stats`, so
 * that realprogs.sh checks the same way that usermap served the mappings.
 * Test code, not part of the program: the program's own source is not
 * changed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <usermap.h>

__attribute__((destructor)) static void realprogs_stats_at_exit(void)
{
    const char *file = getenv("REALPROGS_STATS");
    struct um_stats s;
    FILE *f;

    if (!file || um_stats(NULL, &s) < 0 || (s.mappings == 0 && s.pages_filled == 0))
        return;
    if (!(f = fopen(file, "a")))
        return;
    fprintf(f, "usermap: pid %d (redirect build): default pool\n"
               "  memory limit    %" PRIu64 " bytes\n"
               "  pages filled    %" PRIu64 " (%" PRIu64 " ahead of a fault)\n"
               "  evictions       %" PRIu64 "\n"
               "  peak resident   %" PRIu64 " bytes\n",
            (int)getpid(), s.memory_limit, s.pages_filled, s.pages_prefetched,
            s.evictions, s.peak_resident_bytes);
    fclose(f);
}
