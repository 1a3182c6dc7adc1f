/* SPDX-License-Identifier: MIT */
/*
 * preload_prog.c - an ordinary mmap program for the interposer's tests
 * (preload.sh): it calls mmap, pwrite, msync ... and never um_*.  Run
 * directly and under `usermap run`, its standard output must be the same;
 * "served" lines (on stderr) say whose each mapping is, from
 * /proc/self/maps: the kernel's names the file, usermap's does not.
 *
 *   preload_prog map FILE      map shared, read, store, msync, munmap
 *   preload_prog coherent FILE the same with pwrite and pread on the file
 *   preload_prog threads FILE  four threads each mapping and storing
 *   preload_prog fork FILE     a child stores through the parent's mapping
 *   preload_prog exec FILE KEEP  exec itself (map FILE), LD_PRELOAD kept or not
 *   preload_prog devices       /dev/zero and /proc/self/maps
 *   preload_prog exit N | signal N
 * With PRELOAD_PROG_CTOR=FILE it maps FILE in a constructor first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "served.h"

#define LEN 65536

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static char *map_file(const char *file, int *fdp)
{
    int fd = open(file, O_RDWR);
    char *p;

    if (fd < 0)
        die(file);
    p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        die("mmap");
    fprintf(stderr, "served %s: %s\n", file, served(p, file));
    if (fdp)
        *fdp = fd;
    else
        close(fd);
    return p;
}

static unsigned long sum(const char *p, size_t n)
{
    unsigned long s = 0;

    for (size_t i = 0; i < n; i++)
        s = s * 31 + (unsigned char)p[i];
    return s;
}

static int cmd_map(const char *file)
{
    int fd;
    char *p = map_file(file, &fd);

    printf("sum %lx\n", sum(p, LEN));
    memcpy(p + 100, "stored-by-map", 13);
    p[LEN - 1] = 'z';
    if (msync(p, LEN, MS_SYNC) < 0 || munmap(p, LEN) < 0)
        die("msync/munmap");
    close(fd);
    return 0;
}

/* The file's I/O calls and the mapping see each other (issue 9, 1). */
static int cmd_coherent(const char *file)
{
    int fd;
    char *p = map_file(file, &fd), buf[16];

    printf("sum %lx\n", sum(p, LEN));
    memcpy(p + 100, "stored-by-map", 13);
    if (pwrite(fd, "pwritten", 8, 5000) != 8)
        die("pwrite");
    printf("map sees pwrite: %.8s\n", p + 5000);
    if (pread(fd, buf, 13, 100) != 13)
        die("pread");
    printf("pread sees store: %.13s\n", buf);
    if (msync(p, LEN, MS_SYNC) < 0 || munmap(p, LEN) < 0)
        die("msync/munmap");
    close(fd);
    return 0;
}

static const char *thread_file;

static void *thread_main(void *arg)
{
    char *p = map_file(thread_file, NULL);
    int k = (int)(intptr_t)arg;

    for (int i = 0; i < 1000; i++)
        p[k * 8192 + i] = (char)('a' + k);
    msync(p, LEN, MS_SYNC);
    munmap(p, LEN);
    return NULL;
}

static int cmd_threads(const char *file)
{
    pthread_t t[4];

    thread_file = file;
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    return 0;
}

static int cmd_fork(const char *file)
{
    char *p = map_file(file, NULL);
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        memcpy(p + 300, "child-was-here", 14);
        _exit(msync(p, LEN, MS_SYNC) == 0 ? 0 : 1);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || status != 0)
        die("child");
    printf("parent sees: %.14s\n", p + 300);
    return munmap(p, LEN);
}

/* Execs itself to map FILE, with LD_PRELOAD or without it. */
static int cmd_exec(char *self, char *file, const char *keep)
{
    char *args[] = { self, "map", file, NULL };

    if (strcmp(keep, "0") == 0)
        unsetenv("LD_PRELOAD");
    execv("/proc/self/exe", args);
    die("execv");
    return 1;
}

static int cmd_devices(void)
{
    int zero = open("/dev/zero", O_RDWR), proc = open("/proc/self/maps", O_RDONLY);
    char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
    void *q;

    if (p == MAP_FAILED)
        die("mmap /dev/zero");
    fprintf(stderr, "served /dev/zero: %s\n", served(p, "/dev/zero"));
    p[10] = 1;
    printf("/dev/zero: %d %d\n", p[9], p[10]);
    q = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, proc, 0);
    printf("/proc/self/maps: %s\n", q == MAP_FAILED ? strerror(errno) : "mapped");
    return 0;
}

__attribute__((constructor)) static void map_in_constructor(void)
{
    const char *file = getenv("PRELOAD_PROG_CTOR");

    if (file) {
        char *p = map_file(file, NULL);

        printf("constructor sum %lx\n", sum(p, LEN));
        munmap(p, LEN);
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "map") == 0)
        return cmd_map(argv[2]);
    if (argc == 3 && strcmp(argv[1], "coherent") == 0)
        return cmd_coherent(argv[2]);
    if (argc == 3 && strcmp(argv[1], "threads") == 0)
        return cmd_threads(argv[2]);
    if (argc == 3 && strcmp(argv[1], "fork") == 0)
        return cmd_fork(argv[2]);
    if (argc == 4 && strcmp(argv[1], "exec") == 0)
        return cmd_exec(argv[0], argv[2], argv[3]);
    if (argc == 2 && strcmp(argv[1], "devices") == 0)
        return cmd_devices();
    if (argc == 3 && strcmp(argv[1], "exit") == 0)
        return atoi(argv[2]);
    if (argc == 3 && strcmp(argv[1], "signal") == 0)
        return raise(atoi(argv[2]));
    fprintf(stderr, "usage: see preload_prog.c\n");
    return 2;
}
