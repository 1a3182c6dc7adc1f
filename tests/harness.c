/* SPDX-License-Identifier: MIT */
/*
 * harness.c - the kernel-differential harness shared by conformance.c and
 * integrity.c; see harness.h.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "usermap.h"

/* ================================================================== */
/* The two tables of operations                                       */

#ifdef CONFORMANCE_NO_UM_FTRUNCATE
#define UM_FTRUNCATE ftruncate
#else
#define UM_FTRUNCATE um_ftruncate
#endif

/* glibc's copy_file_range takes loff_t, the same 64-bit type as off_t. */
static ssize_t kernel_copy_file_range(int in, off_t *off_in, int out, off_t *off_out,
                                      size_t len, unsigned flags)
{
    return copy_file_range(in, (loff_t *)off_in, out, (loff_t *)off_out, len, flags);
}

const struct hr_ops hr_kernel_ops = {
    .name = "kernel", .mmap = mmap, .munmap = munmap, .msync = msync,
    .mprotect = mprotect, .madvise = madvise, .ftruncate = ftruncate, .mremap = mremap,
    .pread = pread, .pwrite = pwrite, .read = read, .write = write, .readv = readv,
    .writev = writev, .preadv = preadv, .pwritev = pwritev, .fsync = fsync,
    .fdatasync = fdatasync, .sync_file_range = sync_file_range, .fallocate = fallocate,
    .truncate = truncate, .copy_file_range = kernel_copy_file_range,
    .sendfile = sendfile, .close = close};
const struct hr_ops hr_usermap_ops = {
    .name = "usermap", .mmap = um_mmap, .munmap = um_munmap, .msync = um_msync,
    .mprotect = um_mprotect, .madvise = um_madvise, .ftruncate = UM_FTRUNCATE,
    .mremap = um_mremap, .pread = um_pread, .pwrite = um_pwrite, .read = um_read,
    .write = um_write, .readv = um_readv, .writev = um_writev, .preadv = um_preadv,
    .pwritev = um_pwritev, .fsync = um_fsync, .fdatasync = um_fdatasync,
    .sync_file_range = um_sync_file_range, .fallocate = um_fallocate,
    .truncate = um_truncate, .copy_file_range = um_copy_file_range,
    .sendfile = um_sendfile, .close = um_close};

/* ================================================================== */
/* Outcomes                                                           */

static void vappend(char *out, size_t n, const char *fmt, va_list ap)
{
    char *piece = NULL;
    if (vasprintf(&piece, fmt, ap) < 0)
        return;
    size_t l = strlen(out);
    snprintf(out + l, n - l, "%s%s", l ? "; " : "", piece);
    free(piece);
}

void hr_append(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vappend(out, n, fmt, ap);
    va_end(ap);
}

void hr_bad(struct hr_outcome *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vappend(o->bad, sizeof o->bad, fmt, ap);
    va_end(ap);
}

void hr_field(struct hr_outcome *o, const char *key, const char *want,
              const char *fmt, ...)
{
    char val[sizeof o->f[0].val];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    if (o->nfields < HR_MAX_FIELDS) {
        struct hr_field *f = &o->f[o->nfields++];
        snprintf(f->key, sizeof f->key, "%s", key);
        memcpy(f->val, val, sizeof f->val);
    } else {
        o->dropped++;
    }
    if (want && strcmp(val, want) != 0)
        hr_bad(o, "%s: got \"%s\", want \"%s\"", key, val, want);
}

const char *hr_errname(int e)
{
    const char *s = strerrorname_np(e);
    return s ? s : "E?";
}

long hr_ret(struct hr_outcome *o, const char *key, long r, const char *want)
{
    int e = errno;
    if (r < 0)
        hr_field(o, key, want, "%ld %s", r, hr_errname(e));
    else
        hr_field(o, key, want, "%ld", r);
    errno = e;
    return r;
}

const char *hr_fmt_ring(const char *fmt, long long v)
{
    static char ring[8][40];
    static int i;
    i = (i + 1) % 8;
    snprintf(ring[i], sizeof ring[i], fmt, v);
    return ring[i];
}

void hr_fmt_status(char *buf, size_t n, int st, const char *alarm_note)
{
    if (WIFEXITED(st))
        snprintf(buf, n, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, n, "killed by SIG%s%s", sigabbrev_np(WTERMSIG(st)),
                 WTERMSIG(st) == SIGALRM ? alarm_note : "");
    else
        snprintf(buf, n, "status %#x", st);
}

