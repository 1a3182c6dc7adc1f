/* SPDX-License-Identifier: MIT */
/*
 * print_file - print a file through a private, read-only mapping.
 *
 *   print_file FILE
 *
 * The classic first mmap program: map the whole file, write the mapping to
 * standard output, unmap.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct stat st;
    char *data;
    size_t done = 0;
    int fd;

    if (argc != 2) {
        fprintf(stderr, "usage: print_file FILE\n");
        return 2;
    }
    fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    if (fstat(fd, &st) < 0) {
        perror("fstat");
        return 1;
    }
    data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    close(fd);
    while (done < (size_t)st.st_size) {
        ssize_t n = write(STDOUT_FILENO, data + done, (size_t)st.st_size - done);
        if (n < 0) {
            perror("write");
            return 1;
        }
        done += (size_t)n;
    }
    if (munmap(data, (size_t)st.st_size) < 0) {
        perror("munmap");
        return 1;
    }
    return 0;
}
