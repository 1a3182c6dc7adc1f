/* SPDX-License-Identifier: MIT */
/*
 * usermap-floor: the least one in-thread miss can cost on this machine,
 * measured with bare system calls and none of usermap's bookkeeping
 * (docs/PERFORMANCE.md, "Latest: W4").
 *
 *   usermap-floor [--file PATH] [--reads N]
 *
 * PATH is a file whose page cache is hot (default: the 1 GiB benchmark
 * file).  A memfd the file's size stands in for a usermap cache: the
 * program's mapping is watched by a userfaultfd with UFFD_FEATURE_SIGBUS,
 * the library's window is a second mapping of the memfd.  The program
 * then does W4's reads (N random 8-byte reads, the benchmark's seed) in
 * three ways:
 *   pread   pread(2) of 8 bytes, the baseline;
 *   miss    every read of a missing page: SIGBUS, pread of 4 KiB,
 *           UFFDIO_COPY into the window, return, the access again (a
 *           minor fault maps the page); the budget (a quarter of the file)
 *           is kept FIFO with one hole punch per page, as usermap does;
 *   direct  the same, but UFFDIO_COPY into the program's own mapping,
 *           which maps the page at once (no second fault).
 * It also times each step alone on N/4 random pages (the mean), and the
 * calls usermap's own bookkeeping may add to a miss: mincore, the lseek
 * pair that counts what a punch frees, PAGEMAP_SCAN and MADV_DONTNEED
 * (CLOCK's reference bit).  Everything is done 3 times; the medians are
 * printed.  The SIGBUS figure is a difference (whole miss less its steps)
 * and is the noisiest.
 *
 * Then the floor of W1, the first-touch scan: the kernel's scan of a
 * fresh mapping of the hot file against the work usermap cannot avoid
 * for the same bytes: read them (pread, 256 KiB at a time, as its fills
 * do), install them (UFFDIO_COPY into the window) and scan them through
 * the program's mapping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../src/base/linux_compat.h"     /* PAGEMAP_SCAN, newer than the headers */
#include "common.h"

#define PAGE 4096u

static int uffd = -1, file_fd = -1, memfd = -1;
static char *prog, *window;
static uint64_t size, budget_pages;
static uint64_t *ring;                    /* resident pages, FIFO */
static uint64_t ring_head, ring_count;
static bool direct;
static char buf[PAGE] __attribute__((aligned(PAGE)));

#define ROUNDS 3
#define SCAN_CHUNK ((size_t)256 << 10)

static volatile uint64_t sink;

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Figure i of every round (rows of width figures), sorted into v. */
static void sorted_column(const double *fig, int width, int i, double v[ROUNDS])
{
    for (int r = 0; r < ROUNDS; r++)
        v[r] = fig[r * width + i];
    qsort(v, ROUNDS, sizeof(v[0]), by_value);
}

static void die(const char *what)
{
    fprintf(stderr, "usermap-floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void copy_page(uint64_t off)
{
    struct uffdio_copy c = {
        .dst = (uintptr_t)(direct ? prog : window) + off,
        .src = (uintptr_t)buf,
        .len = PAGE,
    };

    if (ioctl(uffd, UFFDIO_COPY, &c) < 0 && errno != EEXIST)
        die("UFFDIO_COPY");
}

static void punch(uint64_t off)
{
    if (fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, PAGE) < 0)
        die("fallocate");
}

/* One miss, as cheap as it gets: evict the oldest page if the budget is
 * full, read the page, install it. */
static void on_sigbus(int sig, siginfo_t *info, void *ctx)
{
    uint64_t off = ((uintptr_t)info->si_addr - (uintptr_t)prog) & ~(uint64_t)(PAGE - 1);

    (void)sig;
    (void)ctx;
    if (ring_count == budget_pages) {
        punch(ring[ring_head]);
        ring_head = (ring_head + 1) % budget_pages;
        ring_count--;
    }
    if (pread(file_fd, buf, PAGE, (off_t)off) != PAGE)
        die("pread");
    copy_page(off);
    ring[(ring_head + ring_count++) % budget_pages] = off;
}

static void setup(void)
{
    struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_SIGBUS |
                                                      UFFD_FEATURE_MISSING_SHMEM };
    struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
    struct sigaction sa;

    memfd = memfd_create("usermap-floor", MFD_CLOEXEC);
    if (memfd < 0 || ftruncate(memfd, (off_t)size) < 0)
        die("memfd");
    prog = mmap(NULL, size, PROT_READ, MAP_SHARED, memfd, 0);
    window = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (prog == MAP_FAILED || window == MAP_FAILED)
        die("mmap");
    uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) < 0)
        die("userfaultfd");
    reg.range = (struct uffdio_range){ (uintptr_t)prog, size };
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
        die("UFFDIO_REGISTER");
    reg.range = (struct uffdio_range){ (uintptr_t)window, size };
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
        die("UFFDIO_REGISTER");
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    if (sigaction(SIGBUS, &sa, NULL) < 0)
        die("sigaction");
}

