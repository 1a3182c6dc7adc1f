/* SPDX-License-Identifier: MIT */
/*
 * harness.h - the kernel-differential harness shared by conformance.c and
 * integrity.c (difftest.c uses its tables of operations only).
 *
 * A test runs one "side" twice, once through hr_kernel_ops (mmap(2) and
 * friends) and once through hr_usermap_ops (um_*), each time in a fresh
 * process (hr_run_proc) that records an outcome (struct hr_outcome) in
 * shared memory: a list of (key, value) fields (hr_field, hr_ret) and the
 * stated expectations it did not meet (hr_bad).  The runner then compares
 * the two outcomes field by field (hr_diff_fields).  Forked children that
 * touch a mapping report a value or the signal they took through a pipe
 * (hr_spawn, hr_reap).  The command line, "[-v] [--kernel] [--list]
 * [NAME-or-glob ...]", is parsed by hr_parse_args and matched by
 * hr_selected.
 *
 * What the two programs do differently on purpose stays in them and is
 * passed in: how a side's process is run (struct hr_proc: its own process
 * group and an outer watchdog for integrity), what each case prepares and
 * cleans up, how skips and failures are worded.
 */
#ifndef USERMAP_TESTS_HARNESS_H
#define USERMAP_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* ================================================================== */
/* The two tables of operations                                       */

struct hr_ops {
    const char *name;
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    int (*munmap)(void *, size_t);
    int (*msync)(void *, size_t, int);
    int (*mprotect)(void *, size_t, int);
    int (*madvise)(void *, size_t, int);
    /* usermap's side calls um_ftruncate, as a program built with
     * usermap_redirect.h does.
     * harness.c built with -DCONFORMANCE_NO_UM_FTRUNCATE (a library older
     * than um_ftruncate, only to show that the integrity tests fail on old
     * code) puts the kernel's ftruncate there instead. */
    int (*ftruncate)(int, off_t);
    /* mremap(2) and um_mremap: new_address is read with MREMAP_FIXED or
     * MREMAP_DONTUNMAP. */
    void *(*mremap)(void *, size_t, size_t, int, ...);
    /* File I/O: the system calls, and usermap's calls through its cache
     * (the redirect header's and the interposer's). */
    ssize_t (*pread)(int, void *, size_t, off_t);
    ssize_t (*pwrite)(int, const void *, size_t, off_t);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*readv)(int, const struct iovec *, int);
    ssize_t (*writev)(int, const struct iovec *, int);
    ssize_t (*preadv)(int, const struct iovec *, int, off_t);
    ssize_t (*pwritev)(int, const struct iovec *, int, off_t);
    int (*fsync)(int);
    int (*fdatasync)(int);
    int (*sync_file_range)(int, off_t, off_t, unsigned int);
    int (*fallocate)(int, int, off_t, off_t);
    int (*truncate)(const char *, off_t);
    ssize_t (*copy_file_range)(int, off_t *, int, off_t *, size_t, unsigned int);
    ssize_t (*sendfile)(int, int, off_t *, size_t);
    int (*close)(int);
};

/* The calls of the kernel ("kernel") and of usermap ("usermap"). */
extern const struct hr_ops hr_kernel_ops;
extern const struct hr_ops hr_usermap_ops;

/* ================================================================== */
/* Outcomes                                                           */

#define HR_MAX_FIELDS 160

struct hr_field {
    char key[64];
    char val[160];
};

/* Lives in shared memory: a side's process fills it, the runner reads it. */
struct hr_outcome {
    int nfields;
    int dropped;    /* fields that did not fit */
    int done;       /* the side's process got to its end */
    char bad[1024]; /* unmet expectations, "; "-separated */
    char skip[256]; /* the side could not run: why (integrity) */
    struct hr_field f[HR_MAX_FIELDS];
};

/* Append printf-style text to the string OUT (N bytes in all), after a
 * "; " when OUT is not empty; truncated to fit. */