void hr_fmt_signal(char *buf, size_t n, int sig, int code, long long off)
{
    const char *c = NULL;
    if (sig == SIGSEGV)
        c = code == SEGV_MAPERR   ? "SEGV_MAPERR"
            : code == SEGV_ACCERR ? "SEGV_ACCERR"
                                  : NULL;
    if (sig == SIGBUS)
        c = code == BUS_ADRERR   ? "BUS_ADRERR"
            : code == BUS_ADRALN ? "BUS_ADRALN"
            : code == BUS_OBJERR ? "BUS_OBJERR"
                                 : NULL;
    const char *s = sigabbrev_np(sig);
    if (c)
        snprintf(buf, n, "SIG%s %s at +%lld", s ? s : "?", c, off);
    else
        snprintf(buf, n, "SIG%s code %d at +%lld", s ? s : "?", code, off);
}

/* ================================================================== */
/* File patterns and bytes                                             */

uint8_t hr_pat(uint64_t x, int seed)
{
    return (uint8_t)(x * 7 + (x >> 12) * 31 + (uint64_t)seed * 59 + 1);
}

int hr_write_pattern(int fd, size_t size, int seed)
{
    uint8_t buf[65536];
    for (size_t off = 0; off < size; off += sizeof buf) {
        size_t n = size - off < sizeof buf ? size - off : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = hr_pat(off + i, seed);
        if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
            return -1;
    }
    return 0;
}

uint64_t hr_fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

size_t hr_compare_bytes(const void *got, const uint8_t *want, size_t len,
                        size_t *first, uint8_t *got_first, uint64_t *hash)
{
    const volatile uint8_t *g = got;
    uint8_t *snap = malloc(len ? len : 1);
    if (!snap)
        return (size_t)-1;
    for (size_t i = 0; i < len; i++)
        snap[i] = g[i];
    size_t ndiff = 0;
    *first = len;
    for (size_t i = 0; i < len; i++)
        if (snap[i] != want[i]) {
            if (*first == len)
                *first = i;
            ndiff++;
        }
    if (ndiff)
        *got_first = snap[*first];
    else
        *hash = hr_fnv(snap, len);
    free(snap);
    return ndiff;
}

/* ================================================================== */
/* Children                                                            */

enum { REP_VALUE = 1, REP_SIGNAL = 2 };

struct report {
    int kind, signo, code;
    long long off, val;
};

static int rep_fd = -1;
static uintptr_t rep_base;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    struct report r = {REP_SIGNAL, sig, si->si_code,
                       (long long)((uintptr_t)si->si_addr - rep_base), 0};
    if (write(rep_fd, &r, sizeof r) < 0) {
    }
    _exit(0);
}

void hr_child_report(long long v)
{
    struct report r = {REP_VALUE, 0, 0, 0, v};
    if (write(rep_fd, &r, sizeof r) < 0) {
    }
}

int hr_spawn(struct hr_child *c, const void *base, hr_child_fn fn, void *arg,
             struct hr_sync *s, const char **what)
{
    int p[2];
    if (pipe(p) != 0) {
        *what = "pipe";
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        errno = e;
        *what = "fork";
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        if (s) {
            close(s->down[1]);
            close(s->up[0]);
        }
        rep_fd = p[1];
        rep_base = (uintptr_t)base;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, NULL);
        sigaction(SIGBUS, &sa, NULL);
        alarm(HR_CHILD_TIMEOUT);
        hr_child_report(fn(arg));
        _exit(0);
    }
    close(p[1]);
    if (s) {
        close(s->down[0]);
        close(s->up[1]);
    }
    *c = (struct hr_child){pid, p[0], s};
    return 0;
}

