/* SPDX-License-Identifier: MIT */
/*
 * ipc.c - issue 8's tests: unrelated processes sharing one file through
 * MAP_SHARED mappings, run once on the kernel's mmap and once on usermap's
 * (um_*) and compared.  Issue 8 makes the page cache of a file one named
 * shared-memory object that every usermap process mapping the file uses;
 * these tests say what that must give, through the public API only.
 *
 *   counter      4 exec'd processes each add 1 to one shared uint64_t
 *                1,000,000 times (__atomic_fetch_add): 4,000,000, in the
 *                mapping and in the file once all have exited.
 *   lost_update  8 exec'd processes each store their own 16 bytes of one
 *                page at random moments; some msync, they exit in a random
 *                order in different ways (_exit, return from main, munmap
 *                first, one SIGKILLed): every byte is in the file after a
 *                later process has mapped and unmapped it.
 *   crash        a writer stores a sequence number in consecutive 8-byte
 *                slots over 16 pages, reporting each store through a pipe,
 *                and is SIGKILLed at a random point; after a later process
 *                has mapped and unmapped the file, every store reported
 *                before the kill is in it.  --trials N times (default 1000),
 *                then no object may be left in the cache directory.
 *   security     usermap only (the kernel's page cache has no cache
 *                directory to protect, so that side has no counterpart):
 *                needs root.  While root holds a mapping, uid 65534 can
 *                neither list nor open root's cache objects, nor open them
 *                through root's /proc/PID/fd; and a cache directory path
 *                (USERMAP_CACHE_DIR) that is a symlink, or a directory of
 *                another user, makes um_mmap fail with EACCES and a
 *                message naming the path, never followed or used.
 *
 * The processes that map are exec'd copies of this program ("ipc --role
 * ROLE SIDE FILE A B"), so nothing of the test's own process reaches them:
 * each has only what the library gives it across processes.  They report
 * to the side's process through a pipe (fd 3) and take its word through
 * another (fd 0): every step that must follow another waits for it, no
 * sleep orders anything.  A later process maps the file before it is read
 * back because, for usermap, that is when the stores of a dead process are
 * recovered.  counter, lost_update and crash give each side a fresh
 * USERMAP_CACHE_DIR (unless the environment sets one), so that other tests
 * running at once cannot put objects in it.
 *
 * Watchdogs: every process the test makes has an alarm(); each side runs
 * in its own process group, which is killed when the side ends (nothing
 * left behind) or when it has not ended by its deadline (the case fails:
 * "hang"); ctest's TIMEOUT is above both sides' deadlines.
 *
 * usage: ipc [-v] [--kernel | --usermap] [--trials N] [--list] [CASE ...]
 *   --kernel, --usermap  run that side alone, against the stated results
 *                        (default: both, and they must agree)
 *   --trials N           trials of lost_update and crash
 * Output: "ok NAME (SIDE SECONDS s, ...)", "FAIL NAME: ...", "skip NAME:
 * reason"; exit 1 if any case failed, 77 (ctest's skip) if every case
 * asked for was skipped, else 0.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "usermap.h"

#define RW (PROT_READ | PROT_WRITE)
#define PAGE 4096
#define REPORT_FD 3        /* a worker's reports to the side's process */
#define WORKER_TIMEOUT 20  /* seconds a worker may live (alarm) */
#define SKIP_CODE 77       /* ctest's SKIP_RETURN_CODE */
#define MAX_FAILED 5       /* trials that fail before a case stops */
#define NOBODY 65534       /* the unprivileged uid of the security case */

#define COUNTER_PROCS 4
#define COUNTER_ADDS 1000000
#define LOST_PROCS 8
#define LOST_BYTES 16      /* each process's share of the page */
#define CRASH_PAGES 16
#define CRASH_SLOTS (CRASH_PAGES * PAGE / 8)

/* ================================================================== */
/* Small things                                                        */

struct ctx {
    const char *side;   /* "kernel" or "usermap": what the workers call */
    struct hr_outcome *o;
    const char *dir;    /* this side's own directory */
    int trials;
    void (*fn)(struct ctx *); /* the case's side */
};

#define field(c, ...) hr_field((c)->o, __VA_ARGS__)

/* A reproducible random sequence (xorshift64*); the seed must not be 0. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

static uint64_t seed_of(int trial, int who)
{
    return 0x9e3779b97f4a7c15ull * (uint64_t)(trial + 1) + (uint64_t)who + 1;
}

static void path_in(const struct ctx *c, char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", c->dir, name);
}

/* A new file of SIZE zero bytes at PATH (an old one is replaced, so that
 * every trial has a file no process has mapped yet).  0 or -1. */
static int make_file(const char *path, size_t size)
{
    unlink(path);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -1;
    int r = ftruncate(fd, (off_t)size);
    close(fd);
    return r;
}

/* The first SIZE bytes of PATH with pread, the way a program that does
 * not map the file sees it.  0 or -1. */
