/* SPDX-License-Identifier: MIT */
/*
 * usermap - command-line tool for libusermap.
 *
 *   usermap cat FILE...     print files through usermap mappings
 *   usermap stat FILE       scan a file through usermap and report counters
 *   usermap gen FILE SIZE   write a deterministic sample file
 *
 * Exit status: 0 on success, 1 on an error, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <usermap.h>

#include "size.h"

#define EXIT_USAGE 2

/* Writes go out in pieces so a huge mapping never turns into one giant
 * write(2) that a pipe reader could only see end to end. */
#define WRITE_CHUNK ((size_t)1 << 20)

/* gen writes 64-byte lines, each starting with its own file offset in hex,
 * so a page that lands in the wrong place is obvious in `usermap cat`. */
#define GEN_LINE 64
#define GEN_BUF ((size_t)1 << 20)

static const char usage_text[] =
    "usage: usermap cat FILE...\n"
    "       usermap stat FILE\n"
    "       usermap gen FILE SIZE     (SIZE in bytes, or with suffix K, M, G)\n"
    "       usermap help\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return EXIT_USAGE;
}

/* Failure of a usermap call: its own sentence says more than strerror. */
static int fail_um(const char *what)
{
    int err = errno;
    const char *msg = um_error_message();

    fprintf(stderr, "usermap: %s: %s\n", what, *msg ? msg : strerror(err));
    return EXIT_FAILURE;
}

/* Failure of a plain system call: um_error_message() would be stale here. */
static int fail_sys(const char *what)
{
    fprintf(stderr, "usermap: %s: %s\n", what, strerror(errno));
    return EXIT_FAILURE;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        size_t n = len < WRITE_CHUNK ? len : WRITE_CHUNK;
        ssize_t done = write(fd, buf, n);

        if (done < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += done;
        len -= (size_t)done;
    }
    return 0;
}

/* Opens FILE for reading and returns its size; -1 (errno set) on failure.
 * Anything but a regular file is refused: its st_size is not its length. */
static int open_sized(const char *path, size_t *size)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0)
        goto fail;
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        errno = ENODEV;
        goto fail;
    }
    if ((uintmax_t)st.st_size > SIZE_MAX) {
        errno = EFBIG;
        goto fail;
    }
    *size = (size_t)st.st_size;
    return fd;
fail:
    close(fd);
    return -1;
}

static int cat_one(const char *path)
{
    size_t size;
    void *p;
    int fd = open_sized(path, &size);

    if (fd < 0)
        return fail_sys(path);
    if (size == 0) {            /* mmap of length 0 is EINVAL: nothing to map */
        close(fd);
        return 0;
    }
    p = um_mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);                  /* the mapping outlives the descriptor */
    if (p == MAP_FAILED)
        return fail_um(path);
    if (write_all(STDOUT_FILENO, p, size) < 0) {
        int rc = fail_sys("write");
        um_munmap(p, size);
        return rc;
    }
    if (um_munmap(p, size) < 0)
        return fail_um(path);
    return 0;
}

