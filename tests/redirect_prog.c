/* SPDX-License-Identifier: MIT */
/*
 * redirect_prog.c - an ordinary mmap program, built by redirect.sh with
 * -include usermap_redirect.h as C and as C++, by each compiler, with and
 * without the feature macros and fortification a program may use.  It
 * calls mmap, pwrite, read, close ... and never um_* by name (except
 * um_mapping_stats when built with REDIRECT_USERMAP_H, which also includes
 * <usermap.h>: a program may use both headers).  Each check needs the
 * file's own calls and the mapping to see each other, and the mapping to
 * be usermap's; it prints "ok" and exits 0, or names what failed.
 *
 *   redirect_prog FILE   (FILE and FILE.copy are created)
 *
 * REDIRECT_GNU: the program defines _GNU_SOURCE itself, after the forced
 * header (g++ always does), and then also uses mremap, fallocate,
 * sync_file_range and copy_file_range.
 *
 * REDIRECT_MACROS, built without the forced header: the other way a
 * program may redirect, macros naming the um_* calls before any header.
 * glibc then declares um_mmap where it declares mmap, and usermap.h must
 * agree with every such declaration, exception specification (C++'s
 * noexcept, UM_NOTHROW) included.  (Not with _FILE_OFFSET_BITS=64, where
 * glibc's asm labels would send um_pread to its pread64.)
 */
#if defined(REDIRECT_GNU) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#ifdef REDIRECT_MACROS
#define REDIRECT_USERMAP_H
#define mmap um_mmap
#define munmap um_munmap
#define msync um_msync
#define mprotect um_mprotect
#define madvise um_madvise
#define mremap um_mremap
#define ftruncate um_ftruncate
#define truncate um_truncate
#define read um_read
#define write um_write
#define pread um_pread
#define pwrite um_pwrite
#define readv um_readv
#define writev um_writev
#define preadv um_preadv
#define pwritev um_pwritev
#define fsync um_fsync
#define fdatasync um_fdatasync
#define sync_file_range um_sync_file_range
#define fallocate um_fallocate
#define copy_file_range um_copy_file_range
#define sendfile um_sendfile
#define close um_close
#include <usermap.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>
#ifdef REDIRECT_USERMAP_H
#include <usermap.h>
#endif

#include "served.h"

#define LEN 8192

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "FAIL: %s (errno %s)\n", what, strerror(errno));
        failures++;
    }
}

/* The bytes at OFF in the file, read by pread, are S. */
static int file_has(int fd, off_t off, const char *s)
{
    char buf[32];
    size_t n = strlen(s);

    return pread(fd, buf, n, off) == (ssize_t)n && memcmp(buf, s, n) == 0;
}

/* pwrite and write are seen by the mapping, its stores by pread and read. */
static void plain_io(int fd, char *p)
{
    char buf[8];

    check(pwrite(fd, "hello", 5, 100) == 5 && memcmp(p + 100, "hello", 5) == 0,
          "pwrite seen through the mapping");
    memcpy(p + 200, "world", 5);
    check(file_has(fd, 200, "world"), "pread sees a store to the mapping");
    check(lseek(fd, 300, SEEK_SET) == 300 && write(fd, "abc", 3) == 3 &&
              memcmp(p + 300, "abc", 3) == 0,
          "write seen through the mapping");
    check(lseek(fd, 200, SEEK_SET) == 200 && read(fd, buf, 5) == 5 &&
              memcmp(buf, "world", 5) == 0,
          "read sees a store to the mapping");
}