static int read_back(const char *path, void *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = pread(fd, buf, size, 0);
    close(fd);
    return n == (ssize_t)size ? 0 : -1;
}

static void run_cmd(const char *fmt, const char *arg)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, fmt, arg);
    if (system(cmd) != 0)
        fprintf(stderr, "failed: %s\n", cmd);
}

/* ================================================================== */
/* Workers: exec'd copies of this program                              */

static const struct hr_ops *g_ops; /* in a worker: its side's calls */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ipc worker %d: ", (int)getpid());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(3);
}

static void say(uint64_t v)
{
    if (write(REPORT_FD, &v, sizeof v) != (ssize_t)sizeof v)
        die("report: %s", strerror(errno));
}

/* The next byte from the side's process; -1 once it has closed the pipe. */
static int wait_word(void)
{
    char b;
    ssize_t n;
    while ((n = read(0, &b, 1)) < 0 && errno == EINTR) {
    }
    return n == 1 ? b : -1;
}

/* Map all of FILE MAP_SHARED, read-write, with the side's mmap. */
static void *map_file(const char *file, size_t *len)
{
    struct stat st;
    int fd = open(file, O_RDWR);
    if (fd < 0 || fstat(fd, &st) != 0)
        die("%s: %s", file, strerror(errno));
    void *p = g_ops->mmap(NULL, (size_t)st.st_size, RW, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        die("%s mmap %s: %s", g_ops->name, file,
            g_ops == &hr_usermap_ops ? um_error_message() : strerror(errno));
    close(fd);
    *len = (size_t)st.st_size;
    return p;
}

static void unmap(void *p, size_t len)
{
    if (g_ops->munmap(p, len) != 0)
        die("munmap: %s", strerror(errno));
}

/* counter: ready, then COUNTER_ADDS atomic adds once told to go. */
static int role_counter(const char *file, long i, long seed)
{
    (void)i, (void)seed;
    size_t len;
    uint64_t *n = map_file(file, &len);
    say(0);
    if (wait_word() < 0)
        return 1;
    for (int k = 0; k < COUNTER_ADDS; k++)
        __atomic_fetch_add(n, 1, __ATOMIC_SEQ_CST);
    unmap(n, len);
    return 0;
}

static uint8_t lost_byte(long i, int j)
{
    return (uint8_t)(i * LOST_BYTES + j + 1);
}

/* lost_update: store bytes [I*16, I*16+16) one at a time, at random
 * moments; some msync; report; then leave as the side's word says. */
static int role_lost(const char *file, long i, long seed)
{
    size_t len;
    uint64_t s = (uint64_t)seed;
    volatile uint8_t *p = map_file(file, &len);
    say(0);
    if (wait_word() < 0)
        return 1;
    for (int j = 0; j < LOST_BYTES; j++) {
        usleep((useconds_t)(rnd(&s) % 200));
        p[i * LOST_BYTES + j] = lost_byte(i, j);
    }
    /* A process that msyncs writes its view of the whole page: on a cache
     * of its own, that view lacks the others' bytes. */
    if (i % 3 == 0 && g_ops->msync((void *)p, len, MS_SYNC) != 0)
        die("msync: %s", strerror(errno));
    say(1);
    switch (wait_word()) {
    case 'x':
        _exit(0);           /* no exit handlers, no munmap */
    case 'u':
        unmap((void *)p, len);
        return 0;
    default:
        return 0;           /* from main, the mapping still there */
    }
}

/* crash: slot k gets k + 1, reported after each store; then wait for the
 * SIGKILL, the mapping held. */
static int role_crash(const char *file, long i, long seed)
{
    (void)i, (void)seed;
    size_t len;
    volatile uint64_t *slot = map_file(file, &len);
    for (uint64_t k = 0; k < len / 8; k++) {
        slot[k] = k + 1;
        say(k + 1);
    }
    pause(); /* until the SIGKILL (or the watchdog's SIGALRM) */
    return 1;
}

/* touch: the later process: map, report the first 8 bytes, unmap. */
static int role_touch(const char *file, long i, long seed)
{
    (void)i, (void)seed;
    size_t len;
    uint64_t *p = map_file(file, &len);
    say(*(volatile uint64_t *)p);
    unmap(p, len);
    return 0;
}

/* hold: map, store, report, keep the mapping until told to go. */
static int role_hold(const char *file, long i, long seed)
{
    (void)i, (void)seed;
    size_t len;
    char *p = map_file(file, &len);
    p[0] = 'S';
    say(1);
    wait_word();
    unmap(p, len);
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(const char *file, long i, long seed);
} roles[] = {
    {"counter", role_counter}, {"lost", role_lost}, {"crash", role_crash},
    {"touch", role_touch},     {"hold", role_hold},
};

/* ipc --role ROLE SIDE FILE I SEED */
static int worker_main(int argc, char **argv)
{
    alarm(WORKER_TIMEOUT);
    if (argc != 7)
        die("usage: ipc --role ROLE SIDE FILE I SEED");
    g_ops = strcmp(argv[3], "usermap") == 0 ? &hr_usermap_ops : &hr_kernel_ops;
    for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++)
        if (strcmp(roles[r].name, argv[2]) == 0)
            return roles[r].fn(argv[4], atol(argv[5]), atol(argv[6]));
    die("no role %s", argv[2]);
}

