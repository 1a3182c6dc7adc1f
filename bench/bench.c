/* SPDX-License-Identifier: MIT */
/*
 * bench.c - usermap-bench: usermap's mappings against the kernel's mmap
 * and a pread loop, on one page-cache-hot file.
 *
 *   usermap-bench [--file PATH] [--size 4G] [--runs 3] [--only W1,W3,...]
 *                 [--cap SECONDS]
 *
 * Every contender runs every workload --runs times in this one process
 * and the median is reported.  Each usermap run gets a fresh pool and a
 * fresh mapping, destroyed afterwards, so no run profits from pages the
 * one before left behind; the kernel's runs get a fresh mapping of a file
 * whose page cache is hot, which is the kernel's best case.
 *
 * The exit status is 0 whatever the figures (a benchmark is not a test);
 * only a bad command line or a file that cannot be prepared fail.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <usermap.h>

#include "size.h"

#include "common.h"

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)
#define NS_PER_S 1000000000.0

#define FILE_PAGE 4096u               /* W5's "1% of the pages" counts these */
#define IO_CHUNK (8 * MIB)            /* pwrite/pread size for set-up and pread scans */
#define SCAN_CHUNK (64 * MIB)         /* a mapped scan looks at its deadline this often */
#define WRITE_SEED 0x9e3779b97f4a7c15ull
#define SAMPLE_PERIOD_NS 20000000L    /* RSS sampler: 50 times a second */
#define MAX_RUNS 99
/* A run stops after this long and reports its rate over the work it did:
 * three runs of the slowest configuration (W4 with 2 MiB pages under the
 * budget) then take a minute, and a 4 GiB run stays near five minutes. */
#define DEFAULT_CAP_S 20.0

/* ------------------------------------------------------------ contenders */

enum kind { KERNEL, PREAD, USERMAP };

struct contender {
    const char *name;
    enum kind kind;
    size_t page_size;                 /* usermap: the pool's page size */
    enum um_fault_mode mode;          /* usermap: who serves faults */
};

/* "it": faults served in the faulting thread (UM_FAULTS_IN_THREAD). */
static const struct contender contenders[] = {
    { "kernel mmap", KERNEL, 0, UM_FAULTS_HANDLER },
    { "pread loop", PREAD, 0, UM_FAULTS_HANDLER },
    { "usermap 4K", USERMAP, 4 * KIB, UM_FAULTS_HANDLER },
    { "usermap 64K", USERMAP, 64 * KIB, UM_FAULTS_HANDLER },
    { "usermap 2M", USERMAP, 2 * MIB, UM_FAULTS_HANDLER },
    { "usermap 4K it", USERMAP, 4 * KIB, UM_FAULTS_IN_THREAD },
    { "usermap 64K it", USERMAP, 64 * KIB, UM_FAULTS_IN_THREAD },
};
#define NCONT (sizeof(contenders) / sizeof(contenders[0]))
#define C_KERNEL 0u                   /* the baselines ratios are taken against */
#define C_PREAD 1u

/* ------------------------------------------------------------- workloads */

enum wid { W1, W2, W3, W4, W5, NWORK };

/* One run of one contender in one workload. */
struct sample {
    bool ran, failed, capped;
    int sum_ok;                       /* 1 agrees with pread, 0 differs, -1 not checked */
    double value;                     /* raw: bytes/s, reads/s, or ns for W5 */
    double done;                      /* fraction of the work done before the cap */
    struct um_stats st;               /* usermap: the pool after the workload */
    uint64_t faults;                  /* usermap: faults during the workload */
    int64_t rss_kb, held_kb;          /* W4: peak growth over the run */
    int64_t pmd_kb;                   /* W1, W3: file pages mapped 2 MiB at a time */
    uint64_t expect_written;          /* W5 usermap: dirty usermap pages * page size */
    char why[200];                    /* why it failed */
};

struct bench {
    const char *path;
    uint64_t size;
    int runs;
    unsigned only;                    /* bit per workload */
    double cap_s;
    int fd_ro, fd_rw;
    uint64_t sum_all;                 /* sum of the file's words (W1, W2 check) */
    uint64_t sum_random;              /* sum of the random reads (W3, W4 check) */
    uint64_t *wpages;                 /* W5: file pages to write, in write order */
    uint64_t nwpages;
    uint64_t reread;                  /* bytes top_up() had to read back */
    struct sample *res;               /* [NWORK][NCONT][runs] */
};

struct workload {
    const char *id, *title;
    const char *unit;
    double scale;                     /* displayed = raw / scale */
    int precision;                    /* decimals displayed */
    bool is_time;                     /* lower is better */
    void (*extra)(const struct bench *, const struct sample *, char *, size_t);
};

static struct sample *sample_at(const struct bench *b, enum wid w, size_t ci, int run)
{
    return &b->res[((size_t)w * NCONT + ci) * (size_t)b->runs + (size_t)run];
}

/* ------------------------------------------------------------- utilities */

/* The file's content: word i is a hash of i, never zero, so a page of
 * zeros (a fill that never happened) shows up in every checksum. */
static uint64_t pattern_word(uint64_t i)
{
    uint64_t z = i + 0x9e3779b97f4a7c15ull;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) | 1;
}

static uint64_t sum_words(const uint64_t *p, size_t n)
{
    uint64_t sum = 0;

    for (size_t i = 0; i < n; i++)
        sum += p[i];
    return sum;
}

static const char *human(uint64_t bytes, char *buf, size_t n)
{
    if (bytes >= GIB)
        snprintf(buf, n, "%.2f GiB", (double)bytes / GIB);
    else if (bytes >= MIB)
        snprintf(buf, n, "%.1f MiB", (double)bytes / MIB);
    else
        snprintf(buf, n, "%.1f KiB", (double)bytes / KIB);
    return buf;
}

/* ------------------------------------------------- crashes and hangs */

/*
 * A library under construction may answer a fault with SIGBUS (a failed
 * fill) or hang.  A SIGBUS/SIGSEGV inside a timed section fails that run
 * and the benchmark goes on; a run that outlives its cap by far is hung,
 * and the process says where and stops, rather than waiting forever.
 */
static sigjmp_buf crash_jmp;
static volatile sig_atomic_t crash_armed;
static pthread_t crash_thread;        /* the thread whose access is guarded */
static char hang_where[128];

