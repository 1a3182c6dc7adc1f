/* SPDX-License-Identifier: MIT */
/*
 * fileio.h - one file call's way to a file's cache (fileio.c), shared by
 * the calls that read, write, sync and copy.
 */
#ifndef USERMAP_FILEIO_H
#define USERMAP_FILEIO_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

struct um_cache;

struct file_io {
    struct stat st;             /* the descriptor's fstat */
    struct um_cache *cache;     /* NULL: the system call alone */
    bool joined;                /* another process's cache, joined for the call */
};

/* Finds the cache of the file open at fd: this process's (pinned), or
 * another usermap process's (joined), which first takes the file's size
 * now.  io->cache is NULL for a file no usermap process caches, and for
 * anything but a regular file (io->st then says which).  Always 0. */
int fileio_open(int fd, struct file_io *io);
/* write_back: a cache joined must be able to write back (fsync). */
int fileio_open_for(int fd, struct file_io *io, bool write_back);
void fileio_join(int fd, struct file_io *io, bool write_back);
void fileio_close(struct file_io *io);

/* Every mapping of the file takes the size io->st gives.  0 or -1. */
int fileio_follow(struct file_io *io);

/* pread(2) and pwrite(2) through io's cache (the system call when it
 * has none); the write moves the end of the mappings it extends. */
ssize_t fileio_pread(int fd, void *buf, size_t count, off_t offset, struct file_io *io);
ssize_t fileio_pwrite(int fd, const void *buf, size_t count, off_t offset, struct file_io *io);

#endif
