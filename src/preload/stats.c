/* SPDX-License-Identifier: MIT */
/*
 * stats.c - see stats.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <usermap.h>

#include "guard.h"
#include "real.h"
#include "stats.h"

static char *destination;       /* USERMAP_STATS, copied at load time */
static pid_t always_pid;        /* USERMAP_STATS_PID */
static bool mapped;

void stats_note_mapping(void)
{
    __atomic_store_n(&mapped, true, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void read_environment(void)
{
    const char *dest = getenv("USERMAP_STATS");
    const char *pid = getenv("USERMAP_STATS_PID");

    if (dest && *dest)
        destination = strdup(dest);
    if (pid)
        always_pid = (pid_t)strtol(pid, NULL, 10);
}

/* The report, as `usermap stat` names the counters. */
static int format(char *buf, size_t size, const struct um_stats *s)
{
    return snprintf(buf, size,
        "usermap: pid %d (%s): default pool\n"
        "  page size       %zu bytes\n"
        "  memory limit    %" PRIu64 " bytes\n"
        "  faults          %" PRIu64 "\n"
        "  pages filled    %" PRIu64 " (%" PRIu64 " ahead of a fault)\n"
        "  bytes read      %" PRIu64 "\n"
        "  bytes written   %" PRIu64 " (%" PRIu64 " pages)\n"
        "  evictions       %" PRIu64 "\n"
        "  peak resident   %" PRIu64 " bytes\n"
        "  mappings        %" PRIu64 "\n"
        "  fault time      %.1f us p50, %.1f us p99\n",
        (int)getpid(), program_invocation_short_name, s->page_size, s->memory_limit,
        s->faults, s->pages_filled, s->pages_prefetched, s->bytes_read, s->bytes_written,
        s->pages_written, s->evictions, s->peak_resident_bytes, s->mappings,
        (double)s->fault_p50_ns / 1000.0, (double)s->fault_p99_ns / 1000.0);
}

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = um_real_write(fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

static void print_stats(void)
{
    char buf[2048];
    struct um_stats s;
    int fd = STDERR_FILENO, n;

    if (um_stats(NULL, &s) < 0) {
        n = snprintf(buf, sizeof(buf), "usermap: pid %d: no statistics: %s\n",
                     (int)getpid(), um_error_message());
    } else {
        n = format(buf, sizeof(buf), &s);
    }
    if (strcmp(destination, "-") != 0) {
        fd = open(destination, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
        if (fd < 0)
            return;
    }
    write_all(fd, buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    if (fd != STDERR_FILENO)
        um_real_close(fd);
}

/* After the library's own exit handler (registered later, run earlier):
 * the counters include what exit wrote back. */
__attribute__((destructor)) static void stats_at_exit(void)
{
    bool outside;

    if (!destination)
        return;
    if (!__atomic_load_n(&mapped, __ATOMIC_RELAXED) && getpid() != always_pid)
        return;
    outside = guard_enter();
    print_stats();
    if (outside)
        guard_leave();
}