static int cmd_cat(int argc, char **argv)
{
    int rc = 0;

    if (argc < 1)
        return usage();
    for (int i = 0; i < argc; i++)
        if (cat_one(argv[i]) != 0)
            rc = EXIT_FAILURE;  /* go on, like cat(1), but report it */
    return rc;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads every byte of the mapping.  The sum is printed, so the compiler has
 * to keep every load, and it doubles as a checksum to compare runs. */
static uint64_t scan(const unsigned char *p, size_t size)
{
    const uint64_t *w = (const uint64_t *)(const void *)p; /* page aligned */
    size_t words = size / sizeof(uint64_t);
    uint64_t sum = 0;

    for (size_t i = 0; i < words; i++)
        sum += w[i];
    for (size_t i = words * sizeof(uint64_t); i < size; i++)
        sum += p[i];
    return sum;
}

static double mib(uint64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

/* "8950 bytes (8.7 KiB)": exact for scripts, scaled for people. */
static void print_bytes(const char *label, uint64_t bytes)
{
    static const char *unit[] = { "KiB", "MiB", "GiB", "TiB" };
    double v = (double)bytes / 1024.0;
    int u = 0;

    printf("%-14s %" PRIu64 " bytes", label, bytes);
    if (bytes >= 1024) {
        while (v >= 1024.0 && u < 3) {
            v /= 1024.0;
            u++;
        }
        printf(" (%.1f %s)", v, unit[u]);
    }
    putchar('\n');
}

static void print_stat(const char *path, size_t size, const struct um_stats *a,
                       const struct um_stats *b, double secs, uint64_t sum)
{
    printf("%-14s %s\n", "file", path);
    print_bytes("size", size);
    print_bytes("page size", b->page_size);
    printf("%-14s %" PRIu64 "\n", "faults", b->faults - a->faults);
    printf("%-14s %" PRIu64 " (%" PRIu64 " ahead of a fault)\n",
           "pages filled", b->pages_filled - a->pages_filled,
           b->pages_prefetched - a->pages_prefetched);
    print_bytes("bytes read", b->bytes_read - a->bytes_read);
    print_bytes("resident", b->resident_bytes);
    print_bytes("peak resident", b->peak_resident_bytes);
    if (b->memory_limit)
        print_bytes("memory limit", b->memory_limit);
    printf("%-14s %" PRIu64 "\n", "evictions", b->evictions - a->evictions);
    /* Percentiles cannot be subtracted: these cover the pool's life, which
     * for this tool is this one scan. */
    printf("%-14s %.1f us p50, %.1f us p99\n", "fault time",
           (double)b->fault_p50_ns / 1e3, (double)b->fault_p99_ns / 1e3);
    printf("%-14s %.3f ms\n", "elapsed", secs * 1e3);
    printf("%-14s %.1f MiB/s\n", "throughput", secs > 0 ? mib(size) / secs : 0.0);
    printf("%-14s %016" PRIx64 "\n", "checksum", sum);
}

static int cmd_stat(int argc, char **argv)
{
    struct um_stats before, after;
    uint64_t sum = 0;
    size_t size;
    double t0, secs;
    void *p = NULL;
    int fd;

    if (argc != 1)
        return usage();
    fd = open_sized(argv[0], &size);
    if (fd < 0)
        return fail_sys(argv[0]);
    if (um_stats(NULL, &before) < 0) {
        close(fd);
        return fail_um("stats");
    }
    /* The clock covers map and scan: read-ahead may start at map time. */
    t0 = now_seconds();
    if (size > 0) {
        p = um_mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return fail_um(argv[0]);
        }
        sum = scan(p, size);
    }
    secs = now_seconds() - t0;
    close(fd);
    if (um_stats(NULL, &after) < 0)
        return fail_um("stats");
    if (p && um_munmap(p, size) < 0)
        return fail_um(argv[0]);
    print_stat(argv[0], size, &before, &after, secs, sum);
    return fflush(stdout) == 0 ? 0 : fail_sys("stdout");
}

/* One line: 16 hex digits of its offset, a space, dots, a newline. */
static void gen_line(char *line, uint64_t offset)
{
    static const char hex[] = "0123456789abcdef";

    for (int i = 15; i >= 0; i--, offset >>= 4)
        line[i] = hex[offset & 15];
    line[16] = ' ';
    memcpy(line + 17, "usermap sample data", 19);
    memset(line + 36, '.', GEN_LINE - 37);
    line[GEN_LINE - 1] = '\n';
}

/* Fills buf with the content that belongs at file offset `offset`. */
static void gen_fill(char *buf, size_t len, uint64_t offset)
{
    for (size_t i = 0; i < len; i += GEN_LINE)
        gen_line(buf + i, offset + i);
}

static int gen_write(int fd, uint64_t size)
{
    char *buf = malloc(GEN_BUF);    /* GEN_BUF is a multiple of GEN_LINE */
    int rc = 0;

    if (!buf)
        return -1;
    for (uint64_t off = 0; off < size && rc == 0; off += GEN_BUF) {
        size_t n = size - off < GEN_BUF ? (size_t)(size - off) : GEN_BUF;

        gen_fill(buf, GEN_BUF, off);
        rc = write_all(fd, buf, n);
    }
    free(buf);
    return rc;
}

static int cmd_gen(int argc, char **argv)
{
    uint64_t size;
    int fd;

    if (argc != 2 || size_parse(argv[1], &size) < 0)
        return usage();
    fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail_sys(argv[0]);
    if (gen_write(fd, size) < 0) {
        int rc = fail_sys(argv[0]);
        close(fd);
        return rc;
    }
    if (close(fd) < 0)
        return fail_sys(argv[0]);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "help";

    if (strcmp(cmd, "cat") == 0)
        return cmd_cat(argc - 2, argv + 2);
    if (strcmp(cmd, "stat") == 0)
        return cmd_stat(argc - 2, argv + 2);
    if (strcmp(cmd, "gen") == 0)
        return cmd_gen(argc - 2, argv + 2);
    return usage();
}