static void on_crash(int sig)
{
    /* Only the guarded thread may jump: a crash in one of the library's
     * threads is the library's, and must not unwind the main stack. */
    if (crash_armed && pthread_equal(pthread_self(), crash_thread)) {
        crash_armed = 0;
        siglongjmp(crash_jmp, sig);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_alarm(int sig)
{
    static const char head[] = "\nusermap-bench: stopped, hung in ";
    ssize_t rc;

    (void)sig;
    rc = write(2, head, sizeof(head) - 1);
    rc = write(2, hang_where, strlen(hang_where));
    rc = write(2, "\n", 1);
    (void)rc;
    _exit(0);
}

static void install_guards(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
}

static void watchdog_start(const struct bench *b, const char *wid, const char *name)
{
    snprintf(hang_where, sizeof(hang_where), "%s, %s (no progress for %.0f s)", wid, name,
             2 * b->cap_s + 60);
    alarm((unsigned)(2 * b->cap_s + 60));
}

static void watchdog_stop(void)
{
    alarm(0);
}

/* ----------------------------------------------------------- the file */

static int check_signature(int fd)
{
    uint64_t words[FILE_PAGE / 8];

    if (pread(fd, words, sizeof(words), 0) != (ssize_t)sizeof(words))
        return -1;
    for (uint64_t i = 0; i < FILE_PAGE / 8; i++)
        if (words[i] != pattern_word(i))
            return -1;
    return 0;
}

static int write_file(int fd, uint64_t size)
{
    uint64_t *buf = malloc(IO_CHUNK);
    uint64_t t0 = now_ns();

    if (!buf)
        return -1;
    printf("writing %.2f GiB of pattern ... ", (double)size / GIB);
    fflush(stdout);
    for (uint64_t off = 0; off < size; off += IO_CHUNK) {
        size_t n = size - off < IO_CHUNK ? (size_t)(size - off) : IO_CHUNK;
        for (size_t i = 0; i < n / 8; i++)
            buf[i] = pattern_word(off / 8 + i);
        if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) {
            free(buf);
            return -1;
        }
    }
    free(buf);
    /* Flushed now, so that W5's msync(MS_SYNC) pays for its own pages only. */
    if (ftruncate(fd, (off_t)size) < 0 || fsync(fd) < 0)
        return -1;
    printf("%.1f s\n", (double)(now_ns() - t0) / NS_PER_S);
    return 0;
}

/* Reads the whole file once: the page cache is hot for everybody, and
 * the sum of its words is the answer every scan must find. */
static int warm_file(struct bench *b)
{
    uint64_t *buf = malloc(IO_CHUNK), t0 = now_ns(), seed = READ_SEED, nwords = b->size / 8;

    if (!buf)
        return -1;
    b->sum_all = 0;
    for (uint64_t off = 0; off < b->size; off += IO_CHUNK) {
        size_t n = b->size - off < IO_CHUNK ? (size_t)(b->size - off) : IO_CHUNK;
        if (pread(b->fd_ro, buf, n, (off_t)off) != (ssize_t)n) {
            free(buf);
            return -1;
        }
        b->sum_all += sum_words(buf, n / 8);
    }
    free(buf);
    b->sum_random = 0;
    for (unsigned i = 0; i < RANDOM_READS; i++) {
        uint64_t v;
        if (pread(b->fd_ro, &v, 8, (off_t)(xorshift64(&seed) % nwords * 8)) != 8)
            return -1;
        b->sum_random += v;
    }
    printf("read once to warm the page cache: %.1f s\n", (double)(now_ns() - t0) / NS_PER_S);
    return 0;
}

/*
 * Brings back whatever part of the file left the page cache since the
 * last run, and marks the whole file recently used, so that every run
 * starts hot.  A hot page cache is not a given: proactive reclaim (DAMON,
 * on the VM this was written on) pages out file pages idle for half a
 * minute, which the file easily is while other contenders run.
 * MADV_POPULATE_READ on a throw-away mapping reads the missing pages back
 * and sets every page's accessed bit, which munmap passes on to the page
 * cache.  Returns the bytes that had left (mincore() beforehand).
 */
static uint64_t top_up(struct bench *b)
{
    uint64_t npages = b->size / FILE_PAGE, gone = 0;
    unsigned char *vec = malloc(npages);
    void *map = mmap(NULL, b->size, PROT_READ, MAP_SHARED, b->fd_ro, 0);

    if (map == MAP_FAILED) {
        free(vec);
        return 0;
    }
    if (vec && mincore(map, b->size, vec) == 0)
        for (uint64_t i = 0; i < npages; i++)
            gone += !(vec[i] & 1);
    if (madvise(map, b->size, MADV_POPULATE_READ) < 0)
        fprintf(stderr, "usermap-bench: MADV_POPULATE_READ: %s\n", strerror(errno));
    munmap(map, b->size);
    free(vec);
    b->reread += gone * FILE_PAGE;
    return gone * FILE_PAGE;
}

/* Creates or reuses the file.  A file that exists but does not start with
 * our pattern is somebody else's: W5 writes into it, so refuse. */
static int prepare_file(struct bench *b)
{
    struct stat st;
    int fd = open(b->path, O_RDWR | O_CREAT, 0644);

    if (fd < 0 || fstat(fd, &st) < 0) {
        fprintf(stderr, "usermap-bench: %s: %s\n", b->path, strerror(errno));
        return -1;
    }
    if (st.st_size > 0 && check_signature(fd) < 0) {
        fprintf(stderr, "usermap-bench: %s is not a usermap-bench file (W5 writes into it); "
                "remove it or choose another --file\n", b->path);
        close(fd);
        return -1;
    }
    printf("file %s: ", b->path);
    if ((uint64_t)st.st_size == b->size) {
        printf("reused\n");
    } else if (write_file(fd, b->size) < 0) {
        fprintf(stderr, "usermap-bench: cannot write %s: %s\n", b->path, strerror(errno));
        close(fd);
        return -1;
    }
    b->fd_rw = fd;
    b->fd_ro = open(b->path, O_RDONLY);
    if (b->fd_ro < 0 || warm_file(b) < 0) {
        fprintf(stderr, "usermap-bench: cannot read %s: %s\n", b->path, strerror(errno));
        return -1;
    }
    return 0;
}

/* W5's pages: 1% of the file's 4 KiB pages, distinct, in random order.
 * Page 0 is left alone: it is how a reused file is recognised. */
static int pick_write_pages(struct bench *b)
{
    uint64_t npages = b->size / FILE_PAGE, seed = WRITE_SEED;
    uint8_t *taken;

    b->nwpages = npages / 100 ? npages / 100 : 1;
    if (npages < 2)
        return -1;
    b->wpages = malloc(b->nwpages * sizeof(*b->wpages));
    taken = calloc(npages / 8 + 1, 1);
    if (!b->wpages || !taken)
        return -1;
    for (uint64_t n = 0; n < b->nwpages;) {
        uint64_t p = 1 + xorshift64(&seed) % (npages - 1);
        if (taken[p / 8] & (1u << (p % 8)))
            continue;
        taken[p / 8] |= (uint8_t)(1u << (p % 8));
        b->wpages[n++] = p;
    }
    free(taken);
    return 0;
}

/* Distinct pages of page_size bytes that W5's writes dirty, times
 * page_size, cut at the end of the file: what a write-back of dirty pages
 * only must write.  usermap tracks and writes system pages (FILE_PAGE),
 * whatever its page size. */
static uint64_t dirty_bytes(const struct bench *b, size_t page_size)
{
    uint64_t npages = (b->size + page_size - 1) / page_size, bytes = 0;
    uint8_t *seen = calloc(npages / 8 + 1, 1);

    if (!seen)
        return 0;
    for (uint64_t i = 0; i < b->nwpages; i++) {
        uint64_t p = b->wpages[i] * FILE_PAGE / page_size;
        if (seen[p / 8] & (1u << (p % 8)))
            continue;
        seen[p / 8] |= (uint8_t)(1u << (p % 8));
        bytes += (p + 1) * page_size > b->size ? b->size - p * page_size : page_size;
    }
    free(seen);
    return bytes;
}

/* --------------------------------------------------------- mappings */

/* A contender's mapping: the kernel's, or usermap's in a fresh pool. */
struct mapping {
    const struct contender *c;
    um_pool *pool;
    uint64_t *p;
    uint64_t len;
};

static int map_open(struct mapping *m, const struct contender *c, int fd, uint64_t len,
                    int prot, uint64_t limit, struct sample *s)
{
    um_pool_config cfg;
    void *p;

    m->c = c;
    m->pool = NULL;
    m->len = len;
    if (c->kind == KERNEL) {
        p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            snprintf(s->why, sizeof(s->why), "mmap: %s", strerror(errno));
    } else {
        um_pool_config_init(&cfg);    /* default read-ahead and fill threads */
        cfg.page_size = c->page_size;
        cfg.memory_limit = limit;
        cfg.fault_mode = c->mode;
        m->pool = um_pool_create(&cfg);
        if (!m->pool) {
            snprintf(s->why, sizeof(s->why), "um_pool_create: %s", um_error_message());
            s->failed = true;
            return -1;
        }
        p = um_mmap_pool(m->pool, NULL, len, prot, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            snprintf(s->why, sizeof(s->why), "um_mmap_pool: %s", um_error_message());
            um_pool_destroy(m->pool);
        }
    }
    if (p == MAP_FAILED) {
        s->failed = true;
        return -1;
    }
    m->p = p;
    return 0;
}

static int map_sync(struct mapping *m, struct sample *s)
{
    int rc = m->pool ? um_msync(m->p, m->len, MS_SYNC) : msync(m->p, m->len, MS_SYNC);

    if (rc < 0) {
        snprintf(s->why, sizeof(s->why), "msync: %s",
                 m->pool ? um_error_message() : strerror(errno));
        s->failed = true;
    }
    return rc;
}

static void map_stats(const struct mapping *m, struct um_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (m->pool)
        um_stats(m->pool, st);
}

/* Unmaps; for usermap, *final gets the pool's counters after the unmap
 * (so write-back done by munmap counts), then the pool goes. */
static void map_close(struct mapping *m, struct um_stats *final)
{
    if (!m->pool) {
        munmap(m->p, m->len);
        return;
    }
    if (um_munmap(m->p, m->len) < 0)
        fprintf(stderr, "usermap-bench: um_munmap (%s): %s\n", m->c->name, um_error_message());
    if (final)
        um_stats(m->pool, final);
    if (um_pool_destroy(m->pool) < 0)
        fprintf(stderr, "usermap-bench: um_pool_destroy (%s): %s\n", m->c->name,
                um_error_message());
}

/* ------------------------------------------------------ RSS sampling */

/*
 * What the process holds, from counters rather than a page-table walk:
 * smaps_rollup walks every page table while the program faults, which
 * slows the run it measures, and a page usermap maps twice (its window
 * and the program's mapping) can be counted one and a half times when the
 * program maps it mid-walk.  So: VmRSS as the kernel reports it (pages
 * mapped twice count twice), and "held": private memory, mapped file
 * pages, and every memfd's allocated pages, each page once.
 */
struct memory {
    int64_t rss_kb, held_kb;
};

/* File pages this process maps with 2 MiB page-table entries, in KiB.
 * The kernel does so when the page cache holds the file in 2 MiB folios
 * (ext4 large folios: a file just written), and then a first touch costs
 * one fault per 2 MiB; after reclaim and re-reading the folios are smaller.
 * That is why the kernel's figures change from one invocation to the next,
 * so the tables show it.  Read outside the timed part: it walks the page
 * tables. */
static int64_t pmd_mapped_kb(void)
{
    char line[256];
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    long long v, kb = 0;

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "FilePmdMapped: %lld kB", &v) == 1)
            kb = v;
    fclose(f);
    return kb;
}