static void empty_cache(void)
{
    if (fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)size) < 0)
        die("fallocate");
    ring_head = ring_count = 0;
}

/* The reads of W4 through the mapping, or by pread; ns per read. */
static double run_reads(unsigned reads, bool by_pread)
{
    const volatile uint64_t *p = (const volatile uint64_t *)prog;
    uint64_t seed = READ_SEED, nwords = size / 8, sum = 0, v, t0 = now_ns();

    for (unsigned i = 0; i < reads; i++) {
        uint64_t w = xorshift64(&seed) % nwords;
        if (by_pread) {
            if (pread(file_fd, &v, 8, (off_t)(w * 8)) != 8)
                die("pread");
        } else {
            v = p[w];
        }
        sum += v;
    }
    if (sum == 42)
        printf(" ");    /* keep the sum */
    return (double)(now_ns() - t0) / reads;
}

/* The random pages of the steps measured alone. */
static uint64_t page_at(uint64_t *seed)
{
    return (xorshift64(seed) % (size / PAGE)) * PAGE;
}

/* The figures, in ns: the floor's steps, then the steps usermap's own
 * bookkeeping may add, then the reads. */
enum {
    PREAD, COPY, MINOR, PUNCH, SIGBUS_MISS, SIGNAL,
    LSEEK, MINCORE, SCAN, DONTNEED,
    MISS, DIRECT, PREAD_LOOP, NFIG
};

static const char *const names[NFIG] = {
    [PREAD] = "pread 4 KiB from the hot file",
    [COPY] = "UFFDIO_COPY 4 KiB into the window",
    [MINOR] = "first access: minor fault maps it",
    [PUNCH] = "hole punch of a page mapped twice",
    [SIGBUS_MISS] = "SIGBUS miss, whole (no eviction)",
    [SIGNAL] = "SIGBUS there and back (difference)",
    [LSEEK] = "lseek SEEK_DATA + SEEK_HOLE pair",
    [MINCORE] = "mincore of one page",
    [SCAN] = "PAGEMAP_SCAN of one page",
    [DONTNEED] = "MADV_DONTNEED of one mapped page",
    [PREAD_LOOP] = "W4 pread loop, per read",
    [MISS] = "W4 floor: window copy, FIFO punch",
    [DIRECT] = "W4 floor: copy into the mapping",
};

/* Whether the program's page at off is mapped, as usermap's CLOCK asks. */
static void scan_page(int pagemap, uint64_t off, struct page_region *out)
{
    struct pm_scan_arg scan = {
        .size = sizeof(scan),
        .start = (uintptr_t)prog + off,
        .end = (uintptr_t)prog + off + PAGE,
        .vec = (uintptr_t)out,
        .vec_len = 1,
        .category_mask = PAGE_IS_PRESENT | PAGE_IS_FILE,
        .return_mask = PAGE_IS_PRESENT | PAGE_IS_FILE,
    };

    if (ioctl(pagemap, PAGEMAP_SCAN, &scan) < 0)
        die("PAGEMAP_SCAN");
}

/* The steps alone, in ns each, into fig. */
/* Adds the time since *t0 to *sum and starts the next lap. */
static void lap(uint64_t *t0, uint64_t *sum)
{
    uint64_t t = now_ns();

    *sum += t - *t0;
    *t0 = t;
}

