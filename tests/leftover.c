/* SPDX-License-Identifier: MIT */
/*
 * leftover.c - the shared caches processes leave behind (issue 8), in a
 * private cache directory (USERMAP_CACHE_DIR, made with mkdtemp, 0700).
 *
 *   leftover [--runs N] [--seed S]
 *       N runs (default 300) of a child that maps a file MAP_SHARED
 *       through usermap, stores, and leaves in a random way (return from
 *       main, _exit, abort, SIGKILL of itself).  After each, a later
 *       process recovers the stores it left, in one of three ways: a
 *       process started before the death maps the file (recovery at
 *       attach, cache.c), a process starts (the start-up sweep), or
 *       um_cache_flush(NULL) here.  The file must then hold exactly what
 *       the same child leaves in a second file with the kernel's mmap,
 *       and the directory must be empty.  At the end, after one more
 *       start-up, too.  300 runs take about 2 s; the 10,000 the issue
 *       asks for (--runs 10000) took 67 s on a 2-core VM.
 *
 *   leftover --caches TOOL
 *       A process attached with dirty pages shows in um_caches() with its
 *       file, dirty bytes and pid, and um_cache_flush() refuses its cache
 *       (EBUSY); once it is SIGKILLed, um_cache_flush(FILE) writes its
 *       stores (the kernel's bytes again) and removes the objects.  Then
 *       the same with the tool TOOL ('usermap caches', 'usermap flush
 *       FILE'), and the cache of a file deleted meanwhile ('usermap
 *       flush' drops it).
 *
 * Watchdogs: every child has alarm(CHILD_TIMEOUT) (kept across exec);
 * the test puts itself in a process group of its own and kills the whole
 * group if it is not done in TEST_TIMEOUT seconds; ctest's TIMEOUT is
 * above that.  Children re-execute this program (--child, --start,
 * --mapper): each is a process that starts usermap afresh.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <usermap.h>

#include "harness.h"

#define CHILD_TIMEOUT 20
#define FILE_SIZE (5 * 4096 + 123)     /* not a page multiple: the cut at the end */

enum exit_way { EXIT_RETURN, EXIT_UNDERSCORE, EXIT_ABORT, EXIT_SIGKILL, EXIT_WAYS };
static const char *const way_names[] = { "return", "_exit", "abort", "SIGKILL" };

