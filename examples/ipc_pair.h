/* SPDX-License-Identifier: MIT */
/*
 * ipc_pair.h - what ipc_writer and ipc_reader share: their 4 KiB mapping,
 * and taking turns by one line through a named pipe (FIFO) made by the
 * script that runs them.
 *
 * Opening a FIFO blocks until the other end is opened too, and reading it
 * blocks until the peer writes: so "tell" and "await" order the two
 * processes' steps exactly, with no sleep.
 */
#ifndef IPC_PAIR_H
#define IPC_PAIR_H

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SIZE 4096

/* Map SIZE bytes of the file open as FD MAP_SHARED, read-write, and close
 * FD (the mapping stays).  NULL after perror. */
static char *map_shared(int fd)
{
    char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        perror("mmap");
        return NULL;
    }
    return p;
}

/* Write the line WHAT to the FIFO at PATH.  Returns 0, or -1 after perror. */
static int tell(const char *path, const char *what)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0) {
        perror(path);
        return -1;
    }
    ssize_t n = write(fd, what, strlen(what));
    close(fd);
    if (n != (ssize_t)strlen(what)) {
        perror("write to the FIFO");
        return -1;
    }
    return 0;
}

/* Wait for a line on the FIFO at PATH.  Returns 0, or -1 after a message
 * when the peer closed it without a word (it died). */
static int await(const char *path)
{
    char buf[64];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror(path);
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n <= 0) {
        fprintf(stderr, "%s: the other process went away\n", path);
        return -1;
    }
    return 0;
}

/* A byte as the scripts compare it: the character, or "NUL". */
static const char *shown(char c, char buf[2])
{
    if (c == '\0')
        return "NUL";
    buf[0] = c;
    buf[1] = '\0';
    return buf;
}

#endif /* IPC_PAIR_H */
