/* SPDX-License-Identifier: MIT */
/*
 * ipc_writer - one of the classic pair of processes that talk through a
 * file both map MAP_SHARED (ipc_reader is the other).
 *
 *   ipc_writer FILE MODE [TO_READER FROM_READER]
 *
 * Creates FILE, 4 KiB of zeros, maps it MAP_SHARED and stores 'W' at byte
 * 0; nothing is ever msync'd.  Then, by MODE:
 *
 *   talk   tells the reader (a line on the FIFO TO_READER), waits for its
 *          answer on FROM_READER, prints byte 1 (where the reader stored
 *          'R'), lets the reader go on, unmaps and exits;
 *   hold   tells the reader, waits for its answer and exits (the reader
 *          read(2)s the file meanwhile);
 *   kill, abort, _exit
 *          dies right after the store: SIGKILL, abort() or _exit(0);
 *   fork   a forked child makes the store and leaves with _exit(0); the
 *          parent waits for it and leaves with _exit(0) too.
 *
 * The store must reach the file however the writer ends: the page cache
 * holds it, not the process.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc_pair.h"

static char *create_and_map(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, SIZE) < 0) {
        perror(path);
        return NULL;
    }
    return map_shared(fd);
}

static void store(char *p)
{
    p[0] = 'W';
    printf("writer: stored W at byte 0\n");
    fflush(stdout); /* the ways of dying below flush nothing */
}

/* The child stores and leaves without exit handlers; so does the parent. */
static int store_in_child(char *p)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        store(p);
        _exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "writer: the child failed\n");
        return 1;
    }
    _exit(0);
}

/* talk and hold: take turns with the reader through the two FIFOs. */
static int take_turns(char *p, int talk, const char *to_reader,
                      const char *from_reader)
{
    char b[2];
    store(p);
    if (tell(to_reader, "stored\n") < 0 || await(from_reader) < 0)
        return 1;
    if (!talk)
        return 0; /* exit without msync or munmap */
    printf("writer: byte 1 is %s\n", shown(p[1], b));
    fflush(stdout);
    if (tell(to_reader, "read\n") < 0)
        return 1;
    if (munmap(p, SIZE) < 0) {
        perror("munmap");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ipc_writer FILE MODE [TO_READER FROM_READER]\n");
        return 2;
    }
    const char *mode = argv[2];
    char *p = create_and_map(argv[1]);
    if (!p)
        return 1;
    if (strcmp(mode, "talk") == 0 || strcmp(mode, "hold") == 0) {
        if (argc < 5) {
            fprintf(stderr, "ipc_writer: %s needs the two FIFOs\n", mode);
            return 2;
        }
        return take_turns(p, strcmp(mode, "talk") == 0, argv[3], argv[4]);
    }
    if (strcmp(mode, "fork") == 0)
        return store_in_child(p);
    store(p);
    if (strcmp(mode, "kill") == 0)
        raise(SIGKILL);
    else if (strcmp(mode, "abort") == 0)
        abort();
    else if (strcmp(mode, "_exit") == 0)
        _exit(0);
    fprintf(stderr, "ipc_writer: unknown mode %s\n", mode);
    return 2;
}