static int failures, passes;
static char dir[512], cache_dir[512];  /* short: paths are made of them */

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
    va_list ap;

    if (ok) {
        passes++;
        return;
    }
    failures++;
    fputs("FAIL: ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ================================================================ children */

/* The stores of seed: a few bytes and short runs anywhere in the file,
 * the partial last page included, the same for both sides. */
static void store(volatile uint8_t *p, uint64_t seed)
{
    uint64_t s = seed * 2654435761u + 1;
    int n = 1 + (int)(next_random(&s) % 6);

    for (int i = 0; i < n; i++) {
        uint64_t at = next_random(&s) % FILE_SIZE, len = 1 + next_random(&s) % 300;
        uint8_t v = (uint8_t)(next_random(&s) | 1);

        for (uint64_t j = at; j < at + len && j < FILE_SIZE; j++)
            p[j] = v;
    }
}

static void leave(int way)
{
    struct rlimit none = { 0, 0 };

    setrlimit(RLIMIT_CORE, &none);      /* abort() leaves no core behind */
    if (way == EXIT_UNDERSCORE)
        _exit(0);
    if (way == EXIT_ABORT)
        abort();
    if (way == EXIT_SIGKILL)
        kill(getpid(), SIGKILL);
}

/* --child SIDE FILE SEED WAY HOLD: maps FILE, stores; with HOLD says so
 * on stdout and waits to be killed; else leaves the WAY way. */
static int child(char **argv)
{
    bool kernel = strcmp(argv[0], "kernel") == 0;
    int fd = open(argv[1], O_RDWR), way = atoi(argv[3]);
    void *p;

    if (fd < 0)
        return 3;
    p = kernel ? mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
               : um_mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return 4;
    close(fd);
    store(p, strtoull(argv[2], NULL, 10));
    if (atoi(argv[4])) {
        if (write(1, "r", 1) != 1)
            return 5;
        for (;;)
            pause();
    }
    leave(way);
    return 0;       /* EXIT_RETURN: the exit handlers write back */
}

/* Starts usermap: its start-up sweep runs. */
static int start_usermap(void)
{
    void *p = um_mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED || um_munmap(p, 4096) < 0 ? 6 : 0;
}

/* --mapper FILE: starts usermap, says so, waits for a byte on stdin,
 * then maps FILE alone: what the dead left is recovered at attach. */
static int mapper(char **argv)
{
    volatile uint8_t *p;
    volatile uint8_t sink;
    char go;
    int fd;

    if (start_usermap() != 0 || write(1, "r", 1) != 1 || read(0, &go, 1) != 1)
        return 7;
    fd = open(argv[0], O_RDWR);
    if (fd < 0)
        return 8;
    p = um_mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return 9;
    for (size_t i = 0; i < FILE_SIZE; i += 512)
        sink = p[i];    /* fault every page in */
    (void)sink;
    return um_munmap((void *)p, FILE_SIZE) < 0 ? 10 : 0;
}

/* ============================================================ the parent */

struct proc {
    pid_t pid;
    int in, out;        /* the child's stdin (ours to write), stdout (to read) */
};

/* Runs exe (this program, or the tool) with argv, pipes on stdin and
 * stdout (or files: out_file) and a watchdog kept across exec. */
static struct proc spawn(const char *exe, char *const argv[], const char *out_file,
                         const char *err_file)
{
    struct proc p = { -1, -1, -1 };
    int in[2], out[2];

    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
        return p;
    p.pid = fork();
    if (p.pid == 0) {
        int o = out_file ? open(out_file, O_WRONLY | O_CREAT | O_TRUNC, 0600) : out[1];
        int e = err_file ? open(err_file, O_WRONLY | O_CREAT | O_TRUNC, 0600) : 2;

        dup2(in[0], 0);
        dup2(o, 1);
        dup2(e, 2);
        alarm(CHILD_TIMEOUT);
        execv(exe, argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p.in = in[1];
    p.out = out[0];
    return p;
}

static int reap(struct proc *p)
{
    int st = -1;

    close(p->in);
    close(p->out);
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
        ;
    return st;
}

/* Waits for the child's "r" (ready); false if it ended first. */
static bool ready(const struct proc *p)
{
    char c;

    return read(p->out, &c, 1) == 1;
}

static void self_args(char **args, const char *a0, const char *a1, const char *a2,
                       const char *a3, const char *a4, const char *a5)
{
    args[0] = "leftover";
    args[1] = (char *)a0;
    args[2] = (char *)a1;
    args[3] = (char *)a2;
    args[4] = (char *)a3;
    args[5] = (char *)a4;
    args[6] = (char *)a5;
    args[7] = NULL;
}

/* Runs the writer child for side on file; hold: it waits, ready, to be
 * killed, and *held is it. */
static int run_writer(const char *side, const char *file, uint64_t seed, int way, bool hold,
                      struct proc *held)
{
    char *args[8], s[32], w[8];
    struct proc p;

    snprintf(s, sizeof(s), "%llu", (unsigned long long)seed);
    snprintf(w, sizeof(w), "%d", way);
    self_args(args, "--child", side, file, s, w, hold ? "1" : "0");
    p = spawn("/proc/self/exe", args, NULL, NULL);
    if (hold) {
        *held = p;
        return ready(&p) ? 0 : -1;
    }
    return reap(&p);
}

/* Kills a held child and waits for it. */
static void kill_held(struct proc *p)
{
    kill(p->pid, SIGKILL);
    reap(p);
}

static int run_start(void)
{
    char *args[8];
    struct proc p;

    self_args(args, "--start", NULL, NULL, NULL, NULL, NULL);
    p = spawn("/proc/self/exe", args, NULL, NULL);
    return reap(&p);
}

/* Objects in the cache directory. */
static int objects(void)
{
    DIR *d = opendir(cache_dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return errno == ENOENT ? 0 : -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Whether files a and b hold the same bytes; says where they differ. */
static bool same_bytes(const char *a, const char *b, const char *what)
{
    static uint8_t x[FILE_SIZE + 1], y[FILE_SIZE + 1];
    int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
    ssize_t na = fa < 0 ? -1 : pread(fa, x, sizeof(x), 0);
    ssize_t nb = fb < 0 ? -1 : pread(fb, y, sizeof(y), 0);
    ssize_t i = 0;

    if (fa >= 0)
        close(fa);
    if (fb >= 0)
        close(fb);
    while (i < na && i < nb && x[i] == y[i])
        i++;
    check(na == nb && i == na, "%s: %s (%zd bytes) and the kernel's %s (%zd bytes) differ at "
          "byte %zd", what, a, na, b, nb, i);
    return na == nb && i == na;
}

/* Two copies of a file of pattern seed: usermap's, the kernel's. */
static void make_files(const char *u, const char *k, int seed)
{
    const char *f[2] = { u, k };

    for (int i = 0; i < 2; i++) {
        int fd = open(f[i], O_RDWR | O_CREAT | O_TRUNC, 0600);

        if (fd < 0 || hr_write_pattern(fd, FILE_SIZE, seed) < 0) {
            perror(f[i]);
            exit(1);
        }
        close(fd);
    }
}

/* ================================================================ leftover */

enum recovery { BY_MAPPER, BY_START, BY_FLUSH, RECOVERIES };
static const char *const recovery_names[] = { "a mapper", "a start-up", "um_cache_flush" };

/* The mapper, started before the writer dies. */
static struct proc start_mapper(const char *file)
{
    char *args[8];
    struct proc p;

    self_args(args, "--mapper", file, NULL, NULL, NULL, NULL);
    p = spawn("/proc/self/exe", args, NULL, NULL);
    if (!ready(&p))
        check(false, "the mapper did not start");
    return p;
}

static void recover(enum recovery how, struct proc *m, char *status, size_t n)
{
    int st = 0;

    if (how == BY_MAPPER) {
        if (write(m->in, "g", 1) != 1)
            check(false, "cannot tell the mapper to go");
        st = reap(m);
    } else if (how == BY_START) {
        st = run_start();
    } else if (um_cache_flush(NULL) < 0) {
        check(false, "um_cache_flush(NULL): %s", um_error_message());
    }
    hr_fmt_status(status, n, st, " (watchdog)");
}

static void one_run(int run, uint64_t *rng, const char *u, const char *k)
{
    int way = (int)(next_random(rng) % EXIT_WAYS);
    enum recovery how = (enum recovery)(next_random(rng) % RECOVERIES);
    uint64_t seed = next_random(rng);
    struct proc m = { -1, -1, -1 };
    char status[64];
    int st;

    if (how == BY_MAPPER)
        m = start_mapper(u);
    st = run_writer("usermap", u, seed, way, false, NULL);
    check(way != EXIT_RETURN || st == 0, "run %d: the usermap child failed (status %#x)", run,
          st);
    run_writer("kernel", k, seed, way, false, NULL);
    recover(how, &m, status, sizeof(status));
    check(strcmp(status, "exit 0") == 0, "run %d: recovery by %s ended with %s", run,
          recovery_names[how], status);
    if (!same_bytes(u, k, "after a run") || objects() != 0)
        printf("run %d: child left with %s, recovered by %s; %d objects left\n", run,
               way_names[way], recovery_names[how], objects());
    check(objects() == 0, "run %d: %d objects left in %s", run, objects(), cache_dir);
}

static int leftover(int runs, uint64_t seed)
{
    char u[PATH_MAX], k[PATH_MAX];
    uint64_t rng = seed ? seed : 1;

    snprintf(u, sizeof(u), "%s/usermap.dat", dir);
    snprintf(k, sizeof(k), "%s/kernel.dat", dir);
    make_files(u, k, 3);
    for (int run = 0; run < runs && failures < 10; run++)
        one_run(run, &rng, u, k);
    /* A last child dies with stores; one more start-up cleans up. */
    run_writer("usermap", u, 77, EXIT_SIGKILL, false, NULL);
    run_writer("kernel", k, 77, EXIT_SIGKILL, false, NULL);
    check(objects() == 2, "the last child left %d objects, not 2", objects());
    check(run_start() == 0, "the last start-up failed");
    same_bytes(u, k, "after the last start-up");
    check(objects() == 0, "%d objects left after the last start-up", objects());
    printf("leftover: %d runs, %d checks passed, %d failed\n", runs, passes, failures);
    return failures != 0;
}

/* ================================================================ caches */

/* The cache of file in um_caches(), or false. */
static bool find_cache(const char *file, struct um_cache_info *out)
{
    static struct um_cache_info list[8];
    char real[PATH_MAX];
    int n = um_caches(list, 8);

    check(n >= 0, "um_caches: %s", um_error_message());
    if (!realpath(file, real))
        return false;
    for (int i = 0; i < n && i < 8; i++)
        if (strcmp(list[i].path, real) == 0) {
            *out = list[i];
            return true;
        }
    return false;
}

/* The bytes of system pages store(seed) dirties, cut at the file's end. */
static uint64_t dirty_expected(uint64_t seed)
{
    static uint8_t before[FILE_SIZE], after[FILE_SIZE];
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), bytes = 0;

    memset(before, 0, sizeof(before));
    memset(after, 0, sizeof(after));
    store(after, seed);
    for (uint64_t p = 0; p < FILE_SIZE; p += page) {
        uint64_t end = p + page < FILE_SIZE ? p + page : FILE_SIZE;

        if (memcmp(before + p, after + p, end - p) != 0)
            bytes += end - p;
    }
    return bytes;
}

/* A writer of file (and the kernel's of kfile) held with seed's stores. */
static struct proc hold_writer(const char *file, const char *kfile, uint64_t seed)
{
    struct proc u, k;

    check(run_writer("usermap", file, seed, 0, true, &u) == 0, "the held writer did not start");
    check(run_writer("kernel", kfile, seed, 0, true, &k) == 0, "the kernel writer did not start");
    kill_held(&k);
    return u;
}

/* The cache of a held writer, as um_caches() sees it. */
static void expect_listed(const char *file, uint64_t seed, int processes, pid_t pid)
{
    struct um_cache_info c;

    if (!find_cache(file, &c)) {
        check(false, "um_caches: no cache of %s", file);
        return;
    }
    check(c.processes == processes, "%s: %d processes listed, want %d", file, c.processes,
          processes);
    check(processes == 0 || c.pids[0] == pid, "%s: pid %d listed, want %d", file,
          (int)c.pids[0], (int)pid);
    /* Under a budget the writer's flusher may have written some back. */
    check(getenv("USERMAP_MEMORY_LIMIT") ? c.dirty <= dirty_expected(seed)
                                         : c.dirty == dirty_expected(seed),
          "%s: %llu dirty bytes listed, want %llu", file, (unsigned long long)c.dirty,
          (unsigned long long)dirty_expected(seed));
    check(c.size == FILE_SIZE, "%s: size %llu listed", file, (unsigned long long)c.size);
    check(c.resident > 0, "%s: nothing resident listed", file);
}

/* Runs the tool with args; its stdout and stderr in dir/out, dir/err. */
static int run_tool(const char *tool, const char *a0, const char *a1)
{
    char out[PATH_MAX], err[PATH_MAX];
    char *args[] = { (char *)tool, (char *)a0, (char *)a1, NULL };
    struct proc p;
    int st;

    snprintf(out, sizeof(out), "%s/out", dir);
    snprintf(err, sizeof(err), "%s/err", dir);
    p = spawn(tool, args, out, err);
    st = reap(&p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Whether the tool's output (stream "out" or "err") holds text. */
static bool tool_said(const char *stream, const char *text)
{
    char path[PATH_MAX], buf[8192];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, stream);
    fd = open(path, O_RDONLY);
    n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
    if (fd >= 0)
        close(fd);
    if (n < 0)
        return false;
    buf[n] = '\0';
    if (!strstr(buf, text))
        printf("the tool's %s:\n%s", stream, buf);
    return strstr(buf, text) != NULL;
}

/* The library's calls on a held, then killed, writer. */
static void caches_api(const char *u, const char *k)
{
    struct proc w = hold_writer(u, k, 11);
    char pid[32];

    expect_listed(u, 11, 1, w.pid);
    snprintf(pid, sizeof(pid), "pid %d", (int)w.pid);
    check(um_cache_flush(u) == -1 && errno == EBUSY, "um_cache_flush of a cache in use: %s",
          um_error_message());
    check(strstr(um_error_message(), pid) != NULL, "the EBUSY message names no %s: %s", pid,
          um_error_message());
    kill_held(&w);
    expect_listed(u, 11, 0, 0);
    check(um_cache_flush(u) == 0, "um_cache_flush(%s): %s", u, um_error_message());
    same_bytes(u, k, "after um_cache_flush(FILE)");
    check(objects() == 0, "%d objects left after um_cache_flush(FILE)", objects());
    check(um_caches(NULL, 0) == 0, "um_caches counts caches in an empty directory");
}

/* The same with the tool. */
static void caches_tool(const char *tool, const char *u, const char *k)
{
    struct proc w = hold_writer(u, k, 12);
    char real[PATH_MAX], pid[32];

    check(realpath(u, real) != NULL, "realpath %s", u);
    snprintf(pid, sizeof(pid), "pid %d", (int)w.pid);
    check(run_tool(tool, "caches", NULL) == 0 && tool_said("out", real) && tool_said("out", pid),
          "'usermap caches' lists %s, attached by %s", real, pid);
    check(run_tool(tool, "flush", u) == 1 && tool_said("err", pid),
          "'usermap flush FILE' refuses a cache in use, naming %s", pid);
    kill_held(&w);
    check(run_tool(tool, "caches", NULL) == 0 && tool_said("out", "orphan"),
          "'usermap caches' lists the orphan");
    check(run_tool(tool, "flush", u) == 0 && tool_said("out", "written back"),
          "'usermap flush FILE' writes it back");
    same_bytes(u, k, "after 'usermap flush FILE'");
    check(objects() == 0, "%d objects left after 'usermap flush FILE'", objects());
}

/* The cache of a file deleted after its writer died: dropped. */
static void caches_deleted(const char *tool, const char *u, const char *k)
{
    struct proc w = hold_writer(u, k, 13);

    kill_held(&w);
    check(unlink(u) == 0, "unlink %s", u);
    check(run_tool(tool, "flush", NULL) == 0 && tool_said("out", "deleted"),
          "'usermap flush' drops the cache of a deleted file");
    check(objects() == 0, "%d objects left after 'usermap flush'", objects());
}

static int caches(const char *tool)
{
    char u[PATH_MAX], k[PATH_MAX];

    snprintf(u, sizeof(u), "%s/usermap.dat", dir);
    snprintf(k, sizeof(k), "%s/kernel.dat", dir);
    make_files(u, k, 5);
    caches_api(u, k);
    caches_tool(tool, u, k);
    caches_deleted(tool, u, k);
    printf("caches: %d checks passed, %d failed\n", passes, failures);
    return failures != 0;
}

/* ================================================================ main */

static void watchdog(int sig)
{
    static const char msg[] = "FAIL: leftover: the watchdog fired; killing the test\n";

    (void)sig;
    if (write(1, msg, sizeof(msg) - 1) < 0)
        _exit(2);
    kill(0, SIGKILL);
}

/* A private directory of files and one of caches, and the watchdog. */
static void set_up(unsigned timeout)
{
    const char *tmp = getenv("TMPDIR");

    setpgid(0, 0);
    signal(SIGALRM, watchdog);
    alarm(timeout);
    snprintf(dir, sizeof(dir), "%s/usermap-leftover.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    snprintf(cache_dir, sizeof(cache_dir), "/dev/shm/usermap-leftover.XXXXXX");
    if (!mkdtemp(dir) || !mkdtemp(cache_dir)) {
        perror("mkdtemp");
        exit(1);
    }
    setenv("USERMAP_CACHE_DIR", cache_dir, 1);
}

static void tear_down(void)
{
    char cmd[2 * sizeof(dir) + 32];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, cache_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "leftover: cannot remove %s and %s\n", dir, cache_dir);
}

int main(int argc, char **argv)
{
    int runs = 300, rc;
    uint64_t seed = 1;

    if (argc >= 7 && strcmp(argv[1], "--child") == 0)
        return child(argv + 2);
    if (argc >= 2 && strcmp(argv[1], "--start") == 0)
        return start_usermap();
    if (argc >= 3 && strcmp(argv[1], "--mapper") == 0)
        return mapper(argv + 2);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seed") == 0)
            seed = strtoull(argv[i + 1], NULL, 10);
    }
    set_up(argc >= 3 && strcmp(argv[1], "--caches") == 0 ? 100 : 60 + (unsigned)runs);
    rc = argc >= 3 && strcmp(argv[1], "--caches") == 0 ? caches(argv[2]) : leftover(runs, seed);
    tear_down();
    return rc;
}
