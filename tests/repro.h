/* SPDX-License-Identifier: MIT */
/*
 * repro.h - what the standalone reproducers (repro_*.c) share: a file
 * directory and a private cache directory, made and removed.
 */
#ifndef USERMAP_TESTS_REPRO_H
#define USERMAP_TESTS_REPRO_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The cache directory must be on tmpfs (userfaultfd needs shmem). */
static char repro_dir[] = "/tmp/usermap-repro.XXXXXX";
static char repro_cache[] = "/dev/shm/usermap-repro-cache.XXXXXX";

/* Makes both directories and points USERMAP_CACHE_DIR at the cache's. */
static void repro_start(void)
{
    if (!mkdtemp(repro_dir) || !mkdtemp(repro_cache)) {
        perror("mkdtemp");
        exit(2);
    }
    setenv("USERMAP_CACHE_DIR", repro_cache, 1);
    setvbuf(stdout, NULL, _IOLBF, 0);
}

static void repro_remove(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlinkat(dirfd(d), e->d_name, 0);
    if (d) closedir(d);
    rmdir(dir);
}

static void repro_end(void)
{
    repro_remove(repro_dir);
    repro_remove(repro_cache);
}

#endif