void hr_reap(struct hr_outcome *o, const char *key, struct hr_child c,
             const char *want)
{
    struct report r;
    size_t got = 0;
    memset(&r, 0, sizeof r);
    while (got < sizeof r) {
        ssize_t n = read(c.rep, (char *)&r + got, sizeof r - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(c.rep);
    if (c.s) {
        close(c.s->down[1]);
        close(c.s->up[0]);
    }
    int st = 0;
    while (waitpid(c.pid, &st, 0) < 0 && errno == EINTR) {
    }
    char val[120], status[64];
    hr_fmt_status(status, sizeof status, st, " (timed out)");
    if (got == sizeof r && r.kind == REP_SIGNAL)
        hr_fmt_signal(val, sizeof val, r.signo, r.code, r.off);
    else if (got == sizeof r && r.kind == REP_VALUE)
        snprintf(val, sizeof val, "value %lld", r.val);
    else
        snprintf(val, sizeof val, "no report");
    if (strcmp(status, "exit 0") != 0)
        hr_field(o, key, want, "%s, then %s", val, status);
    else
        hr_field(o, key, want, "%s", val);
}

/* ================================================================== */
/* Running a side and comparing the outcomes                           */

/* Wait for PID, killing its process group if it has not ended GRACE
 * seconds from now; 0 with its wait status in *ST, or -1 once killed. */
static int wait_or_kill(pid_t pid, unsigned grace, int *st)
{
    struct timespec t0, now, nap = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t r = waitpid(pid, st, WNOHANG);
        if (r == pid)
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > (time_t)grace) {
            kill(-pid, SIGKILL);
            waitpid(pid, st, 0);
            return -1;
        }
        nanosleep(&nap, NULL);
    }
}

void hr_run_proc(struct hr_outcome *o, void (*fn)(void *), void *arg,
                 const struct hr_proc *p, char *status, size_t n)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(status, n, "fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        if (p->own_group)
            setpgid(0, 0);
        alarm(p->timeout);
        if (p->env)
            putenv((char *)p->env);
        fn(arg);
        o->done = 1;
        exit(0);
    }
    int st = 0;
    if (p->own_group) {
        setpgid(pid, pid);
        if (wait_or_kill(pid, p->timeout + 2, &st) != 0) {
            snprintf(status, n, "hang: no end after %u s, killed with SIGKILL",
                     p->timeout + 2);
            return;
        }
        kill(-pid, SIGKILL); /* children it left behind */
    } else {
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    }
    hr_fmt_status(status, n, st, p->alarm_note);
}

int hr_diff_fields(const struct hr_outcome *k, const struct hr_outcome *u,
                   char *out, size_t n)
{
    int ndiff = 0;
    int max = k->nfields > u->nfields ? k->nfields : u->nfields;
    for (int i = 0; i < max; i++) {
        const struct hr_field *a = i < k->nfields ? &k->f[i] : NULL;
        const struct hr_field *b = i < u->nfields ? &u->f[i] : NULL;
        if (a && b && strcmp(a->key, b->key) == 0 && strcmp(a->val, b->val) == 0)
            continue;
        hr_append(out, n, "[%s] kernel=%s usermap=%s", a ? a->key : b->key,
                  a ? a->val : "(none)", b ? b->val : "(none)");
        ndiff++;
    }
    return ndiff;
}

void hr_dump(const char *side, const struct hr_outcome *o, int key_width)
{
    for (int i = 0; i < o->nfields; i++)
        printf("    %-8s %-*s %s\n", side, key_width, o->f[i].key, o->f[i].val);
}

/* ================================================================== */
/* The command line and the run                                        */

int hr_parse_args(int argc, char **argv, struct hr_args *a)
{
    memset(a, 0, sizeof *a);
    a->argc = argc;
    a->argv = argv;
    for (a->first = 1; a->first < argc && argv[a->first][0] == '-'; a->first++) {
        const char *s = argv[a->first];
        if (strcmp(s, "-v") == 0)
            a->verbose = 1;
        else if (strcmp(s, "--kernel") == 0)
            a->kernel_only = 1;
        else if (strcmp(s, "--list") == 0)
            a->list = 1;
        else {
            fprintf(stderr, "usage: %s [-v] [--kernel] [--list] [NAME-or-glob ...]\n",
                    argv[0]);
            return -1;
        }
    }
    return 0;
}

int hr_selected(const struct hr_args *a, const char *name)
{
    if (a->first >= a->argc)
        return 1;
    for (int i = a->first; i < a->argc; i++)
        if (fnmatch(a->argv[i], name, 0) == 0)
            return 1;
    return 0;
}

int hr_start(const char *what, char *dir, size_t n, struct hr_outcome **o)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, n, "%s/usermap-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", what);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
        return -1;
    }
    *o = mmap(NULL, 2 * sizeof **o, PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (*o == MAP_FAILED) {
        fprintf(stderr, "mmap: %s\n", strerror(errno));
        rmdir(dir);
        return -1;
    }
    return 0;
}
