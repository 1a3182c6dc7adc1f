/* SPDX-License-Identifier: MIT */
/*
 * ipc_reader - the other of the classic pair of processes that talk
 * through a file both map MAP_SHARED (ipc_writer creates the file).
 *
 *   ipc_reader FILE MODE [FROM_WRITER TO_WRITER]
 *
 * By MODE:
 *
 *   talk   waits for the writer's line on the FIFO FROM_WRITER, maps FILE
 *          MAP_SHARED, prints byte 0 (the writer stored 'W' there),
 *          stores 'R' at byte 1, tells the writer (TO_WRITER) and waits
 *          until it has read that byte before unmapping: both processes
 *          hold the mapping while they look at each other's stores;
 *   read   waits for the writer, reads the first two bytes of FILE with
 *          read(2) (usermap's um_read in the usermap build, through the
 *          redirect header), no mapping, prints
 *          them and tells the writer (which has not msync'd);
 *   check  maps FILE, prints its first two bytes and unmaps: the later
 *          process that looks at what a dead writer left.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ipc_pair.h"

static char *map_existing(const char *path)
{
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        perror(path);
        return NULL;
    }
    return map_shared(fd);
}

static void print_two(const char *how, const char *b)
{
    char s0[2], s1[2];
    printf("reader: %s bytes 0 and 1: %s %s\n", how, shown(b[0], s0),
           shown(b[1], s1));
    fflush(stdout);
}

static int talk(const char *path, const char *from_writer, const char *to_writer)
{
    char s[2];
    if (await(from_writer) < 0)
        return 1;
    char *p = map_existing(path);
    if (!p)
        return 1;
    printf("reader: byte 0 is %s\n", shown(p[0], s));
    p[1] = 'R';
    printf("reader: stored R at byte 1\n");
    fflush(stdout);
    if (tell(to_writer, "stored\n") < 0 || await(from_writer) < 0)
        return 1;
    return munmap(p, SIZE) < 0;
}


static int read_file(const char *path, const char *from_writer,
                     const char *to_writer)
{
    char b[2] = {0, 0};
    if (await(from_writer) < 0)
        return 1;
    int fd = open(path, O_RDONLY);
    if (fd < 0 || read(fd, b, 2) != 2) {
        perror(path);
        return 1;
    }
    close(fd);
    print_two("read(2) sees", b);
    return tell(to_writer, "done\n") < 0;
}

static int check(const char *path)
{
    char *p = map_existing(path);
    if (!p)
        return 1;
    print_two("mapped", p);
    return munmap(p, SIZE) < 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ipc_reader FILE MODE [FROM_WRITER TO_WRITER]\n");
        return 2;
    }
    if (strcmp(argv[2], "check") == 0)
        return check(argv[1]);
    if (argc < 5) {
        fprintf(stderr, "ipc_reader: %s needs the two FIFOs\n", argv[2]);
        return 2;
    }
    if (strcmp(argv[2], "talk") == 0)
        return talk(argv[1], argv[3], argv[4]);
    if (strcmp(argv[2], "read") == 0)
        return read_file(argv[1], argv[3], argv[4]);
    fprintf(stderr, "ipc_reader: unknown mode %s\n", argv[2]);
    return 2;
}