/* ================================================================== */
/* The side's end of a worker                                          */

struct worker {
    pid_t pid;
    int rep;  /* read end of its reports */
    int word; /* write end of its fd 0 */
};

/* dup2 FROM onto TO for exec (dup2 alone keeps FD_CLOEXEC when equal). */
static void move_fd(int from, int to)
{
    if (from == to)
        fcntl(to, F_SETFD, 0);
    else
        dup2(from, to);
}

static int spawn(struct worker *w, const struct ctx *c, const char *role,
                 const char *file, long i, uint64_t seed)
{
    int rep[2], word[2];
    if (pipe2(rep, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(word, O_CLOEXEC) != 0) {
        close(rep[0]);
        close(rep[1]);
        return -1;
    }
    fflush(NULL);
    w->pid = fork();
    if (w->pid == 0) {
        move_fd(word[0], 0);
        move_fd(rep[1], REPORT_FD);
        char a[32], b[32];
        snprintf(a, sizeof a, "%ld", i);
        snprintf(b, sizeof b, "%ld", (long)(seed >> 2));
        execl("/proc/self/exe", "ipc", "--role", role, c->side, file, a, b,
              (char *)NULL);
        _exit(127);
    }
    close(rep[1]);
    close(word[0]);
    w->rep = rep[0];
    w->word = word[1];
    return w->pid < 0 ? -1 : 0;
}

/* The worker's next report into *V: 0, or -1 once it has gone. */
static int hear(struct worker *w, uint64_t *v)
{
    size_t got = 0;
    while (got < sizeof *v) {
        ssize_t n = read(w->rep, (char *)v + got, sizeof *v - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* Read the reports waiting (one at least) and keep the latest in *LAST:
 * one read for many, where a writer reports every store.  0, or -1 once
 * the worker has gone. */
static int hear_latest(struct worker *w, uint64_t *last)
{
    uint64_t buf[512];
    size_t got = 0;
    /* 8-byte writes arrive whole, so this loop reads once, but a short
     * read would still end on a whole report. */
    do {
        ssize_t n = read(w->rep, (char *)buf + got,
                         got ? sizeof *buf - got % sizeof *buf : sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    } while (got % sizeof *buf);
    *last = buf[got / sizeof *buf - 1];
    return 0;
}

static void tell(struct worker *w, char b)
{
    if (write(w->word, &b, 1) != 1) {
        /* it has gone: its status says how */
    }
}

/* Wait for the worker to end; its status as text into ST (N bytes). */
static void reap(struct worker *w, char *st, size_t n)
{
    int s = 0;
    close(w->rep);
    close(w->word);
    while (waitpid(w->pid, &s, 0) < 0 && errno == EINTR) {
    }
    hr_fmt_status(st, n, s, " (its watchdog fired)");
}

/* Spawn N workers of ROLE (worker i gets I = i) and wait until each has
 * reported once (ready).  0, or -1 after noting why. */
static int start_all(struct ctx *c, struct worker *w, int n, const char *role,
                     const char *file, uint64_t seed)
{
    for (int i = 0; i < n; i++) {
        uint64_t v;
        if (spawn(&w[i], c, role, file, i, seed + (uint64_t)i) != 0) {
            hr_bad(c->o, "spawn %s: %s", role, strerror(errno));
            return -1;
        }
        if (hear(&w[i], &v) != 0) {
            char st[96];
            reap(&w[i], st, sizeof st);
            hr_bad(c->o, "%s worker %d ended before it was ready: %s", role, i, st);
            return -1;
        }
    }
    return 0;
}

/* Run a later process that maps FILE and unmaps it.  0, or -1 with its
 * status in ST. */
static int touch(struct ctx *c, const char *file, char *st, size_t n)
{
    struct worker w;
    uint64_t v;
    if (spawn(&w, c, "touch", file, 0, 0) != 0) {
        snprintf(st, n, "spawn: %s", strerror(errno));
        return -1;
    }
    int heard = hear(&w, &v);
    reap(&w, st, n);
    return heard == 0 && strcmp(st, "exit 0") == 0 ? 0 : -1;
}

/* How many entries the cache directory holds now: its objects.  A missing
 * directory (the kernel's side, or a library without one) holds none. */
static int cache_objects(char names[][NAME_MAX + 1], int max)
{
    const char *dir = getenv("USERMAP_CACHE_DIR");
    char def[64];
    if (!dir || !*dir) {
        snprintf(def, sizeof def, "/dev/shm/usermap-%u", (unsigned)getuid());
        dir = def;
    }
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        /* Dot files are the directory's own (the registry), not caches. */
        if (e->d_name[0] == '.')
            continue;
        if (names && n < max)
            snprintf(names[n], NAME_MAX + 1, "%s", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static void check_cache_left(struct ctx *c)
{
    field(c, "cache objects left", "0", "%d", cache_objects(NULL, 0));
}

/* ================================================================== */
/* counter                                                             */

static void counter_side(struct ctx *c)
{
    char file[PATH_MAX], st[96];
    struct worker w[COUNTER_PROCS];
    uint64_t n = 0;
    path_in(c, file, sizeof file, "counter");
    if (make_file(file, PAGE) != 0) {
        hr_bad(c->o, "%s: %s", file, strerror(errno));
        return;
    }
    if (start_all(c, w, COUNTER_PROCS, "counter", file, 1) != 0)
        return;
    for (int i = 0; i < COUNTER_PROCS; i++)
        tell(&w[i], 'g'); /* all at once, as near as can be */
    for (int i = 0; i < COUNTER_PROCS; i++) {
        reap(&w[i], st, sizeof st);
        field(c, hr_fmt_ring("worker %lld", i), "exit 0", "%s", st);
    }
    if (read_back(file, &n, sizeof n) != 0)
        hr_bad(c->o, "pread %s: %s", file, strerror(errno));
    field(c, "file holds", N((long long)COUNTER_PROCS * COUNTER_ADDS), "%llu",
          (unsigned long long)n);
    check_cache_left(c);
}

/* ================================================================== */
/* lost_update                                                         */

/* Which worker is SIGKILLed in trial T, and how worker I leaves. */
static int lost_victim(int t)
{
    return t % LOST_PROCS;
}

static char lost_exit_word(int i, int t)
{
    return "xur"[(i + t) % 3];
}

/* Release the workers in a random order, one at a time, each ending
 * before the next goes; the victim is killed instead.  Returns how many
 * did not end as planned, with the first in WHY. */
static int lost_release(struct worker *w, int t, char *why, size_t n)
{
    int order[LOST_PROCS], bad = 0;
    uint64_t s = seed_of(t, 99);
    for (int i = 0; i < LOST_PROCS; i++)
        order[i] = i;
    for (int i = LOST_PROCS - 1; i > 0; i--) {
        int j = (int)(rnd(&s) % (uint64_t)(i + 1)), tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    for (int k = 0; k < LOST_PROCS; k++) {
        int i = order[k], victim = i == lost_victim(t);
        char st[96];
        if (victim)
            kill(w[i].pid, SIGKILL);
        else
            tell(&w[i], lost_exit_word(i, t));
        reap(&w[i], st, sizeof st);
        if (strcmp(st, victim ? "killed by SIGKILL" : "exit 0") != 0 && !bad++)
            snprintf(why, n, "worker %d: %s", i, st);
    }
    return bad;
}

/* Bytes of the page that are not what the workers stored (after them,
 * zeros); the first in WHY. */
static int lost_wrong(const uint8_t *page, char *why, size_t n)
{
    int wrong = 0;
    for (int b = 0; b < PAGE; b++) {
        int i = b / LOST_BYTES;
        uint8_t want = i < LOST_PROCS ? lost_byte(i, b % LOST_BYTES) : 0;
        if (page[b] != want && !wrong++)
            snprintf(why, n, "byte %d (worker %d's) holds %02x, want %02x", b, i,
                     page[b], want);
    }
    return wrong;
}

/* One trial; 0, or -1 with what went wrong in WHY. */
static int lost_trial(struct ctx *c, const char *file, int t, char *why, size_t n)
{
    struct worker w[LOST_PROCS];
    uint8_t page[PAGE];
    uint64_t v;
    if (make_file(file, PAGE) != 0 ||
        start_all(c, w, LOST_PROCS, "lost", file, seed_of(t, 0)) != 0) {
        snprintf(why, n, "could not start: %.400s", c->o->bad);
        return -1;
    }
    for (int i = 0; i < LOST_PROCS; i++)
        tell(&w[i], 'g');
    for (int i = 0; i < LOST_PROCS; i++)
        if (hear(&w[i], &v) != 0) {
            snprintf(why, n, "worker %d ended before its stores were done", i);
            return -1;
        }
    if (lost_release(w, t, why, n) != 0)
        return -1;
    char st[96];
    if (touch(c, file, st, sizeof st) != 0) {
        snprintf(why, n, "the later process: %s", st);
        return -1;
    }
    if (read_back(file, page, PAGE) != 0) {
        snprintf(why, n, "pread: %s", strerror(errno));
        return -1;
    }
    int wrong = lost_wrong(page, why, n);
    if (wrong)
        hr_append(why, n, "%d of %d bytes wrong", wrong, PAGE);
    return wrong ? -1 : 0;
}

/* Run TRIAL of each case C->trials times, stopping after MAX_FAILED
 * failures; record the result as the field "trials". */
static void run_trials(struct ctx *c, const char *file,
                       int (*trial)(struct ctx *, const char *, int, char *, size_t))
{
    char why[512], first[600] = "";
    int failed = 0, t;
    for (t = 0; t < c->trials && failed < MAX_FAILED; t++) {
        why[0] = '\0';
        if (trial(c, file, t, why, sizeof why) != 0 && !failed++)
            snprintf(first, sizeof first, "first in trial %d: %s", t, why);
    }
    char want[32];
    snprintf(want, sizeof want, "%d passed", c->trials);
    if (failed)
        field(c, "trials", want, "%d of %d failed (stopped after %d); %s", failed,
              t, MAX_FAILED, first);
    else
        field(c, "trials", want, "%d passed", t);
}

static void lost_update_side(struct ctx *c)
{
    char file[PATH_MAX];
    path_in(c, file, sizeof file, "page");
    run_trials(c, file, lost_trial);
    check_cache_left(c);
}

/* ================================================================== */
/* crash                                                               */

/* Where trial T kills the writer: after its Nth report.  A quarter of the
 * kills fall in the first page, the rest anywhere. */
static uint64_t crash_point(int t)
{
    uint64_t s = seed_of(t, 7);
    uint64_t r = rnd(&s);
    return 1 + (r % 4 == 0 ? (r >> 8) % (PAGE / 8) : (r >> 8) % CRASH_SLOTS);
}

/* Check every slot: those reported (below LAST) hold their number, the
 * others their number or 0 (a store not yet reported).  0 or -1. */
static int crash_check(const uint64_t *slot, uint64_t last, char *why, size_t n)
{
    uint64_t lost = 0, bad = 0, first = 0;
    for (uint64_t k = 0; k < CRASH_SLOTS; k++) {
        int ok = slot[k] == k + 1 || (k >= last && slot[k] == 0);
        if (!ok && !(lost + bad))
            first = k;
        if (!ok)
            *(k < last ? &lost : &bad) += 1;
    }
    if (!lost && !bad)
        return 0;
    snprintf(why, n, "the writer reported %llu stores; %llu of them lost, %llu "
             "other slots wrong; slot %llu holds %llu",
             (unsigned long long)last, (unsigned long long)lost,
             (unsigned long long)bad, (unsigned long long)first,
             (unsigned long long)slot[first]);
    return -1;
}

static int crash_trial(struct ctx *c, const char *file, int t, char *why, size_t n)
{
    static uint64_t slot[CRASH_SLOTS];
    struct worker w;
    uint64_t last = 0, at = crash_point(t);
    char st[96];
    if (make_file(file, sizeof slot) != 0 || spawn(&w, c, "crash", file, 0, 0) != 0) {
        snprintf(why, n, "could not start: %s", strerror(errno));
        return -1;
    }
    while (last < at && hear_latest(&w, &last) == 0) {
    }
    int early = last < at;
    kill(w.pid, SIGKILL);
    while (hear_latest(&w, &last) == 0) { /* reported before the kill landed */
    }
    reap(&w, st, sizeof st);
    if (early || strcmp(st, "killed by SIGKILL") != 0) {
        snprintf(why, n, "the writer ended on its own after %llu stores: %s",
                 (unsigned long long)last, st);
        return -1;
    }
    if (touch(c, file, st, sizeof st) != 0) {
        snprintf(why, n, "the later process: %s", st);
        return -1;
    }
    if (read_back(file, slot, sizeof slot) != 0) {
        snprintf(why, n, "pread: %s", strerror(errno));
        return -1;
    }
    return crash_check(slot, last, why, n);
}

static void crash_side(struct ctx *c)
{
    char file[PATH_MAX];
    path_in(c, file, sizeof file, "slots");
    run_trials(c, file, crash_trial);
    check_cache_left(c);
}

/* ================================================================== */
/* security                                                            */

#define MAX_OBJECTS 16

/* The cache directory of this process's uid (root's here). */
static void cache_dir(char *out, size_t n)
{
    const char *d = getenv("USERMAP_CACHE_DIR");
    if (d && *d)
        snprintf(out, n, "%s", d);
    else
        snprintf(out, n, "/dev/shm/usermap-%u", (unsigned)getuid());
}

/* In uid NOBODY's child: open PATH must be refused (EACCES or EPERM). */
static void refused(struct ctx *c, const char *what, const char *path, int flags)
{
    int fd = open(path, flags);
    int e = errno;
    if (fd >= 0) {
        close(fd);
        hr_bad(c->o, "uid %d could %s %s", NOBODY, what, path);
    } else if (e != EACCES && e != EPERM) {
        hr_bad(c->o, "uid %d: %s %s: %s, want EACCES or EPERM", NOBODY, what, path,
               hr_errname(e));
    }
}

/* Root's descriptors in process PID that lead into DIR, as
 * /proc/PID/fd/N paths (how another user might reach an object that has
 * no name any more); how many. */
static int fds_into(pid_t pid, const char *dir, char paths[][96], int max)
{
    char fddir[64], link[PATH_MAX];
    snprintf(fddir, sizeof fddir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(fddir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL && n < max) {
        char p[96];
        snprintf(p, sizeof p, "%s/%.20s", fddir, e->d_name);
        ssize_t l = readlink(p, link, sizeof link - 1);
        if (l <= 0)
            continue;
        link[l] = '\0';
        if (strncmp(link, dir, strlen(dir)) == 0)
            snprintf(paths[n++], 96, "%s", p);
    }
    if (d)
        closedir(d);
    return n;
}

/* Fork a child that becomes uid NOBODY and tries to reach root's cache:
 * list it, open each object, open each descriptor of the holder. */
static void as_nobody(struct ctx *c, const char *dir,
                      char names[][NAME_MAX + 1], int nnames,
                      char fds[][96], int nfds)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(WORKER_TIMEOUT);
        if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
            _exit(2);
        char p[PATH_MAX + NAME_MAX + 2];
        refused(c, "list", dir, O_RDONLY | O_DIRECTORY);
        for (int i = 0; i < nnames; i++) {
            snprintf(p, sizeof p, "%s/%s", dir, names[i]);
            refused(c, "open for reading", p, O_RDONLY);
            refused(c, "open for writing", p, O_RDWR);
        }
        for (int i = 0; i < nfds; i++)
            refused(c, "open root's descriptor", fds[i], O_RDWR);
        _exit(0);
    }
    int st = 0;
    char s[96];
    waitpid(pid, &st, 0);
    hr_fmt_status(s, sizeof s, st, " (its watchdog fired)");
    field(c, "uid 65534's attempts", "exit 0", "%s", s);
    field(c, "uid 65534's attempts made (each refused)", NULL, "%d",
          1 + 2 * nnames + nfds);
}

/* While root's worker holds a mapping: root's cache must be there, and
 * closed to uid NOBODY. */
static void closed_to_others(struct ctx *c)
{
    char file[PATH_MAX], dir[PATH_MAX], st[96];
    char names[MAX_OBJECTS][NAME_MAX + 1], fds[MAX_OBJECTS][96];
    struct worker w;
    path_in(c, file, sizeof file, "held");
    cache_dir(dir, sizeof dir);
    if (make_file(file, PAGE) != 0 || chmod(c->dir, 0755) != 0 ||
        start_all(c, &w, 1, "hold", file, 0) != 0) {
        hr_bad(c->o, "could not start the holder: %s", strerror(errno));
        return;
    }
    int n = cache_objects(names, MAX_OBJECTS);
    if (n > MAX_OBJECTS)
        n = MAX_OBJECTS;
    struct stat sb;
    field(c, "cache directory while a mapping is held", "present", "%s",
          stat(dir, &sb) == 0 && n > 0 ? "present" : "missing or empty");
    if (n > 0)
        as_nobody(c, dir, names, n, fds, fds_into(w.pid, dir, fds, MAX_OBJECTS));
    tell(&w, 'g');
    reap(&w, st, sizeof st);
    field(c, "holder", "exit 0", "%s", st);
}

/* In a fresh child (the default pool reads its environment at its first
 * use): um_mmap with USERMAP_CACHE_DIR=PATH must fail with EACCES and a
 * message naming PATH; recorded as fields "WHAT: ...". */
static void refused_cache_dir(struct ctx *c, const char *what, const char *path)
{
    char file[PATH_MAX], key[64];
    path_in(c, file, sizeof file, "planted");
    if (make_file(file, PAGE) != 0) {
        hr_bad(c->o, "%s: %s", file, strerror(errno));
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(WORKER_TIMEOUT);
        setenv("USERMAP_CACHE_DIR", path, 1);
        int fd = open(file, O_RDWR);
        void *p = um_mmap(NULL, PAGE, RW, MAP_SHARED, fd, 0);
        int e = errno;
        snprintf(key, sizeof key, "%s: um_mmap", what);
        if (p == MAP_FAILED)
            field(c, key, "MAP_FAILED EACCES", "MAP_FAILED %s", hr_errname(e));
        else
            field(c, key, "MAP_FAILED EACCES", "a mapping");
        snprintf(key, sizeof key, "%s: message names the path", what);
        field(c, key, "yes", "%s", strstr(um_error_message(), path) ? "yes"
              : um_error_message());
        _exit(0);
    }
    int st = 0;
    char s[96];
    waitpid(pid, &st, 0);
    hr_fmt_status(s, sizeof s, st, " (its watchdog fired)");
    snprintf(key, sizeof key, "%s: child", what);
    field(c, key, "exit 0", "%s", s);
}

/* Nothing was made in DIR, the place a planted path leads to. */
static void left_alone(struct ctx *c, const char *what, const char *dir)
{
    char key[64];
    DIR *d = opendir(dir);
    int n = 0;
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    snprintf(key, sizeof key, "%s: entries made in %s", what,
             strrchr(dir, '/') + 1);
    field(c, key, "0", "%d", n - 2);
}

/* A symlink at the cache directory's path, to a directory of root's: not
 * followed.  A directory of uid NOBODY's there: not used (root could
 * write into it; the other user could then read it). */
static void planted_paths(struct ctx *c)
{
    char link[PATH_MAX], target[PATH_MAX], theirs[PATH_MAX];
    path_in(c, link, sizeof link, "link");
    path_in(c, target, sizeof target, "target");
    path_in(c, theirs, sizeof theirs, "theirs");
    if (mkdir(target, 0700) != 0 || symlink(target, link) != 0 ||
        mkdir(theirs, 0700) != 0 || chown(theirs, NOBODY, NOBODY) != 0) {
        hr_bad(c->o, "planting the paths: %s", strerror(errno));
        return;
    }
    refused_cache_dir(c, "symlink", link);
    left_alone(c, "symlink", target);
    refused_cache_dir(c, "other user's directory", theirs);
    left_alone(c, "other user's directory", theirs);
}

/* No kernel counterpart: the kernel's page cache is in no directory. */
static void security_side(struct ctx *c)
{
    closed_to_others(c);
    planted_paths(c);
}

/* ================================================================== */
/* The table                                                           */

struct testcase {
    const char *name;
    void (*side)(struct ctx *);
    int kernel_side;      /* 0: usermap only (the kernel has no counterpart) */
    int private_cache;    /* a fresh USERMAP_CACHE_DIR for each side */
    int trials;           /* default number of trials */
    unsigned timeout;     /* seconds one side may take */
    int needs_root;
};

static const struct testcase cases[] = {
    {"counter", counter_side, 1, 1, 1, 60, 0},
    {"lost_update", lost_update_side, 1, 1, 20, 120, 0},
    {"crash", crash_side, 1, 1, 1000, 150, 0},
    {"security", security_side, 0, 0, 1, 60, 1},
};

#define NCASES (sizeof cases / sizeof cases[0])

/* ================================================================== */
/* The runner                                                          */

static struct {
    int verbose, kernel_only, usermap_only, list, trials;
    int first, argc;
    char **argv;
} g;

static char g_base[512];  /* the test's temporary directory */
static char g_cache[600]; /* where the sides' private cache directories go */
static int g_side_no;

static int parse_args(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-v") == 0)
            g.verbose = 1;
        else if (strcmp(argv[i], "--kernel") == 0)
            g.kernel_only = 1;
        else if (strcmp(argv[i], "--usermap") == 0)
            g.usermap_only = 1;
        else if (strcmp(argv[i], "--list") == 0)
            g.list = 1;
        else if (strcmp(argv[i], "--trials") == 0 && i + 1 < argc &&
                 atoi(argv[i + 1]) > 0)
            g.trials = atoi(argv[++i]);
        else
            break;
    }
    if ((i < argc && argv[i][0] == '-') || (g.kernel_only && g.usermap_only)) {
        fprintf(stderr, "usage: %s [-v] [--kernel | --usermap] [--trials N] "
                "[--list] [CASE ...]\n", argv[0]);
        return -1;
    }
    g.first = i;
    g.argc = argc;
    g.argv = argv;
    return 0;
}

static int selected(const char *name)
{
    if (g.first >= g.argc)
        return 1;
    for (int i = g.first; i < g.argc; i++)
        if (strcmp(g.argv[i], name) == 0)
            return 1;
    return 0;
}

/* hr_run_proc's way in: the side's function is in its context. */
static void side_entry(void *arg)
{
    struct ctx *c = arg;
    c->fn(c);
}

/* One side in a fresh process of its own process group, with its
 * deadline; its status into STATUS, its run time into *SECS. */
static void run_side(const struct testcase *tc, const char *side,
                     struct hr_outcome *o, char *status, size_t n, double *secs)
{
    char dir[600];
    static char env[700];
    struct timespec t0, t1;
    memset(o, 0, sizeof *o);
    snprintf(dir, sizeof dir, "%s/%d", g_base, ++g_side_no);
    mkdir(dir, 0700);
    snprintf(env, sizeof env, "USERMAP_CACHE_DIR=%s/%d", g_cache, g_side_no);
    struct ctx c = {side, o, dir, g.trials ? g.trials : tc->trials, tc->side};
    struct hr_proc proc = {tc->timeout, tc->private_cache && g_cache[0] ? env : NULL,
                           " (hang: the watchdog fired)", 1};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    hr_run_proc(o, side_entry, &c, &proc, status, n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    run_cmd("rm -rf '%s'", dir);
    if (proc.env)
        run_cmd("rm -rf '%s'", strchr(env, '=') + 1);
}

/* Append to MSG what is wrong with a side's own run (its stated results). */
static int side_wrong(const char *label, const struct hr_outcome *o,
                      const char *status, char *msg, size_t n)
{
    int ended = strcmp(status, "exit 0") == 0 && o->done;
    if (ended && !o->bad[0] && !o->dropped)
        return 0;
    char why[1200] = "";
    if (o->bad[0])
        hr_append(why, sizeof why, "%s", o->bad);
    if (!ended)
        hr_append(why, sizeof why, "process %s%s", status,
                  o->done ? "" : " before the end");
    if (o->dropped)
        hr_append(why, sizeof why, "%d fields dropped", o->dropped);
    hr_append(msg, n, "%s: %s", label, why);
    return 1;
}

/* Run case TC's sides as asked; print the verdict.  Returns 1 when it
 * failed, 0 when it passed, -1 when it was skipped. */
static int run_case(const struct testcase *tc, struct hr_outcome *ko,
                    struct hr_outcome *uo)
{
    int k = !g.usermap_only && tc->kernel_side, u = !g.kernel_only;
    if (tc->needs_root && geteuid() != 0) {
        printf("skip %s: not root: it needs root and uid %d\n", tc->name, NOBODY);
        return -1;
    }
    if (!k && !u) {
        printf("skip %s: no kernel side (the kernel's page cache has no cache "
               "directory)\n", tc->name);
        return -1;
    }
    char kst[160] = "", ust[160] = "", msg[8192] = "", times[128] = "";
    double ks = 0, us = 0;
    int wrong = 0;
    if (k) {
        run_side(tc, "kernel", ko, kst, sizeof kst, &ks);
        wrong |= side_wrong("kernel side (the test's statement is wrong)", ko, kst,
                            msg, sizeof msg);
        hr_append(times, sizeof times, "kernel %.1f s", ks);
        if (g.verbose)
            hr_dump("kernel", ko, 40);
    }
    if (u) {
        run_side(tc, "usermap", uo, ust, sizeof ust, &us);
        wrong |= side_wrong("usermap side", uo, ust, msg, sizeof msg);
        hr_append(times, sizeof times, "usermap %.1f s", us);
        if (g.verbose)
            hr_dump("usermap", uo, 40);
    }
    /* Fields without a stated result must agree too. */
    if (k && u && !wrong && hr_diff_fields(ko, uo, msg, sizeof msg))
        wrong = 1;
    if (wrong) {
        printf("FAIL %s (%s): %s\n", tc->name, times, msg);
        return 1;
    }
    printf("ok %s (%s%s)\n", tc->name, times,
           tc->kernel_side ? "" : "; no kernel side: the kernel's page cache has "
           "no cache directory");
    return 0;
}

/* A home for the sides' cache directories where usermap would put them
 * (shared memory), unless the environment names one already. */
static void make_cache_home(void)
{
    const char *set = getenv("USERMAP_CACHE_DIR");
    if (set && *set)
        return;
    snprintf(g_cache, sizeof g_cache, "/dev/shm/usermap-ipc-test.XXXXXX");
    if (!mkdtemp(g_cache)) {
        snprintf(g_cache, sizeof g_cache, "%s/caches", g_base);
        if (mkdir(g_cache, 0700) != 0)
            g_cache[0] = '\0';
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--role") == 0)
        return worker_main(argc, argv);
    if (parse_args(argc, argv) != 0)
        return 2;
    if (g.list) {
        for (size_t i = 0; i < NCASES; i++)
            if (selected(cases[i].name))
                printf("%s\n", cases[i].name);
        return 0;
    }
    struct hr_outcome *o;
    if (hr_start("ipc", g_base, sizeof g_base, &o) != 0)
        return 2;
    make_cache_home();
    /* The runner's own watchdog, past every side's deadline: the sides'
     * group kills should end any hang long before it. */
    unsigned deadline = 30;
    for (size_t i = 0; i < NCASES; i++)
        if (selected(cases[i].name))
            deadline += 2 * (cases[i].timeout + 5);
    alarm(deadline);
    int failed = 0, ran = 0, skipped = 0;
    for (size_t i = 0; i < NCASES; i++) {
        if (!selected(cases[i].name))
            continue;
        ran++;
        int r = run_case(&cases[i], &o[0], &o[1]);
        failed += r > 0;
        skipped += r < 0;
    }
    if (g_cache[0])
        run_cmd("rm -rf '%s'", g_cache);
    rmdir(g_base);
    if (!ran) {
        fprintf(stderr, "no case matches\n");
        return 2;
    }
    printf("%d of %d failed, %d skipped\n", failed, ran, skipped);
    return failed ? 1 : skipped == ran ? SKIP_CODE : 0;
}