/* Whether an open file is usermap's page cache: a memfd, or a shared
 * cache's pages object (DIR/DEV-INO.pages in the cache directory). */
static bool is_cache(const char *target, size_t n)
{
    const char *dir = getenv("USERMAP_CACHE_DIR");
    char prefix[128];

    if (dir && *dir)
        snprintf(prefix, sizeof(prefix), "%s/", dir);
    else
        snprintf(prefix, sizeof(prefix), "/dev/shm/usermap-%u/", (unsigned)geteuid());
    return strncmp(target, "/memfd:", 7) == 0 ||
           (strncmp(target, prefix, strlen(prefix)) == 0 && n > 6 &&
            strcmp(target + n - 6, ".pages") == 0);
}

/* Allocated pages of usermap's caches this process has open, in KiB. */
static int64_t memfd_kb(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *e;
    int64_t kb = 0;

    if (!dir)
        return 0;
    while ((e = readdir(dir))) {
        char target[128];
        struct stat st;
        ssize_t n = readlinkat(dirfd(dir), e->d_name, target, sizeof(target) - 1);

        /* fstatat follows the link to the file itself. */
        if (n < 7)
            continue;
        target[n] = '\0';
        if (!is_cache(target, (size_t)n) || fstatat(dirfd(dir), e->d_name, &st, 0) < 0)
            continue;
        kb += (int64_t)st.st_blocks / 2;      /* 512-byte blocks */
    }
    closedir(dir);
    return kb;
}

static struct memory read_memory(void)
{
    struct memory m = { 0, 0 };
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    long long v;

