/* SPDX-License-Identifier: MIT */
/*
 * repro_sync_kept_dirty.c - regression reproducer (not yet fixed in src/):
 * a page written back by msync(MS_SYNC) while another process may write
 * the file's pages is written back again later, over a pwrite that came
 * in between (with msync(MS_INVALIDATE) after it, as POSIX asks).
 *
 * Found by difftest --processes 2 --ops 300 --seed 23 (minimised):
 *
 *   A: p = mmap(NULL, 79592, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0);
 *   A: stores into page 6 of the file (there: a pread into p + 23199)
 *   B: q = mmap(NULL, 57344, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 53248);
 *   B: store(q + 46591, 3 bytes)           -- B's writing flag is up
 *   A: msync(p, MS_SYNC); B: msync(q, MS_SYNC)   -- POSIX, before the write
 *   B: pwrite(fd, 60 bytes, 26078)         -- page 6
 *   A, B: msync(MS_INVALIDATE)             -- POSIX, after the write
 *   (both unmap and exit)
 *
 * The kernel: the file holds the pwrite.  usermap: page 6 as A left it,
 * the pwrite's bytes gone.  Likely cause: cache_flush keeps the pages it
 * writes dirty while shared_others_writing() (B's flag is up), so page 6
 * stays dirty after A's MS_SYNC; MS_INVALIDATE does not drop a dirty
 * page, and the page is written again at the next write-back (B's or A's
 * munmap or exit), with the bytes of before the pwrite.
 *
 * Without B's store (no writing flag up) the pwrite survives.
 *
 * Exit 0 when the file holds the pwrite, 1 otherwise.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "repro.h"
#include "usermap.h"

#define SIZE 538553 /* seed 23's file 2 */

static char path[600];

/* A child that runs steps 1, 2, ... of FN, one per byte read from IN,
 * answering each on OUT. */
struct proc { pid_t pid; int in, out; };

static struct proc start(void (*fn)(int step))
{
    int down[2], up[2];
    struct proc p;
    if (pipe(down) || pipe(up)) { perror("pipe"); exit(2); }
    p.pid = fork();
    if (p.pid == 0) {
        char c;
        alarm(20);
        close(down[1]);
        close(up[0]);
        while (read(down[0], &c, 1) == 1) {
            fn(c);
            if (write(up[1], &c, 1) != 1) break;
        }
        exit(0); /* exit: usermap writes back at exit */
    }
    close(down[0]);
    close(up[1]);
    p.in = up[0];
    p.out = down[1];
    return p;
}

static void step(struct proc *p, char n)
{
    char c;
    if (write(p->out, &n, 1) != 1 || read(p->in, &c, 1) != 1) {
        fprintf(stderr, "step %d: the child died\n", n);
        exit(2);
    }
}

static void finish(struct proc *p)
{
    int st;
    close(p->out);
    waitpid(p->pid, &st, 0);
    close(p->in);
}

static int fd;
static char *map;

static char *map_at(size_t len, off_t off)
{
    fd = open(path, O_RDWR);
    char *m = um_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
    if (m == MAP_FAILED) { fprintf(stderr, "um_mmap: %s\n", um_error_message()); exit(1); }
    return m;
}

static void a_steps(int n)
{
    switch (n) {
    case 1: map = map_at(79592, 0); memset(map + 23199, 'A', 1825); break;
    case 2: um_msync(map, 79592, MS_SYNC); break;
    case 3: um_msync(map, 79592, MS_INVALIDATE); break;
    default: um_munmap(map, 79592); break;
    }
}

static void b_steps(int n)
{
    char buf[60];
    switch (n) {
    case 1: map = map_at(57344, 53248); memset(map + 46591, 'B', 3); break;
    case 2: um_msync(map, 57344, MS_SYNC); break;
    case 3:
        memset(buf, 'P', sizeof buf);
        if (pwrite(fd, buf, sizeof buf, 26078) != (ssize_t)sizeof buf) exit(1);
        um_msync(map, 57344, MS_INVALIDATE);
        break;
    default: um_munmap(map, 57344); break;
    }
}

int main(void)
{
    static char buf[SIZE];
    repro_start();
    snprintf(path, sizeof path, "%s/f", repro_dir);
    int f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    memset(buf, '.', sizeof buf);
    if (pwrite(f, buf, SIZE, 0) != SIZE) { perror("pwrite"); return 2; }

    struct proc a = start(a_steps), b = start(b_steps);
    step(&a, 1);    /* A stores to pages 5 and 6 */
    step(&b, 1);    /* B stores to page 24: its writing flag goes up */
    step(&a, 2);    /* POSIX before B's pwrite: both msync(MS_SYNC) */
    step(&b, 2);
    step(&b, 3);    /* B's pwrite into page 6, then MS_INVALIDATE */
    step(&a, 3);    /* A's MS_INVALIDATE */
    step(&b, 4);    /* both unmap and exit */
    finish(&b);
    step(&a, 4);
    finish(&a);

    if (pread(f, buf, SIZE, 0) != SIZE) { perror("pread"); return 2; }
    int written = 0;
    for (int i = 26078; i < 26138; i++) written += buf[i] == 'P';
    printf("%s: %d/60 bytes of the pwrite in the file (kernel: 60/60); A's %c, B's %c\n",
           written == 60 ? "ok" : "FAIL", written, buf[23199], buf[53248 + 46591]);
    repro_end();
    return written == 60 ? 0 : 1;
}
