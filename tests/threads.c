/* SPDX-License-Identifier: MIT */
/*
 * threads.c - many threads faulting, writing, syncing and mapping at once.
 *
 * Four writer threads each own a stripe of the pages of one MAP_SHARED file
 * mapping and stamp every page of their stripe, reading the other stripes as
 * they go; one thread calls um_msync over the whole mapping meanwhile, and
 * one keeps mapping and unmapping other files.  Afterwards every page of the
 * file must hold its owner's stamp: no lost write, no torn fill, no hang.
 * Built for ThreadSanitizer as well as the normal build.
 *
 *   threads [shared|private|anonymous]
 *
 * private and anonymous stamp a MAP_PRIVATE mapping of the file, or
 * anonymous memory, instead: the stamps must be in memory afterwards (in
 * a pool with a budget, they went through the swap file) and the file
 * must still be all zeros.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <usermap.h>

enum { WRITERS = 4, PAGES = 4096, ROUNDS = 3 };

enum kind { SHARED, PRIVATE, ANONYMOUS };

static size_t page;
static char *map;
static int stop_flag;
static char path[] = "/tmp/usermap-threads-XXXXXX";

static int stopped(void)
{
    return __atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE);
}

static uint64_t stamp_of(int writer, int round, size_t pageno)
{
    return ((uint64_t)writer << 56) | ((uint64_t)round << 48) | pageno;
}

static void *writer_main(void *arg)
{
    int me = (int)(intptr_t)arg;
    uint64_t seen = 0;

    for (int round = 0; round < ROUNDS; round++) {
        for (size_t p = (size_t)me; p < PAGES; p += WRITERS) {
            uint64_t v = stamp_of(me, round, p);
            memcpy(map + p * page, &v, sizeof(v));
            /* Read a page of another stripe: faults race with writes. */
            seen += (unsigned char)map[((p + 1) % PAGES) * page + 100];
        }
    }
    return (void *)(uintptr_t)seen;
}

static void *syncer_main(void *arg)
{
    (void)arg;
    while (!stopped()) {
        if (um_msync(map, PAGES * page, MS_ASYNC) < 0) {
            fprintf(stderr, "msync: %s\n", um_error_message());
            return (void *)1;
        }
    }
    return NULL;
}

/* Maps, touches and unmaps a small file over and over: table changes
 * while faults are being served. */
static void *churner_main(void *arg)
{
    char tmp[] = "/tmp/usermap-churn-XXXXXX";
    int fd = mkstemp(tmp);
    void *rc = NULL;

    (void)arg;
    if (fd < 0 || ftruncate(fd, (off_t)(16 * page)) < 0)
        return (void *)1;
    unlink(tmp);
    while (!stopped() && !rc) {
        char *p = um_mmap(NULL, 16 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            fprintf(stderr, "churn mmap: %s\n", um_error_message());
            rc = (void *)1;
            break;
        }
        p[3 * page] += 1;
        if (um_munmap(p, 16 * page) < 0)
            rc = (void *)1;
    }
    close(fd);
    return rc;
}

/* Every page holds its last stamp: in the file (from_file) or in the
 * mapping; stamps 0 checks the file still holds zeros. */
static int check_stamps(int fd, bool from_file, bool stamps)
{
    for (size_t p = 0; p < PAGES; p++) {
        uint64_t v = 0, want = stamps ? stamp_of((int)(p % WRITERS), ROUNDS - 1, p) : 0;
        if (from_file && pread(fd, &v, sizeof(v), (off_t)(p * page)) != sizeof(v))
            v = ~want;
        if (!from_file)
            memcpy(&v, map + p * page, sizeof(v));
        if (v != want) {
            fprintf(stderr, "page %zu: %s holds %#llx, expected %#llx\n", p,
                    from_file ? "the file" : "the mapping", (unsigned long long)v,
                    (unsigned long long)want);
            return -1;
        }
    }
    return 0;
}

static enum kind kind_named(const char *name)
{
    if (!name || strcmp(name, "shared") == 0)
        return SHARED;
    if (strcmp(name, "private") == 0)
        return PRIVATE;
    if (strcmp(name, "anonymous") == 0)
        return ANONYMOUS;
    fprintf(stderr, "usage: threads [shared|private|anonymous]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const int flags[] = { MAP_SHARED, MAP_PRIVATE, MAP_PRIVATE | MAP_ANONYMOUS };
    enum kind kind = kind_named(argc > 1 ? argv[1] : NULL);
    pthread_t writers[WRITERS], syncer, churner;
    void *rc_sync, *rc_churn;
    int fd, failed = 0;

    page = (size_t)sysconf(_SC_PAGESIZE);
    fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, (off_t)(PAGES * page)) < 0) {
        perror("temp file");
        return 1;
    }
    map = um_mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE, flags[kind],
                  kind == ANONYMOUS ? -1 : fd, 0);
    if (map == MAP_FAILED) {
        fprintf(stderr, "um_mmap: %s\n", um_error_message());
        return 1;
    }
    pthread_create(&syncer, NULL, syncer_main, NULL);
    pthread_create(&churner, NULL, churner_main, NULL);
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&writers[i], NULL, writer_main, (void *)(intptr_t)i);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(writers[i], NULL);
    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELEASE);
    pthread_join(syncer, &rc_sync);
    pthread_join(churner, &rc_churn);
    if (rc_sync || rc_churn)
        failed = 1;
    if (kind != SHARED && check_stamps(fd, false, true) < 0)
        failed = 1;
    if (um_munmap(map, PAGES * page) < 0) {
        fprintf(stderr, "um_munmap: %s\n", um_error_message());
        failed = 1;
    }
    if (check_stamps(fd, true, kind == SHARED) < 0)
        failed = 1;
    close(fd);
    unlink(path);
    printf("threads: %s\n", failed ? "FAILED" : "ok");
    return failed;
}