    if (!f)
        return m;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "VmRSS: %lld kB", &v) == 1)
            m.rss_kb = v;
        else if (sscanf(line, "RssAnon: %lld kB", &v) == 1 ||
                 sscanf(line, "RssFile: %lld kB", &v) == 1)
            m.held_kb += v;
    }
    fclose(f);
    m.held_kb += memfd_kb();
    return m;
}

/* Peak memory over a run: a thread samples it (VmHWM would be the whole
 * process's history, not this run's). */
struct sampler {
    pthread_t thread;
    bool started;
    atomic_bool stop;
    struct memory base, peak;
};

static void note_peak(struct sampler *s, struct memory m)
{
    if (m.rss_kb > s->peak.rss_kb)
        s->peak.rss_kb = m.rss_kb;
    if (m.held_kb > s->peak.held_kb)
        s->peak.held_kb = m.held_kb;
}

static void *sampler_main(void *arg)
{
    struct sampler *s = arg;
    struct timespec period = { 0, SAMPLE_PERIOD_NS };

    while (!atomic_load(&s->stop)) {
        note_peak(s, read_memory());
        nanosleep(&period, NULL);
    }
    return NULL;
}

static void sampler_start(struct sampler *s)
{
    s->base = s->peak = read_memory();
    atomic_store(&s->stop, false);
    s->started = pthread_create(&s->thread, NULL, sampler_main, s) == 0;
}

/* Stops sampling, takes one last sample (after the join: peak has one
 * writer at a time) and stores the growth in *out. */
static void sampler_stop(struct sampler *s, struct sample *out)
{
    atomic_store(&s->stop, true);
    if (s->started)
        pthread_join(s->thread, NULL);
    note_peak(s, read_memory());
    out->rss_kb = s->peak.rss_kb - s->base.rss_kb;
    out->held_kb = s->peak.held_kb - s->base.held_kb;
}

/* ----------------------------------------------------- the measurements */

/* Sums the words of p[0, len) in chunks, stopping after the chunk that
 * passes the deadline; *done says how far it got. */
static uint64_t scan_mapped(const uint64_t *p, uint64_t len, uint64_t deadline, uint64_t *done)
{
    uint64_t sum = 0, off = 0;

    while (off < len) {
        uint64_t n = len - off < SCAN_CHUNK ? len - off : SCAN_CHUNK;
        sum += sum_words(p + off / 8, (size_t)(n / 8));
        off += n;
        if (now_ns() > deadline)
            break;
    }
    *done = off;
    return sum;
}

static uint64_t scan_pread(int fd, uint64_t *buf, uint64_t len, uint64_t deadline,
                           uint64_t *done)
{
    uint64_t sum = 0, off = 0;

    while (off < len) {
        size_t n = len - off < IO_CHUNK ? (size_t)(len - off) : IO_CHUNK;
        if (pread(fd, buf, n, (off_t)off) != (ssize_t)n)
            break;
        sum += sum_words(buf, n / 8);
        off += n;
        if (now_ns() > deadline)
            break;
    }
    *done = off;
    return sum;
}

/* The random reads: the same fixed-seed, 8-byte aligned offsets for every
 * contender.  fd < 0 reads the mapping p, otherwise pread from fd. */
static uint64_t random_reads(const uint64_t *p, int fd, uint64_t nwords, uint64_t deadline,
                             unsigned *done)
{
    uint64_t seed = READ_SEED, sum = 0, v;
    unsigned i = 0;

    while (i < RANDOM_READS) {
        uint64_t w = xorshift64(&seed) % nwords;
        if (fd < 0)
            v = p[w];
        else if (pread(fd, &v, 8, (off_t)(w * 8)) != 8)
            break;
        sum += v;
        i++;
        if ((i & 1023) == 0 && now_ns() > deadline)
            break;
    }
    *done = i;
    return sum;
}

static uint64_t deadline_of(const struct bench *b, uint64_t start)
{
    return start + (uint64_t)(b->cap_s * NS_PER_S);
}

/* Records a throughput sample: work units done in ns. */
static void record_rate(struct sample *s, double units, uint64_t ns, double fraction)
{
    s->ran = true;
    s->value = units / ((double)ns / NS_PER_S);
    s->done = fraction;
    s->capped = fraction < 1.0;
}

static void record_crash(struct sample *s, int sig)
{
    s->ran = s->failed = true;
    snprintf(s->why, sizeof(s->why), "%s during the run", strsignal(sig));
}

/* Runs fn(arg) with a SIGBUS or SIGSEGV turned into a return of the
 * signal's number; 0 when fn returned normally.  A function of its own so
 * that no caller's locals live across the sigsetjmp. */
static int guarded(void (*fn)(void *), void *arg)
{
    int sig = sigsetjmp(crash_jmp, 1);

    if (sig == 0) {
        crash_thread = pthread_self();
        crash_armed = 1;
        fn(arg);
    }
    crash_armed = 0;
    return sig;
}

/* W5's record of a write: the word's index and the value it must have. */
struct store_check {
    uint64_t word, value;
};

/* What a timed section needs and what it leaves behind. */
struct job {
    struct bench *b;
    struct mapping *m;                /* NULL: the pread loop */
    struct sample *s, *s2;
    struct store_check *w;            /* W5: words written and their new values */
    uint64_t n, t0;                   /* W5: words written, start time */
};

/* W1 and W2 together: W2 is the second scan of W1's mapping. */
static void scan_twice(void *arg)
{
    struct job *j = arg;
    struct sample *s1 = j->s, *s2 = j->s2;
    uint64_t t0 = now_ns(), t1, sum, done, done2, faults;

    sum = scan_mapped(j->m->p, j->b->size, deadline_of(j->b, t0), &done);
    t1 = now_ns();
    record_rate(s1, (double)done, t1 - t0, (double)done / (double)j->b->size);
    s1->sum_ok = s1->capped ? -1 : sum == j->b->sum_all;
    s1->pmd_kb = pmd_mapped_kb();
    map_stats(j->m, &s1->st);
    s1->faults = faults = s1->st.faults;
    t0 = now_ns();
    sum = scan_mapped(j->m->p, done, deadline_of(j->b, t0), &done2);
    t1 = now_ns();
    record_rate(s2, (double)done2, t1 - t0, (double)done2 / (double)j->b->size);
    s2->sum_ok = s2->capped ? -1 : sum == j->b->sum_all;
    map_stats(j->m, &s2->st);
    s2->faults = s2->st.faults - faults;
}

