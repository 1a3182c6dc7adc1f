/* SPDX-License-Identifier: MIT */
/*
 * log_file - read back through a shared mapping what write(2) wrote.
 *
 *   log_file [DIR]
 *
 * Creates DIR/log.txt (DIR defaults to the current directory), writes the
 * int 900 into it with write(2), maps it MAP_SHARED and prints the int as
 * the mapping shows it.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char path[PATH_MAX];
    int value = 900;
    int *mapped;
    int fd;

    snprintf(path, sizeof(path), "%s/log.txt", argc > 1 ? argv[1] : ".");
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    if (write(fd, &value, sizeof(value)) != (ssize_t)sizeof(value)) {
        perror("write");
        return 1;
    }
    mapped = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapped == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    close(fd);
    printf("log.txt holds %d\n", *mapped);
    if (munmap(mapped, sizeof(int)) < 0) {
        perror("munmap");
        return 1;
    }
    return 0;
}
