/* SPDX-License-Identifier: MIT */
/*
 * fileio_bench.c - usermap-fileio-bench: a file's own I/O beside its
 * mappings, on the kernel (pread, pwrite, mmap) and on usermap (um_pread,
 * um_pwrite, um_mmap) in the same run.
 *
 *   W9   LMDB's pattern: write a 4 KiB page with pwrite, read it back
 *        through a shared mapping of the file: pages per second.
 *   W10  4 KiB preads at random offsets of a file a shared mapping holds
 *        in memory (and has written): reads per second.
 *   W11  the same preads on a file no one maps: the overhead of the look
 *        for a cache on any other file.
 *
 *   usermap-fileio-bench [--dir DIR] [--runs 5] [--size 64 (MiB)] [--ops 100000]
 *
 * Prints each run, the medians and the usermap/kernel ratios.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <usermap.h>

#include "common.h"

#define PAGE 4096u

struct contender {
    const char *name;
    void *(*map)(void *, size_t, int, int, int, off_t);
    int (*unmap)(void *, size_t);
    ssize_t (*pread)(int, void *, size_t, off_t);
    ssize_t (*pwrite)(int, const void *, size_t, off_t);
};

static const struct contender contenders[] = {
    { "kernel", mmap, munmap, pread, pwrite },
    { "usermap", um_mmap, um_munmap, um_pread, um_pwrite },
};

static const char *dir = "/tmp";
static int runs = 5;
static size_t size = (size_t)64 << 20;
static long ops = 100000;

static void die(const char *what)
{
    fprintf(stderr, "usermap-fileio-bench: %s: %s (%s)\n", what, strerror(errno),
            um_error_message());
    exit(1);
}

/* A fresh file of size bytes, written (not sparse), so that reads and
 * fills cost what they cost on real data. */
static int make_file(const char *tag)
{
    char path[512];
    char *buf = malloc(1 << 20);
    int fd;

    snprintf(path, sizeof(path), "%s/usermap-fileio-bench-%s-%d", dir, tag, (int)getpid());
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || !buf)
        die("create");
    unlink(path);
    memset(buf, 'x', 1 << 20);
    for (size_t off = 0; off < size; off += 1 << 20)
        if (pwrite(fd, buf, 1 << 20, (off_t)off) != 1 << 20)
            die("fill");
    free(buf);
    return fd;
}

/* W9: pwrite a page, read it back through the mapping. */
static double w9(const struct contender *c)
{
    int fd = make_file(c->name);
    char *p = c->map(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    char page[PAGE];
    uint64_t s = READ_SEED, t0, sum = 0;

    if (p == MAP_FAILED)
        die("map");
    t0 = now_ns();
    for (long i = 0; i < ops; i++) {
        uint64_t off = (xorshift64(&s) % (size / PAGE)) * PAGE;

        memset(page, (int)(i & 0xff), sizeof(page));
        if (c->pwrite(fd, page, PAGE, (off_t)off) != PAGE)
            die("pwrite");
        if ((unsigned char)p[off + 17] != (i & 0xff))
            die("the mapping does not show the write");
        sum += (unsigned char)p[off];
    }
    t0 = now_ns() - t0;
    c->unmap(p, size);
    close(fd);
    return (double)ops / ((double)t0 / 1e9) + (double)(sum & 0);
}

/* W10 and W11: random 4 KiB preads, with a shared mapping that has
 * touched and written every page (mapped), or with none. */
static double reads(const struct contender *c, bool mapped)
{
    int fd = make_file(c->name);
    char *p = NULL, page[PAGE];
    uint64_t s = READ_SEED, t0;

    if (mapped) {
        p = c->map(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            die("map");
        for (size_t off = 0; off < size; off += PAGE)
            p[off] = 'y';
    }
    t0 = now_ns();
    for (long i = 0; i < ops; i++) {
        uint64_t off = (xorshift64(&s) % (size / PAGE)) * PAGE;

        if (c->pread(fd, page, PAGE, (off_t)off) != PAGE)
            die("pread");
        if (mapped && page[0] != 'y')
            die("pread does not show the mapping's store");
    }
    t0 = now_ns() - t0;
    if (mapped)
        c->unmap(p, size);
    close(fd);
    return (double)ops / ((double)t0 / 1e9);
}

static void run_workload(const char *name, const char *unit, int w)
{
    double got[2][64], med[2];

    for (int r = 0; r < runs; r++) {
        for (int c = 0; c < 2; c++) {
            got[c][r] = w == 9 ? w9(&contenders[c]) : reads(&contenders[c], w == 10);
            printf("%-4s run %d %-8s %12.0f %s\n", name, r + 1, contenders[c].name, got[c][r],
                   unit);
        }
    }
    for (int c = 0; c < 2; c++)
        med[c] = bench_median(got[c], runs);
    printf("%-4s median kernel %12.0f  usermap %12.0f %s  usermap/kernel %.2fx\n", name, med[0],
           med[1], unit, med[1] / med[0]);
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
        else if (!strcmp(argv[i], "--runs"))
            runs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--size"))
            size = (size_t)strtoull(argv[i + 1], NULL, 0) << 20;
        else if (!strcmp(argv[i], "--ops"))
            ops = atol(argv[i + 1]);
        else
            argc = 0;
    }
    if (argc == 0 || runs < 1 || runs > 64 || size < PAGE || ops < 1) {
        fprintf(stderr, "usage: usermap-fileio-bench [--dir DIR] [--runs 5] [--size MiB] "
                        "[--ops 100000]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    run_workload("W9", "pwrite+load/s", 9);
    run_workload("W10", "preads/s", 10);
    run_workload("W11", "preads/s", 11);
    return 0;
}