static void scan_pread_twice(struct bench *b, struct sample *s1, struct sample *s2)
{
    uint64_t *buf = malloc(IO_CHUNK), t0 = now_ns(), t1, sum, done, done2;

    if (!buf)
        return;
    sum = scan_pread(b->fd_ro, buf, b->size, deadline_of(b, t0), &done);
    t1 = now_ns();
    record_rate(s1, (double)done, t1 - t0, (double)done / (double)b->size);
    s1->sum_ok = s1->capped ? -1 : sum == b->sum_all;
    sum = scan_pread(b->fd_ro, buf, done, deadline_of(b, t1), &done2);
    record_rate(s2, (double)done2, now_ns() - t1, (double)done2 / (double)b->size);
    s2->sum_ok = s2->capped ? -1 : sum == b->sum_all;
    free(buf);
}

static void run_scan(struct bench *b, size_t ci, int run)
{
    const struct contender *c = &contenders[ci];
    struct sample *s1 = sample_at(b, W1, ci, run), *s2 = sample_at(b, W2, ci, run);
    struct mapping m;
    struct job j = { .b = b, .m = &m, .s = s1, .s2 = s2 };
    int sig;

    if (c->kind == PREAD) {
        scan_pread_twice(b, s1, s2);
        return;
    }
    if (map_open(&m, c, b->fd_ro, b->size, PROT_READ, 0, s1) < 0) {
        *s2 = *s1;
        return;
    }
    if ((sig = guarded(scan_twice, &j)) != 0)
        record_crash(s1->ran ? s2 : s1, sig);
    map_close(&m, NULL);
}

/* W3 and W4: the random reads, by mapping or (no mapping) by pread. */
static void random_job(void *arg)
{
    struct job *j = arg;
    uint64_t t0 = now_ns(), sum;
    unsigned done;

    sum = random_reads(j->m ? j->m->p : NULL, j->m ? -1 : j->b->fd_ro, j->b->size / 8,
                       deadline_of(j->b, t0), &done);
    record_rate(j->s, done, now_ns() - t0, (double)done / RANDOM_READS);
    j->s->sum_ok = j->s->capped ? -1 : sum == j->b->sum_random;
    if (j->m)
        j->s->pmd_kb = pmd_mapped_kb();
}

/* W4 gives usermap a budget of a quarter of the file, and samples
 * everybody's memory growth. */
static void run_random(struct bench *b, size_t ci, int run, enum wid w)
{
    const struct contender *c = &contenders[ci];
    struct sample *s = sample_at(b, w, ci, run);
    uint64_t limit = w == W4 ? b->size / 4 : 0;
    struct sampler smp;
    struct mapping m;
    struct job j = { .b = b, .m = c->kind == PREAD ? NULL : &m, .s = s };
    int sig;

    if (j.m && map_open(&m, c, b->fd_ro, b->size, PROT_READ, limit, s) < 0)
        return;
    if (w == W4)
        sampler_start(&smp);
    if ((sig = guarded(random_job, &j)) != 0)
        record_crash(s, sig);
    if (w == W4)
        sampler_stop(&smp, s);    /* before the unmap: the peak is the mapping's */
    if (j.m) {
        map_stats(&m, &s->st);
        s->faults = s->st.faults;
        map_close(&m, NULL);
    }
}

static void run_w3(struct bench *b, size_t ci, int run)
{
    run_random(b, ci, run, W3);
}

static void run_w4(struct bench *b, size_t ci, int run)
{
    run_random(b, ci, run, W4);
}

/* W5: one 8-byte counter in each chosen page goes up by one (a real
 * change, whatever an earlier run left there), then msync(MS_SYNC).  The
 * file is read back afterwards: every increment must have reached it. */
static int verify_writes(int fd, const struct store_check *w, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v;
        if (pread(fd, &v, 8, (off_t)(w[i].word * 8)) != 8 || v != w[i].value)
            return 0;
    }
    return 1;
}

static void write_job(void *arg)
{
    struct job *j = arg;
    /* On entry t0 holds the run number: each run picks other words. */
    uint64_t seed = WRITE_SEED ^ j->t0, deadline, *p = j->m->p;

    j->t0 = now_ns();
    deadline = deadline_of(j->b, j->t0);
    for (j->n = 0; j->n < j->b->nwpages;) {
        uint64_t word = j->b->wpages[j->n] * (FILE_PAGE / 8) +
                        xorshift64(&seed) % (FILE_PAGE / 8);
        j->w[j->n].word = word;
        j->w[j->n].value = p[word] + 1;
        p[word] = j->w[j->n].value;
        j->n++;
        if ((j->n & 255) == 0 && now_ns() > deadline)
            break;
    }
}

static void run_w5(struct bench *b, size_t ci, int run)
{
    const struct contender *c = &contenders[ci];
    struct sample *s = sample_at(b, W5, ci, run);
    struct mapping m;
    struct job j = { .b = b, .m = &m, .s = s, .t0 = (uint64_t)run + 1 };
    int sig;

    j.w = malloc(b->nwpages * sizeof(*j.w));
    if (!j.w || map_open(&m, c, b->fd_rw, b->size, PROT_READ | PROT_WRITE, 0, s) < 0) {
        free(j.w);
        return;
    }
    if ((sig = guarded(write_job, &j)) != 0) {
        record_crash(s, sig);
    } else if (map_sync(&m, s) == 0) {
        double fraction = (double)j.n / (double)b->nwpages;
        s->ran = true;
        s->capped = j.n < b->nwpages;
        s->done = fraction;
        /* A capped run is extrapolated to the whole 1%, and flagged. */
        s->value = (double)(now_ns() - j.t0) / fraction;
    }
    map_close(&m, &s->st);
    s->faults = s->st.faults;
    if (c->kind == USERMAP)
        s->expect_written = dirty_bytes(b, FILE_PAGE);
    s->sum_ok = verify_writes(b->fd_rw, j.w, j.n);
    free(j.w);
}

/* ---------------------------------------------------------- the tables */

static void fmt_us(char *buf, size_t n, uint64_t ns)
{
    snprintf(buf, n, "%.1f", (double)ns / 1000.0);
}

static const char *check_word(int ok)
{
    return ok < 0 ? "-" : ok ? "ok" : "WRONG";
}

/* The extra columns of each workload.  s == NULL prints the header, with
 * the same widths as the rows. */
static void extra_w1(const struct bench *b, const struct sample *s, char *buf, size_t n)
{
    char f[24] = "-", pf[24] = "-", p50[16] = "-", p99[16] = "-";

    (void)b;
    if (!s) {
        snprintf(buf, n, "%9s %10s %8s %8s %7s %6s", "faults", "prefetched", "p50 us",
                 "p99 us", "2M MiB", "sum");
        return;
    }
    if (s->st.page_size) {
        snprintf(f, sizeof(f), "%" PRIu64, s->faults);
        snprintf(pf, sizeof(pf), "%" PRIu64, s->st.pages_prefetched);
        fmt_us(p50, sizeof(p50), s->st.fault_p50_ns);
        fmt_us(p99, sizeof(p99), s->st.fault_p99_ns);
    }
    snprintf(buf, n, "%9s %10s %8s %8s %7.0f %6s", f, pf, p50, p99, (double)s->pmd_kb / 1024,
             check_word(s->sum_ok));
}

