/* SPDX-License-Identifier: MIT */
/*
 * flusher.c - see flusher.h.
 *
 * An eventfd carries the requests: writing to it is async-signal-safe, so
 * in-thread faults (served in a SIGBUS handler) can ask too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "error.h"
#include "flusher.h"
#include "thread.h"

/* How often shared caches this process writes are written back without
 * being asked: until then, other processes keep the pages dirty. */
#define FLUSHER_PERIOD_MS 5000

static int requests = -1;
static uint64_t passes;

static void *flusher_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    uint64_t n;

    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int ready = poll(&p, 1, FLUSHER_PERIOD_MS);
        ssize_t got;

        if (ready == 0) {
            cache_flush_shared_writers();
            continue;
        }
        got = ready < 0 ? -1 : read(fd, &n, sizeof(n));
        if (got < 0 && errno == EINTR)
            continue;
        if (got != sizeof(n))
            return NULL;
        cache_flush_dirty();
        __atomic_add_fetch(&passes, 1, __ATOMIC_RELEASE);
    }
}

int flusher_start(void)
{
    struct um_thread thread;
    int err;

    /* In a forked child the parent's descriptor is shared: a new one. */
    if (requests >= 0)
        close(requests);
    requests = eventfd(0, EFD_CLOEXEC);
    if (requests < 0)
        return um_fail(errno, "cannot make the flusher's eventfd: %s", strerror(errno));
    /* The flusher runs as long as the process: never joined. */
    err = um_thread_start(&thread, flusher_main, (void *)(intptr_t)requests);
    if (err) {
        close(requests);
        requests = -1;
        return um_fail(err, "cannot start usermap's flusher thread: %s", strerror(err));
    }
    return 0;
}

void flusher_kick(void)
{
    uint64_t one = 1;
    int saved = errno;

    if (requests >= 0 && write(requests, &one, sizeof(one)) < 0)
        errno = saved;
    errno = saved;
}

bool flusher_running(void)
{
    return requests >= 0;
}

uint64_t flusher_passes(void)
{
    return __atomic_load_n(&passes, __ATOMIC_ACQUIRE);
}

void flusher_wait(uint64_t seen, unsigned ms)
{
    struct timespec tick = { 0, 1000000 };

    for (unsigned i = 0; i < ms && flusher_passes() <= seen; i++)
        nanosleep(&tick, NULL);
}
