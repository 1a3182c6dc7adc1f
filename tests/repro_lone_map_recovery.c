/* SPDX-License-Identifier: MIT */
/*
 * repro_lone_map_recovery.c - regression reproducer (not yet fixed in src/):
 * stores of a dead process come back over newer file data after a lone
 * map of the file through a read-only descriptor.
 *
 * Found by difftest --processes 2 --ops 300 --seed 22 (minimised):
 *
 *   w0: p = mmap(NULL, 9569, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0);
 *   w0: store(p + 3058, 6 bytes);
 *   w0: _exit(0);                          -- its stores stay in the cache
 *   w0': q = mmap(NULL, 19919, PROT_READ, MAP_SHARED|MAP_POPULATE, rofd, 0);
 *                                          -- alone: usermap's recovery point
 *   w0': pwrite(fd, 28 bytes, 3582);       -- same page as the stores
 *   (exit; a last process maps and unmaps the file alone)
 *
 * The kernel: the file holds the stores and the pwrite.  usermap: the
 * pwrite's bytes are gone.  The lone map through the read-only descriptor
 * takes the recovery (cache_flush_recovered clears c->recovering) but
 * cannot write (cache_flush returns at !cache_has_store_writes), so the
 * dead process's page stays dirty in the shared cache, whole, with the
 * bytes of before the pwrite; the next lone map through a writable
 * descriptor writes it back over the pwrite.
 *
 * The same with a MAP_PRIVATE lone map (seeds 28 and 19): its pages are
 * not written back either.  The same steps with a MAP_SHARED map through
 * a read-write descriptor pass (printed as the control).  Exit 0 when all
 * three pass, 1 otherwise.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "repro.h"
#include "usermap.h"

#define SIZE 13833 /* seed 22's file 1 */

static char path[600];

static void run(void (*fn)(int), int arg)
{
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20);
        fn(arg);
        exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "step failed: status %#x\n", st);
        exit(2);
    }
}

/* A process stores to a shared mapping and dies without writing back. */
static void store_and_die(int unused)
{
    (void)unused;
    int fd = open(path, O_RDWR);
    char *p = um_mmap(NULL, 9569, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { fprintf(stderr, "um_mmap: %s\n", um_error_message()); exit(1); }
    memset(p + 3058, 'S', 6);
    _exit(0);
}

enum how { SHARED_RDWR, SHARED_RDONLY, PRIVATE_RDWR };
static const char *const how_name[] = {
    "MAP_SHARED through a read-write descriptor",
    "MAP_SHARED through a read-only descriptor",
    "MAP_PRIVATE through a read-write descriptor"};

/* The next process maps the file alone (as HOW says), then writes 28
 * bytes into the same page with pwrite. */
static void map_then_pwrite(int how)
{
    int fd = open(path, O_RDWR), mfd = how == SHARED_RDONLY ? open(path, O_RDONLY) : fd;
    int flags = how == PRIVATE_RDWR ? MAP_PRIVATE : MAP_SHARED | MAP_POPULATE;
    char *q = um_mmap(NULL, 19919, PROT_READ, flags, mfd, 0);
    if (q == MAP_FAILED) { fprintf(stderr, "um_mmap: %s\n", um_error_message()); exit(1); }
    char buf[28];
    memset(buf, 'P', sizeof buf);
    if (pwrite(fd, buf, sizeof buf, 3582) != (ssize_t)sizeof buf) { perror("pwrite"); exit(1); }
    um_msync(q, 19919, MS_INVALIDATE); /* as POSIX asks after a write */
    um_munmap(q, 19919);
}

/* A last process maps and unmaps the file alone. */
static void last_map(int unused)
{
    (void)unused;
    int fd = open(path, O_RDWR);
    char *p = um_mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { fprintf(stderr, "um_mmap: %s\n", um_error_message()); exit(1); }
    um_munmap(p, SIZE);
}

static int attempt(int how)
{
    char buf[SIZE];
    snprintf(path, sizeof path, "%s/f", repro_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    memset(buf, 'A', sizeof buf);
    if (pwrite(fd, buf, SIZE, 0) != SIZE) { perror("pwrite"); exit(2); }
    run(store_and_die, 0);
    run(map_then_pwrite, how);
    run(last_map, 0);
    if (pread(fd, buf, SIZE, 0) != SIZE) { perror("pread"); exit(2); }
    close(fd);
    unlink(path);
    int stores = 0, written = 0;
    for (int i = 3058; i < 3064; i++) stores += buf[i] == 'S';
    for (int i = 3582; i < 3610; i++) written += buf[i] == 'P';
    int ok = stores == 6 && written == 28;
    printf("%s: lone map %s: %d/6 stored bytes, %d/28 pwrite bytes in the file"
           " (kernel: 6/6, 28/28)\n", ok ? "ok" : "FAIL", how_name[how], stores, written);
    return ok;
}

int main(void)
{
    repro_start();
    int control = attempt(SHARED_RDWR);
    int bug = attempt(SHARED_RDONLY);
    bug &= attempt(PRIVATE_RDWR);
    repro_end();
    return control && bug ? 0 : 1;
}