static void extra_w2(const struct bench *b, const struct sample *s, char *buf, size_t n)
{
    char f[24] = "-";

    (void)b;
    if (!s) {
        snprintf(buf, n, "%9s %6s", "faults", "sum");
        return;
    }
    if (s->st.page_size)
        snprintf(f, sizeof(f), "%" PRIu64, s->faults);
    snprintf(buf, n, "%9s %6s", f, check_word(s->sum_ok));
}

static void extra_w3(const struct bench *b, const struct sample *s, char *buf, size_t n)
{
    char f[24] = "-", p50[16] = "-", p99[16] = "-";

    (void)b;
    if (!s) {
        snprintf(buf, n, "%9s %8s %8s %7s %6s", "faults", "p50 us", "p99 us", "2M MiB", "sum");
        return;
    }
    if (s->st.page_size) {
        snprintf(f, sizeof(f), "%" PRIu64, s->faults);
        fmt_us(p50, sizeof(p50), s->st.fault_p50_ns);
        fmt_us(p99, sizeof(p99), s->st.fault_p99_ns);
    }
    snprintf(buf, n, "%9s %8s %8s %7.0f %6s", f, p50, p99, (double)s->pmd_kb / 1024,
             check_word(s->sum_ok));
}

static void extra_w4(const struct bench *b, const struct sample *s, char *buf, size_t n)
{
    char rss[16], held[16], um[16] = "-", ev[24] = "-", p50[16] = "-", p99[16] = "-";

    (void)b;
    if (!s) {
        snprintf(buf, n, "%8s %9s %8s %9s %8s %8s %6s", "RSS+ MiB", "held+ MiB", "um peak",
                 "evictions", "p50 us", "p99 us", "sum");
        return;
    }
    snprintf(rss, sizeof(rss), "%.0f", (double)s->rss_kb / 1024.0);
    snprintf(held, sizeof(held), "%.0f", (double)s->held_kb / 1024.0);
    if (s->st.page_size) {
        snprintf(um, sizeof(um), "%.0f", (double)s->st.peak_resident_bytes / MIB);
        snprintf(ev, sizeof(ev), "%" PRIu64, s->st.evictions);
        fmt_us(p50, sizeof(p50), s->st.fault_p50_ns);
        fmt_us(p99, sizeof(p99), s->st.fault_p99_ns);
    }
    snprintf(buf, n, "%8s %9s %8s %9s %8s %8s %6s", rss, held, um, ev, p50, p99,
             check_word(s->sum_ok));
}

static void extra_w5(const struct bench *b, const struct sample *s, char *buf, size_t n)
{
    char wr[24] = "-", dirty[24] = "-", exact[8] = "-", p50[16] = "-", p99[16] = "-";

    (void)b;
    if (!s) {
        snprintf(buf, n, "%12s %12s %6s %8s %8s %6s", "written B", "dirty B", "only?",
                 "p50 us", "p99 us", "file");
        return;
    }
    if (s->st.page_size) {
        snprintf(wr, sizeof(wr), "%" PRIu64, s->st.bytes_written);
        snprintf(dirty, sizeof(dirty), "%" PRIu64, s->expect_written);
        strcpy(exact, s->st.bytes_written == s->expect_written ? "yes" : "NO");
        fmt_us(p50, sizeof(p50), s->st.fault_p50_ns);
        fmt_us(p99, sizeof(p99), s->st.fault_p99_ns);
    }
    snprintf(buf, n, "%12s %12s %6s %8s %8s %6s", wr, dirty, exact, p50, p99,
             check_word(s->sum_ok));
}

static const struct workload workloads[NWORK] = {
    [W1] = { "W1", "first-touch sequential scan, fresh mapping per run", "GB/s", 1e9, 3,
             false, extra_w1 },
    [W2] = { "W2", "second (warm) scan of W1's mapping", "GB/s", 1e9, 3, false, extra_w2 },
    [W3] = { "W3", "200,000 random 8-byte reads, fresh mapping", "kreads/s", 1e3, 1, false,
             extra_w3 },
    [W4] = { "W4", "the same random reads, usermap memory limit = size/4", "kreads/s", 1e3,
             1, false, extra_w4 },
    [W5] = { "W5", "writes to 1% of the 4 KiB pages, then msync(MS_SYNC)", "ms", 1e6, 1,
             true, extra_w5 },
};

/* The runs of one contender in one workload, boiled down. */
struct outcome {
    int n;                            /* runs that produced a figure */
    double med, min, max;
    const struct sample *mid;         /* the median run, for the extra columns */
    bool capped;
    double done;                      /* least work fraction among capped runs */
    const struct sample *failure;     /* a failed run, if any */
};

static struct outcome outcome_of(const struct bench *b, enum wid w, size_t ci)
{
    const struct sample *ok[MAX_RUNS];
    struct outcome o = { .done = 1.0 };

    for (int r = 0; r < b->runs; r++) {
        const struct sample *s = sample_at(b, w, ci, r);
        if (s->failed && !o.failure)
            o.failure = s;
        if (!s->ran || s->failed)
            continue;
        if (s->capped) {
            o.capped = true;
            if (s->done < o.done)
                o.done = s->done;
        }
        ok[o.n++] = s;
    }
    if (o.n == 0)
        return o;
    /* Insertion sort by value: at most a few dozen runs. */
    for (int i = 1; i < o.n; i++)
        for (int j = i; j > 0 && ok[j]->value < ok[j - 1]->value; j--) {
            const struct sample *t = ok[j];
            ok[j] = ok[j - 1];
            ok[j - 1] = t;
        }
    o.min = ok[0]->value;
    o.max = ok[o.n - 1]->value;
    o.mid = ok[(o.n - 1) / 2];
    o.med = o.n % 2 ? o.mid->value : (ok[o.n / 2 - 1]->value + ok[o.n / 2]->value) / 2;
    return o;
}

/* How many times faster (>1) or slower (<1) a is than base. */
static double speed_ratio(enum wid w, double a, double base)
{
    if (a <= 0 || base <= 0)
        return 0;
    return workloads[w].is_time ? base / a : a / base;
}

static bool runs_in(enum wid w, size_t ci)
{
    return !(contenders[ci].kind == PREAD && w == W5);
}