static void steps(unsigned n, double *fig)
{
    uint64_t seed = READ_SEED, t0, t[NFIG] = { 0 };
    unsigned char vec;
    struct page_region region;
    int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    const volatile char *p = prog;
    uint64_t *offs = malloc(n * sizeof(*offs));

    if (!offs)
        die("malloc");
    for (unsigned i = 0; i < n; i++)
        offs[i] = page_at(&seed);
    empty_cache();
    direct = false;
    for (unsigned i = 0; i < n; i++) {
        uint64_t off = offs[i];
        off_t data;

        t0 = now_ns();
        if (pread(file_fd, buf, PAGE, (off_t)off) != PAGE)
            die("pread");
        lap(&t0, &t[PREAD]);
        copy_page(off);
        lap(&t0, &t[COPY]);
        (void)p[off];                        /* minor fault: map it */
        lap(&t0, &t[MINOR]);
        if (mincore(window + off, PAGE, &vec) < 0)
            die("mincore");
        lap(&t0, &t[MINCORE]);
        data = lseek(memfd, (off_t)off, SEEK_DATA);
        if (data >= 0)
            (void)lseek(memfd, data, SEEK_HOLE);
        lap(&t0, &t[LSEEK]);
        scan_page(pagemap, off, &region);
        lap(&t0, &t[SCAN]);
        if (madvise(prog + off, PAGE, MADV_DONTNEED) < 0)
            die("madvise");
        lap(&t0, &t[DONTNEED]);
        (void)p[off];                        /* mapped again for the punch */
        t0 = now_ns();
        punch(off);                          /* mapped in both: unmaps both */
        lap(&t0, &t[PUNCH]);
    }
    /* A whole miss through SIGBUS, no eviction; less the steps above, what
     * is left is the signal's delivery and return. */
    empty_cache();
    budget_pages = size / PAGE;
    t0 = now_ns();
    for (unsigned i = 0; i < n; i++)
        (void)p[offs[i]];
    lap(&t0, &t[SIGBUS_MISS]);
    empty_cache();
    for (int i = 0; i < NFIG; i++)
        fig[i] = (double)t[i] / n;
    fig[SIGNAL] = fig[SIGBUS_MISS] - fig[PREAD] - fig[COPY] - fig[MINOR];
    close(pagemap);
    free(offs);
}

/* Seconds to sum every word of the first size bytes at p. */
static double scan_words(const void *p)
{
    const volatile uint64_t *w = p;
    uint64_t t0 = now_ns(), sum = 0;

    for (uint64_t i = 0; i < size / 8; i++)
        sum += w[i];
    sink += sum;
    return (double)(now_ns() - t0) / 1e9;
}

enum { KERNEL_SCAN, FILL_READ, FILL_COPY, FILLED_SCAN, NSCAN };

/* W1's steps, each in seconds for the whole file. */
static void scan_steps(double *out)
{
    static char chunk[SCAN_CHUNK] __attribute__((aligned(PAGE)));
    void *fresh = mmap(NULL, size, PROT_READ, MAP_SHARED, file_fd, 0);

    if (fresh == MAP_FAILED)
        die("mmap of the file");
    out[KERNEL_SCAN] = scan_words(fresh);
    munmap(fresh, size);
    empty_cache();
    out[FILL_READ] = out[FILL_COPY] = 0;
    for (uint64_t off = 0; off + SCAN_CHUNK <= size; off += SCAN_CHUNK) {
        struct uffdio_copy c = {
            .dst = (uintptr_t)window + off, .src = (uintptr_t)chunk, .len = SCAN_CHUNK,
        };
        uint64_t t0 = now_ns(), t1;

        if (pread(file_fd, chunk, SCAN_CHUNK, (off_t)off) != SCAN_CHUNK)
            die("pread");
        t1 = now_ns();
        if (ioctl(uffd, UFFDIO_COPY, &c) < 0)
            die("UFFDIO_COPY");
        out[FILL_READ] += (double)(t1 - t0) / 1e9;
        out[FILL_COPY] += (double)(now_ns() - t1) / 1e9;
    }
    out[FILLED_SCAN] = scan_words(prog);
    empty_cache();
}

