/* SPDX-License-Identifier: MIT */
/*
 * private_write - writes to a MAP_PRIVATE mapping never reach the file.
 *
 *   private_write FILE
 *
 * Maps FILE private and writable, changes it through the mapping (upper
 * case, and a marker at the start), prints the mapping, unmaps it, then
 * prints the file as read(2) sees it: unchanged.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void print_bytes(const char *label, const char *p, size_t len)
{
    printf("%s (%zu bytes):\n", label, len);
    fwrite(p, 1, len, stdout);
    printf("\n");
}

/* Reads len bytes from the start of fd; the mapping never moved its offset. */
static int read_all(int fd, char *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = read(fd, buf + done, len - done);
        if (n == 0)
            errno = EIO;        /* the file shrank under us */
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const char marker[] = "PRIVATE";
    struct stat st;
    size_t len;
    char *map, *buf;
    int fd;

    if (argc != 2) {
        fprintf(stderr, "usage: private_write FILE\n");
        return 2;
    }
    fd = open(argv[1], O_RDONLY);   /* a private mapping needs no write access */
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror("open");
        return 1;
    }
    len = (size_t)st.st_size;
    map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (size_t i = 0; i < len; i++)
        map[i] = (char)toupper((unsigned char)map[i]);
    memcpy(map, marker, len < strlen(marker) ? len : strlen(marker));
    print_bytes("mapping", map, len);
    if (munmap(map, len) < 0) {
        perror("munmap");
        return 1;
    }

    buf = malloc(len + 1);
    if (!buf || read_all(fd, buf, len) < 0) {
        perror("read");
        return 1;
    }
    print_bytes("file", buf, len);
    free(buf);
    close(fd);
    return 0;
}