/* A ratio with two significant digits, the tiny ones too. */
static int fmt_x(char *buf, size_t n, double x)
{
    return x >= 0.095 ? snprintf(buf, n, "%.2fx", x) : snprintf(buf, n, "%.2gx", x);
}

static void fmt_ratio(char *buf, size_t n, enum wid w, const struct outcome *o,
                      const struct outcome *base)
{
    if (o->n && base->n)
        fmt_x(buf, n, speed_ratio(w, o->med, base->med));
    else
        snprintf(buf, n, "-");
}

static void print_table(const struct bench *b, enum wid w)
{
    const struct workload *wl = &workloads[w];
    struct outcome kernel = outcome_of(b, w, C_KERNEL), pread = outcome_of(b, w, C_PREAD);
    bool any_capped = false;
    char size[32], head[200];

    printf("\n%s  %s, %s  [%s, %s is better]\n", wl->id, wl->title,
           human(b->size, size, sizeof(size)), wl->unit, wl->is_time ? "lower" : "higher");
    if (w == W1 || w == W3)
        printf("    2M MiB: file pages mapped with 2 MiB entries (FilePmdMapped) after the run\n");
    if (w == W4)
        printf("    kernel mmap and the pread loop have no memory limit; usermap's is %s.\n"
               "    Peak growth over the run, sampled every %ld ms: RSS+ is VmRSS (a usermap page\n"
               "    counts twice, in the library's window and in the program's mapping); held+ is\n"
               "    RssAnon + RssFile + the memfds' allocated pages, each page once.\n",
               human(b->size / 4, size, sizeof(size)), SAMPLE_PERIOD_NS / 1000000);
    wl->extra(b, NULL, head, sizeof(head));
    printf("  %-12s %9s %9s %9s %9s %8s | %s\n", "contender", "median", "min", "max",
           "vs kernel", "vs pread", head);
    for (size_t ci = 0; ci < NCONT; ci++) {
        struct outcome o = outcome_of(b, w, ci);
        char vk[16], vp[16], extra[200];

        if (!runs_in(w, ci))
            continue;
        if (o.n == 0) {
            printf("  %-12s failed: %s\n", contenders[ci].name,
                   o.failure ? o.failure->why : "did not run");
            continue;
        }
        fmt_ratio(vk, sizeof(vk), w, &o, &kernel);
        if (runs_in(w, C_PREAD))
            fmt_ratio(vp, sizeof(vp), w, &o, &pread);
        else
            strcpy(vp, "-");
        wl->extra(b, o.mid, extra, sizeof(extra));
        printf("  %-12s %9.*f %9.*f %9.*f %9s %8s | %s%s\n", contenders[ci].name,
               wl->precision, o.med / wl->scale, wl->precision, o.min / wl->scale,
               wl->precision, o.max / wl->scale, vk, vp, extra,
               o.capped ? "  *capped" : "");
        if (o.failure)
            printf("  %-12s   (%d of %d runs failed: %s)\n", "", b->runs - o.n, b->runs,
                   o.failure->why);
        if (o.capped) {
            any_capped = true;
            printf("  %-12s   *capped at %.0f s: measured on the first %.0f%% of the work%s\n",
                   "", b->cap_s, 100 * o.done, wl->is_time ? ", time extrapolated" : "");
        }
    }
    if (any_capped)
        printf("  (a capped run's figure is a rate over the work it did in time)\n");
    fflush(stdout);
}

/* ---------------------------------------------------------- the summary */

enum judge { RATIO, PEAK, WRITTEN };

struct target {
    const char *what;
    enum wid w;
    enum judge judge;
    size_t base;                      /* RATIO: the contender it is against */
    double threshold;
};

static const struct target targets[] = {
    { "W1 first-touch scan  >= 0.50x kernel", W1, RATIO, C_KERNEL, 0.50 },
    { "W2 warm scan         >= 0.95x kernel", W2, RATIO, C_KERNEL, 0.95 },
    { "W3 random reads      >= 0.50x kernel", W3, RATIO, C_KERNEL, 0.50 },
    { "W4 limited reads     >= 0.30x pread", W4, RATIO, C_PREAD, 0.30 },
    { "W4 peak memory held  <= limit + 2%", W4, PEAK, 0, 1.02 },
    { "W5 writes + msync    >= 0.50x kernel", W5, RATIO, C_KERNEL, 0.50 },
    { "W5 bytes written     == dirty pages", W5, WRITTEN, 0, 0 },
};

/* One cell of the summary: the figure and PASS/MISS, or "-". */
static void judge_cell(const struct bench *b, const struct target *t, size_t ci, char *buf,
                       size_t n)
{
    struct outcome o = outcome_of(b, t->w, ci), base = outcome_of(b, t->w, t->base);
    const char *mark = o.capped ? "*" : "";
    int64_t worst = 0;
    bool all_exact = true;

    if (o.n == 0) {
        snprintf(buf, n, "%s", o.failure ? "failed" : "-");
        return;
    }
    for (int r = 0; r < b->runs; r++) {
        const struct sample *s = sample_at(b, t->w, ci, r);
        if (!s->ran || s->failed)
            continue;
        if (s->held_kb > worst)
            worst = s->held_kb;
        all_exact = all_exact && s->st.bytes_written == s->expect_written;
    }
    switch (t->judge) {
    case RATIO: {
        double x = base.n ? speed_ratio(t->w, o.med, base.med) : 0;
        int len = fmt_x(buf, n, x);
        snprintf(buf + len, n - (size_t)len, "%s %s", mark, x >= t->threshold ? "PASS" : "MISS");
        break;
    }
    case PEAK: {
        double limit_kb = (double)(b->size / 4) / KIB;
        snprintf(buf, n, "%.2fx%s %s", (double)worst / limit_kb, mark,
                 (double)worst <= limit_kb * t->threshold ? "PASS" : "MISS");
        break;
    }
    case WRITTEN:
        snprintf(buf, n, "%s%s %s", all_exact ? "exact" : "more", mark,
                 all_exact ? "PASS" : "MISS");
        break;
    }
}