static void print_scan_floor(double fig[ROUNDS][NSCAN])
{
    static const char *const what[NSCAN] = {
        "kernel mmap: first-touch scan", "pread 256 KiB at a time",
        "UFFDIO_COPY 256 KiB at a time", "scan of the filled pages",
    };
    double med[NSCAN], work;

    printf("W1 floor, seconds for the file, median of the rounds\n");
    for (int i = 0; i < NSCAN; i++) {
        double v[ROUNDS];

        sorted_column(&fig[0][0], NSCAN, i, v);
        med[i] = v[ROUNDS / 2];
        printf("  %-38s %8.3f %8.3f %8.3f  %.1f GB/s\n", what[i], med[i], v[0],
               v[ROUNDS - 1], (double)size / med[i] / 1e9);
    }
    work = med[FILL_READ] + med[FILL_COPY] + med[FILLED_SCAN];
    printf("  usermap's least work %.3f s; spread over %ld CPUs at best %.3f s: %.2fx kernel\n",
           work, sysconf(_SC_NPROCESSORS_ONLN), work / (double)sysconf(_SC_NPROCESSORS_ONLN),
           med[KERNEL_SCAN] / (work / (double)sysconf(_SC_NPROCESSORS_ONLN)));
}

int main(int argc, char **argv)
{
    const char *path = "/tmp/usermap-bench-1g.dat";
    unsigned reads = RANDOM_READS;
    struct stat st;
    void *warm;
    double fig[ROUNDS][NFIG], scan_fig[ROUNDS][NSCAN];

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--file") && i + 1 < argc)
            path = argv[++i];
        else if (!strcmp(argv[i], "--reads") && i + 1 < argc)
            reads = (unsigned)strtoul(argv[++i], NULL, 0);
        else {
            fprintf(stderr, "usage: usermap-floor [--file PATH] [--reads N]\n");
            return 2;
        }
    }
    file_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (file_fd < 0 || fstat(file_fd, &st) < 0)
        die(path);
    size = (uint64_t)st.st_size & ~(uint64_t)(PAGE - 1);
    if (size < 16 * PAGE) {
        fprintf(stderr, "usermap-floor: %s is too small\n", path);
        return 2;
    }
    /* The page cache hot, as the benchmark tops it up. */
    warm = mmap(NULL, size, PROT_READ, MAP_SHARED, file_fd, 0);
    if (warm == MAP_FAILED || madvise(warm, size, 22 /* MADV_POPULATE_READ */) < 0)
        die("warming the page cache");
    munmap(warm, size);
    setup();
    ring = malloc(size / PAGE * sizeof(*ring));
    if (!ring)
        die("malloc");

    printf("file %s, %.2f GiB, %u random 8-byte reads, budget a quarter of the file, "
           "%d rounds\n", path, (double)size / (1u << 30), reads, ROUNDS);
    for (int r = 0; r < ROUNDS; r++) {
        steps(reads / 4, fig[r]);
        budget_pages = size / PAGE / 4;
        fig[r][PREAD_LOOP] = run_reads(reads, true);
        empty_cache();
        direct = false;
        fig[r][MISS] = run_reads(reads, false);
        empty_cache();
        direct = true;
        fig[r][DIRECT] = run_reads(reads, false);
        empty_cache();
    }
    printf("%-40s %8s %8s %8s\n", "ns, median of the rounds", "median", "min", "max");
    for (int i = 0; i < NFIG; i++) {
        double v[ROUNDS];

        sorted_column(&fig[0][0], NFIG, i, v);
        printf("  %-38s %8.0f %8.0f %8.0f", names[i], v[ROUNDS / 2], v[0], v[ROUNDS - 1]);
        if (i == MISS || i == DIRECT) {
            double pr[ROUNDS];

            sorted_column(&fig[0][0], NFIG, PREAD_LOOP, pr);
            printf("  %.0f k/s, %.3fx pread", 1e6 / v[ROUNDS / 2], pr[ROUNDS / 2] / v[ROUNDS / 2]);
        }
        printf("\n");
    }
    for (int r = 0; r < ROUNDS; r++)
        scan_steps(scan_fig[r]);
    print_scan_floor(scan_fig);
    return 0;
}
