/* SPDX-License-Identifier: MIT */
/*
 * ipc_bench.c - usermap-ipc-bench: processes talking through a shared
 * file mapping, on the kernel's mmap and on um_mmap in the same run.
 *
 *   W7  two processes ping-pong a counter with atomics, no system call
 *       in the loop: round trips per second.
 *   W8  four processes append records to a log in one mapping (an atomic
 *       tail, then the record): records per second, and the file is
 *       checked afterwards.
 *
 *   usermap-ipc-bench [--dir DIR] [--runs 5] [--trips 200000] [--records 100000]
 *
 * Each process maps the file itself after fork, as unrelated programs
 * would.  Prints each run and the medians, and usermap/kernel ratios.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <usermap.h>

#include "common.h"

#define WRITERS 4
#define RECORD 64u

struct contender {
    const char *name;
    void *(*map)(void *, size_t, int, int, int, off_t);
    int (*unmap)(void *, size_t);
    int (*sync)(void *, size_t, int);
};

static const struct contender contenders[] = {
    { "kernel", mmap, munmap, msync },
    { "usermap", um_mmap, um_munmap, um_msync },
};

static const char *dir = "/tmp";
static int runs = 5;
static long trips = 200000, records = 100000;

static void die(const char *what)
{
    fprintf(stderr, "usermap-ipc-bench: %s: %s (%s)\n", what, strerror(errno),
            um_error_message());
    exit(1);
}

static int make_file(const char *tag, size_t len)
{
    char path[4096];
    int fd;

    snprintf(path, sizeof(path), "%s/usermap-ipc-bench-%s-%d", dir, tag, (int)getpid());
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)len) < 0)
        die(path);
    unlink(path);
    return fd;
}

static void *map_shared(const struct contender *k, int fd, size_t len)
{
    void *p = k->map(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

    if (p == MAP_FAILED)
        die("map");
    return p;
}

/* Waits until the counter has the parity of me, then bumps it. */
static void ping_pong(uint64_t *counter, unsigned me, long n)
{
    for (long i = 0; i < n; i++) {
        uint64_t want = 2 * (uint64_t)i + me;
        unsigned spins = 0;

        while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) != want)
            if (++spins % 1024 == 0)
                sched_yield();  /* two cores, maybe busy: let the other run */
        __atomic_store_n(counter, want + 1, __ATOMIC_RELEASE);
    }
}

static void wait_all(int n)
{
    for (int i = 0; i < n; i++) {
        int status;

        if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "usermap-ipc-bench: a worker failed\n");
            exit(1);
        }
    }
}

/* W7: round trips per second. */
static double w7(const struct contender *k)
{
    int fd = make_file("w7", 4096);
    uint64_t t0;
    pid_t pid;

    t0 = now_ns();
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        uint64_t *c = map_shared(k, fd, 4096);

        ping_pong(c, 1, trips);
        k->unmap(c, 4096);
        _exit(0);
    }
    {
        uint64_t *c = map_shared(k, fd, 4096);

        ping_pong(c, 0, trips);
        k->unmap(c, 4096);
    }
    wait_all(1);
    close(fd);
    return (double)trips / ((double)(now_ns() - t0) / 1e9);
}

/* A W8 record: who wrote it and its number, then filler. */
static void append(char *log, uint64_t *tail, size_t cap, unsigned who, long n)
{
    for (long i = 0; i < n; i++) {
        uint64_t at = __atomic_fetch_add(tail, RECORD, __ATOMIC_ACQ_REL);
        uint64_t rec[RECORD / 8] = { who + 1, (uint64_t)i };

        if (at + RECORD > cap)
            _exit(2);
        memcpy(log + at, rec, RECORD);
    }
}

/* Every writer's records are in the file, each once, in its order. */
static bool check_log(int fd, size_t cap)
{
    char *buf = malloc(cap);
    long next[WRITERS] = { 0 };
    bool ok = buf && pread(fd, buf, cap, 0) == (ssize_t)cap;

    for (size_t at = RECORD; ok && at < cap; at += RECORD) {
        uint64_t rec[2];

        memcpy(rec, buf + at, sizeof(rec));
        ok = rec[0] >= 1 && rec[0] <= WRITERS && (long)rec[1] == next[rec[0] - 1]++;
    }
    free(buf);
    return ok;
}

/* W8: records per second over all writers. */
static double w8(const struct contender *k)
{
    size_t cap = RECORD * (1 + (size_t)records * WRITERS);
    int fd = make_file("w8", cap);
    uint64_t t0 = now_ns(), took;

    {
        /* The tail lives in the first record slot. */
        uint64_t *tail = map_shared(k, fd, cap);

        *tail = RECORD;
        if (k->sync(tail, cap, MS_SYNC) < 0)
            die("msync");
        k->unmap(tail, cap);
    }
    t0 = now_ns();
    for (unsigned w = 0; w < WRITERS; w++) {
        pid_t pid = fork();

        if (pid < 0)
            die("fork");
        if (pid == 0) {
            char *log = map_shared(k, fd, cap);

            append(log, (uint64_t *)log, cap, w, records);
            k->unmap(log, cap);
            _exit(0);
        }
    }
    wait_all(WRITERS);
    took = now_ns() - t0;
    if (!check_log(fd, cap)) {
        fprintf(stderr, "usermap-ipc-bench: W8 (%s): the file lost records\n", k->name);
        exit(1);
    }
    close(fd);
    return (double)records * WRITERS / ((double)took / 1e9);
}

static void measure(const char *label, const char *unit, double (*work)(const struct contender *))
{
    double v[2][64], med[2];

    for (int r = 0; r < runs; r++) {
        /* Alternate who goes first, so that drift of a noisy machine
         * falls on both. */
        for (int i = 0; i < 2; i++) {
            int k = (r + i) % 2;

            v[k][r] = work(&contenders[k]);
            printf("  %s run %d %-7s %12.0f %s\n", label, r + 1, contenders[k].name, v[k][r],
                   unit);
        }
    }
    for (int k = 0; k < 2; k++)
        med[k] = bench_median(v[k], runs);
    printf("%s median: kernel %.0f, usermap %.0f %s: %.2fx kernel\n", label, med[0], med[1], unit,
           med[1] / med[0]);
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
        else if (!strcmp(argv[i], "--runs"))
            runs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--trips"))
            trips = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--records"))
            records = atol(argv[i + 1]);
        else
            break;
    }
    if (runs < 1 || runs > 64 || trips < 1 || records < 1 || argc % 2 == 0) {
        fprintf(stderr, "usage: usermap-ipc-bench [--dir DIR] [--runs 1..64] [--trips N] "
                        "[--records N]\n");
        return 2;
    }
    printf("usermap-ipc-bench: %d runs, %ld round trips, %d writers x %ld records, files in %s\n",
           runs, trips, WRITERS, records, dir);
    measure("W7 ping-pong", "round trips/s", w7);
    measure("W8 4-process log", "records/s", w8);
    return 0;
}