static void print_summary(const struct bench *b)
{
    printf("\nSummary against the targets (median of %d runs; usermap / baseline)\n", b->runs);
    printf("  %-38s", "target");
    for (size_t ci = 0; ci < NCONT; ci++)
        if (contenders[ci].kind == USERMAP)
            printf(" %-14s", contenders[ci].name);
    printf("\n");
    for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
        if (!(b->only & (1u << targets[t].w)))
            continue;
        printf("  %-38s", targets[t].what);
        for (size_t ci = 0; ci < NCONT; ci++) {
            char cell[32];
            if (contenders[ci].kind != USERMAP)
                continue;
            judge_cell(b, &targets[t], ci, cell, sizeof(cell));
            printf(" %-14s", cell);
        }
        printf("\n");
    }
    for (size_t ci = 0; ci < NCONT && (b->only & (1u << W4)); ci++) {
        uint64_t reach = (uint64_t)RANDOM_READS * contenders[ci].page_size;
        char r[32], l[32];
        /* Then its PASS says nothing about eviction: say so. */
        if (contenders[ci].kind == USERMAP && reach < b->size / 4)
            printf("  %s: %u reads touch at most %s, under the %s limit: its W4 never "
                   "has to evict.\n", contenders[ci].name, RANDOM_READS,
                   human(reach, r, sizeof(r)), human(b->size / 4, l, sizeof(l)));
    }
    if (b->only & (1u << W1))
        printf("  The W1 target is stated for 64K pages.\n");
    if (b->only & (1u << W4))
        printf("  W4 peak: the worst run's growth of memory held, as a multiple of the limit.\n");
    printf("  * = some runs were capped; PASS/MISS never changes the exit status.\n");
}

/* ------------------------------------------------------------- running */

/* Contenders that measure the same thing share a run: W1 and W2 are one
 * mapping scanned twice. */
struct group {
    const char *name;
    unsigned workloads;
    void (*run)(struct bench *, size_t ci, int run);
};

static const struct group groups[] = {
    { "W1+W2", 1u << W1 | 1u << W2, run_scan },
    { "W3", 1u << W3, run_w3 },
    { "W4", 1u << W4, run_w4 },
    { "W5", 1u << W5, run_w5 },
};

static bool group_runs(const struct group *g, size_t ci)
{
    for (enum wid w = W1; w < NWORK; w++)
        if ((g->workloads & (1u << w)) && runs_in(w, ci))
            return true;
    return false;
}

/* Run r of every contender before run r+1 of any: a slow drift of the
 * machine then spreads over all of them instead of favouring one. */
static void run_group(struct bench *b, const struct group *g)
{
    for (int r = 0; r < b->runs; r++) {
        for (size_t ci = 0; ci < NCONT; ci++) {
            uint64_t t0, back;
            if (!group_runs(g, ci))
                continue;
            back = top_up(b);
            t0 = now_ns();
            fprintf(stderr, "  %s run %d/%d %-12s (%4.0f MiB topped up) ", g->name, r + 1,
                    b->runs, contenders[ci].name, (double)back / MIB);
            watchdog_start(b, g->name, contenders[ci].name);
            g->run(b, ci, r);
            watchdog_stop();
            fprintf(stderr, "%.1f s\n", (double)(now_ns() - t0) / NS_PER_S);
        }
    }
    for (enum wid w = W1; w < NWORK; w++)
        if (g->workloads & b->only & (1u << w))
            print_table(b, w);
}

static void print_header(const struct bench *b)
{
    struct utsname u;
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    um_pool_config cfg;
    char size[32];

    uname(&u);
    um_pool_config_init(&cfg);
    printf("usermap-bench (libusermap %d.%d) against kernel mmap and a pread loop\n",
           USERMAP_VERSION_MAJOR, USERMAP_VERSION_MINOR);
    printf("machine: %ld CPUs online, %.1f GiB RAM, %s %s %s\n", sysconf(_SC_NPROCESSORS_ONLN),
           (double)pages * (double)psize / GIB, u.sysname, u.release, u.machine);
    printf("file: %s, %s, page cache hot (topped up before every run); %d runs per\n"
           "      contender, median reported, cap %.0f s per run\n", b->path,
           human(b->size, size, sizeof(size)), b->runs, b->cap_s);
    printf("usermap: a fresh pool per run; read-ahead %zu KiB, %u fill thread(s), "
           "CLOCK (the defaults)\n", cfg.readahead / 1024, cfg.fill_threads);
}

static int usage(void)
{
    fprintf(stderr, "usage: usermap-bench [--file PATH] [--size 4G] [--runs 3] "
            "[--only W1,W2,W3,W4,W5] [--cap SECONDS]\n");
    return 2;
}

static int parse_only(const char *list, unsigned *mask)
{
    char *copy = strdup(list), *save = NULL;

    *mask = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        enum wid w;
        for (w = W1; w < NWORK; w++)
            if (strcasecmp(tok, workloads[w].id) == 0)
                break;
        if (w == NWORK) {
            free(copy);
            return -1;
        }
        *mask |= 1u << w;
    }
    free(copy);
    return *mask ? 0 : -1;
}

static int parse_args(struct bench *b, int argc, char **argv)
{
    for (int i = 1; i < argc; i += 2) {  /* each option takes one value */
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val)
            return -1;
        if (strcmp(opt, "--file") == 0)
            b->path = val;
        else if (strcmp(opt, "--size") == 0 && size_parse(val, &b->size) == 0)
            ;
        else if (strcmp(opt, "--runs") == 0)
            b->runs = atoi(val);
        else if (strcmp(opt, "--only") == 0 && parse_only(val, &b->only) == 0)
            ;
        else if (strcmp(opt, "--cap") == 0 && atof(val) > 0)
            b->cap_s = atof(val);
        else
            return -1;
    }
    if (b->size < 2 * FILE_PAGE || b->size % FILE_PAGE) {
        fprintf(stderr, "usermap-bench: --size must be a multiple of 4 KiB, at least 8 KiB\n");
        return -1;
    }
    if (b->runs < 3 || b->runs > MAX_RUNS) {
        fprintf(stderr, "usermap-bench: --runs %d: using %d (a median needs 3 runs)\n",
                b->runs, b->runs < 3 ? 3 : MAX_RUNS);
        b->runs = b->runs < 3 ? 3 : MAX_RUNS;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct bench b = {
        .path = "/tmp/usermap-bench.dat", .size = 4 * GIB, .runs = 3,
        .only = (1u << NWORK) - 1, .cap_s = DEFAULT_CAP_S,
    };
    uint64_t t0 = now_ns();

    if (parse_args(&b, argc, argv) < 0)
        return usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    print_header(&b);
    if (prepare_file(&b) < 0 || pick_write_pages(&b) < 0)
        return 1;
    b.res = calloc((size_t)NWORK * NCONT * (size_t)b.runs, sizeof(*b.res));
    if (!b.res)
        return 1;
    install_guards();
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
        if (groups[g].workloads & b.only)
            run_group(&b, &groups[g]);
    print_summary(&b);
    printf("\npage cache: %.0f MiB of the file had left it between runs and were read back "
           "before the run\n", (double)b.reread / MIB);
    printf("total time %.0f s\n", (double)(now_ns() - t0) / NS_PER_S);
    return 0;
}