static void vectored_io(int fd, char *p)
{
    char a[2], b[2];
    char ab[] = "ab", cd[] = "cd";
    struct iovec out[2] = {{ab, 2}, {cd, 2}};
    struct iovec in[2] = {{a, 2}, {b, 2}};

    check(pwritev(fd, out, 2, 400) == 4 && memcmp(p + 400, "abcd", 4) == 0,
          "pwritev seen through the mapping");
    memcpy(p + 500, "vect", 4);
    check(preadv(fd, in, 2, 500) == 4 && memcmp(a, "ve", 2) == 0 && memcmp(b, "ct", 2) == 0,
          "preadv sees a store");
    check(lseek(fd, 600, SEEK_SET) == 600 && writev(fd, out, 2) == 4 &&
              memcmp(p + 600, "abcd", 4) == 0,
          "writev seen through the mapping");
    memcpy(p + 700, "more", 4);
    check(lseek(fd, 700, SEEK_SET) == 700 && readv(fd, in, 2) == 4 &&
              memcmp(a, "mo", 2) == 0 && memcmp(b, "re", 2) == 0,
          "readv sees a store");
}

/* sendfile from the mapped file to another: the store is what is sent. */
static void copy_out(int fd, char *p, const char *copy)
{
    int out = open(copy, O_RDWR | O_CREAT | O_TRUNC, 0600);
    off_t off = 800;

    memcpy(p + 800, "sent", 4);
    check(out >= 0 && sendfile(out, fd, &off, 4) == 4 && off == 804 && file_has(out, 0, "sent"),
          "sendfile sends a store");
    check(close(out) == 0, "close of the copy");
    check(truncate(copy, 2) == 0, "truncate of the copy");
}

#ifdef MREMAP_MAYMOVE
/* Grows file and mapping; the GNU calls see the mapping. */
static char *gnu_calls(int fd, char *p, size_t *len)
{
    char *q;
    off_t from = 100, to = 900;

    check(ftruncate(fd, 2 * LEN) == 0, "ftruncate to grow");
    q = (char *)mremap(p, LEN, 2 * LEN, MREMAP_MAYMOVE);
    check(q != MAP_FAILED, "mremap");
    if (q == MAP_FAILED)
        return p;
    *len = 2 * LEN;
    check(pwrite(fd, "grown", 5, LEN + 100) == 5 && memcmp(q + LEN + 100, "grown", 5) == 0,
          "pwrite seen through the grown mapping");
    check(fallocate(fd, 0, 0, 2 * LEN) == 0, "fallocate");
    check(sync_file_range(fd, 0, 2 * LEN, SYNC_FILE_RANGE_WRITE) == 0, "sync_file_range");
    check(copy_file_range(fd, &from, fd, &to, 5, 0) == 5 && memcmp(q + 900, "hello", 5) == 0,
          "copy_file_range seen through the mapping");
    return q;
}
#endif

static void mapping_calls(char *p, size_t len)
{
    check(mprotect(p, len, PROT_READ) == 0 && mprotect(p, len, PROT_READ | PROT_WRITE) == 0,
          "mprotect");
    check(madvise(p, len, MADV_WILLNEED) == 0, "madvise");
    check(msync(p, len, MS_SYNC) == 0, "msync");
#ifdef REDIRECT_USERMAP_H
    struct um_stats st;
    check(um_mapping_stats(p, &st) == 0 && st.pages_filled > 0, "um_mapping_stats");
#endif
}

int main(int argc, char **argv)
{
    char copy[4096];
    size_t len = LEN;
    int fd = argc == 2 ? open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600) : -1;
    char *p;

    if (fd < 0 || ftruncate(fd, LEN) != 0)
        return perror("redirect_prog FILE"), 2;
    p = (char *)mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return perror("mmap"), 1;
    check(strcmp(served(p, argv[1]), "usermap") == 0, "the mapping is usermap's");
    plain_io(fd, p);
    vectored_io(fd, p);
    snprintf(copy, sizeof(copy), "%s.copy", argv[1]);
    copy_out(fd, p, copy);
#ifdef MREMAP_MAYMOVE
    p = gnu_calls(fd, p, &len);
#endif
    mapping_calls(p, len);
    check(fsync(fd) == 0 && fdatasync(fd) == 0, "fsync, fdatasync");
    check(munmap(p, len) == 0, "munmap");
    check(close(fd) == 0, "close");
    if (failures == 0)
        printf("ok\n");
    return failures != 0;
}