void hr_append(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Note an unmet expectation in O->bad. */
void hr_bad(struct hr_outcome *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Record the field KEY with the printf-style value; when WANT is not NULL
 * the value must be exactly WANT, or hr_bad notes "KEY: got "...", want
 * "..."".  A field past HR_MAX_FIELDS is counted in O->dropped. */
void hr_field(struct hr_outcome *o, const char *key, const char *want,
              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Record R, the result of a call returning an int or ssize_t, as KEY: "R",
 * or "R ENAME" when R < 0 (errno's name).  Returns R; errno is kept. */
long hr_ret(struct hr_outcome *o, const char *key, long r, const char *want);

/* The name of an errno value ("EINVAL"), "E?" if it has none. */
const char *hr_errname(int e);

/* FMT applied to V in one of 8 rotating static buffers: small strings for
 * expectations, e.g. N(4096), V(0x5a), X(0x5a). */
const char *hr_fmt_ring(const char *fmt, long long v);
#define N(v) hr_fmt_ring("%lld", (long long)(v))
#define V(v) hr_fmt_ring("value %lld", (long long)(v))
#define X(v) hr_fmt_ring("%02llx", (long long)(v))

/* A wait status as "exit N", "killed by SIGNAME" (followed by ALARM_NOTE
 * when the signal is SIGALRM, i.e. a watchdog fired) or "status 0x..". */
void hr_fmt_status(char *buf, size_t n, int st, const char *alarm_note);

/* A signal as "SIGBUS BUS_ADRERR at +OFF" (or "SIGSEGV code 3 at +OFF"
 * for a code without a name here); OFF is si_addr minus the mapping. */
void hr_fmt_signal(char *buf, size_t n, int sig, int code, long long off);

/* The byte at offset X of a test file made with SEED: pages differ, seeds
 * differ, and a page read at the wrong offset shows. */
uint8_t hr_pat(uint64_t x, int seed);

/* Write SIZE bytes of pattern SEED from offset 0 of FD with pwrite.
 * Returns 0, or -1 with errno set. */
int hr_write_pattern(int fd, size_t size, int seed);

/* The FNV-1a hash of N bytes. */
uint64_t hr_fnv(const uint8_t *p, size_t n);

/* Compare LEN bytes at GOT (read once each, as volatile: GOT may be a
 * mapping) with WANT.  Returns how many differ, with *FIRST the first that
 * does and *GOT_FIRST its value there, or *HASH the FNV hash of what was
 * read when none does; (size_t)-1 when out of memory. */
size_t hr_compare_bytes(const void *got, const uint8_t *want, size_t len,
                        size_t *first, uint8_t *got_first, uint64_t *hash);

/* ================================================================== */
/* Children: a value or a signal reported through a pipe               */

/* Seconds each child forked by a side may take. */
#define HR_CHILD_TIMEOUT 10

typedef long long (*hr_child_fn)(void *arg);

/* Two pipes for a parent and a child to take turns (opened by the
 * caller); hr_spawn and hr_reap close the ends each side does not use. */
struct hr_sync {
    int down[2]; /* parent -> child */
    int up[2];   /* child -> parent */
};

struct hr_child {
    pid_t pid;
    int rep; /* the read end of the report pipe */
    struct hr_sync *s;
};

/* Fork a child that runs FN(ARG) with SIGSEGV/SIGBUS handlers reporting
 * the signal, si_code and si_addr - BASE, and then _exit(0); a child whose
 * FN returns reports the value.  Every child has HR_CHILD_TIMEOUT seconds
 * (alarm).  Returns 0, or -1 with errno set and *WHAT "pipe" or "fork". */
int hr_spawn(struct hr_child *c, const void *base, hr_child_fn fn, void *arg,
             struct hr_sync *s, const char **what);

/* In a child made by hr_spawn: report V now (before doing more). */
void hr_child_report(long long v);

/* Wait for the child C and record its report as field KEY (WANT, if not
 * NULL): "value V" or the signal, "no report" if it sent none, followed
 * by ", then STATUS" when it did not exit 0 ("(timed out)" for the
 * watchdog). */
void hr_reap(struct hr_outcome *o, const char *key, struct hr_child c,
             const char *want);

/* ================================================================== */
/* Running a side and comparing the outcomes                           */

/* How a side's process is run. */
struct hr_proc {
    unsigned timeout;       /* alarm(timeout) in the side's process */
    const char *env;        /* "NAME=VALUE" put in its environment, or NULL */
    const char *alarm_note; /* after "killed by SIGALRM" in the status */
    /* 0: the runner waits for the process.  1: the process gets its own
     * process group, which the runner kills when the process has ended
     * (children it left behind) or when it has not ended timeout + 2
     * seconds after it started ("hang: ..."), SIGALRM ignored or not. */
    int own_group;
};

/* Fork; in the child, set up as P says, call FN(ARG), set O->done and
 * exit(0).  STATUS (N bytes) gets how the process ended: hr_fmt_status
 * with P->alarm_note, "fork: ..." or "hang: ...".  O is not cleared. */
void hr_run_proc(struct hr_outcome *o, void (*fn)(void *), void *arg,
                 const struct hr_proc *p, char *status, size_t n);

/* Append "[key] kernel=... usermap=..." (hr_append) to OUT for every field
 * at which K and U differ in key or value, "(none)" for a missing one.
 * Returns how many. */
int hr_diff_fields(const struct hr_outcome *k, const struct hr_outcome *u,
                   char *out, size_t n);

/* Print every field of O (for -v), the keys padded to KEY_WIDTH. */
void hr_dump(const char *side, const struct hr_outcome *o, int key_width);

/* ================================================================== */
/* The command line and the run                                        */

struct hr_args {
    int verbose;     /* -v: print every field of both sides */
    int kernel_only; /* --kernel: the kernel side only */
    int list;        /* --list: print the names */
    int first;       /* argv[first..argc-1]: names or fnmatch(3) globs */
    int argc;
    char **argv;
};

/* Parse "[-v] [--kernel] [--list] [NAME-or-glob ...]".  Returns 0, or -1
 * after printing the usage to stderr for an unknown option. */
int hr_parse_args(int argc, char **argv, struct hr_args *a);

/* Whether NAME was asked for: no names given, or one of them matches. */
int hr_selected(const struct hr_args *a, const char *name);

/* Make stdout line-buffered, create a temporary directory
 * $TMPDIR/usermap-WHAT.XXXXXX (/tmp without TMPDIR) into DIR (N bytes) and
 * map two outcomes in shared memory (the kernel's, then usermap's) into
 * *O.  Returns 0, or -1 after a message on stderr. */
int hr_start(const char *what, char *dir, size_t n, struct hr_outcome **o);

#endif
