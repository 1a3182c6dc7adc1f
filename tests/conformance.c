/* SPDX-License-Identifier: MIT */
/*
 * conformance.c - kernel-differential conformance tests for usermap.
 *
 * Every scenario is a function that receives a table of operations (mmap,
 * munmap, msync, mprotect, madvise).  The runner calls it twice, once with
 * the kernel's own functions and once with usermap's um_* functions, each
 * time in a fresh process with fresh temporary files, and records an
 * outcome: a list of (key, value) fields such as return values with errno,
 * bytes observed (through the mapping, or read back from the file with
 * pread), and signals taken by forked children (signal, si_code, and si_addr
 * as an offset from the mapping).  The two outcomes must be equal field by
 * field.  Where Linux's answer is well defined, the scenario also states it,
 * so a harness mistake that makes both sides wrong the same way still fails.
 *
 * A few checks hold for usermap alone (statistics, error messages); they
 * are marked "usermap-only" and run on the usermap side only.
 *
 * usage: conformance [-v] [--kernel] [--list] [NAME-or-glob ...]
 *   -v        print every field of both sides
 *   --kernel  run only the kernel side, checking the stated expectations
 *   --list    print the scenario names
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "usermap.h"

#define RW (PROT_READ | PROT_WRITE)
#define E(err) "-1 " #err /* how a failed call is recorded: E(EINVAL) */
#define OK "ok"           /* how a successful mmap is recorded */
#define GIB ((size_t)1 << 30)

/* An address range that is never mapped.  (A hole left by munmap is not
 * safe to test twice: under ASan, the runtime's own mmap can fill it.) */
#define NOWHERE ((void *)0)

/* Seconds one side of a scenario may take (each child in it:
 * HR_CHILD_TIMEOUT): a hang becomes a failure ("killed by SIGALRM (timed
 * out)"). */
#define SIDE_TIMEOUT 20

/* ================================================================== */
/* Everything a scenario works with                                    */

struct t {
    const struct hr_ops *ops;
    struct hr_outcome *o;
    size_t pg;
    const char *dir; /* where temporary files go */
    jmp_buf stop;    /* a required step failed: give up the scenario */
    void *mem[64];
    int nmem;
    int fds[32];
    int nfds;
};

/* The harness's recording functions on the scenario's outcome. */
#define bad(t, ...) hr_bad((t)->o, __VA_ARGS__)
#define field(t, ...) hr_field((t)->o, __VA_ARGS__)
#define ret(t, key, r, want) hr_ret((t)->o, key, r, want)
#define errname hr_errname

static void check(struct t *t, const char *key, int cond, const char *detail)
{
    field(t, key, "yes", cond ? "yes" : "no (%s)", detail);
}

static void stop(struct t *t) { longjmp(t->stop, 1); }

/* mmap through the table under test; WANT is OK or E(...).  A mapping that
 * was wanted and failed stops the scenario; one that was not wanted and
 * succeeded is unmapped.  Returns NULL when there is no mapping. */
static void *want_map(struct t *t, const char *key, const char *want,
                      void *addr, size_t len, int prot, int flags, int fd,
                      off_t off)
{
    void *p = t->ops->mmap(addr, len, prot, flags, fd, off);
    int e = errno;
    if (p == MAP_FAILED)
        field(t, key, want, "-1 %s", errname(e));
    else
        field(t, key, want, OK);
    if (p == MAP_FAILED && want && strcmp(want, OK) == 0)
        stop(t);
    if (p != MAP_FAILED && want && strcmp(want, OK) != 0) {
        t->ops->munmap(p, len);
        p = MAP_FAILED;
    }
    errno = e;
    return p == MAP_FAILED ? NULL : p;
}

static void unmap(struct t *t, void *p, size_t len)
{
    ret(t, "munmap", t->ops->munmap(p, len), "0");
}

/* ================================================================== */
/* Memory, descriptors, temporary files, file patterns                 */

static void *alloc(struct t *t, size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p || t->nmem == (int)(sizeof t->mem / sizeof t->mem[0])) {
        free(p);
        bad(t, "harness: out of memory slots");
        stop(t);
    }
    t->mem[t->nmem++] = p;
    return p;
}

static int track_fd(struct t *t, int fd)
{
    if (fd < 0) {
        bad(t, "harness: open failed: %s", strerror(errno));
        stop(t);
    }
    if (t->nfds == (int)(sizeof t->fds / sizeof t->fds[0])) {
        bad(t, "harness: too many fds");
        stop(t);
    }
    t->fds[t->nfds++] = fd;
    return fd;
}

static void close_fd(struct t *t, int fd)
{
    for (int i = 0; i < t->nfds; i++)
        if (t->fds[i] == fd) {
            t->fds[i] = t->fds[--t->nfds];
            break;
        }
    close(fd);
}

static void cleanup(struct t *t)
{
    while (t->nfds)
        close(t->fds[--t->nfds]);
    while (t->nmem)
        free(t->mem[--t->nmem]);
}

#define pat hr_pat

#define SPARSE (-1) /* seed of a file that is all hole */

/* A model of LEN bytes of a SEED file from offset START (zeros for SPARSE). */
static uint8_t *pattern(struct t *t, size_t len, int seed, uint64_t start)
{
    uint8_t *b = alloc(t, len);
    if (seed != SPARSE)
        for (size_t i = 0; i < len; i++)
            b[i] = pat(start + i, seed);
    return b;
}

static uint8_t *copy(struct t *t, const uint8_t *src, size_t len)
{
    uint8_t *b = alloc(t, len);
    memcpy(b, src, len);
    return b;
}

/* Create a temporary file of SIZE bytes of pattern SEED (or a hole),
 * open O_RDWR; its path goes to PATH (512 bytes) unless NULL. */
static int tmp_file(struct t *t, size_t size, int seed, char *path)
{
    char name[512];
    snprintf(name, sizeof name, "%s/f.XXXXXX", t->dir);
    int fd = track_fd(t, mkstemp(name));
    if (seed == SPARSE) {
        if (ftruncate(fd, (off_t)size) != 0) {
            bad(t, "harness: ftruncate: %s", strerror(errno));
            stop(t);
        }
    } else if (hr_write_pattern(fd, size, seed) != 0) {
        bad(t, "harness: pwrite: %s", strerror(errno));
        stop(t);
    }
    if (path)
        snprintf(path, 512, "%s", name);
    return fd;
}

static int reopen(struct t *t, const char *path, int flags)
{
    return track_fd(t, open(path, flags));
}

/* Compare LEN bytes at GOT (a mapping, or a buffer read from a file) with
 * the model WANT.  The value is the checksum, plus where they differ. */
static void want_bytes(struct t *t, const char *key, const void *got,
                       const void *want, size_t len)
{
    const uint8_t *w = want;
    size_t first;
    uint8_t g;
    uint64_t hash;
    size_t ndiff = hr_compare_bytes(got, w, len, &first, &g, &hash);
    if (ndiff == (size_t)-1) {
        bad(t, "harness: out of memory");
        stop(t);
    }
    if (ndiff == 0)
        field(t, key, NULL, "%zu bytes as expected (fnv %016llx)", len,
              (unsigned long long)hash);
    else {
        field(t, key, NULL, "%zu bytes differ, first at +%zu: %02x want %02x",
              ndiff, first, g, w[first]);
        bad(t, "%s: %zu bytes differ from the model, first at +%zu", key, ndiff,
            first);
    }
}

/* The file's bytes [off, off+len), read with pread, against a model. */
static void want_file(struct t *t, const char *key, int fd, off_t off,
                      size_t len, const uint8_t *want)
{
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        bad(t, "harness: out of memory");
        stop(t);
    }
    ssize_t n = pread(fd, buf, len, off);
    if (n != (ssize_t)len) {
        field(t, key, NULL, "pread returned %zd", n);
        bad(t, "%s: pread returned %zd, want %zu", key, n, len);
    } else {
        want_bytes(t, key, buf, want, len);
    }
    free(buf);
}

static void want_size(struct t *t, const char *key, int fd, size_t size)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        field(t, key, N(size), "fstat: %s", errname(errno));
    else
        field(t, key, N(size), "%lld", (long long)st.st_size);
}

/* ================================================================== */
/* Mappings with a model of their contents                             */

struct spec {
    size_t fsize; /* file size (file mappings) */
    off_t off;    /* file offset */
    size_t len;   /* mapping length */
    int prot, flags;
    void *addr;
    int seed; /* file pattern, default 1 */
    int ro;   /* map through an O_RDONLY descriptor */
};

struct m {
    uint8_t *p;
    size_t len;
    off_t off;
    int flags;
    int fd; /* -1 for anonymous */
    size_t fsize;
    char path[512];
    uint8_t *orig; /* what the mapping held at first */
    uint8_t *now;  /* what the mapping should hold now */
    uint8_t *file; /* what the file should hold now (fsize bytes) */
};

static int shared(const struct m *m) { return (m->flags & MAP_TYPE) != MAP_PRIVATE; }

/* Make a file (unless MAP_ANONYMOUS) and map it; a failed mmap stops. */
static void mk(struct t *t, struct m *m, struct spec s)
{
    memset(m, 0, sizeof *m);
    m->len = s.len;
    m->off = s.off;
    m->flags = s.flags;
    m->fd = -1;
    m->orig = alloc(t, s.len);
    if (!(s.flags & MAP_ANONYMOUS)) {
        int seed = s.seed ? s.seed : 1;
        m->fsize = s.fsize;
        m->fd = tmp_file(t, s.fsize, seed, m->path);
        m->file = pattern(t, s.fsize, seed, 0);
        if (s.ro) {
            close_fd(t, m->fd);
            m->fd = reopen(t, m->path, O_RDONLY);
        }
        for (size_t i = 0; i < s.len && (size_t)s.off + i < s.fsize; i++)
            m->orig[i] = m->file[s.off + i];
    }
    m->now = copy(t, m->orig, s.len);
    m->p = want_map(t, "mmap", OK, s.addr, s.len, s.prot, s.flags, m->fd, s.off);
}

enum kind { K_FILE_PRIVATE, K_FILE_SHARED, K_ANON_PRIVATE, K_ANON_SHARED };

static int kind_flags(intptr_t k)
{
    int sh = k == K_FILE_SHARED || k == K_ANON_SHARED;
    int anon = k == K_ANON_PRIVATE || k == K_ANON_SHARED;
    return (sh ? MAP_SHARED : MAP_PRIVATE) | (anon ? MAP_ANONYMOUS : 0);
}

/* PAGES pages of kind K (files are PAGES pages long). */
static void mk_kind(struct t *t, struct m *m, intptr_t k, size_t pages, int prot)
{
    mk(t, m, (struct spec){.fsize = pages * t->pg, .len = pages * t->pg,
                           .prot = prot, .flags = kind_flags(k)});
}

/* The model learns that byte X of the mapping is now V. */
static void model_set(struct m *m, size_t x, uint8_t v)
{
    m->now[x] = v;
    if (m->file && shared(m) && (size_t)m->off + x < m->fsize)
        m->file[m->off + x] = v;
}

/* Change byte X of the mapping (to a value it does not hold) and the model. */
static void poke(struct m *m, size_t x)
{
    uint8_t v = (uint8_t)(m->now[x] ^ 0xA5);
    m->p[x] = v;
    model_set(m, x, v);
}

static void check_mapping(struct t *t, const char *key, struct m *m)
{
    want_bytes(t, key, m->p, m->now, m->len);
}

/* The file's bytes [off, off+len) against the model (a range written back
 * by msync or munmap of part of a mapping: the rest need not be yet). */
static void check_file_range(struct t *t, const char *key, struct m *m,
                             size_t off, size_t len)
{
    want_file(t, key, m->fd, (off_t)off, len, m->file + off);
}

static void check_file(struct t *t, const char *key, struct m *m)
{
    if (m->fd < 0)
        return;
    want_size(t, "file size", m->fd, m->fsize);
    want_file(t, key, m->fd, 0, m->fsize, m->file);
}

/* Read it, write one byte per page, read it, unmap it, check the file. */
static void exercise(struct t *t, struct m *m)
{
    check_mapping(t, "initial bytes", m);
    for (size_t x = 1; x < m->len; x += t->pg + 1)
        poke(m, x);
    check_mapping(t, "bytes after writes", m);
    unmap(t, m->p, m->len);
    check_file(t, "file after munmap", m);
}

/* ================================================================== */
/* Children: signals and values reported through a pipe (harness.h)    */

static void sync_open(struct t *t, struct hr_sync *s)
{
    if (pipe(s->down) || pipe(s->up)) {
        bad(t, "harness: pipe: %s", strerror(errno));
        stop(t);
    }
}

static int post(int fd)
{
    char c = 'x';
    return write(fd, &c, 1) == 1 ? 0 : -1;
}

static int await(int fd)
{
    struct pollfd pf = {fd, POLLIN, 0};
    char c;
    if (poll(&pf, 1, HR_CHILD_TIMEOUT * 1000) != 1)
        return -1;
    return read(fd, &c, 1) == 1 ? 0 : -1;
}

/* hr_spawn; a pipe or fork that fails stops the scenario. */
static struct hr_child spawn(struct t *t, const void *base, hr_child_fn fn,
                             void *arg, struct hr_sync *s)
{
    struct hr_child c;
    const char *what;
    if (hr_spawn(&c, base, fn, arg, s, &what) != 0) {
        bad(t, "harness: %s: %s", what, strerror(errno));
        stop(t);
    }
    return c;
}

#define reap(t, key, c, want) hr_reap((t)->o, key, c, want)
#define child_report hr_child_report
#define fmt_signal hr_fmt_signal

struct access {
    volatile uint8_t *addr;
    int write;
};

static long long access_fn(void *arg)
{
    struct access *a = arg;
    if (a->write)
        *a->addr = 0x5a;
    return *a->addr;
}

enum { READ = 0, WRITE = 1 };

/* A child reads or writes BASE+OFF and must take SIG/CODE there. */
static void want_fault(struct t *t, const char *key, void *base, size_t off,
                       int write, int sig, int code)
{
    char want[96];
    fmt_signal(want, sizeof want, sig, code, (long long)off);
    struct access a = {(volatile uint8_t *)base + off, write};
    reap(t, key, spawn(t, base, access_fn, &a, NULL), want);
}

/* A child reads (or writes 0x5a to) BASE+OFF and must see VALUE. */
static void want_access(struct t *t, const char *key, void *base, size_t off,
                        int write, int value)
{
    struct access a = {(volatile uint8_t *)base + off, write};
    reap(t, key, spawn(t, base, access_fn, &a, NULL), V(value));
}

/* ================================================================== */
/* Scenarios: kinds and flags                                          */

/* File or anonymous, private or shared: reads, writes, write-back. */
static void sc_kind(struct t *t, intptr_t k)
{
    struct m m;
    mk_kind(t, &m, k, 4, RW);
    exercise(t, &m);
}

/* Neither MAP_SHARED nor MAP_PRIVATE, or an unknown MAP_TYPE: EINVAL. */
static void sc_bad_type(struct t *t, intptr_t flags)
{
    int fd = (flags & MAP_ANONYMOUS) ? -1 : tmp_file(t, t->pg, 1, NULL);
    want_map(t, "mmap", E(EINVAL), NULL, t->pg, PROT_READ, (int)flags, fd, 0);
}

/* MAP_SHARED_VALIDATE behaves as MAP_SHARED for a file. */
static void sc_shared_validate(struct t *t, intptr_t arg)
{
    (void)arg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = 3 * t->pg, .len = 3 * t->pg, .prot = RW,
                            .flags = MAP_SHARED_VALIDATE});
    exercise(t, &m);
}

/* Linux refuses MAP_SHARED_VALIDATE for anonymous memory. */
static void sc_shared_validate_anon(struct t *t, intptr_t arg)
{
    (void)arg;
    want_map(t, "mmap", E(EINVAL), NULL, t->pg, RW,
             MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0);
}

/* MAP_SHARED_VALIDATE with a flag the file does not support. */
static void sc_shared_validate_unknown(struct t *t, intptr_t flag)
{
    int fd = tmp_file(t, t->pg, 1, NULL);
    want_map(t, "mmap", E(EOPNOTSUPP), NULL, t->pg, PROT_READ,
             MAP_SHARED_VALIDATE | (int)flag, fd, 0);
    /* with plain MAP_SHARED: whatever Linux says (it ignores an unknown
     * bit, but still refuses MAP_SYNC on a filesystem without DAX) */
    void *p = want_map(t, "mmap MAP_SHARED|flag", NULL, NULL, t->pg, PROT_READ,
                       MAP_SHARED | (int)flag, fd, 0);
    if (p)
        unmap(t, p, t->pg);
}

/* Accepted extra flags (MAP_POPULATE, MAP_NORESERVE, MAP_LOCKED) change
 * nothing visible, for shared and private files and private anonymous
 * memory (a populated private file mapping holds the file's bytes). */
static void sc_extra_flag(struct t *t, intptr_t flag)
{
    struct m m;
    mk(t, &m, (struct spec){.fsize = 3 * t->pg, .len = 3 * t->pg, .prot = RW,
                            .flags = MAP_SHARED | (int)flag});
    exercise(t, &m);
    mk(t, &m, (struct spec){.fsize = 3 * t->pg, .len = 3 * t->pg, .prot = RW,
                            .flags = MAP_PRIVATE | (int)flag});
    exercise(t, &m);
    mk(t, &m, (struct spec){.len = 3 * t->pg, .prot = RW,
                            .flags = MAP_PRIVATE | MAP_ANONYMOUS | (int)flag});
    exercise(t, &m);
}

/* Reserve 4 pages PROT_NONE with the kernel or the table under test. */
static uint8_t *reserve(struct t *t, int with_kernel, size_t pages)
{
    if (!with_kernel)
        return want_map(t, "reserve", OK, NULL, pages * t->pg, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *r = mmap(NULL, pages * t->pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (r == MAP_FAILED) {
        bad(t, "harness: kernel reservation failed");
        stop(t);
    }
    return r;
}

/* MAP_FIXED into the middle of a reservation: lands there, the rest of the
 * reservation stays, munmap of the whole range writes back. */
static void sc_fixed(struct t *t, intptr_t kernel_reservation)
{
    size_t pg = t->pg;
    uint8_t *res = reserve(t, (int)kernel_reservation, 4);
    struct m m;
    mk(t, &m, (struct spec){.fsize = 3 * pg, .off = (off_t)pg, .len = 2 * pg,
                            .prot = RW, .flags = MAP_SHARED | MAP_FIXED,
                            .addr = res + pg});
    field(t, "address", "reservation + 1 page", "%s",
          m.p == res + pg ? "reservation + 1 page" : "elsewhere");
    check_mapping(t, "bytes", &m);
    poke(&m, 5);
    poke(&m, pg + 6);
    want_fault(t, "read reserved page 0", res, 5, READ, SIGSEGV, SEGV_ACCERR);
    want_fault(t, "read reserved page 3", res, 3 * pg + 5, READ, SIGSEGV,
               SEGV_ACCERR);
    unmap(t, res, 4 * pg);
    check_file(t, "file after munmap", &m);
    want_fault(t, "read after munmap", res, pg + 5, READ, SIGSEGV, SEGV_MAPERR);
}

/* MAP_FIXED over the (written) middle page of a live shared mapping, with
 * anonymous memory or another file: that page is replaced, its write is in
 * the first file, the rest of the mapping stays. */
static void sc_fixed_replace_middle(struct t *t, intptr_t other_file)
{
    size_t pg = t->pg;
    struct m m, b;
    mk(t, &m, (struct spec){.fsize = 3 * pg, .len = 3 * pg, .prot = RW,
                            .flags = MAP_SHARED});
    poke(&m, 1);
    poke(&m, pg + 1);
    poke(&m, 2 * pg + 1);
    if (other_file) {
        mk(t, &b, (struct spec){.fsize = 2 * pg, .off = (off_t)pg, .len = pg,
                                .prot = RW, .flags = MAP_SHARED | MAP_FIXED,
                                .addr = m.p + pg, .seed = 2});
        memcpy(m.now + pg, b.now, pg);
    } else {
        b.p = want_map(t, "mmap", OK, m.p + pg, pg, RW,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        memset(m.now + pg, 0, pg);
    }
    field(t, "address", "middle page", "%s", b.p == m.p + pg ? "middle page" : "elsewhere");
    check_file_range(t, "replaced page in the first file", &m, pg, pg);
    check_mapping(t, "bytes", &m);
    m.p[pg + 2] = 0x11; /* never reaches the first file */
    m.now[pg + 2] = 0x11;
    if (other_file)
        model_set(&b, 2, 0x11);
    check_mapping(t, "bytes after write", &m);
    unmap(t, m.p, 3 * pg);
    check_file(t, "first file after munmap", &m);
    if (other_file)
        check_file(t, "second file after munmap", &b);
}

enum { NR_OWN, NR_KERNEL, NR_FREE };

/* MAP_FIXED_NOREPLACE: EEXIST over a mapping (usermap's own or the
 * kernel's), the exact address when the range is free. */
static void sc_fixed_noreplace(struct t *t, intptr_t mode)
{
    size_t pg = t->pg;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
    if (mode == NR_OWN) {
        struct m m;
        mk(t, &m, (struct spec){.fsize = 2 * pg, .len = 2 * pg, .prot = RW,
                                .flags = MAP_SHARED});
        poke(&m, 3);
        want_map(t, "noreplace same range", E(EEXIST), m.p, 2 * pg, RW, flags, -1, 0);
        want_map(t, "noreplace overlapping end", E(EEXIST), m.p + pg, 2 * pg,
                 RW, flags, -1, 0);
        check_mapping(t, "bytes intact", &m);
        unmap(t, m.p, m.len);
        check_file(t, "file after munmap", &m);
    } else if (mode == NR_KERNEL) {
        uint8_t *k = mmap(NULL, 2 * pg, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (k == MAP_FAILED)
            stop(t);
        memset(k, 0x77, 2 * pg);
        uint8_t *model = alloc(t, 2 * pg);
        memset(model, 0x77, 2 * pg);
        want_map(t, "noreplace over kernel mapping", E(EEXIST), k + pg, pg, RW,
                 flags, -1, 0);
        want_bytes(t, "kernel mapping intact", k, model, 2 * pg);
        munmap(k, 2 * pg);
    } else {
        uint8_t *r = reserve(t, 0, 2);
        unmap(t, r, 2 * pg);
        struct m m;
        mk(t, &m, (struct spec){.fsize = 2 * pg, .len = 2 * pg, .prot = RW,
                                .flags = MAP_PRIVATE | MAP_FIXED_NOREPLACE,
                                .addr = r});
        field(t, "address", "as asked", "%s", m.p == r ? "as asked" : "elsewhere");
        exercise(t, &m);
    }
}

/* ================================================================== */
/* Scenarios: argument checks                                          */

static void sc_len_zero(struct t *t, intptr_t anon)
{
    int fd = anon ? -1 : tmp_file(t, t->pg, 1, NULL);
    int flags = MAP_PRIVATE | (anon ? MAP_ANONYMOUS : 0);
    want_map(t, "mmap len 0", E(EINVAL), NULL, 0, PROT_READ, flags, fd, 0);
    want_map(t, "mmap shared len 0", E(EINVAL), NULL, 0, PROT_READ,
             (flags & ~MAP_PRIVATE) | MAP_SHARED, fd, 0);
}

static void sc_unaligned_offset(struct t *t, intptr_t anon)
{
    int fd = anon ? -1 : tmp_file(t, 3 * t->pg, 1, NULL);
    int flags = MAP_PRIVATE | (anon ? MAP_ANONYMOUS : 0);
    want_map(t, "offset 100", E(EINVAL), NULL, t->pg, PROT_READ, flags, fd, 100);
    want_map(t, "offset 1 page + 1", E(EINVAL), NULL, t->pg, PROT_READ, flags,
             fd, (off_t)t->pg + 1);
}

/* An unaligned MAP_FIXED (or _NOREPLACE) address is EINVAL and leaves the
 * reservation there alone. */
static void sc_unaligned_fixed(struct t *t, intptr_t arg)
{
    (void)arg;
    uint8_t *r = reserve(t, 0, 2);
    int fd = tmp_file(t, t->pg, 1, NULL);
    want_map(t, "MAP_FIXED at +100", E(EINVAL), r + 100, t->pg, PROT_READ,
             MAP_PRIVATE | MAP_FIXED, fd, 0);
    want_map(t, "MAP_FIXED_NOREPLACE at +100", E(EINVAL), r + 100, t->pg,
             PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);
    want_fault(t, "reservation still PROT_NONE", r, 5, READ, SIGSEGV, SEGV_ACCERR);
    unmap(t, r, 2 * t->pg);
}

/* An unaligned address without MAP_FIXED is only a hint. */
static void sc_unaligned_hint(struct t *t, intptr_t arg)
{
    (void)arg;
    uint8_t *r = reserve(t, 0, 2);
    unmap(t, r, 2 * t->pg);
    struct m m;
    mk(t, &m, (struct spec){.fsize = 2 * t->pg, .len = 2 * t->pg, .prot = RW,
                            .flags = MAP_SHARED, .addr = r + 100});
    exercise(t, &m);
}

static void sc_bad_fd(struct t *t, intptr_t fd)
{
    if (fd >= 0 && fcntl((int)fd, F_GETFD) != -1) {
        bad(t, "harness: fd %d is open", (int)fd);
        stop(t);
    }
    want_map(t, "mmap private", E(EBADF), NULL, t->pg, PROT_READ, MAP_PRIVATE,
             (int)fd, 0);
    want_map(t, "mmap shared", E(EBADF), NULL, t->pg, PROT_READ, MAP_SHARED,
             (int)fd, 0);
}

/* MAP_ANONYMOUS ignores fd (even a bad one) and a negative aligned offset. */
static void sc_anon_ignores_fd(struct t *t, intptr_t arg)
{
    (void)arg;
    struct m m;
    mk(t, &m, (struct spec){.len = 2 * t->pg, .prot = RW,
                            .flags = MAP_PRIVATE | MAP_ANONYMOUS});
    unmap(t, m.p, m.len);
    uint8_t *zero = alloc(t, 2 * t->pg);
    uint8_t *p = want_map(t, "anonymous with fd 999", OK, NULL, 2 * t->pg, RW,
                          MAP_PRIVATE | MAP_ANONYMOUS, 999, 0);
    want_bytes(t, "zeros", p, zero, 2 * t->pg);
    unmap(t, p, 2 * t->pg);
    p = want_map(t, "anonymous at offset -1 page", OK, NULL, t->pg, RW,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, -(off_t)t->pg);
    want_bytes(t, "zeros", p, zero, t->pg);
    unmap(t, p, t->pg);
}

/* A descriptor open O_WRONLY cannot be mapped at all. */
static void sc_wronly(struct t *t, intptr_t type)
{
    char path[512];
    tmp_file(t, t->pg, 1, path);
    int fd = reopen(t, path, O_WRONLY);
    want_map(t, "PROT_READ", E(EACCES), NULL, t->pg, PROT_READ, (int)type, fd, 0);
    want_map(t, "PROT_WRITE", E(EACCES), NULL, t->pg, PROT_WRITE, (int)type, fd, 0);
    want_map(t, "PROT_NONE", E(EACCES), NULL, t->pg, PROT_NONE, (int)type, fd, 0);
}

/* An O_RDONLY descriptor: MAP_SHARED+PROT_WRITE is EACCES, MAP_SHARED
 * read-only works; MAP_PRIVATE+PROT_WRITE works and keeps the file. */
static void sc_rdonly(struct t *t, intptr_t type)
{
    struct m m;
    int prot = type == MAP_PRIVATE ? RW : PROT_READ;
    mk(t, &m, (struct spec){.fsize = 2 * t->pg, .len = 2 * t->pg, .prot = prot,
                            .flags = (int)type, .ro = 1});
    if (type == MAP_SHARED) {
        want_map(t, "MAP_SHARED RW", E(EACCES), NULL, t->pg, RW, MAP_SHARED, m.fd, 0);
        want_map(t, "MAP_SHARED_VALIDATE RW", E(EACCES), NULL, t->pg, RW,
                 MAP_SHARED_VALIDATE, m.fd, 0);
        check_mapping(t, "read-only bytes", &m);
        unmap(t, m.p, m.len);
        return;
    }
    exercise(t, &m);
}

enum { SP_PIPE, SP_PIPE_WRITE_END, SP_SOCKET, SP_DIRECTORY };

/* What the kernel says for files that cannot be mapped. */
static void sc_special_fd(struct t *t, intptr_t what)
{
    int fds[2] = {-1, -1};
    int fd;
    const char *want = E(ENODEV);
    if (what == SP_PIPE || what == SP_PIPE_WRITE_END) {
        if (pipe(fds) != 0)
            stop(t);
        track_fd(t, fds[0]);
        track_fd(t, fds[1]);
        fd = what == SP_PIPE ? fds[0] : fds[1];
        if (what == SP_PIPE_WRITE_END)
            want = E(EACCES); /* not open for reading comes first */
    } else if (what == SP_SOCKET) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
            stop(t);
        track_fd(t, fds[0]);
        track_fd(t, fds[1]);
        fd = fds[0];
    } else {
        fd = reopen(t, t->dir, O_RDONLY | O_DIRECTORY);
    }
    want_map(t, "mmap private", want, NULL, t->pg, PROT_READ, MAP_PRIVATE, fd, 0);
    want_map(t, "mmap shared", want, NULL, t->pg, PROT_READ, MAP_SHARED, fd, 0);
}

/* A device (/dev/zero) is handed to the kernel and behaves as it does. */
static void sc_dev_zero(struct t *t, intptr_t type)
{
    int fd = reopen(t, "/dev/zero", O_RDWR);
    uint8_t *zero = alloc(t, 2 * t->pg);
    uint8_t *p = want_map(t, "mmap /dev/zero", OK, NULL, 2 * t->pg, RW,
                          (int)type, fd, 0);
    want_bytes(t, "zeros", p, zero, 2 * t->pg);
    p[t->pg + 1] = 0x42;
    field(t, "written byte", X(0x42), "%02x", p[t->pg + 1]);
    unmap(t, p, 2 * t->pg);
}

/* Lengths that cannot be mapped: ENOMEM. */
static void sc_huge_len(struct t *t, intptr_t anon)
{
    int fd = anon ? -1 : tmp_file(t, t->pg, 1, NULL);
    int flags = MAP_PRIVATE | (anon ? MAP_ANONYMOUS : 0);
    want_map(t, "len SIZE_MAX", E(ENOMEM), NULL, SIZE_MAX, PROT_READ, flags, fd, 0);
    want_map(t, "len SIZE_MAX rounded down", E(ENOMEM), NULL,
             SIZE_MAX & ~(t->pg - 1), PROT_READ, flags, fd, 0);
}

/* Offsets beyond what a file can hold: EOVERFLOW, as Linux says. */
static void sc_offset_overflow(struct t *t, intptr_t arg)
{
    (void)arg;
    int fd = tmp_file(t, t->pg, 1, NULL);
    off_t top = (off_t)(INT64_MAX & ~(int64_t)(t->pg - 1));
    want_map(t, "last page offset, 2 pages", E(EOVERFLOW), NULL, 2 * t->pg,
             PROT_READ, MAP_PRIVATE, fd, top);
    want_map(t, "offset -1 page", E(EOVERFLOW), NULL, t->pg, PROT_READ,
             MAP_SHARED, fd, -(off_t)t->pg);
}

/* An offset far past the end of a small file maps, and faults SIGBUS. */
static void sc_offset_far(struct t *t, intptr_t arg)
{
    (void)arg;
    int fd = tmp_file(t, t->pg, 1, NULL);
    uint8_t *p = want_map(t, "offset 1 TiB", OK, NULL, t->pg, PROT_READ,
                          MAP_SHARED, fd, (off_t)1 << 40);
    want_fault(t, "read", p, 5, READ, SIGBUS, BUS_ADRERR);
    unmap(t, p, t->pg);
}

/* A non-zero page-multiple offset maps the right part of the file. */
static void sc_offset(struct t *t, intptr_t type)
{
    struct m m;
    mk(t, &m, (struct spec){.fsize = 6 * t->pg, .off = 3 * (off_t)t->pg,
                            .len = 3 * t->pg, .prot = RW, .flags = (int)type});
    exercise(t, &m);
}

/* Lengths that are not page multiples cover the whole last page, for
 * mmap, mprotect, msync and munmap alike. */
static void sc_unaligned_lengths(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = 3 * pg, .len = 3 * pg, .prot = RW,
                            .flags = MAP_SHARED});
    uint8_t *p = want_map(t, "mmap 2 pages + 1", OK, NULL, 2 * pg + 1, RW,
                          MAP_SHARED, m.fd, 0);
    field(t, "byte in the rounded-up page", X(m.file[2 * pg + 100]), "%02x",
          p[2 * pg + 100]);
    ret(t, "mprotect 1 page + 1", t->ops->mprotect(p, pg + 1, PROT_READ), "0");
    want_fault(t, "write page 1", p, pg + 5, WRITE, SIGSEGV, SEGV_ACCERR);
    p[2 * pg + 7] = 0x3c;
    model_set(&m, 2 * pg + 7, 0x3c);
    ret(t, "msync 1 byte", t->ops->msync(p + 2 * pg, 1, MS_SYNC), "0");
    check_file_range(t, "file's page 2 after msync", &m, 2 * pg, pg);
    ret(t, "munmap 2 pages + 1", t->ops->munmap(p, 2 * pg + 1), "0");
    want_fault(t, "read the rounded-up page after munmap", p, 2 * pg + 100, READ,
               SIGSEGV, SEGV_MAPERR);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* 16 GiB of private anonymous memory (MAP_NORESERVE): a few bytes far
 * apart, zeros elsewhere. */
static void sc_anon_large(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t len = 16 * GIB;
    uint8_t *p = want_map(t, "mmap 16 GiB", OK, NULL, len, RW,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    p[5] = 0x11;
    p[len / 3] = 0x22;
    p[len - 1] = 0x33;
    field(t, "bytes", "11 22 33", "%02x %02x %02x", p[5], p[len / 3], p[len - 1]);
    field(t, "untouched bytes", "00 00", "%02x %02x", p[len / 2], p[len - t->pg - 1]);
    unmap(t, p, len);
}

/* ================================================================== */
/* Scenarios: protection                                               */

/* A write to a PROT_READ mapping: SIGSEGV SEGV_ACCERR at the address. */
static void sc_prot_read_write(struct t *t, intptr_t k)
{
    struct m m;
    mk_kind(t, &m, k, 2, PROT_READ);
    want_fault(t, "write untouched page", m.p, t->pg + 100, WRITE, SIGSEGV,
               SEGV_ACCERR);
    check_mapping(t, "bytes", &m);
    want_fault(t, "write", m.p, t->pg + 100, WRITE, SIGSEGV, SEGV_ACCERR);
    want_access(t, "read", m.p, t->pg + 100, READ, m.now[t->pg + 100]);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* PROT_NONE: reads and writes fault; mprotect opens it to the right bytes. */
static void sc_prot_none(struct t *t, intptr_t k)
{
    struct m m;
    mk_kind(t, &m, k, 2, PROT_NONE);
    want_fault(t, "read", m.p, t->pg + 1, READ, SIGSEGV, SEGV_ACCERR);
    want_fault(t, "write", m.p, 3, WRITE, SIGSEGV, SEGV_ACCERR);
    ret(t, "mprotect PROT_READ", t->ops->mprotect(m.p, m.len, PROT_READ), "0");
    check_mapping(t, "bytes", &m);
    unmap(t, m.p, m.len);
}

/* PROT_READ, then mprotect RW and write, then back to PROT_READ. */
static void sc_mprotect_write(struct t *t, intptr_t k)
{
    struct m m;
    mk_kind(t, &m, k, 3, PROT_READ);
    check_mapping(t, "bytes", &m);
    ret(t, "mprotect RW", t->ops->mprotect(m.p, m.len, RW), "0");
    poke(&m, 7);
    poke(&m, 2 * t->pg + 8);
    check_mapping(t, "bytes after writes", &m);
    ret(t, "mprotect PROT_READ", t->ops->mprotect(m.p, m.len, PROT_READ), "0");
    want_fault(t, "write after PROT_READ", m.p, t->pg + 9, WRITE, SIGSEGV,
               SEGV_ACCERR);
    check_mapping(t, "bytes still", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* An O_RDONLY descriptor: mprotect(PROT_WRITE) is EACCES for MAP_SHARED
 * and allowed for MAP_PRIVATE. */
static void sc_mprotect_rdonly_fd(struct t *t, intptr_t type)
{
    struct m m;
    mk(t, &m, (struct spec){.fsize = 2 * t->pg, .len = 2 * t->pg,
                            .prot = PROT_READ, .flags = (int)type, .ro = 1});
    if (type == MAP_SHARED) {
        ret(t, "mprotect RW", t->ops->mprotect(m.p, m.len, RW), E(EACCES));
        ret(t, "mprotect PROT_WRITE", t->ops->mprotect(m.p, t->pg, PROT_WRITE),
            E(EACCES));
        want_fault(t, "write", m.p, 10, WRITE, SIGSEGV, SEGV_ACCERR);
        check_mapping(t, "bytes", &m);
        unmap(t, m.p, m.len);
        return;
    }
    ret(t, "mprotect RW", t->ops->mprotect(m.p, m.len, RW), "0");
    poke(&m, 10);
    poke(&m, t->pg + 11);
    check_mapping(t, "bytes after writes", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* mprotect of the middle page only: writes around it fault, in it work. */
static void sc_mprotect_partial(struct t *t, intptr_t type)
{
    size_t pg = t->pg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = 3 * pg, .len = 3 * pg, .prot = PROT_READ,
                            .flags = (int)type});
    ret(t, "mprotect middle RW", t->ops->mprotect(m.p + pg, pg, RW), "0");
    want_fault(t, "write page 0", m.p, 7, WRITE, SIGSEGV, SEGV_ACCERR);
    want_access(t, "write page 1", m.p, pg + 7, WRITE, 0x5a);
    want_fault(t, "write page 2", m.p, 2 * pg + 7, WRITE, SIGSEGV, SEGV_ACCERR);
    if (type == MAP_SHARED)
        model_set(&m, pg + 7, 0x5a); /* the child wrote the shared page */
    poke(&m, pg + 9);
    check_mapping(t, "bytes", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* mprotect's own errors. */
static void sc_mprotect_errors(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = 3 * pg, .len = 3 * pg, .prot = RW,
                            .flags = MAP_SHARED});
    ret(t, "unaligned address", t->ops->mprotect(m.p + 1, pg, PROT_READ), E(EINVAL));
    ret(t, "unknown prot bit", t->ops->mprotect(m.p, pg, PROT_READ | 0x1000),
        E(EINVAL));
    ret(t, "length 0", t->ops->mprotect(m.p, 0, PROT_READ), "0");
    unmap(t, m.p + 2 * pg, pg);
    ret(t, "range with a hole", t->ops->mprotect(m.p, 3 * pg, PROT_READ), E(ENOMEM));
    ret(t, "page 0 (never mapped)", t->ops->mprotect(NOWHERE, pg, PROT_READ),
        E(ENOMEM));
    unmap(t, m.p, 2 * pg);
}

/* PROT_EXEC of a file: whatever the kernel says (EPERM on a noexec
 * mount), and the file's bytes when it maps. */
static void sc_prot_exec(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t len = 2 * t->pg;
    int fd = tmp_file(t, len, 1, NULL);
    uint8_t *p = want_map(t, "mmap", NULL, NULL, len, PROT_READ | PROT_EXEC,
                          MAP_PRIVATE, fd, 0);
    if (!p)
        return;
    want_bytes(t, "bytes", p, pattern(t, len, 1, 0), len);
    unmap(t, p, len);
}

/* Pages written, then mprotect(PROT_READ or PROT_NONE): the writes still
 * reach the file at munmap (and at msync before it). */
static void sc_mprotect_after_write(struct t *t, intptr_t prot)
{
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 3, RW);
    poke(&m, 1);
    poke(&m, 2 * pg + 2);
    ret(t, "mprotect", t->ops->mprotect(m.p, m.len, (int)prot), "0");
    ret(t, "msync", t->ops->msync(m.p, m.len, MS_SYNC), "0");
    check_file(t, "file after msync", &m);
    ret(t, "mprotect RW", t->ops->mprotect(m.p + pg, pg, RW), "0");
    poke(&m, pg + 3);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* PROT_WRITE alone on a shared file (x86 reads too); writes reach it. */
static void sc_prot_write_only(struct t *t, intptr_t arg)
{
    (void)arg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 2, PROT_WRITE);
    poke(&m, 5);
    poke(&m, t->pg + 6);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* ================================================================== */
/* Scenarios: private mappings                                         */

/* Copy-on-write: writes never reach the file, not with msync, not with
 * munmap. */
static void sc_private_cow(struct t *t, intptr_t arg)
{
    (void)arg;
    struct m m;
    mk_kind(t, &m, K_FILE_PRIVATE, 3, RW);
    poke(&m, 0);
    poke(&m, 2 * t->pg + 100);
    ret(t, "msync MS_SYNC", t->ops->msync(m.p, m.len, MS_SYNC), "0");
    check_file(t, "file after msync", &m);
    check_mapping(t, "bytes after msync", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* Two private mappings of one file do not see each other's writes. */
static void sc_private_two_maps(struct t *t, intptr_t arg)
{
    (void)arg;
    struct m a, b;
    mk_kind(t, &a, K_FILE_PRIVATE, 2, RW);
    b = a;
    b.now = copy(t, a.now, a.len);
    b.p = want_map(t, "second mmap", OK, NULL, a.len, RW, MAP_PRIVATE, a.fd, 0);
    poke(&a, 5);
    poke(&b, t->pg + 6);
    check_mapping(t, "first", &a);
    check_mapping(t, "second", &b);
    unmap(t, a.p, a.len);
    unmap(t, b.p, b.len);
    check_file(t, "file after munmap", &a);
}

struct fork_args {
    uint8_t *p;
    size_t pg;
    struct hr_sync *s;
    const struct hr_ops *ops;
    const char *path;
    int do_munmap;
};

/* Child of sc_private_fork: wait for the parent's writes, then look. */
static long long private_fork_child(void *arg)
{
    struct fork_args *a = arg;
    if (await(a->s->down[0]) != 0)
        return -1;
    long long seen = a->p[5] | a->p[a->pg + 5] << 8;
    a->p[2 * a->pg + 5] = 0x33;
    return seen;
}

/* After fork a child sees the parent's snapshot: writes before the fork,
 * not after; the parent never sees the child's writes. */
static void sc_private_fork(struct t *t, intptr_t k)
{
    size_t pg = t->pg;
    struct m m;
    struct hr_sync s;
    mk_kind(t, &m, k, 3, RW);
    poke(&m, 5); /* before the fork */
    sync_open(t, &s);
    struct fork_args a = {m.p, pg, &s, NULL, NULL, 0};
    long long snapshot = m.now[5] | m.now[pg + 5] << 8;
    struct hr_child c = spawn(t, m.p, private_fork_child, &a, &s);
    poke(&m, 5); /* after the fork */
    poke(&m, pg + 5);
    post(s.down[1]);
    reap(t, "child sees", c, V(snapshot));
    check_mapping(t, "parent's bytes", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* ================================================================== */
/* Scenarios: shared mappings                                          */

/* Writes are in the file right after msync (MS_SYNC, MS_ASYNC, ...). */
static void sc_shared_msync(struct t *t, intptr_t flags)
{
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 3, RW);
    check_mapping(t, "bytes", &m);
    poke(&m, 0);
    poke(&m, 2 * t->pg + 100);
    ret(t, "msync", t->ops->msync(m.p, m.len, (int)flags), "0");
    check_file(t, "file after msync", &m);
    check_mapping(t, "bytes after msync", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* Writes of only part of the range are in the file after msync of that
 * part. */
static void sc_shared_msync_part(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 4, RW);
    poke(&m, pg + 3);
    poke(&m, 2 * pg + 4);
    ret(t, "msync pages 1-2", t->ops->msync(m.p + pg, 2 * pg, MS_SYNC), "0");
    check_file(t, "file after msync", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* Child of sc_shared_child_exit: map the file itself, write, maybe munmap,
 * and leave with exit(). */
/* In a child: maps the file of a shared, writes 0xC0.. into its three
 * pages.  Returns the mapping, or NULL with *err set. */
static uint8_t *map_and_write_three(struct fork_args *a, long long *err)
{
    int fd = open(a->path, O_RDWR);
    if (fd < 0) {
        *err = -1;
        return NULL;
    }
    uint8_t *q = a->ops->mmap(NULL, 3 * a->pg, RW, MAP_SHARED, fd, 0);
    close(fd);
    if (q == MAP_FAILED) {
        *err = -2;
        return NULL;
    }
    for (size_t i = 0; i < 3; i++)
        q[i * a->pg + i + 1] = (uint8_t)(0xC0 + i);
    return q;
}

static long long map_write_exit_child(void *arg)
{
    struct fork_args *a = arg;
    long long err = 0;
    uint8_t *q = map_and_write_three(a, &err);
    if (!q)
        return err;
    if (a->do_munmap && a->ops->munmap(q, 3 * a->pg) != 0)
        return -3;
    child_report(0);
    exit(0);
}

/* Child of sc_shared_child_exit: write into the parent's mapping. */
static long long write_parent_map_child(void *arg)
{
    struct fork_args *a = arg;
    for (size_t i = 0; i < 3; i++)
        a->p[i * a->pg + i + 1] = (uint8_t)(0xC0 + i);
    return 0;
}

enum { CE_MUNMAP_EXIT, CE_EXIT, CE_PARENT_MAPPING };

/* A child's writes to a MAP_SHARED file mapping reach the file: when it
 * unmaps and exits, when it just exits (exit()), and when it writes into
 * the parent's mapping and _exits (the parent sees them, then the file). */
static void sc_shared_child_exit(struct t *t, intptr_t mode)
{
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 3, RW);
    if (mode != CE_PARENT_MAPPING)
        unmap(t, m.p, m.len); /* only the child maps it */
    struct fork_args a = {m.p, pg, NULL, t->ops, m.path, mode == CE_MUNMAP_EXIT};
    reap(t, "child", spawn(t, m.p, mode == CE_PARENT_MAPPING ?
                                       write_parent_map_child : map_write_exit_child,
                           &a, NULL),
         V(0));
    for (size_t i = 0; i < 3; i++)
        model_set(&m, i * pg + i + 1, (uint8_t)(0xC0 + i));
    if (mode == CE_PARENT_MAPPING) {
        check_mapping(t, "parent sees", &m);
        unmap(t, m.p, m.len);
    }
    check_file(t, "file", &m);
}

/* Two MAP_SHARED mappings of one file in one process are coherent, also
 * at different offsets and through different descriptors. */
static void sc_shared_two_maps(struct t *t, intptr_t other_fd)
{
    size_t pg = t->pg;
    struct m a;
    mk_kind(t, &a, K_FILE_SHARED, 3, RW);
    int fd = other_fd ? reopen(t, a.path, O_RDWR) : a.fd;
    uint8_t *b = want_map(t, "second mmap at offset 1 page", OK, NULL, 2 * pg,
                          RW, MAP_SHARED, fd, (off_t)pg);
    check_mapping(t, "first", &a);
    poke(&a, pg + 3);
    field(t, "second sees first's write", X(a.now[pg + 3]), "%02x", b[3]);
    b[pg + 4] = 0x99;
    model_set(&a, 2 * pg + 4, 0x99);
    field(t, "first sees second's write", X(0x99), "%02x", a.p[2 * pg + 4]);
    unmap(t, b, 2 * pg);
    check_mapping(t, "first after unmapping second", &a);
    unmap(t, a.p, a.len);
    check_file(t, "file after munmap", &a);
}

/* Child of sc_shared_fork: read the parent's write, answer with its own. */
static long long shared_fork_child(void *arg)
{
    struct fork_args *a = arg;
    if (await(a->s->down[0]) != 0)
        return -1;
    long long seen = a->p[10];
    a->p[a->pg + 20] = 0x77;
    if (post(a->s->up[1]) != 0)
        return -2;
    return seen;
}

/* Shared memory between parent and child, both ways. */
static void sc_shared_fork(struct t *t, intptr_t k)
{
    size_t pg = t->pg;
    struct m m;
    struct hr_sync s;
    mk_kind(t, &m, k, 2, RW);
    sync_open(t, &s);
    struct fork_args a = {m.p, pg, &s, NULL, NULL, 0};
    struct hr_child c = spawn(t, m.p, shared_fork_child, &a, &s);
    poke(&m, 10);
    post(s.down[1]);
    field(t, "child answered", "yes", "%s", await(s.up[0]) == 0 ? "yes" : "no");
    model_set(&m, pg + 20, 0x77);
    field(t, "parent sees child's write", X(0x77), "%02x", m.p[pg + 20]);
    reap(t, "child sees parent's write", c, V(m.now[10]));
    check_mapping(t, "bytes", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* Child of sc_shared_child_maps_file: map the file anew, read, write. */
static long long map_same_file_child(void *arg)
{
    struct fork_args *a = arg;
    int fd = open(a->path, O_RDWR);
    if (fd < 0)
        return -1;
    uint8_t *q = a->ops->mmap(NULL, 3 * a->pg, RW, MAP_SHARED, fd, 0);
    close(fd);
    if (q == MAP_FAILED)
        return -2;
    long long seen = q[a->pg + 1];
    q[2 * a->pg + 2] = 0x42;
    if (a->ops->munmap(q, 3 * a->pg) != 0)
        return -3;
    return seen;
}

/* A forked child that maps the same file sees the parent's unsynced
 * writes, and the parent's mapping sees the child's. */
static void sc_shared_child_maps_file(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 3, RW);
    poke(&m, pg + 1);
    struct fork_args a = {m.p, pg, NULL, t->ops, m.path, 1};
    reap(t, "child sees", spawn(t, m.p, map_same_file_child, &a, NULL),
         V(m.now[pg + 1]));
    model_set(&m, 2 * pg + 2, 0x42);
    check_mapping(t, "parent sees child's write", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* A private mapping's untouched pages show a shared mapping's writes to
 * the same file (Linux maps them from the one page cache); a page the
 * private mapping has written is its own. */
static void sc_private_sees_shared(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m a, b;
    mk_kind(t, &a, K_FILE_SHARED, 3, RW);
    b = a;
    b.flags = MAP_PRIVATE;
    b.now = copy(t, a.now, a.len);
    b.p = want_map(t, "private mmap", OK, NULL, a.len, RW, MAP_PRIVATE, a.fd, 0);
    field(t, "private reads page 1", X(b.now[pg + 7]), "%02x", b.p[pg + 7]);
    poke(&b, 2 * pg + 7); /* the private copy of page 2 */
    poke(&a, 7);          /* page 0: never read by the private mapping */
    poke(&a, pg + 7);     /* page 1: read (not written) by it */
    poke(&a, 2 * pg + 8); /* page 2: the private mapping has its own */
    b.now[7] = a.now[7];
    b.now[pg + 7] = a.now[pg + 7];
    check_mapping(t, "private mapping", &b);
    check_mapping(t, "shared mapping", &a);
    unmap(t, b.p, b.len);
    unmap(t, a.p, a.len);
    check_file(t, "file after munmap", &a);
}

/* A page written, written back by msync, then written again: the second
 * write reaches the file too (the page is tracked dirty again). */
static void sc_shared_write_after_msync(struct t *t, intptr_t flags)
{
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 2, RW);
    for (int round = 0; round < 3; round++) {
        poke(&m, 9);
        poke(&m, pg + 10 + (size_t)round);
        ret(t, "msync", t->ops->msync(m.p, m.len, (int)flags), "0");
        check_file(t, "file after msync", &m);
    }
    poke(&m, 9);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* msync(MS_INVALIDATE) keeps pages the mapping has written. */
static void sc_msync_invalidate_dirty(struct t *t, intptr_t arg)
{
    (void)arg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 2, RW);
    check_mapping(t, "bytes", &m);
    poke(&m, 11);
    ret(t, "msync MS_INVALIDATE", t->ops->msync(m.p, m.len, MS_INVALIDATE), "0");
    check_mapping(t, "bytes after MS_INVALIDATE", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* Child of sc_shared_child_own_mapping: map the file, write, _exit
 * without munmap, while the parent keeps its own mapping. */
static long long map_write_underscore_exit_child(void *arg)
{
    long long err = 0;
    if (!map_and_write_three(arg, &err))
        return err;
    return 0; /* spawn() reports and _exit()s */
}

/* A child maps the file itself, writes and _exits without munmap; the
 * parent, which has its own mapping of the file, sees the bytes, and they
 * are in the file once the parent unmaps. */
static void sc_shared_child_own_mapping(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 3, RW);
    struct fork_args a = {m.p, pg, NULL, t->ops, m.path, 0};
    reap(t, "child", spawn(t, m.p, map_write_underscore_exit_child, &a, NULL), V(0));
    for (size_t i = 0; i < 3; i++)
        model_set(&m, i * pg + i + 1, (uint8_t)(0xC0 + i));
    check_mapping(t, "parent sees", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after parent's munmap", &m);
}

/* Two files mapped side by side (one MAP_FIXED right after the other):
 * mprotect, msync and munmap across both act on both, each file gets its
 * own writes. */
static void sc_two_files_adjacent(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m a, b;
    mk(t, &a, (struct spec){.fsize = 4 * pg, .len = 4 * pg, .prot = RW,
                            .flags = MAP_SHARED, .seed = 1});
    mk(t, &b, (struct spec){.fsize = 2 * pg, .len = 2 * pg, .prot = RW,
                            .flags = MAP_SHARED | MAP_FIXED, .addr = a.p + 2 * pg,
                            .seed = 2});
    a.len = 2 * pg; /* the second file now holds a's last two pages */
    poke(&a, 3);
    poke(&a, pg + 4);
    poke(&b, 5);
    poke(&b, pg + 6);
    ret(t, "msync across both", t->ops->msync(a.p + pg, 2 * pg, MS_SYNC), "0");
    check_file_range(t, "first file's page 1 after msync", &a, pg, pg);
    check_file_range(t, "second file's page 0 after msync", &b, 0, pg);
    ret(t, "mprotect across both", t->ops->mprotect(a.p + pg, 2 * pg, PROT_READ), "0");
    want_fault(t, "write first's page 1", a.p, pg + 1, WRITE, SIGSEGV, SEGV_ACCERR);
    want_fault(t, "write second's page 0", a.p, 2 * pg + 1, WRITE, SIGSEGV,
               SEGV_ACCERR);
    ret(t, "mprotect RW", t->ops->mprotect(a.p, 4 * pg, RW), "0");
    poke(&a, pg + 8);
    poke(&b, 8);
    ret(t, "munmap across both", t->ops->munmap(a.p + pg, 2 * pg), "0");
    check_file_range(t, "first file's page 1 after munmap", &a, pg, pg);
    check_file_range(t, "second file's page 0 after munmap", &b, 0, pg);
    want_fault(t, "read first's page 1", a.p, pg + 1, READ, SIGSEGV, SEGV_MAPERR);
    want_fault(t, "read second's page 0", a.p, 2 * pg + 1, READ, SIGSEGV, SEGV_MAPERR);
    want_bytes(t, "first's page 0", a.p, a.now, pg);
    want_bytes(t, "second's page 1", b.p + pg, b.now + pg, pg);
    poke(&a, 9);
    poke(&b, pg + 9);
    unmap(t, a.p, pg); /* around the hole, which is no longer ours */
    unmap(t, a.p + 3 * pg, pg);
    check_file(t, "first file after munmap", &a);
    check_file(t, "second file after munmap", &b);
}

/* Many pages of a shared file written and read back, with msync in the
 * middle (under a memory budget this also exercises eviction). */
static void sc_shared_many_pages(struct t *t, intptr_t pages)
{
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, (size_t)pages, RW);
    for (size_t i = 0; i < (size_t)pages; i++)
        poke(&m, i * pg + i % pg);
    check_mapping(t, "bytes", &m);
    ret(t, "msync", t->ops->msync(m.p, m.len, MS_SYNC), "0");
    check_file(t, "file after msync", &m);
    for (size_t i = 0; i < (size_t)pages; i += 3)
        poke(&m, i * pg + (i + 1) % pg);
    check_mapping(t, "bytes after more writes", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* ================================================================== */
/* Scenarios: end of file                                              */

/* The partial last page reads the file's bytes, then zeros. */
static void sc_eof_partial(struct t *t, intptr_t type)
{
    struct m m;
    mk(t, &m, (struct spec){.fsize = t->pg + 100, .len = 2 * t->pg, .prot = RW,
                            .flags = (int)type});
    check_mapping(t, "bytes (zeros past EOF)", &m);
    field(t, "byte at EOF", "00", "%02x", m.p[t->pg + 100]);
    field(t, "last byte of page", "00", "%02x", m.p[2 * t->pg - 1]);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* Writes past EOF in the partial page stay in the mapping and never
 * reach the file: size unchanged, bytes up to EOF right. */
static void sc_eof_write_past(struct t *t, intptr_t do_msync)
{
    size_t pg = t->pg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = pg + 100, .len = 2 * pg, .prot = RW,
                            .flags = MAP_SHARED});
    poke(&m, pg + 50);  /* before EOF */
    poke(&m, pg + 200); /* past EOF */
    poke(&m, 2 * pg - 1);
    if (do_msync) {
        ret(t, "msync", t->ops->msync(m.p, m.len, MS_SYNC), "0");
        check_file(t, "file after msync", &m);
        /* only up to EOF: ext4's write-back zeroes the rest of the page */
        want_bytes(t, "mapping up to EOF", m.p, m.now, m.fsize);
    }
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

enum { EOF_SHARED = 1, EOF_WRITE = 2, EOF_EMPTY = 4 };

/* A whole page past EOF: SIGBUS BUS_ADRERR at the address. */
static void sc_eof_sigbus(struct t *t, intptr_t v)
{
    size_t pg = t->pg;
    int write = (v & EOF_WRITE) != 0;
    struct m m;
    mk(t, &m, (struct spec){.fsize = (v & EOF_EMPTY) ? 0 : pg + 100,
                            .len = 3 * pg, .prot = RW,
                            .flags = (v & EOF_SHARED) ? MAP_SHARED : MAP_PRIVATE});
    if (v & EOF_EMPTY)
        want_fault(t, "page 0", m.p, 10, write, SIGBUS, BUS_ADRERR);
    else
        want_access(t, "partial page past EOF", m.p, pg + 200, write,
                    write ? 0x5a : 0);
    want_fault(t, "page 2", m.p, 2 * pg + 10, write, SIGBUS, BUS_ADRERR);
    want_fault(t, "page 2, last byte", m.p, 3 * pg - 1, write, SIGBUS, BUS_ADRERR);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* ================================================================== */
/* Scenarios: lifetime                                                 */

/* The mapping outlives close(fd). */
static void sc_outlives_close(struct t *t, intptr_t type)
{
    struct m m;
    mk(t, &m, (struct spec){.fsize = 2 * t->pg, .len = 2 * t->pg, .prot = RW,
                            .flags = (int)type});
    close_fd(t, m.fd);
    m.fd = -1;
    check_mapping(t, "bytes after close", &m);
    poke(&m, t->pg + 3);
    check_mapping(t, "bytes after write", &m);
    unmap(t, m.p, m.len);
    m.fd = reopen(t, m.path, O_RDONLY);
    check_file(t, "file after munmap", &m);
}

/* The mapping outlives close and unlink; its writes reach the inode. */
static void sc_outlives_unlink(struct t *t, intptr_t arg)
{
    (void)arg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 2, RW);
    int keep = reopen(t, m.path, O_RDONLY);
    close_fd(t, m.fd);
    ret(t, "unlink", unlink(m.path), "0");
    check_mapping(t, "bytes after unlink", &m);
    poke(&m, 3);
    poke(&m, t->pg + 3);
    ret(t, "msync", t->ops->msync(m.p, m.len, MS_SYNC), "0");
    m.fd = keep;
    check_file(t, "inode after msync", &m);
    poke(&m, 4);
    unmap(t, m.p, m.len);
    check_file(t, "inode after munmap", &m);
}

/* munmap of one page (first, middle, last) splits the mapping: that page
 * faults SEGV_MAPERR, the rest keeps its bytes and still writes back. */
static void sc_munmap_split(struct t *t, intptr_t which)
{
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 3, RW);
    for (size_t i = 0; i < 3; i++)
        poke(&m, i * pg + 10);
    ret(t, "munmap one page", t->ops->munmap(m.p + which * pg, pg), "0");
    want_fault(t, "read unmapped page", m.p, which * pg + 5, READ, SIGSEGV,
               SEGV_MAPERR);
    for (size_t i = 0; i < 3; i++) {
        if (i == (size_t)which)
            continue;
        want_bytes(t, "remaining page", m.p + i * pg, m.now + i * pg, pg);
        poke(&m, i * pg + 20);
    }
    want_access(t, "child reads a remaining page", m.p,
                ((size_t)which + 1) % 3 * pg + 20, READ,
                m.now[((size_t)which + 1) % 3 * pg + 20]);
    /* the rest piece by piece: the hole may hold someone else's mapping by
     * now (ASan's runtime maps pages where it finds room) */
    for (size_t i = 0; i < 3; i++)
        if (i != (size_t)which)
            ret(t, "munmap a remaining page", t->ops->munmap(m.p + i * pg, pg), "0");
    check_file(t, "file after munmap", &m);
}

/* munmap of a range with no mapping succeeds, also twice. */
static void sc_munmap_unmapped(struct t *t, intptr_t arg)
{
    (void)arg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 2, RW);
    poke(&m, 1);
    unmap(t, m.p, m.len);
    ret(t, "munmap again", t->ops->munmap(m.p, m.len), "0");
    ret(t, "munmap page 0 (never mapped)", t->ops->munmap(NOWHERE, t->pg), "0");
    check_file(t, "file", &m);
}

/* Any access after munmap: SIGSEGV SEGV_MAPERR. */
static void sc_after_munmap(struct t *t, intptr_t k)
{
    struct m m;
    mk_kind(t, &m, k, 2, RW);
    check_mapping(t, "bytes", &m);
    poke(&m, t->pg + 5);
    unmap(t, m.p, m.len);
    want_fault(t, "read", m.p, 5, READ, SIGSEGV, SEGV_MAPERR);
    want_fault(t, "write", m.p, t->pg + 5, WRITE, SIGSEGV, SEGV_MAPERR);
    check_file(t, "file", &m);
}

/* munmap's own errors leave the mapping as it was. */
static void sc_munmap_errors(struct t *t, intptr_t arg)
{
    (void)arg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 2, RW);
    ret(t, "unaligned address", t->ops->munmap(m.p + 1, t->pg), E(EINVAL));
    ret(t, "length 0", t->ops->munmap(m.p, 0), E(EINVAL));
    ret(t, "length past the address space",
        t->ops->munmap(m.p, SIZE_MAX & ~(t->pg - 1)), E(EINVAL));
    check_mapping(t, "bytes intact", &m);
    unmap(t, m.p, m.len);
}

/* ================================================================== */
/* Scenarios: msync                                                    */

static void sc_msync_einval(struct t *t, intptr_t arg)
{
    (void)arg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 2, RW);
    ret(t, "MS_SYNC|MS_ASYNC", t->ops->msync(m.p, m.len, MS_SYNC | MS_ASYNC),
        E(EINVAL));
    ret(t, "unknown flag bit", t->ops->msync(m.p, m.len, MS_SYNC | 0x100), E(EINVAL));
    ret(t, "unaligned address", t->ops->msync(m.p + 1, t->pg, MS_SYNC), E(EINVAL));
    ret(t, "flags 0", t->ops->msync(m.p, m.len, 0), "0");
    ret(t, "length 0", t->ops->msync(m.p, 0, MS_SYNC), "0");
    unmap(t, m.p, m.len);
}

static void sc_msync_enomem(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 3, RW);
    poke(&m, 1);
    unmap(t, m.p + 2 * pg, pg);
    ret(t, "range with a hole", t->ops->msync(m.p, 3 * pg, MS_SYNC), E(ENOMEM));
    ret(t, "page 0 (never mapped)", t->ops->msync(NOWHERE, pg, MS_SYNC), E(ENOMEM));
    unmap(t, m.p, 2 * pg);
    ret(t, "after munmap", t->ops->msync(m.p, pg, MS_ASYNC), E(ENOMEM));
    check_file(t, "file", &m);
}

enum { INV_SHARED_RO, INV_SHARED_RW, INV_PRIVATE_RO };

/* map, read, pwrite the file, msync(MS_INVALIDATE), read the new bytes. */
static void sc_msync_invalidate(struct t *t, intptr_t v)
{
    size_t pg = t->pg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = 3 * pg, .len = 3 * pg,
                            .prot = v == INV_SHARED_RW ? RW : PROT_READ,
                            .flags = v == INV_PRIVATE_RO ? MAP_PRIVATE : MAP_SHARED});
    check_mapping(t, "bytes", &m);
    uint8_t fresh[16];
    for (size_t i = 0; i < sizeof fresh; i++) {
        fresh[i] = (uint8_t)(m.file[pg + 10 + i] ^ 0x3C);
        m.file[pg + 10 + i] = m.now[pg + 10 + i] = fresh[i];
    }
    ret(t, "pwrite", pwrite(m.fd, fresh, sizeof fresh, (off_t)pg + 10),
        N(sizeof fresh));
    ret(t, "msync MS_INVALIDATE", t->ops->msync(m.p, m.len, MS_INVALIDATE), "0");
    check_mapping(t, "bytes after MS_INVALIDATE", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* msync of anonymous memory succeeds and changes nothing. */
static void sc_msync_anon(struct t *t, intptr_t k)
{
    struct m m;
    mk_kind(t, &m, k, 2, RW);
    poke(&m, 3);
    ret(t, "MS_SYNC", t->ops->msync(m.p, m.len, MS_SYNC), "0");
    ret(t, "MS_ASYNC|MS_INVALIDATE",
        t->ops->msync(m.p, m.len, MS_ASYNC | MS_INVALIDATE), "0");
    check_mapping(t, "bytes", &m);
    unmap(t, m.p, m.len);
}

/* ================================================================== */
/* Scenarios: madvise                                                  */

/* MADV_DONTNEED: private file pages return to the file's bytes, private
 * anonymous to zeros, shared pages keep their data. */
static void sc_dontneed(struct t *t, intptr_t k)
{
    struct m m;
    mk_kind(t, &m, k, 3, RW);
    for (size_t i = 0; i < 3; i++)
        poke(&m, i * t->pg + 33);
    check_mapping(t, "bytes before", &m);
    ret(t, "madvise DONTNEED", t->ops->madvise(m.p, m.len, MADV_DONTNEED), "0");
    if (!shared(&m))
        memcpy(m.now, m.orig, m.len);
    check_mapping(t, "bytes after", &m);
    poke(&m, t->pg + 34);
    check_mapping(t, "bytes after another write", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* Advice that is only a hint returns 0 and changes nothing. */
static void sc_madvise_hint(struct t *t, intptr_t advice)
{
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 4, RW);
    ret(t, "madvise", t->ops->madvise(m.p, m.len, (int)advice), "0");
    exercise(t, &m);
}

static void sc_madvise_errors(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 2, RW);
    ret(t, "unknown advice", t->ops->madvise(m.p, m.len, 12345), E(EINVAL));
    ret(t, "unaligned address", t->ops->madvise(m.p + 1, pg, MADV_WILLNEED),
        E(EINVAL));
    ret(t, "length 0", t->ops->madvise(m.p, 0, MADV_WILLNEED), "0");
    unmap(t, m.p + pg, pg);
    ret(t, "range with a hole", t->ops->madvise(m.p, 2 * pg, MADV_WILLNEED),
        E(ENOMEM));
    ret(t, "page 0 (never mapped)", t->ops->madvise(NOWHERE, pg, MADV_DONTNEED),
        E(ENOMEM));
    want_bytes(t, "first page", m.p, m.now, pg);
    unmap(t, m.p, pg);
}

/* ================================================================== */
/* Scenarios: the kernel touching mapped memory (read(2), write(2))    */

/* write(2) from untouched mapped pages writes the mapping's bytes. */
static void sc_write_from_map(struct t *t, intptr_t k)
{
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, k, 4, RW);
    int dst = tmp_file(t, 0, SPARSE, NULL);
    ret(t, "write", write(dst, m.p + pg / 2, 2 * pg), N(2 * pg));
    want_file(t, "written file", dst, 0, 2 * pg, m.orig + pg / 2);
    check_mapping(t, "bytes", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* read(2) into untouched mapped pages: the bytes land in the mapping and,
 * for MAP_SHARED, in the file. */
static void sc_read_into_map(struct t *t, intptr_t k)
{
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, k, 4, RW);
    int src = tmp_file(t, 4 * pg, 3, NULL);
    ret(t, "pread", pread(src, m.p + 100, 2 * pg, 0), N(2 * pg));
    for (size_t i = 0; i < 2 * pg; i++)
        model_set(&m, 100 + i, pat(i, 3));
    check_mapping(t, "bytes", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* read(2) into, and write(2) from, a page past EOF: EFAULT; across EOF a
 * short count (the kernel's). */
static void sc_syscall_past_eof(struct t *t, intptr_t type)
{
    size_t pg = t->pg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = pg + 100, .len = 3 * pg, .prot = RW,
                            .flags = (int)type});
    int src = tmp_file(t, 4 * pg, 3, NULL);
    int dst = tmp_file(t, 0, SPARSE, NULL);
    ret(t, "pread into page past EOF", pread(src, m.p + 2 * pg, 100, 0), E(EFAULT));
    ret(t, "write from page past EOF", write(dst, m.p + 2 * pg, 100), E(EFAULT));
    ret(t, "pread across EOF page", pread(src, m.p + pg, 2 * pg, 0), N(pg));
    ret(t, "write across EOF page", pwrite(dst, m.p + pg, 2 * pg, 0), N(pg));
    for (size_t i = 0; i < pg; i++)
        model_set(&m, pg + i, pat(i, 3));
    want_bytes(t, "bytes up to the page past EOF", m.p, m.now, 2 * pg);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* read(2) into a PROT_READ mapping and write(2) from a PROT_NONE one:
 * EFAULT, nothing changes. */
static void sc_syscall_forbidden(struct t *t, intptr_t k)
{
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, k, 2, PROT_READ);
    int src = tmp_file(t, 2 * pg, 3, NULL);
    int dst = tmp_file(t, 0, SPARSE, NULL);
    ret(t, "pread into PROT_READ", pread(src, m.p + 10, pg, 0), E(EFAULT));
    ret(t, "mprotect PROT_NONE", t->ops->mprotect(m.p, m.len, PROT_NONE), "0");
    ret(t, "write from PROT_NONE", write(dst, m.p + pg, 10), E(EFAULT));
    ret(t, "mprotect PROT_READ", t->ops->mprotect(m.p, m.len, PROT_READ), "0");
    check_mapping(t, "bytes", &m);
    ret(t, "write from PROT_READ", write(dst, m.p + pg, 10), "10");
    want_file(t, "written file", dst, 0, 10, m.orig + pg);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* ================================================================== */
/* Scenarios: mremap                                                   */

/* Whether a range a scenario unmapped stays unmapped (not under
 * AddressSanitizer, whose runtime maps its own memory there: see S_HOLE);
 * where it may not, the checks of what is left there are skipped. */
#if defined(__SANITIZE_ADDRESS__)
#define HOLES_STAY_FREE 0
#else
#define HOLES_STAY_FREE 1
#endif

/* mremap through the table under test, recorded as KEY: "in place", "at
 * target", "moved" or "-1 ERRNO" (WANT as for field).  Returns the new
 * address, or NULL. */
static uint8_t *want_remap(struct t *t, const char *key, const char *want, void *p,
                           size_t old_len, size_t new_len, int flags, void *target)
{
    void *q = t->ops->mremap(p, old_len, new_len, flags, target);
    int e = errno;
    if (q == MAP_FAILED)
        field(t, key, want, "-1 %s", errname(e));
    else
        field(t, key, want, "%s", q == p ? "in place"
                                  : (flags & MREMAP_FIXED) && q == target ? "at target"
                                                                          : "moved");
    errno = e;
    return q == MAP_FAILED ? NULL : q;
}

/* A remap that must succeed as WANT says; otherwise the scenario stops. */
static uint8_t *must_remap(struct t *t, const char *key, const char *want, void *p,
                           size_t old_len, size_t new_len, int flags, void *target)
{
    uint8_t *q = want_remap(t, key, want, p, old_len, new_len, flags, target);
    if (!q)
        stop(t);
    return q;
}

/* The model of M remapped to P with NEW_LEN bytes: what it kept, then the
 * file's bytes (zeros past its end, or for anonymous memory) in the part
 * it gained. */
static void model_remap(struct t *t, struct m *m, uint8_t *p, size_t new_len)
{
    uint8_t *now = alloc(t, new_len);
    size_t keep = m->len < new_len ? m->len : new_len;
    memcpy(now, m->now, keep);
    for (size_t i = keep; m->file && i < new_len && (size_t)m->off + i < m->fsize; i++)
        now[i] = m->file[m->off + i];
    m->now = now;
    m->p = p;
    m->len = new_len;
}

/* A page with no access right after P + LEN, so that P cannot grow in
 * place (there may be a mapping there already: that blocks as well).
 * Returns it, or NULL. */
static void *block_after(uint8_t *p, size_t len, size_t pg)
{
    void *b = mmap(p + len, pg, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    return b == MAP_FAILED ? NULL : b;
}

/* The mapping's bytes; for anonymous shared memory, which the kernel
 * sized at mmap, the pages a growth added raise SIGBUS. */
static void check_remapped(struct t *t, const char *key, struct m *m, intptr_t k,
                           size_t first_len)
{
    if (k != K_ANON_SHARED || m->len <= first_len) {
        check_mapping(t, key, m);
        return;
    }
    want_bytes(t, key, m->p, m->now, first_len);
    want_fault(t, "page the growth added", m->p, first_len + 5, READ, SIGBUS, BUS_ADRERR);
    m->len = first_len;
}

/* A mapping that ends where a free range begins grows in place, without
 * MREMAP_MAYMOVE; what it holds stays, the rest comes from the file. */
static void sc_mremap_grow_in_place(struct t *t, intptr_t k)
{
    size_t pg = t->pg;
    uint8_t *r = reserve(t, 1, 8);
    struct m m;
    mk(t, &m, (struct spec){.fsize = 4 * pg, .len = 2 * pg, .prot = RW,
                            .flags = kind_flags(k) | MAP_FIXED, .addr = r});
    munmap(r + 2 * pg, 6 * pg);
    poke(&m, 1);
    poke(&m, pg + 2);
    uint8_t *q = must_remap(t, "mremap 2 -> 4 pages", "in place", m.p, 2 * pg, 4 * pg, 0, NULL);
    model_remap(t, &m, q, 4 * pg);
    check_remapped(t, "bytes after growing", &m, k, 2 * pg);
    if (m.len == 4 * pg) {
        poke(&m, 3 * pg + 3);
        check_mapping(t, "bytes after a write to the new part", &m);
    }
    unmap(t, m.p, 4 * pg);
    check_file(t, "file after munmap", &m);
}

/* A mapping that cannot grow where it is: ENOMEM without MREMAP_MAYMOVE,
 * moved with it, the pages it held (written private ones included) at
 * the new address and nothing left at the old one. */
static void sc_mremap_grow_moves(struct t *t, intptr_t k)
{
    size_t pg = t->pg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = 4 * pg, .len = 2 * pg, .prot = RW,
                            .flags = kind_flags(k)});
    void *blocker = block_after(m.p, 2 * pg, pg);
    poke(&m, 1);
    poke(&m, pg + 2);
    want_remap(t, "grow without MREMAP_MAYMOVE", E(ENOMEM), m.p, 2 * pg, 4 * pg, 0, NULL);
    check_mapping(t, "bytes after the refusal", &m);
    uint8_t *old = m.p;
    uint8_t *q = must_remap(t, "grow with MREMAP_MAYMOVE", "moved", m.p, 2 * pg, 4 * pg,
                            MREMAP_MAYMOVE, NULL);
    model_remap(t, &m, q, 4 * pg);
    check_remapped(t, "bytes at the new address", &m, k, 2 * pg);
    if (HOLES_STAY_FREE)
        want_fault(t, "old address", old, 5, READ, SIGSEGV, SEGV_MAPERR);
    poke(&m, 3);
    check_mapping(t, "bytes after a write at the new address", &m);
    if (blocker)
        munmap(blocker, pg);
    unmap(t, m.p, 4 * pg);
    check_file(t, "file after munmap", &m);
}

/* Shrinking unmaps the tail (its writes reach the file as with munmap;
 * the kept pages' need not, before msync). */
static void sc_mremap_shrink(struct t *t, intptr_t k)
{
    size_t pg = t->pg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = 4 * pg, .len = 4 * pg, .prot = RW,
                            .flags = kind_flags(k)});
    for (size_t x = 3; x < 4 * pg; x += pg)
        poke(&m, x);
    must_remap(t, "mremap 4 -> 2 pages", "in place", m.p, 4 * pg, 2 * pg, 0, NULL);
    if (HOLES_STAY_FREE)
        want_fault(t, "page 2, unmapped", m.p, 2 * pg + 5, READ, SIGSEGV, SEGV_MAPERR);
    m.len = 2 * pg;
    check_mapping(t, "bytes kept", &m);
    if (m.fd >= 0)
        check_file_range(t, "the tail's pages in the file", &m, 2 * pg, 2 * pg);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

enum { FX_SAME = 0, FX_GROW = 1 << 4, FX_SHRINK = 2 << 4 };

/* MREMAP_FIXED onto a written shared mapping of another file: that
 * mapping's writes reach its file, the moved pages are at the target,
 * the source is gone; with a growth or a shrink on the way. */
static void sc_mremap_fixed(struct t *t, intptr_t v)
{
    size_t pg = t->pg;
    intptr_t k = v & 0xf;
    size_t new_len = (v & FX_GROW) ? 4 * pg : (v & FX_SHRINK) ? 2 * pg : 3 * pg;
    struct m m, b;
    mk(t, &m, (struct spec){.fsize = 4 * pg, .len = 3 * pg, .prot = RW,
                            .flags = kind_flags(k)});
    for (size_t x = 1; x < 3 * pg; x += pg)
        poke(&m, x);
    mk(t, &b, (struct spec){.fsize = 4 * pg, .len = 4 * pg, .prot = RW,
                            .flags = MAP_SHARED, .seed = 2});
    for (size_t x = 2; x < 4 * pg; x += pg)
        poke(&b, x);
    uint8_t *old = m.p;
    uint8_t *q = must_remap(t, "mremap MREMAP_FIXED", "at target", m.p, 3 * pg, new_len,
                            MREMAP_MAYMOVE | MREMAP_FIXED, b.p);
    check_file_range(t, "target's file where it was replaced", &b, 0, new_len);
    if (new_len < 4 * pg)
        unmap(t, b.p + new_len, 4 * pg - new_len);
    check_file(t, "target's file", &b);
    model_remap(t, &m, q, new_len);
    check_remapped(t, "bytes at the target", &m, k, 3 * pg);
    if (HOLES_STAY_FREE)
        want_fault(t, "old address", old, 5, READ, SIGSEGV, SEGV_MAPERR);
    poke(&m, pg + 7);
    unmap(t, q, new_len);
    check_file(t, "file after munmap", &m);
}

/* MREMAP_DONTUNMAP: the pages move, the old range stays mapped, and what
 * it shows then is the kernel's to say (zeros for private anonymous
 * memory, the file or the shared memory for the others). */
static void sc_mremap_dontunmap(struct t *t, intptr_t k)
{
    size_t pg = t->pg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = 2 * pg, .len = 2 * pg, .prot = RW,
                            .flags = kind_flags(k)});
    poke(&m, 1);
    poke(&m, pg + 2);
    uint8_t *old = m.p;
    uint8_t *q = must_remap(t, "mremap MREMAP_DONTUNMAP", "moved", m.p, 2 * pg, 2 * pg,
                            MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
    want_bytes(t, "bytes at the new address", q, m.now, 2 * pg);
    const uint8_t *left = k == K_FILE_PRIVATE ? m.orig : m.now;
    if (k == K_ANON_PRIVATE)
        left = alloc(t, 2 * pg);
    want_bytes(t, "bytes left at the old address", old, left, 2 * pg);
    old[pg + 9] = 0x3c;
    if (shared(&m))
        model_set(&m, pg + 9, 0x3c);
    want_bytes(t, "new address after a write at the old one", q, m.now, 2 * pg);
    unmap(t, old, 2 * pg);
    m.p = q;
    poke(&m, 4);
    check_mapping(t, "bytes after a write at the new address", &m);
    unmap(t, q, 2 * pg);
    check_file(t, "file after munmap", &m);
}

/* old_size 0: a second mapping of the same shared pages. */
static void sc_mremap_duplicate(struct t *t, intptr_t k)
{
    size_t pg = t->pg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = 2 * pg, .len = 2 * pg, .prot = RW,
                            .flags = kind_flags(k)});
    poke(&m, 1);
    uint8_t *q = must_remap(t, "mremap old_size 0", "moved", m.p, 0, 2 * pg,
                            MREMAP_MAYMOVE, NULL);
    want_bytes(t, "bytes of the copy", q, m.now, 2 * pg);
    q[pg + 3] = 0x5e;
    model_set(&m, pg + 3, 0x5e);
    check_mapping(t, "original after a write through the copy", &m);
    poke(&m, 8);
    want_bytes(t, "copy after a write through the original", q, m.now, 2 * pg);
    unmap(t, q, 2 * pg);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* A file grown (ftruncate, then pwrite of the new part) and its mapping
 * grown after it: the new part shows the new bytes. */
static void sc_mremap_file_grew(struct t *t, intptr_t type)
{
    size_t pg = t->pg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = 2 * pg, .len = 2 * pg, .prot = RW, .flags = (int)type});
    poke(&m, 5);
    ret(t, "ftruncate to 4 pages", t->ops->ftruncate(m.fd, (off_t)(4 * pg)), "0");
    uint8_t *file = alloc(t, 4 * pg);
    memcpy(file, m.file, 2 * pg);
    for (size_t i = 2 * pg; i < 4 * pg; i++)
        file[i] = pat(i, 3);
    ret(t, "pwrite the new pages", pwrite(m.fd, file + 2 * pg, 2 * pg, (off_t)(2 * pg)),
        N(2 * pg));
    m.file = file;
    m.fsize = 4 * pg;
    void *blocker = block_after(m.p, 2 * pg, pg);
    uint8_t *q = must_remap(t, "mremap 2 -> 4 pages", "moved", m.p, 2 * pg, 4 * pg,
                            MREMAP_MAYMOVE, NULL);
    model_remap(t, &m, q, 4 * pg);
    check_mapping(t, "bytes after growing", &m);
    poke(&m, 3 * pg + 1);
    if (blocker)
        munmap(blocker, pg);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* Grown past the end of its file: zeros to the end of the last page,
 * SIGBUS for the whole pages past it, as before the move. */
static void sc_mremap_past_eof(struct t *t, intptr_t type)
{
    size_t pg = t->pg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = pg + 100, .len = 2 * pg, .prot = RW, .flags = (int)type});
    poke(&m, 7);
    void *blocker = block_after(m.p, 2 * pg, pg);
    uint8_t *q = must_remap(t, "mremap 2 -> 4 pages", "moved", m.p, 2 * pg, 4 * pg,
                            MREMAP_MAYMOVE, NULL);
    if (blocker)
        munmap(blocker, pg);
    want_bytes(t, "bytes to the end of the file", q, m.now, pg + 100);
    want_access(t, "partial page past EOF", q, pg + 200, READ, 0);
    want_fault(t, "page 2", q, 2 * pg + 10, READ, SIGBUS, BUS_ADRERR);
    want_fault(t, "page 3, last byte", q, 4 * pg - 1, WRITE, SIGBUS, BUS_ADRERR);
    m.p = q;
    unmap(t, q, 4 * pg);
    check_file(t, "file after munmap", &m);
}

/* Two shared mappings of one file; one moves: each sees the other's
 * writes at the new address. */
static void sc_mremap_shared_visible(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = 3 * pg, .len = 3 * pg, .prot = RW, .flags = MAP_SHARED});
    uint8_t *other = want_map(t, "second mmap", OK, NULL, 3 * pg, RW, MAP_SHARED, m.fd, 0);
    poke(&m, 2);
    uint8_t *r = reserve(t, 1, 3);
    uint8_t *q = must_remap(t, "mremap to a reservation", "at target", m.p, 3 * pg, 3 * pg,
                            MREMAP_MAYMOVE | MREMAP_FIXED, r);
    m.p = q;
    poke(&m, pg + 4);
    want_bytes(t, "second mapping after a write at the new address", other, m.now, 3 * pg);
    other[2 * pg + 6] = 0x42;
    model_set(&m, 2 * pg + 6, 0x42);
    check_mapping(t, "new address after a write through the second mapping", &m);
    unmap(t, other, 3 * pg);
    unmap(t, q, 3 * pg);
    check_file(t, "file after munmap", &m);
}

/* A mapping usermap did not make is the kernel's to move. */
static void sc_mremap_foreign(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    uint8_t *k = mmap(NULL, 2 * pg, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (k == MAP_FAILED)
        stop(t);
    memset(k, 0x77, 2 * pg);
    uint8_t *model = alloc(t, 4 * pg);
    memset(model, 0x77, 2 * pg);
    void *blocker = block_after(k, 2 * pg, pg);
    uint8_t *q = must_remap(t, "mremap 2 -> 4 pages", "moved", k, 2 * pg, 4 * pg,
                            MREMAP_MAYMOVE, NULL);
    want_bytes(t, "bytes at the new address", q, model, 4 * pg);
    if (blocker)
        munmap(blocker, pg);
    munmap(q, 4 * pg);
}

/* The errors, on a shared file mapping that must come out of each intact. */
static void sc_mremap_errors(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = 4 * pg, .len = 2 * pg, .prot = RW, .flags = MAP_SHARED});
    poke(&m, 3);
    int fixed = MREMAP_MAYMOVE | MREMAP_FIXED;
    uint8_t *r = reserve(t, 1, 4);
    want_remap(t, "unaligned old_address", E(EINVAL), m.p + 1, pg, pg, 0, NULL);
    want_remap(t, "unknown flag", E(EINVAL), m.p, pg, pg, 8, NULL);
    want_remap(t, "new_size 0", E(EINVAL), m.p, pg, 0, MREMAP_MAYMOVE, NULL);
    want_remap(t, "MREMAP_FIXED without MREMAP_MAYMOVE", E(EINVAL), m.p, pg, pg,
               MREMAP_FIXED, r);
    want_remap(t, "MREMAP_DONTUNMAP without MREMAP_MAYMOVE", E(EINVAL), m.p, pg, pg,
               MREMAP_DONTUNMAP, NULL);
    want_remap(t, "MREMAP_DONTUNMAP resizing", E(EINVAL), m.p, pg, 2 * pg,
               MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
    want_remap(t, "unaligned new_address", E(EINVAL), m.p, pg, pg, fixed, r + 1);
    want_remap(t, "target overlaps the source", E(EINVAL), m.p, 2 * pg, 2 * pg, fixed,
               m.p + pg);
    want_remap(t, "old_address not mapped", E(EFAULT), NOWHERE, pg, pg, 0, NULL);
    want_remap(t, "old range past the mapping", E(EFAULT), m.p, 3 * pg, 4 * pg,
               MREMAP_MAYMOVE, NULL);
    want_remap(t, "MREMAP_FIXED past the mapping", NULL, m.p, 3 * pg, 4 * pg, fixed, r);
    want_remap(t, "same size", "in place", m.p, 2 * pg, 2 * pg, 0, NULL);
    want_remap(t, "same size, unaligned sizes", "in place", m.p, 2 * pg - 1, 2 * pg - 9, 0,
               NULL);
    want_remap(t, "new_size past the address space", NULL, m.p, 2 * pg,
               SIZE_MAX & ~(pg - 1), MREMAP_MAYMOVE, NULL);
    want_remap(t, "old_size 0, shared, without MREMAP_MAYMOVE", E(ENOMEM), m.p, 0, pg, 0,
               NULL);
    void *blocker = block_after(m.p, 2 * pg, pg);
    want_remap(t, "grow without MREMAP_MAYMOVE", E(ENOMEM), m.p, 2 * pg, 3 * pg, 0, NULL);
    if (blocker)
        munmap(blocker, pg);
    check_mapping(t, "bytes intact", &m);
    uint8_t *priv = want_map(t, "private mmap", OK, NULL, pg, RW,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    want_remap(t, "old_size 0, private", E(EINVAL), priv, 0, pg, MREMAP_MAYMOVE, NULL);
    ret(t, "mprotect of one page", t->ops->mprotect(m.p + pg, pg, PROT_READ), "0");
    want_remap(t, "growing across two protections", E(EFAULT), m.p, 2 * pg, 3 * pg,
               MREMAP_MAYMOVE, NULL);
    unmap(t, priv, pg);
    munmap(r, 4 * pg);
    check_mapping(t, "bytes intact at the end", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* ================================================================== */
/* Scenarios: a large sparse file                                      */

static void sc_sparse_64g(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t len = 64 * GIB;
    size_t at[3] = {10, len / 2 + 7, len - 10};
    int fd = tmp_file(t, len, SPARSE, NULL);
    uint8_t *p = want_map(t, "mmap 64 GiB", OK, NULL, len, RW, MAP_SHARED, fd, 0);
    for (int i = 0; i < 3; i++)
        p[at[i]] = (uint8_t)(0x11 * (i + 1));
    field(t, "untouched byte near the end", "00", "%02x", p[len - t->pg]);
    field(t, "byte read back", "33", "%02x", p[len - 10]);
    unmap(t, p, len);
    want_size(t, "file size", fd, len);
    for (int i = 0; i < 3; i++) {
        uint8_t b = 0xEE;
        ret(t, "pread", pread(fd, &b, 1, (off_t)at[i]), "1");
        field(t, "file byte", X(0x11 * (i + 1)), "%02x", b);
    }
}

/* ================================================================== */
/* usermap-only checks                                                 */

static void want_stats(struct t *t, struct um_stats *s)
{
    ret(t, "um_stats", um_stats(NULL, s), "0");
}

/* Reading one byte of a 1 GiB sparse file fills at most one page. */
static void um_stats_lazy(struct t *t, intptr_t arg)
{
    (void)arg;
    struct um_stats a, b, c;
    char d[128];
    int fd = tmp_file(t, GIB, SPARSE, NULL);
    want_stats(t, &a);
    uint8_t *p = want_map(t, "um_mmap 1 GiB", OK, NULL, GIB, PROT_READ,
                          MAP_PRIVATE, fd, 0);
    field(t, "byte", "00", "%02x", p[GIB / 2 + 3]);
    want_stats(t, &b);
    check(t, "page_size is set", b.page_size >= 4096, "page_size 0");
    snprintf(d, sizeof d, "%llu pages", (unsigned long long)(b.pages_filled - a.pages_filled));
    check(t, "pages_filled grew by at most 1", b.pages_filled - a.pages_filled <= 1, d);
    snprintf(d, sizeof d, "%llu bytes, page %zu", (unsigned long long)(b.bytes_read - a.bytes_read),
             b.page_size);
    check(t, "bytes_read grew by at most a page",
          b.bytes_read - a.bytes_read <= b.page_size, d);
    snprintf(d, sizeof d, "%llu -> %llu", (unsigned long long)a.mappings,
             (unsigned long long)b.mappings);
    check(t, "mappings grew by 1", b.mappings == a.mappings + 1, d);
    unmap(t, p, GIB);
    want_stats(t, &c);
    snprintf(d, sizeof d, "%llu -> %llu", (unsigned long long)b.mappings,
             (unsigned long long)c.mappings);
    check(t, "mappings back after munmap", c.mappings == a.mappings, d);
}

/* Pages of a real file are filled by usermap, and written back by it. */
static void um_stats_counts(struct t *t, intptr_t arg)
{
    (void)arg;
    struct um_stats a, b, c;
    char d[128];
    struct m m;
    want_stats(t, &a);
    mk_kind(t, &m, K_FILE_SHARED, 4, RW);
    check_mapping(t, "bytes", &m);
    want_stats(t, &b);
    snprintf(d, sizeof d, "%llu", (unsigned long long)(b.pages_filled - a.pages_filled));
    check(t, "pages_filled grew", b.pages_filled > a.pages_filled, d);
    snprintf(d, sizeof d, "%llu", (unsigned long long)(b.bytes_read - a.bytes_read));
    check(t, "bytes_read grew", b.bytes_read > a.bytes_read, d);
    poke(&m, 1);
    unmap(t, m.p, m.len);
    want_stats(t, &c);
    snprintf(d, sizeof d, "%llu", (unsigned long long)(c.pages_written - b.pages_written));
    check(t, "pages_written grew", c.pages_written > b.pages_written, d);
    snprintf(d, sizeof d, "%llu", (unsigned long long)(c.bytes_written - b.bytes_written));
    check(t, "bytes_written grew", c.bytes_written > b.bytes_written, d);
    check_file(t, "file after munmap", &m);
    ret(t, "um_stats(NULL, NULL)", um_stats(NULL, NULL), E(EINVAL));
}

/* A pool with a 64 KiB budget keeps a 1 MiB shared file mapping's data
 * right while it evicts, and stays under its budget. */
static void um_memory_limit(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg, len = 1 << 20;
    char d[160];
    um_pool_config cfg;
    um_pool_config_init(&cfg);
    cfg.memory_limit = 64 << 10;
    um_pool *pool = um_pool_create(&cfg);
    check(t, "um_pool_create", pool != NULL, um_error_message());
    if (!pool)
        stop(t);
    struct m m;
    memset(&m, 0, sizeof m);
    m.len = m.fsize = len;
    m.flags = MAP_SHARED;
    m.fd = tmp_file(t, len, 1, m.path);
    m.file = pattern(t, len, 1, 0);
    m.orig = copy(t, m.file, len);
    m.now = copy(t, m.file, len);
    m.p = um_mmap_pool(pool, NULL, len, RW, MAP_SHARED, m.fd, 0);
    check(t, "um_mmap_pool", m.p != MAP_FAILED, um_error_message());
    if (m.p == MAP_FAILED)
        stop(t);
    for (size_t x = 0; x < len; x += pg)
        poke(&m, x + x / pg % pg);
    check_mapping(t, "bytes", &m);
    struct um_stats s;
    ret(t, "um_stats", um_stats(pool, &s), "0");
    snprintf(d, sizeof d, "%llu", (unsigned long long)s.evictions);
    check(t, "pages were evicted", s.evictions > 0, d);
    snprintf(d, sizeof d, "%llu resident, %llu at the peak",
             (unsigned long long)s.resident_bytes,
             (unsigned long long)s.peak_resident_bytes);
    check(t, "resident within the budget", s.resident_bytes <= cfg.memory_limit, d);
    unmap(t, m.p, len);
    check_file(t, "file after munmap", &m);
    ret(t, "um_pool_destroy", um_pool_destroy(pool), "0");
}

/* um_error_message explains failures, specifically. */
static void um_error_messages(struct t *t, intptr_t arg)
{
    (void)arg;
    char d[300], first[200];
    field(t, "message before any failure", "", "%s", um_error_message());
    if (fcntl(999, F_GETFD) != -1)
        stop(t);
    want_map(t, "um_mmap fd 999", E(EBADF), NULL, t->pg, PROT_READ, MAP_SHARED, 999, 0);
    const char *msg = um_error_message();
    snprintf(first, sizeof first, "%s", msg ? msg : "(null)");
    snprintf(d, sizeof d, "\"%s\"", first);
    check(t, "EBADF message mentions 999", msg && strstr(msg, "999") != NULL, d);

    char path[512];
    tmp_file(t, t->pg, 1, path);
    int wfd = reopen(t, path, O_WRONLY);
    want_map(t, "um_mmap write-only fd", E(EACCES), NULL, t->pg, PROT_READ,
             MAP_SHARED, wfd, 0);
    msg = um_error_message();
    snprintf(d, sizeof d, "\"%s\"", msg ? msg : "(null)");
    check(t, "EACCES message is another sentence",
          msg && *msg && strcmp(msg, first) != 0, d);

    want_map(t, "um_mmap length 0", E(EINVAL), NULL, 0, PROT_READ,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    msg = um_error_message();
    snprintf(d, sizeof d, "\"%s\"", msg ? msg : "(null)");
    check(t, "EINVAL message is not empty", msg && *msg, d);

    ret(t, "um_msync MS_SYNC|MS_ASYNC", um_msync(NULL, t->pg, MS_SYNC | MS_ASYNC),
        E(EINVAL));
    msg = um_error_message();
    snprintf(d, sizeof d, "\"%s\"", msg ? msg : "(null)");
    check(t, "msync message is not empty", msg && *msg, d);
}

/* ================================================================== */
/* Scenarios: errno order, as matrices of argument combinations       */

/*
 * Each matrix runs hundreds of calls on one side and records one character
 * per call, so that a field holds a row of the matrix and the two sides
 * compare row by row:
 *
 *   .  success            @  success, but not at the fixed address asked
 *   I  EINVAL    N  ENOMEM    B  EBADF     A  EACCES    O  EOVERFLOW
 *   X  EEXIST    P  EPERM     D  ENODEV    S  EOPNOTSUPP G  EAGAIN
 *   F  EFAULT    U  EBUSY     H  EHWPOISON T  ETXTBSY   ?  another errno
 *   #  failed, and the mapping that was at the address is gone
 *
 * States after a call are written one character per page: the page's
 * protection from /proc/self/maps as a digit (r=4, w=2, x=1), or '_' when
 * nothing is mapped there.
 */
static char ecode(int e)
{
    switch (e) {
    case EINVAL: return 'I';
    case ENOMEM: return 'N';
    case EBADF: return 'B';
    case EACCES: return 'A';
    case EOVERFLOW: return 'O';
    case EEXIST: return 'X';
    case EPERM: return 'P';
    case ENODEV: return 'D';
    case EOPNOTSUPP: return 'S';
    case EAGAIN: return 'G';
    case EFAULT: return 'F';
    case EBUSY: return 'U';
    case EHWPOISON: return 'H';
    case ETXTBSY: return 'T';
    default: return '?';
    }
}

static char rcode(int r)
{
    return r == 0 ? '.' : ecode(errno);
}

/* The protection of the page at A, from /proc/self/maps: '0'-'7', or '_'. */
static char page_prot(const void *a)
{
    uintptr_t x = (uintptr_t)a;
    char line[512];
    char c = '_';
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return '?';
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
            continue;
        if (x >= lo && x < hi) {
            c = (char)('0' + (perms[0] == 'r') * 4 + (perms[1] == 'w') * 2 +
                       (perms[2] == 'x'));
            break;
        }
    }
    fclose(f);
    return c;
}

/* The protections of N pages from P, into OUT (N + 1 bytes). */
static __attribute__((unused)) void page_prots(struct t *t, const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = page_prot(p + i * t->pg);
    out[n] = 0;
}

/* ---------------------------------------------------------------- mmap */

enum { MA_NULL, MA_HINT_UNALIGNED, MA_FIXED, MA_FIXED_UNALIGNED, MA_NOREPLACE_OWN,
       MA_NOREPLACE_KERNEL, MA_NOREPLACE_UNALIGNED, MA_NOREPLACE_HIGH,
       MA_NOREPLACE_FREE };

enum { MF_ANON, MF_ANON_FD999, MF_BAD, MF_RDONLY, MF_WRONLY, MF_RDWR, MF_DIR, MF_PIPE, MF_N };
static const char *const mf_name[MF_N] = {"anon", "anon-fd999", "bad", "rdonly",
                                          "wronly", "rdwr", "dir", "pipe"};

static const struct {
    const char *name;
    int flags;
} mm_types[] = {
    {"priv", MAP_PRIVATE},
    {"shrd", MAP_SHARED},
    {"val", MAP_SHARED_VALIDATE},
    {"val+0x200000", MAP_SHARED_VALIDATE | 0x200000},
    {"val+sync", MAP_SHARED_VALIDATE | MAP_SYNC},
    {"none", 0},
    {"0x0f", 0x0f},
    {"0x08(droppable)", 0x08},
    {"priv+hugetlb", MAP_PRIVATE | MAP_HUGETLB},
    {"shrd+growsdown", MAP_SHARED | MAP_GROWSDOWN},
    {"priv+growsdown", MAP_PRIVATE | MAP_GROWSDOWN},
};
#define MM_NTYPES (sizeof mm_types / sizeof mm_types[0])

static const char *const mm_len_name[] = {"1 page", "0", "2^57", "SIZE_MAX"};
static const char *const mm_prot_name[] = {"R", "RW", "R|0x1000"};
static const int mm_prots[] = {PROT_READ, RW, PROT_READ | 0x1000};

static size_t mm_len(struct t *t, int i)
{
    return i == 0 ? t->pg : i == 1 ? 0 : i == 2 ? (size_t)1 << 57 : SIZE_MAX;
}

static off_t mm_off(struct t *t, int i)
{
    return i == 0   ? 0
           : i == 1 ? 100
           : i == 2 ? -(off_t)t->pg
                    : (off_t)(INT64_MAX & ~(int64_t)(t->pg - 1));
}

/* Whether the page at P is mapped (the kernel's msync says ENOMEM if not). */
static int is_mapped(void *p)
{
    return msync(p, 1, MS_ASYNC) == 0;
}

/* One mmap call of the matrix, with the address of kind AK. */
static char mmap_combo(struct t *t, int ak, int fd, size_t len, int prot, int flags,
                       off_t off)
{
    size_t pg = t->pg;
    uint8_t *res = NULL, *kres = NULL;
    void *addr = NULL;
    if (ak != MA_NULL && ak != MA_NOREPLACE_HIGH && ak != MA_NOREPLACE_KERNEL) {
        res = t->ops->mmap(NULL, 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (res == MAP_FAILED) {
            bad(t, "harness: reservation failed");
            stop(t);
        }
        addr = res;
    }
    if (ak == MA_NOREPLACE_KERNEL) {
        kres = mmap(NULL, 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (kres == MAP_FAILED) {
            bad(t, "harness: kernel reservation failed");
            stop(t);
        }
        addr = kres;
    }
    switch (ak) {
    case MA_HINT_UNALIGNED: addr = res + 100; break;
    case MA_FIXED: flags |= MAP_FIXED; break;
    case MA_FIXED_UNALIGNED: addr = res + 100; flags |= MAP_FIXED; break;
    case MA_NOREPLACE_OWN:
    case MA_NOREPLACE_KERNEL: flags |= MAP_FIXED_NOREPLACE; break;
    case MA_NOREPLACE_UNALIGNED: addr = res + 100; flags |= MAP_FIXED_NOREPLACE; break;
    case MA_NOREPLACE_HIGH: addr = (void *)((uintptr_t)1 << 57); flags |= MAP_FIXED_NOREPLACE; break;
    case MA_NOREPLACE_FREE:
        t->ops->munmap(res, 2 * pg);
        res = NULL;
        flags |= MAP_FIXED_NOREPLACE;
        break;
    }
    void *p = t->ops->mmap(addr, len, prot, flags, fd, off);
    int e = errno;
    char c;
    if (p == MAP_FAILED) {
        c = ecode(e);
        if ((res && !is_mapped(res)) || (kres && !is_mapped(kres)))
            c = '#';
    } else {
        c = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && p != addr ? '@' : '.';
        t->ops->munmap(p, len);
    }
    if (res)
        t->ops->munmap(res, 2 * pg);
    if (kres)
        munmap(kres, 2 * pg);
    return c;
}

/* Every combination of descriptor, length, protection, type and offset
 * for one kind of address: one field per (fd, length, protection), one
 * character per (type, offset). */
static void sc_mmap_matrix(struct t *t, intptr_t ak)
{
    size_t pg = t->pg;
    char path[512], legend[112], key[48], row[112];
    int fds[MF_N];
    int pfd[2];
    fds[MF_RDWR] = tmp_file(t, 2 * pg, 1, path);
    fds[MF_RDONLY] = reopen(t, path, O_RDONLY);
    fds[MF_WRONLY] = reopen(t, path, O_WRONLY);
    fds[MF_DIR] = reopen(t, t->dir, O_RDONLY | O_DIRECTORY);
    if (pipe(pfd) != 0)
        stop(t);
    track_fd(t, pfd[0]);
    track_fd(t, pfd[1]);
    fds[MF_PIPE] = pfd[0];
    fds[MF_ANON] = -1;
    fds[MF_ANON_FD999] = 999;
    fds[MF_BAD] = 999;
    if (fcntl(999, F_GETFD) != -1)
        stop(t);
    size_t n = 0;
    for (size_t ty = 0; ty < MM_NTYPES; ty++)
        n += (size_t)snprintf(legend + n, sizeof legend - n, "%s%s", ty ? "|" : "",
                              mm_types[ty].name);
    field(t, "columns: offsets 0,100,-1pg,top for", NULL, "%s", legend);
    for (int f = 0; f < MF_N; f++)
        for (int l = 0; l < 4; l++)
            for (int pr = 0; pr < 3; pr++) {
                n = 0;
                for (size_t ty = 0; ty < MM_NTYPES; ty++) {
                    if (ty)
                        row[n++] = '|';
                    for (int o = 0; o < 4; o++) {
                        int flags = mm_types[ty].flags;
                        if (f == MF_ANON || f == MF_ANON_FD999)
                            flags |= MAP_ANONYMOUS;
                        row[n++] = mmap_combo(t, (int)ak, fds[f], mm_len(t, l),
                                              mm_prots[pr], flags, mm_off(t, o));
                    }
                }
                row[n] = 0;
                snprintf(key, sizeof key, "fd=%s len=%s prot=%s", mf_name[f],
                         mm_len_name[l], mm_prot_name[pr]);
                field(t, key, NULL, "%s", row);
            }
}

/* -------------------------------------- munmap, mprotect, msync, madvise */

/* What each page of a layout is, mapped page by page (MAP_FIXED) into a
 * reservation by the table under test, but for PG_KERNEL_ANON, which the
 * kernel maps on both sides ("partly usermap, partly kernel"). */
enum { PG_SHARED_RW, PG_PRIVATE_FILE, PG_SHARED_RO, PG_HOLE, PG_ANON, PG_NONE,
       PG_KERNEL_ANON, PG_EOF, PG_LOCKED };

#define LAYOUT_MAX 8

struct layout {
    uint8_t *p;
    size_t n;
    const int *kinds;
    int fd_rw, fd_ro, fd_short; /* 8 pages O_RDWR, 8 pages O_RDONLY, 1 page */
    uint8_t val[LAYOUT_MAX];    /* the byte at +7 of each written page */
};

static void layout_files(struct t *t, struct layout *l)
{
    char path[512];
    l->fd_rw = tmp_file(t, 8 * t->pg, 3, NULL);
    tmp_file(t, 8 * t->pg, 4, path);
    l->fd_ro = reopen(t, path, O_RDONLY);
    l->fd_short = tmp_file(t, t->pg, 5, NULL);
}

static int page_writable(int kind)
{
    return kind == PG_SHARED_RW || kind == PG_PRIVATE_FILE || kind == PG_ANON ||
           kind == PG_KERNEL_ANON || kind == PG_LOCKED;
}

static int page_readable(int kind)
{
    return page_writable(kind) || kind == PG_SHARED_RO;
}

static void layout_map(struct t *t, struct layout *l, size_t i, int prot, int flags, int fd)
{
    size_t pg = t->pg;
    void *want = l->p + i * pg;
    void *p = fd == -2 ? mmap(want, pg, prot, flags | MAP_FIXED | MAP_ANONYMOUS, -1, 0)
                       : t->ops->mmap(want, pg, prot, flags | MAP_FIXED, fd, (off_t)(i * pg));
    if (p != want) {
        bad(t, "harness: layout page %zu: %s", i, strerror(errno));
        stop(t);
    }
}

/* Map the N pages of KINDS and write SEED-dependent bytes into them. */
static void layout_build(struct t *t, struct layout *l, const int *kinds, size_t n, int seed)
{
    size_t pg = t->pg;
    l->n = n;
    l->kinds = kinds;
    l->p = t->ops->mmap(NULL, n * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (l->p == MAP_FAILED) {
        bad(t, "harness: layout reservation");
        stop(t);
    }
    for (size_t i = 0; i < n; i++) {
        switch (kinds[i]) {
        case PG_SHARED_RW: layout_map(t, l, i, RW, MAP_SHARED, l->fd_rw); break;
        case PG_PRIVATE_FILE: layout_map(t, l, i, RW, MAP_PRIVATE, l->fd_ro); break;
        case PG_SHARED_RO: layout_map(t, l, i, PROT_READ, MAP_SHARED, l->fd_ro); break;
        case PG_HOLE: t->ops->munmap(l->p + i * pg, pg); break;
        case PG_ANON: layout_map(t, l, i, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1); break;
        case PG_NONE: layout_map(t, l, i, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1); break;
        case PG_KERNEL_ANON: layout_map(t, l, i, RW, MAP_PRIVATE, -2); break;
        case PG_EOF: layout_map(t, l, i, RW, MAP_SHARED, l->fd_short); break;
        case PG_LOCKED: layout_map(t, l, i, RW, MAP_SHARED | MAP_LOCKED, l->fd_rw); break;
        }
        l->val[i] = (uint8_t)(0x40 + seed * 5 + (int)i);
        if (page_writable(kinds[i]))
            l->p[i * pg + 7] = l->val[i];
    }
}

static void layout_free(struct t *t, struct layout *l)
{
    t->ops->munmap(l->p, l->n * t->pg);
}

/* The pages' protections ('_' for none), then with BYTES the byte at +7 of
 * each page that is readable by its kind and by its protection now. */
static void layout_state(struct t *t, struct layout *l, int bytes, char *out, size_t size)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n && k + 1 < size; i++)
        out[k++] = page_prot(l->p + i * t->pg);
    for (size_t i = 0; bytes && i < l->n && k + 3 < size; i++) {
        char prot = out[i];
        if (page_readable(l->kinds[i]) && prot >= '4')
            k += (size_t)snprintf(out + k, size - k, "%02x", l->p[i * t->pg + 7]);
        else
            k += (size_t)snprintf(out + k, size - k, "--");
    }
    out[k] = 0;
}

/* Arguments that are not ranges of the layout: the addresses and lengths
 * the checks judge before looking at any mapping. */
static const char *const arg_addr_name[] = {"start", "start+1", "page 0", "2^57"};
static const char *const arg_len_name[] = {"1 page", "0", "SIZE_MAX", "2^57"};

static void *arg_addr(struct layout *l, int i)
{
    return i == 0 ? (void *)l->p : i == 1 ? (void *)(l->p + 1) : i == 2 ? NOWHERE
                                                                       : (void *)((uintptr_t)1 << 57);
}

static size_t arg_len(struct t *t, int i)
{
    return i == 0 ? t->pg : i == 1 ? 0 : i == 2 ? SIZE_MAX : (size_t)1 << 57;
}

/* munmap: every address x length on a fresh two-page shared mapping. */
static void sc_munmap_matrix(struct t *t, intptr_t arg)
{
    (void)arg;
    static const int kinds[] = {PG_SHARED_RW, PG_SHARED_RW};
    struct layout l;
    char key[48], row[112], st[40];
    layout_files(t, &l);
    for (int a = 0; a < 4; a++) {
        size_t n = 0;
        for (int len = 0; len < 4; len++) {
            layout_build(t, &l, kinds, 2, len);
            char c = rcode(t->ops->munmap(arg_addr(&l, a), arg_len(t, len)));
            layout_state(t, &l, 0, st, sizeof st);
            n += (size_t)snprintf(row + n, sizeof row - n, "%s%c:%s", len ? " " : "", c, st);
            layout_free(t, &l);
        }
        snprintf(key, sizeof key, "munmap addr=%s, len 1pg/0/SIZE_MAX/2^57", arg_addr_name[a]);
        field(t, key, NULL, "%s", row);
    }
}

static const struct {
    const char *name;
    int prot;
} mp_prots[] = {
    {"R", PROT_READ},
    {"RW", RW},
    {"none", PROT_NONE},
    {"RWX", RW | PROT_EXEC},
    {"R|0x1000", PROT_READ | 0x1000},
    {"RW|GROWSDOWN", RW | PROT_GROWSDOWN},
    {"R|GROWSDOWN|GROWSUP", PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP},
};
#define MP_NPROTS (sizeof mp_prots / sizeof mp_prots[0])

/* mprotect over every range of a layout with a read-only shared file, a
 * hole and a page of the kernel's own: errno, and the protection of every
 * page after (the kernel changes the pages before the one that fails). */
static void sc_mprotect_matrix(struct t *t, intptr_t arg)
{
    (void)arg;
    static const int kinds[] = {PG_SHARED_RW, PG_PRIVATE_FILE, PG_SHARED_RO,
                                PG_HOLE, PG_ANON, PG_KERNEL_ANON};
    const size_t np = sizeof kinds / sizeof kinds[0];
    size_t pg = t->pg;
    struct layout l;
    char key[64], row[112], st[40];
    layout_files(t, &l);
    field(t, "columns", NULL, "R RW none RWX R|0x1000 RW|GROWSDOWN R|GROWSDOWN|GROWSUP");
    for (size_t s = 0; s < np; s++)
        for (size_t e = s + 1; e <= np; e++) {
            size_t n = 0;
            for (size_t pr = 0; pr < MP_NPROTS; pr++) {
                layout_build(t, &l, kinds, np, (int)pr);
                char c = rcode(t->ops->mprotect(l.p + s * pg, (e - s) * pg, mp_prots[pr].prot));
                layout_state(t, &l, 0, st, sizeof st);
                n += (size_t)snprintf(row + n, sizeof row - n, "%s%c:%s", pr ? " " : "", c, st);
                layout_free(t, &l);
            }
            snprintf(key, sizeof key, "mprotect pages [%zu,%zu)", s, e);
            field(t, key, NULL, "%s", row);
        }
    /* the arguments alone, in turn on one layout */
    layout_build(t, &l, kinds, np, 0);
    for (int a = 0; a < 4; a++)
        for (int len = 0; len < 4; len++) {
            size_t n = 0;
            for (size_t pr = 0; pr < MP_NPROTS; pr++)
                row[n++] = rcode(t->ops->mprotect(arg_addr(&l, a), arg_len(t, len),
                                                  mp_prots[pr].prot));
            row[n] = 0;
            layout_state(t, &l, 0, st, sizeof st);
            snprintf(key, sizeof key, "mprotect addr=%s len=%s", arg_addr_name[a], arg_len_name[len]);
            field(t, key, NULL, "%s %s", row, st);
        }
    layout_free(t, &l);
}

/* mprotect over [anonymous RW][hole]: ENOMEM, and page 0 did become
 * read-only (a child's write faults); over [anonymous RW][read-only
 * shared file]: EACCES for PROT_WRITE|PROT_EXEC... and page 0 changed. */
static void sc_mprotect_partial_apply(struct t *t, intptr_t arg)
{
    (void)arg;
    static const int hole[] = {PG_ANON, PG_HOLE, PG_ANON};
    static const int ro[] = {PG_NONE, PG_SHARED_RO, PG_ANON};
    size_t pg = t->pg;
    struct layout l;
    layout_files(t, &l);
    layout_build(t, &l, hole, 3, 1);
    ret(t, "mprotect R over [anon][hole][anon]",
        t->ops->mprotect(l.p, 3 * pg, PROT_READ), E(ENOMEM));
    want_fault(t, "write page 0", l.p, 7, WRITE, SIGSEGV, SEGV_ACCERR);
    want_access(t, "write page 2 (after the hole)", l.p, 2 * pg + 7, WRITE, 0x5a);
    layout_free(t, &l);
    layout_build(t, &l, ro, 3, 2);
    ret(t, "mprotect RW over [none][ro shared file][anon]",
        t->ops->mprotect(l.p, 3 * pg, RW), E(EACCES));
    want_access(t, "write page 0", l.p, 7, WRITE, 0x5a);
    want_fault(t, "write page 1", l.p, pg + 7, WRITE, SIGSEGV, SEGV_ACCERR);
    want_access(t, "read page 1", l.p, pg + 7, READ, pat(pg + 7, 4));
    layout_free(t, &l);
}

static const struct {
    const char *name;
    int flags;
} ms_flags[] = {
    {"0", 0},
    {"SYNC", MS_SYNC},
    {"ASYNC", MS_ASYNC},
    {"INV", MS_INVALIDATE},
    {"SYNC|INV", MS_SYNC | MS_INVALIDATE},
    {"ASYNC|INV", MS_ASYNC | MS_INVALIDATE},
    {"SYNC|ASYNC", MS_SYNC | MS_ASYNC},
    {"0x100", 0x100},
    {"SYNC|0x100", MS_SYNC | 0x100},
};
#define MS_NFLAGS (sizeof ms_flags / sizeof ms_flags[0])

/* msync over every range of [shared][anon][hole][shared][shared locked]:
 * errno, and for each shared page in the range whether the file holds the
 * byte just written, where msync is to write it back (it succeeded, or
 * failed for a hole or a locked page after writing the rest). */
static void sc_msync_matrix(struct t *t, intptr_t arg)
{
    (void)arg;
    static const int kinds[] = {PG_SHARED_RW, PG_ANON, PG_HOLE, PG_SHARED_RW, PG_LOCKED};
    const size_t np = sizeof kinds / sizeof kinds[0];
    size_t pg = t->pg;
    struct layout l;
    char key[64], row[112];
    layout_files(t, &l);
    layout_build(t, &l, kinds, np, 0);
    field(t, "columns", NULL, "0 SYNC ASYNC INV SYNC|INV ASYNC|INV SYNC|ASYNC 0x100 SYNC|0x100");
    int seq = 0;
    for (size_t s = 0; s < np; s++)
        for (size_t e = s + 1; e <= np; e++) {
            size_t n = 0;
            for (size_t f = 0; f < MS_NFLAGS; f++) {
                uint8_t v = (uint8_t)(0x80 + seq++ % 100);
                for (size_t i = 0; i < np; i++)
                    if (kinds[i] == PG_SHARED_RW || kinds[i] == PG_LOCKED)
                        l.p[i * pg + 7] = v;
                int r = t->ops->msync(l.p + s * pg, (e - s) * pg, ms_flags[f].flags);
                int err = errno;
                if (f)
                    row[n++] = ' ';
                row[n++] = rcode(r);
                int synced = (r == 0 || err == ENOMEM || err == EBUSY) &&
                             (ms_flags[f].flags & (MS_SYNC | MS_ASYNC));
                for (size_t i = s; i < e; i++) {
                    if (kinds[i] != PG_SHARED_RW && kinds[i] != PG_LOCKED)
                        continue;
                    uint8_t b = 0;
                    if (!synced)
                        row[n++] = '-';
                    else if (pread(l.fd_rw, &b, 1, (off_t)(i * pg + 7)) == 1 && b == v)
                        row[n++] = '=';
                    else
                        row[n++] = 'x';
                }
            }
            row[n] = 0;
            snprintf(key, sizeof key, "msync pages [%zu,%zu)", s, e);
            field(t, key, NULL, "%s", row);
        }
    for (int a = 0; a < 4; a++)
        for (int len = 0; len < 4; len++) {
            size_t n = 0;
            for (size_t f = 0; f < MS_NFLAGS; f++)
                row[n++] = rcode(t->ops->msync(arg_addr(&l, a), arg_len(t, len), ms_flags[f].flags));
            row[n] = 0;
            snprintf(key, sizeof key, "msync addr=%s len=%s", arg_addr_name[a], arg_len_name[len]);
            field(t, key, NULL, "%s", row);
        }
    layout_free(t, &l);
}

static const int md_advice[] = {
    MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE,
    MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK, MADV_MERGEABLE, MADV_UNMERGEABLE,
    MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK,
    MADV_KEEPONFORK, MADV_COLD, MADV_PAGEOUT, 22 /* POPULATE_READ */, 23 /* POPULATE_WRITE */,
    24 /* DONTNEED_LOCKED */, 25 /* COLLAPSE */, 103 /* GUARD_REMOVE */, 11, 12345, -1,
};
#define MD_NADVICE (sizeof md_advice / sizeof md_advice[0])

/* madvise over ranges of [private file][shared file][anon][hole][PROT_NONE]
 * [shared past the end of the file]: errno, and the bytes of the readable
 * pages after (advice is applied to the mapped parts of a range with a
 * hole, which fails ENOMEM). */
static void sc_madvise_matrix(struct t *t, intptr_t arg)
{
    (void)arg;
    static const int kinds[] = {PG_PRIVATE_FILE, PG_SHARED_RW, PG_ANON, PG_HOLE, PG_NONE, PG_EOF};
    static const size_t ranges[][2] = {{0, 3}, {0, 4}, {2, 5}, {4, 5}, {5, 6}, {0, 6}, {1, 2}};
    const size_t np = sizeof kinds / sizeof kinds[0];
    size_t pg = t->pg;
    struct layout l;
    char key[64], row[112], st[40];
    layout_files(t, &l);
    field(t, "columns", NULL, "pages [0,3) [0,4) [2,5) [4,5) [5,6) [0,6) [1,2)");
    for (size_t a = 0; a < MD_NADVICE; a++) {
        size_t n = 0;
        for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
            layout_build(t, &l, kinds, np, (int)r);
            size_t s = ranges[r][0], e = ranges[r][1];
            char c = rcode(t->ops->madvise(l.p + s * pg, (e - s) * pg, md_advice[a]));
            layout_state(t, &l, md_advice[a] != MADV_REMOVE, st, sizeof st);
            /* the bytes of pages 0-2 only: the protections do not change.
             * MADV_REMOVE frees the file's blocks in the kernel, usermap's
             * cache's only (docs/RELIABILITY.md): its errno alone. */
            n += (size_t)snprintf(row + n, sizeof row - n, "%s%c:%.6s", r ? " " : "", c, st + np);
            layout_free(t, &l);
        }
        snprintf(key, sizeof key, "madvise %d", md_advice[a]);
        field(t, key, NULL, "%s", row);
    }
    /* advice that harms nothing it reaches: a valid range of 2^57 bytes
     * reaches every mapping of the process */
    static const int args[] = {MADV_WILLNEED, MADV_NORMAL, 22, 12345};
    layout_build(t, &l, kinds, np, 0);
    for (int a = 0; a < 4; a++)
        for (int len = 0; len < 4; len++) {
            size_t n = 0;
            for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
                row[n++] = rcode(t->ops->madvise(arg_addr(&l, a), arg_len(t, len), args[i]));
            row[n] = 0;
            layout_state(t, &l, 1, st, sizeof st);
            snprintf(key, sizeof key, "madvise addr=%s len=%s", arg_addr_name[a], arg_len_name[len]);
            field(t, key, NULL, "WILLNEED,NORMAL,POPULATE_READ,12345: %s %s", row, st);
        }
    layout_free(t, &l);
}

/* ================================================================== */
/* Scenarios: integrity (issue 7: never a stale byte, never a dropped  */
/* one).  The cases that need root, a full disk, a failing device, an  */
/* fd limit or a deadlock watchdog are in tests/integrity.c.           */

/* Child that only exits, as the child of system() or popen() does. */
static long long only_exit_child(void *arg)
{
    (void)arg;
    return 0; /* spawn() reports and _exit()s */
}

/* Issue 7 case 3: after a fork whose child only exits, the parent's own
 * pwrite stays in the file, and msync(MS_SYNC|MS_INVALIDATE) shows it in
 * the mapping.  Kernel: BBBB in the file and the mapping.  With DIRTY the
 * parent has also written page 1 before the fork (that byte stays too). */
static void sc_fork_then_pwrite(struct t *t, intptr_t dirty)
{
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 2, RW);
    field(t, "byte 0 (read before the fork)", X(m.file[0]), "%02x", m.p[0]);
    if (dirty)
        poke(&m, t->pg + 7);
    reap(t, "child that only exits", spawn(t, m.p, only_exit_child, NULL, NULL),
         V(0));
    ret(t, "pwrite BBBB at 0", pwrite(m.fd, "BBBB", 4, 0), "4");
    for (size_t i = 0; i < 4; i++)
        model_set(&m, i, 'B');
    ret(t, "msync MS_SYNC|MS_INVALIDATE",
        t->ops->msync(m.p, m.len, MS_SYNC | MS_INVALIDATE), "0");
    check_file(t, "file after msync", &m);
    field(t, "mapping bytes 0-3", "BBBB", "%.4s", (const char *)m.p);
    check_mapping(t, "mapping after msync", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

enum { CS_UNDERSCORE_EXIT, CS_EXIT };

/* Child of sc_child_stores: store 0xC0.. into the parent's mapping, then
 * _exit(0) (spawn's way) or exit(0) (atexit handlers and destructors). */
static long long store_then_exit_child(void *arg)
{
    struct fork_args *a = arg;
    for (size_t i = 0; i < 3; i++)
        a->p[i * a->pg + i + 1] = (uint8_t)(0xC0 + i);
    if (a->do_munmap) { /* here: exit normally */
        child_report(0);
        exit(0);
    }
    return 0;
}

/* Issue 7 case 3: a child stores into the shared mapping it inherited and
 * exits; the parent, after waitpid, sees the bytes, msyncs and munmaps.
 * Kernel: the child's bytes are in the file after the msync and after. */
static void sc_child_stores(struct t *t, intptr_t mode)
{
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 3, RW);
    field(t, "byte 0 (read before the fork)", X(m.file[0]), "%02x", m.p[0]);
    struct fork_args a = {m.p, pg, NULL, t->ops, m.path, mode == CS_EXIT};
    reap(t, "child", spawn(t, m.p, store_then_exit_child, &a, NULL), V(0));
    for (size_t i = 0; i < 3; i++)
        model_set(&m, i * pg + i + 1, (uint8_t)(0xC0 + i));
    check_mapping(t, "parent sees the child's bytes", &m);
    ret(t, "msync MS_SYNC", t->ops->msync(m.p, m.len, MS_SYNC), "0");
    check_file(t, "file after msync", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* Issue 7 case 4: p[0]='S'; msync(MS_SYNC); pwrite(fd,"P",1,0);
 * msync(MS_INVALIDATE).  Kernel: the mapping reads P, and the file keeps
 * P after munmap (a page written back is clean: nothing writes S again). */
static void sc_msync_pwrite_invalidate(struct t *t, intptr_t arg)
{
    (void)arg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 2, RW);
    m.p[0] = 'S';
    model_set(&m, 0, 'S');
    ret(t, "msync MS_SYNC", t->ops->msync(m.p, m.len, MS_SYNC), "0");
    check_file(t, "file after msync", &m);
    ret(t, "pwrite P at 0", pwrite(m.fd, "P", 1, 0), "1");
    model_set(&m, 0, 'P');
    ret(t, "msync MS_INVALIDATE", t->ops->msync(m.p, m.len, MS_INVALIDATE), "0");
    field(t, "mapping byte 0", "P", "%c", m.p[0]);
    check_mapping(t, "mapping after MS_INVALIDATE", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* Issue 7 case 5: dirty pages 0 and 2 of a 4-page shared mapping, then
 * ftruncate to 1 page.  Kernel: SIGBUS BUS_ADRERR on pages 1-3 (loads and
 * stores), page 0 keeps its byte, and the file stays 1 page long through
 * msync and munmap: nothing is written past the new end. */
static void sc_truncate_dirty(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 4, RW);
    poke(&m, 10);
    poke(&m, 2 * pg + 20);
    ret(t, "ftruncate to 1 page", t->ops->ftruncate(m.fd, (off_t)pg), "0");
    m.fsize = pg;
    want_size(t, "file size after ftruncate", m.fd, pg);
    want_fault(t, "load from page 2 (dirty)", m.p, 2 * pg + 20, READ, SIGBUS,
               BUS_ADRERR);
    want_fault(t, "store to page 1", m.p, pg + 5, WRITE, SIGBUS, BUS_ADRERR);
    want_fault(t, "load from page 3", m.p, 3 * pg + 1, READ, SIGBUS, BUS_ADRERR);
    want_bytes(t, "page 0", m.p, m.now, pg);
    ret(t, "msync MS_SYNC", t->ops->msync(m.p, m.len, MS_SYNC), "0");
    want_size(t, "file size after msync", m.fd, pg);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* Issue 7 case 5: shrink a 4-page shared mapping's file to a partial page
 * (1 page + 904 bytes: 5000 with 4 KiB pages), then grow it back.
 * Kernel: past the new end the partial page reads zeros (also a byte the
 * mapping wrote there), the pages past it SIGBUS; grown back, everything
 * past the cut reads zeros, in the mapping and in the file. */
static void sc_truncate_partial_grow(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg, cut = pg + 904, len = 4 * pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 4, RW);
    poke(&m, 10);
    poke(&m, pg + 100);  /* before the cut */
    poke(&m, pg + 2000); /* after it, same page */
    poke(&m, 3 * pg + 1);
    ret(t, "ftruncate to 1 page + 904", t->ops->ftruncate(m.fd, (off_t)cut), "0");
    for (size_t x = cut; x < len; x++)
        m.now[x] = m.file[x] = 0;
    field(t, "byte at the new end", "00", "%02x", m.p[cut]);
    field(t, "byte written past the new end", "00", "%02x", m.p[pg + 2000]);
    field(t, "last byte of the partial page", "00", "%02x", m.p[2 * pg - 1]);
    want_bytes(t, "pages 0-1 up to the new end", m.p, m.now, cut);
    want_fault(t, "load from page 2", m.p, 2 * pg + 1, READ, SIGBUS, BUS_ADRERR);
    want_size(t, "file size after shrinking", m.fd, cut);
    ret(t, "ftruncate to 4 pages", t->ops->ftruncate(m.fd, (off_t)len), "0");
    m.fsize = len;
    check_mapping(t, "mapping after growing back", &m);
    ret(t, "msync MS_SYNC", t->ops->msync(m.p, m.len, MS_SYNC), "0");
    check_file(t, "file after msync", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* Children of sc_mprotect_one_page: load (or store the byte it holds, so
 * nothing changes) byte 5 of every page (stores skip page 1). */
static long long load_pages_child(void *arg)
{
    struct fork_args *a = arg;
    long long sum = 0;
    for (size_t i = 0; i < 16; i++)
        sum += ((volatile uint8_t *)a->p)[i * a->pg + 5];
    return sum;
}

static long long store_pages_child(void *arg)
{
    struct fork_args *a = arg;
    long long n = 0;
    for (size_t i = 0; i < 16; i++)
        if (i != 1) {
            volatile uint8_t *b = a->p + i * a->pg + 5;
            *b = *b;
            n++;
        }
    return n;
}

/* Issue 7 case 6 (fails with USERMAP_PAGE_SIZE=65536 on old code): 16
 * system pages RW, mprotect(p + 1 page, 1 page, PROT_READ).  Kernel: loads
 * of pages 0-15 read the bytes (zeros when anonymous), stores to the pages
 * other than 1 work, a store to page 1 is SIGSEGV SEGV_ACCERR. */
static void sc_mprotect_one_page(struct t *t, intptr_t k)
{
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, k, 16, RW);
    ret(t, "mprotect page 1 PROT_READ", t->ops->mprotect(m.p + pg, pg, PROT_READ),
        "0");
    long long sum = 0;
    for (size_t i = 0; i < 16; i++)
        sum += m.now[i * pg + 5];
    struct fork_args a = {m.p, pg, NULL, t->ops, NULL, 0};
    reap(t, "loads of pages 0-15", spawn(t, m.p, load_pages_child, &a, NULL),
         V(sum));
    reap(t, "stores to pages 0, 2-15", spawn(t, m.p, store_pages_child, &a, NULL),
         V(15));
    want_fault(t, "store to page 1", m.p, pg + 5, WRITE, SIGSEGV, SEGV_ACCERR);
    want_access(t, "load from page 1", m.p, pg + 5, READ, m.now[pg + 5]);
    check_mapping(t, "bytes in the parent", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* ================================================================== */
/* Scenarios: file I/O that sees the mappings (issue 9, point 1)       */
/*                                                                     */
/* The calls under test are t->ops' (pread, pwrite, ..., close): the   */
/* system calls on the kernel's side, um_* on usermap's, which must    */
/* see what the mappings hold and be seen by them, as the kernel's     */
/* page cache is.  The file is read back with the kernel's own pread   */
/* (want_file, check_file) only where that is like for like: after    */
/* munmap or an fsync, when usermap's stores must be in the file.      */

/* Read [off, off+count) of FD with the call under test: it must return
 * WANT_N bytes, equal to MODEL's first WANT_N. */
static void want_pread(struct t *t, const char *key, int fd, off_t off,
                       size_t count, const uint8_t *model, long want_n)
{
    uint8_t *buf = malloc(count ? count : 1);
    if (!buf) {
        bad(t, "harness: out of memory");
        stop(t);
    }
    char k[64];
    snprintf(k, sizeof k, "%s: count", key);
    ssize_t n = t->ops->pread(fd, buf, count, off);
    ret(t, k, n, N(want_n));
    if (n > 0 && n <= want_n)
        want_bytes(t, key, buf, model, (size_t)n);
    free(buf);
}

/* Record LEN bytes at P (a mapping, read once each, or a buffer) by their
 * hash and how many are not zero, with no expectation: for bytes whose
 * value Linux leaves to the filesystem (a partial page's tail past an
 * old end), where the two sides must only agree. */
static void field_bytes(struct t *t, const char *key, const void *p, size_t len)
{
    uint8_t *b = malloc(len ? len : 1);
    if (!b) {
        bad(t, "harness: out of memory");
        stop(t);
    }
    size_t nz = 0;
    for (size_t i = 0; i < len; i++) {
        b[i] = ((const volatile uint8_t *)p)[i];
        nz += b[i] != 0;
    }
    field(t, key, NULL, "%zu bytes, %zu not zero (fnv %016llx)", len, nz,
          (unsigned long long)hr_fnv(b, len));
    free(b);
}

/* The file's bytes [off, off+len) read with the kernel's pread, recorded
 * as field_bytes does (no model). */
static void field_file_bytes(struct t *t, const char *key, int fd, off_t off,
                             size_t len)
{
    uint8_t *b = malloc(len ? len : 1);
    if (!b) {
        bad(t, "harness: out of memory");
        stop(t);
    }
    ssize_t n = pread(fd, b, len, off);
    if (n != (ssize_t)len)
        field(t, key, NULL, "pread returned %zd", n);
    else
        field_bytes(t, key, b, len);
    free(b);
}

/* Stop tracking FD without closing it (the call under test closes it). */
static void untrack_fd(struct t *t, int fd)
{
    for (int i = 0; i < t->nfds; i++)
        if (t->fds[i] == fd) {
            t->fds[i] = t->fds[--t->nfds];
            return;
        }
}

/* The file of M is now SIZE bytes long: its model too (zeros past the old
 * end; a shrink drops the bytes past the new one). */
static void model_resize(struct t *t, struct m *m, size_t size)
{
    uint8_t *f = alloc(t, size);
    memcpy(f, m->file, size < m->fsize ? size : m->fsize);
    m->file = f;
    m->fsize = size;
}

/* The file calls wrote BUF at [off, off+n) of the file of M (its size
 * already covers it): the model of the file, and of M when shared. */
static void model_pwrite(struct m *m, size_t off, const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t x = off + i;
        if (x < m->fsize)
            m->file[x] = buf[i];
        if (shared(m) && x >= (size_t)m->off && x - (size_t)m->off < m->len)
            m->now[x - (size_t)m->off] = buf[i];
    }
}

/* A shared mapping M at offset 0 after its file changed size or bytes
 * under it (truncate, fallocate): it shows the file's model, zeros past
 * the end in the partial last page. */
static void model_follow(struct m *m)
{
    for (size_t x = 0; x < m->len; x++)
        m->now[x] = x < m->fsize ? m->file[x] : 0;
}

/* The part of a mapping of LEN bytes (at file offset 0) that is inside
 * the file of SIZE bytes, rounded up to whole pages: what can be read. */
static size_t readable(struct t *t, size_t size, size_t len)
{
    size_t r = (size + t->pg - 1) / t->pg * t->pg;
    return r < len ? r : len;
}

/* Shared-mapping stores that no msync has written: one in each of the
 * first PAGES pages, at a place that differs from page to page. */
static void dirty_pages(struct t *t, struct m *m, size_t pages)
{
    for (size_t i = 0; i < pages && i * t->pg < m->len; i++)
        poke(m, i * t->pg + 7 * i + 3);
}

/* pread of a range with stores not yet written back (shared mapping):
 * whole file, across a page boundary, inside a page, across EOF (a short
 * count), at and past EOF (0).  A store past EOF in the partial last page
 * stays in the mapping and is never read; a private mapping's store is
 * never read either. */
static void sc_io_pread_unsynced(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg, fsize = 3 * pg + 100;
    struct m m;
    mk(t, &m, (struct spec){.fsize = fsize, .len = 4 * pg, .prot = RW,
                            .flags = MAP_SHARED});
    size_t at[] = {0, 5, pg - 1, pg, 2 * pg + 7, 3 * pg + 99};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        poke(&m, at[i]);
    poke(&m, 3 * pg + 200); /* past EOF: the mapping's only */
    uint8_t *pv = want_map(t, "mmap private", OK, NULL, 2 * pg, RW, MAP_PRIVATE,
                           m.fd, 0);
    pv[pg + 1] = (uint8_t)(m.file[pg + 1] ^ 0x3c);
    want_pread(t, "whole file", m.fd, 0, 4 * pg, m.file, (long)fsize);
    want_pread(t, "across pages 0-1", m.fd, (off_t)pg - 10, 20, m.file + pg - 10, 20);
    want_pread(t, "inside page 2", m.fd, 2 * (off_t)pg + 5, 100,
               m.file + 2 * pg + 5, 100);
    want_pread(t, "across EOF", m.fd, (off_t)fsize - 10, 100, m.file + fsize - 10, 10);
    want_pread(t, "at EOF", m.fd, (off_t)fsize, 100, NULL, 0);
    want_pread(t, "page past EOF", m.fd, 5 * (off_t)pg, 100, NULL, 0);
    /* Up to EOF only: past it the store lasts until the page is written
     * back, which a memory budget may do at any time (a documented
     * difference, docs/RELIABILITY.md). */
    want_bytes(t, "mapping up to EOF", m.p, m.now, fsize);
    unmap(t, pv, 2 * pg);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* read() and readv() move the file offset (lseek shows it), up to EOF and
 * 0 there; a second descriptor has an offset of its own. */
static void sc_io_read_offset(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg, fsize = 2 * pg + 300;
    struct m m;
    mk(t, &m, (struct spec){.fsize = fsize, .len = 3 * pg, .prot = RW,
                            .flags = MAP_SHARED});
    dirty_pages(t, &m, 3);
    poke(&m, fsize - 1);
    uint8_t *b = alloc(t, 3 * pg);
    int fd2 = reopen(t, m.path, O_RDONLY);
    lseek(m.fd, 0, SEEK_SET);
    ret(t, "read 100", t->ops->read(m.fd, b, 100), "100");
    want_bytes(t, "read 100 bytes", b, m.file, 100);
    field(t, "offset after read", "100", "%lld", (long long)lseek(m.fd, 0, SEEK_CUR));
    struct iovec iov[4] = {{b, 50}, {b + 50, 0}, {b + 50, pg}, {b + 50 + pg, 30}};
    ret(t, "readv", t->ops->readv(m.fd, iov, 4), N(80 + pg));
    want_bytes(t, "readv bytes", b, m.file + 100, 80 + pg);
    field(t, "offset after readv", N(180 + pg), "%lld",
          (long long)lseek(m.fd, 0, SEEK_CUR));
    ret(t, "read to EOF", t->ops->read(m.fd, b, 3 * pg), N(fsize - 180 - pg));
    want_bytes(t, "read to EOF bytes", b, m.file + 180 + pg, fsize - 180 - pg);
    ret(t, "read at EOF", t->ops->read(m.fd, b, 10), "0");
    ret(t, "readv at EOF", t->ops->readv(m.fd, iov, 4), "0");
    field(t, "offset at EOF", N(fsize), "%lld", (long long)lseek(m.fd, 0, SEEK_CUR));
    lseek(m.fd, (off_t)pg - 5, SEEK_SET);
    struct iovec two[2] = {{b, 10}, {b + 10, 10}};
    ret(t, "readv across page 0-1", t->ops->readv(m.fd, two, 2), "20");
    want_bytes(t, "readv across bytes", b, m.file + pg - 5, 20);
    ret(t, "read second fd", t->ops->read(fd2, b, 2 * pg), N(2 * pg));
    want_bytes(t, "read second fd bytes", b, m.file, 2 * pg);
    field(t, "second fd offset", N(2 * pg), "%lld", (long long)lseek(fd2, 0, SEEK_CUR));
    field(t, "first fd offset", N(pg + 15), "%lld", (long long)lseek(m.fd, 0, SEEK_CUR));
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* preadv into several buffers (one empty) from an offset, the file offset
 * unchanged; across EOF a short count; no buffers, 0. */
static void sc_io_preadv(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 4, RW);
    dirty_pages(t, &m, 4);
    poke(&m, pg - 1);
    poke(&m, pg);
    uint8_t *b = alloc(t, 4 * pg);
    lseek(m.fd, 7, SEEK_SET);
    struct iovec iov[5] = {{b, 1},
                           {b + 1, pg - 1},
                           {b + pg, 0},
                           {b + pg, 2 * pg + 3},
                           {b + 3 * pg + 3, 500}};
    size_t total = 3 * pg + 503;
    ret(t, "preadv 5 buffers", t->ops->preadv(m.fd, iov, 5, 10), N(total));
    want_bytes(t, "preadv bytes", b, m.file + 10, total);
    field(t, "offset", "7", "%lld", (long long)lseek(m.fd, 0, SEEK_CUR));
    ret(t, "preadv across EOF", t->ops->preadv(m.fd, iov, 5, 4 * (off_t)pg - 100), "100");
    want_bytes(t, "preadv across EOF bytes", b, m.file + 4 * pg - 100, 100);
    ret(t, "preadv no buffers", t->ops->preadv(m.fd, iov, 0, 0), "0");
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* pwrite into a mapped range (pages 1-3 of 4): the shared mapping, a
 * second shared mapping (another descriptor, from page 1) and a private
 * mapping's pages it has not written show it at once; the page the
 * private mapping wrote keeps its own bytes.  The file after munmap holds
 * the pwrite and the shared stores. */
static void sc_io_pwrite_views(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m a;
    mk_kind(t, &a, K_FILE_SHARED, 4, RW);
    int fd2 = reopen(t, a.path, O_RDWR);
    uint8_t *b = want_map(t, "mmap second shared", OK, NULL, 3 * pg, RW,
                          MAP_SHARED, fd2, (off_t)pg);
    uint8_t *pv = want_map(t, "mmap private", OK, NULL, 4 * pg, RW, MAP_PRIVATE,
                           a.fd, 0);
    field(t, "private page 1 before", X(a.file[pg + 3]), "%02x", pv[pg + 3]);
    /* The private mapping's copy of page 2: the file's page then, and its
     * store. */
    uint8_t *cow = copy(t, a.file + 2 * pg, pg);
    pv[2 * pg + 9] = 0x3c;
    cow[9] = 0x3c;
    poke(&a, pg + 50);      /* under the pwrite: overwritten */
    poke(&a, 3 * pg + 1000); /* after it: stays */
    poke(&a, 5);
    size_t off = pg + 100, n = 2 * pg;
    uint8_t *buf = pattern(t, n, 9, 0);
    ret(t, "pwrite pages 1-3", t->ops->pwrite(a.fd, buf, n, (off_t)off), N(n));
    model_pwrite(&a, off, buf, n);
    check_mapping(t, "shared mapping", &a);
    want_bytes(t, "second shared mapping", b, a.file + pg, 3 * pg);
    uint8_t *pnow = copy(t, a.file, 4 * pg);
    memcpy(pnow + 2 * pg, cow, pg);
    want_bytes(t, "private mapping", pv, pnow, 4 * pg);
    want_pread(t, "pread", a.fd, 0, 4 * pg, a.file, (long)(4 * pg));
    unmap(t, pv, 4 * pg);
    unmap(t, b, 3 * pg);
    unmap(t, a.p, a.len);
    check_file(t, "file after munmap", &a);
}

enum { GROW_SHORT, GROW_OVER, GROW_HOLE, GROW_GAP };

/* pwrite past EOF (a file of 1 page + 100, mapped 4 pages, a store past
 * its end in the partial page): the file grows and the mapping reaches the
 * new bytes with no SIGBUS.  GROW_SHORT writes 50 bytes at the old end
 * (the store stays past the new one), GROW_OVER 2 pages there (over the
 * store), GROW_HOLE 50 bytes at page 3 + 10 (a hole, zeros, between),
 * GROW_GAP 50 bytes at page 1 + 300 (a gap over the store, the new end in
 * the same page).  What the old partial page holds past the old end
 * afterwards is the filesystem's: recorded, not stated.  (ext4 on Linux
 * 6.18 zeroes what the new size exposes between the old end and the
 * write, and keeps the mapping's store that is still past the new end.) */
static void sc_io_pwrite_grows(struct t *t, intptr_t how)
{
    size_t pg = t->pg, old = pg + 100;
    struct m m;
    mk(t, &m, (struct spec){.fsize = old, .len = 4 * pg, .prot = RW,
                            .flags = MAP_SHARED});
    poke(&m, 50);
    poke(&m, old - 1);
    m.p[pg + 200] = 0x77; /* past the old end */
    m.p[pg + 3000] = 0x78;
    size_t off = how == GROW_HOLE ? 3 * pg + 10 : how == GROW_GAP ? pg + 300 : old;
    size_t n = how == GROW_OVER ? 2 * pg : 50, end = off + n;
    uint8_t *buf = pattern(t, n, 9, 0);
    ret(t, "pwrite past EOF", t->ops->pwrite(m.fd, buf, n, (off_t)off), N(n));
    want_size(t, "file size", m.fd, end);
    want_access(t, "load of the last new byte", m.p, end - 1, READ, buf[n - 1]);
    model_resize(t, &m, end);
    model_follow(&m);
    model_pwrite(&m, off, buf, n);
    want_bytes(t, "mapping up to the old end", m.p, m.now, old);
    want_pread(t, "pread up to the old end", m.fd, 0, old, m.file, (long)old);
    if (how == GROW_SHORT || how == GROW_GAP) {
        want_bytes(t, "mapping's new bytes", m.p + off, buf, n);
        field(t, "stored byte at page 1 + 200", NULL, "%02x", m.p[pg + 200]);
        field(t, "stored byte at page 1 + 3000", NULL, "%02x", m.p[pg + 3000]);
        field_bytes(t, "mapping past the old end", m.p + old, 2 * pg - old);
        want_fault(t, "load from page 2", m.p, 2 * pg + 1, READ, SIGBUS, BUS_ADRERR);
    } else {
        size_t from = how == GROW_HOLE ? 2 * pg : old;
        if (how == GROW_HOLE)
            field_bytes(t, "mapping past the old end", m.p + old, 2 * pg - old);
        want_bytes(t, "mapping from the old page's end", m.p + from, m.now + from,
                   4 * pg - from);
        want_pread(t, "pread from there", m.fd, (off_t)from, 4 * pg,
                   m.file + from, (long)(end - from));
    }
    unmap(t, m.p, m.len);
    want_size(t, "file size after munmap", m.fd, end);
    want_file(t, "file up to the old end", m.fd, 0, old, m.file);
    if (how == GROW_HOLE) {
        field_file_bytes(t, "file past the old end in its page", m.fd, (off_t)old,
                         2 * pg - old);
        want_file(t, "file from page 2", m.fd, 2 * (off_t)pg, end - 2 * pg,
                  m.file + 2 * pg);
    } else {
        if (how == GROW_GAP)
            field_file_bytes(t, "file between the old end and the write", m.fd,
                             (off_t)old, off - old);
        want_file(t, "file's new bytes", m.fd, (off_t)off, n, buf);
    }
}

/* write() on an O_APPEND descriptor of a mapped file (2 pages + 100,
 * mapped 4 pages, with stores): the bytes go at the end whatever the
 * offset, the file grows, the mapping shows them and stores there are
 * read back. */
static void sc_io_append(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg, old = 2 * pg + 100;
    struct m m;
    mk(t, &m, (struct spec){.fsize = old, .len = 4 * pg, .prot = RW,
                            .flags = MAP_SHARED});
    dirty_pages(t, &m, 3);
    poke(&m, old - 1);
    int afd = reopen(t, m.path, O_RDWR | O_APPEND);
    lseek(afd, 0, SEEK_SET);
    uint8_t *b1 = pattern(t, 300, 7, 0), *b2 = pattern(t, 5000, 8, 0);
    ret(t, "write 300 O_APPEND", t->ops->write(afd, b1, 300), "300");
    field(t, "offset after it", N(old + 300), "%lld", (long long)lseek(afd, 0, SEEK_CUR));
    lseek(afd, 10, SEEK_SET);
    ret(t, "write 5000 O_APPEND", t->ops->write(afd, b2, 5000), "5000");
    size_t end = old + 5300;
    want_size(t, "file size", m.fd, end);
    field(t, "offset after the second", N(end), "%lld", (long long)lseek(afd, 0, SEEK_CUR));
    model_resize(t, &m, end);
    model_pwrite(&m, old, b1, 300);
    model_pwrite(&m, old + 300, b2, 5000);
    want_bytes(t, "mapping up to the new end", m.p, m.now, end);
    poke(&m, old + 4000);
    want_pread(t, "pread", m.fd, 0, 4 * pg, m.file, (long)end);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* writev at the file offset (moves it) and pwritev (does not) across
 * pages, one buffer empty; a pwritev past the end grows the file. */
static void sc_io_writev(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 4, RW);
    dirty_pages(t, &m, 4);
    poke(&m, pg - 5);
    uint8_t *b = pattern(t, 2 * pg, 5, 0);
    lseek(m.fd, (off_t)pg - 10, SEEK_SET);
    struct iovec iov[4] = {{b, 20}, {b + 20, pg}, {b, 0}, {b + 20 + pg, 5}};
    ret(t, "writev", t->ops->writev(m.fd, iov, 4), N(pg + 25));
    model_pwrite(&m, pg - 10, b, pg + 25);
    field(t, "offset after writev", N(2 * pg + 15), "%lld",
          (long long)lseek(m.fd, 0, SEEK_CUR));
    struct iovec three[3] = {{b + 100, 3}, {b + 200, 4}, {b + 300, 10}};
    ret(t, "pwritev", t->ops->pwritev(m.fd, three, 3, 3 * (off_t)pg - 7), "17");
    model_pwrite(&m, 3 * pg - 7, b + 100, 3);
    model_pwrite(&m, 3 * pg - 4, b + 200, 4);
    model_pwrite(&m, 3 * pg, b + 300, 10);
    field(t, "offset after pwritev", N(2 * pg + 15), "%lld",
          (long long)lseek(m.fd, 0, SEEK_CUR));
    check_mapping(t, "mapping", &m);
    struct iovec grow[2] = {{b, 10}, {b + 10, pg}};
    ret(t, "pwritev past EOF", t->ops->pwritev(m.fd, grow, 2, 4 * (off_t)pg - 5),
        N(pg + 10));
    model_resize(t, &m, 5 * pg + 5);
    model_pwrite(&m, 4 * pg - 5, b, pg + 10);
    check_mapping(t, "mapping after growing", &m);
    want_pread(t, "pread", m.fd, 0, 6 * pg, m.file, (long)(5 * pg + 5));
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

enum { BUF_SAME, BUF_OTHER_SHARED, BUF_OTHER_PRIVATE, BUF_ANON_PRIVATE, BUF_ANON_SHARED };

/* pread into, and pwrite from, a buffer in a usermap mapping whose pages
 * were never touched: of the same file (another range), of another file
 * (shared or private), of anonymous memory.  The file under I/O holds
 * stores not yet written back. */
static void sc_io_buffer(struct t *t, intptr_t kind)
{
    size_t pg = t->pg;
    struct m f, bm;
    mk_kind(t, &f, K_FILE_SHARED, 10, RW);
    poke(&f, 1);
    poke(&f, pg + 2);
    struct m *bp = &bm;
    if (kind == BUF_SAME)
        bp = &f;
    else if (kind == BUF_OTHER_SHARED || kind == BUF_OTHER_PRIVATE)
        mk(t, &bm, (struct spec){.fsize = 10 * pg, .len = 10 * pg, .prot = RW,
                                 .flags = kind == BUF_OTHER_SHARED ? MAP_SHARED
                                                                   : MAP_PRIVATE,
                                 .seed = 2});
    else
        mk_kind(t, &bm, kind == BUF_ANON_SHARED ? K_ANON_SHARED : K_ANON_PRIVATE,
                10, RW);
    /* Into pages 5-7 of the buffer's mapping: 2 pages of the file from 100. */
    size_t in = 5 * pg + 3, n = 2 * pg;
    ret(t, "pread into untouched pages", t->ops->pread(f.fd, bp->p + in, n, 100), N(n));
    uint8_t *src = copy(t, f.file + 100, n);
    for (size_t i = 0; i < n; i++)
        model_set(bp, in + i, src[i]);
    want_bytes(t, "buffer after pread", bp->p + in, src, n);
    /* From pages 8-9 of it (never touched) to the file at page 2 + 50. */
    size_t from = 8 * pg + 11, n2 = pg + 500, at = 2 * pg + 50;
    uint8_t *out = copy(t, bp->now + from, n2);
    ret(t, "pwrite from untouched pages", t->ops->pwrite(f.fd, bp->p + from, n2,
                                                         (off_t)at), N(n2));
    model_pwrite(&f, at, out, n2);
    check_mapping(t, "file's mapping", &f);
    want_pread(t, "pread the file", f.fd, 0, 10 * pg, f.file, (long)(10 * pg));
    if (bp != &f) {
        check_mapping(t, "buffer's mapping", &bm);
        unmap(t, bm.p, bm.len);
        check_file(t, "buffer's file after munmap", &bm);
    }
    unmap(t, f.p, f.len);
    check_file(t, "file after munmap", &f);
}

/* pread into, pwrite from and readv into a buffer whose second page is
 * PROT_NONE (a usermap mapping of kind K): starting in it, EFAULT;
 * starting 100 bytes before it, the kernel's short count (or EFAULT).
 * The file under I/O is mapped, with stores not yet written back. */
static void sc_io_buffer_prot_none(struct t *t, intptr_t k)
{
    size_t pg = t->pg;
    struct m f, bm;
    mk_kind(t, &f, K_FILE_SHARED, 4, RW);
    dirty_pages(t, &f, 4);
    mk_kind(t, &bm, k, 3, RW);
    ret(t, "mprotect page 1 PROT_NONE", t->ops->mprotect(bm.p + pg, pg, PROT_NONE), "0");
    ret(t, "pread into PROT_NONE", t->ops->pread(f.fd, bm.p + pg, 100, 0), E(EFAULT));
    ret(t, "pwrite from PROT_NONE", t->ops->pwrite(f.fd, bm.p + pg, 100, 0), E(EFAULT));
    long r = ret(t, "pread across PROT_NONE", t->ops->pread(f.fd, bm.p + pg - 100,
                                                            2 * pg, 10), NULL);
    for (long i = 0; i < r; i++)
        model_set(&bm, pg - 100 + (size_t)i, f.file[10 + (size_t)i]);
    uint8_t *out = copy(t, bm.now + pg - 100, 100);
    r = ret(t, "pwrite across PROT_NONE", t->ops->pwrite(f.fd, bm.p + pg - 100,
                                                         2 * pg, 3 * (off_t)pg), NULL);
    if (r > 0)
        model_pwrite(&f, 3 * pg, out, (size_t)r);
    struct iovec iov[2] = {{bm.p + 10, 20}, {bm.p + pg + 10, 20}};
    r = ret(t, "readv second buffer PROT_NONE", t->ops->readv(f.fd, iov, 2), NULL);
    for (long i = 0; i < r && i < 20; i++)
        model_set(&bm, 10 + (size_t)i, f.file[(size_t)i]);
    field(t, "offset after readv", NULL, "%lld", (long long)lseek(f.fd, 0, SEEK_CUR));
    ret(t, "mprotect RW", t->ops->mprotect(bm.p + pg, pg, RW), "0");
    check_mapping(t, "buffer's mapping", &bm);
    check_mapping(t, "file's mapping", &f);
    unmap(t, bm.p, bm.len);
    check_file(t, "buffer's file after munmap", &bm);
    unmap(t, f.p, f.len);
    check_file(t, "file after munmap", &f);
}

/* A buffer in a shared mapping of a file of 1 page + 100, 3 pages long:
 * pread into and pwrite from its page past EOF (the SIGBUS region):
 * EFAULT; from its partial page across into that one: a short count up
 * to the page's end.  The file under I/O is mapped, with stores not yet
 * written back. */
static void sc_io_buffer_past_eof(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m f, bm;
    mk_kind(t, &f, K_FILE_SHARED, 4, RW);
    dirty_pages(t, &f, 4);
    mk(t, &bm, (struct spec){.fsize = pg + 100, .len = 3 * pg, .prot = RW,
                             .flags = MAP_SHARED, .seed = 2});
    ret(t, "pread into page past EOF", t->ops->pread(f.fd, bm.p + 2 * pg, 100, 0),
        E(EFAULT));
    ret(t, "pwrite from page past EOF", t->ops->pwrite(f.fd, bm.p + 2 * pg, 100, 0),
        E(EFAULT));
    ret(t, "pread across into it", t->ops->pread(f.fd, bm.p + pg, 2 * pg, 0), N(pg));
    for (size_t i = 0; i < pg; i++)
        model_set(&bm, pg + i, f.file[i]);
    uint8_t *out = copy(t, bm.now + pg, pg);
    ret(t, "pwrite across from it", t->ops->pwrite(f.fd, bm.p + pg, 2 * pg,
                                                   2 * (off_t)pg), N(pg));
    model_pwrite(&f, 2 * pg, out, pg);
    want_bytes(t, "buffer up to the page past EOF", bm.p, bm.now, 2 * pg);
    check_mapping(t, "file's mapping", &f);
    unmap(t, bm.p, bm.len);
    check_file(t, "buffer's file after munmap", &bm);
    unmap(t, f.p, f.len);
    check_file(t, "file after munmap", &f);
}

/* ftruncate shrinks a file under two shared mappings (one from page 0
 * through the program's descriptor, one from page 1 through another), to
 * 1 page + 500 and then grows it through the other descriptor to 3 pages
 * - 10, and truncate(path) cuts it to 2 pages: past each end both
 * mappings raise SIGBUS, the partial page reads zeros past it, growing
 * brings zeros back, and the dirty bytes cut off never reach the file. */
static void sc_io_truncate_two_maps(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m a;
    mk_kind(t, &a, K_FILE_SHARED, 4, RW);
    int fd2 = reopen(t, a.path, O_RDWR);
    uint8_t *b = want_map(t, "mmap second", OK, NULL, 3 * pg, RW, MAP_SHARED, fd2,
                          (off_t)pg);
    dirty_pages(t, &a, 4);
    poke(&a, pg + 600);
    ret(t, "ftruncate to 1 page + 500", t->ops->ftruncate(a.fd, (off_t)pg + 500), "0");
    model_resize(t, &a, pg + 500);
    model_follow(&a);
    field(t, "first: byte past the end", "00", "%02x", a.p[pg + 600]);
    field(t, "second: byte past the end", "00", "%02x", b[600]);
    want_bytes(t, "first: pages 0-1", a.p, a.now, 2 * pg);
    want_bytes(t, "second: page 0", b, a.now + pg, pg);
    want_fault(t, "first: load page 2", a.p, 2 * pg + 3, READ, SIGBUS, BUS_ADRERR);
    want_fault(t, "second: load its page 1", b, pg + 1, READ, SIGBUS, BUS_ADRERR);
    want_fault(t, "second: store its page 2", b, 2 * pg + 5, WRITE, SIGBUS,
               BUS_ADRERR);
    want_pread(t, "pread after shrinking", a.fd, 0, 4 * pg, a.file, (long)(pg + 500));
    ret(t, "ftruncate other fd to 3 pages - 10", t->ops->ftruncate(fd2, 3 * (off_t)pg - 10),
        "0");
    model_resize(t, &a, 3 * pg - 10);
    model_follow(&a);
    want_bytes(t, "first: pages 0-2", a.p, a.now, 3 * pg);
    want_bytes(t, "second: pages 0-1", b, a.now + pg, 2 * pg);
    want_fault(t, "first: load page 3", a.p, 3 * pg + 3, READ, SIGBUS, BUS_ADRERR);
    b[20] = 0x5e; /* file offset page 1 + 20 */
    a.now[pg + 20] = a.file[pg + 20] = 0x5e;
    a.p[2 * pg + 9] = 0x6f;
    a.now[2 * pg + 9] = a.file[2 * pg + 9] = 0x6f;
    want_pread(t, "pread after growing", a.fd, 0, 4 * pg, a.file, (long)(3 * pg - 10));
    ret(t, "truncate path to 2 pages", t->ops->truncate(a.path, 2 * (off_t)pg), "0");
    model_resize(t, &a, 2 * pg);
    model_follow(&a);
    want_fault(t, "first: load page 2 after truncate", a.p, 2 * pg + 9, READ, SIGBUS,
               BUS_ADRERR);
    want_fault(t, "second: load its page 1 after truncate", b, pg + 9, READ, SIGBUS,
               BUS_ADRERR);
    want_bytes(t, "first: pages 0-1 after truncate", a.p, a.now, 2 * pg);
    want_size(t, "file size", a.fd, 2 * pg);
    unmap(t, b, 3 * pg);
    unmap(t, a.p, a.len);
    check_file(t, "file after munmap", &a);
}

enum { TG_FTRUNCATE, TG_TRUNCATE, TG_FALLOCATE };

/* A file of 1 page + 100 mapped shared 3 pages, a store past its end in
 * the partial page (page 1 + 200), grown to 2 pages + 100 by ftruncate,
 * truncate(path) or fallocate: what the mapping and the file then hold
 * in the old page past the old end is recorded (the kernel's filesystem
 * decides), the rest is stated: zeros up to the new end, no SIGBUS. */
static void sc_io_grow_tail(struct t *t, intptr_t how)
{
    size_t pg = t->pg, old = pg + 100, size = 2 * pg + 100;
    struct m m;
    mk(t, &m, (struct spec){.fsize = old, .len = 3 * pg, .prot = RW,
                            .flags = MAP_SHARED});
    poke(&m, old - 1);
    m.p[pg + 200] = 0x77;
    if (how == TG_FTRUNCATE)
        ret(t, "ftruncate", t->ops->ftruncate(m.fd, (off_t)size), "0");
    else if (how == TG_TRUNCATE)
        ret(t, "truncate", t->ops->truncate(m.path, (off_t)size), "0");
    else
        ret(t, "fallocate", t->ops->fallocate(m.fd, 0, 0, (off_t)size), "0");
    want_size(t, "file size", m.fd, size);
    model_resize(t, &m, size);
    model_follow(&m);
    field(t, "stored byte past the old end", NULL, "%02x", m.p[pg + 200]);
    want_bytes(t, "mapping up to the old end", m.p, m.now, old);
    want_bytes(t, "mapping from page 2", m.p + 2 * pg, m.now + 2 * pg, pg);
    want_pread(t, "pread from page 2", m.fd, 2 * (off_t)pg, pg, m.file + 2 * pg, 100);
    unmap(t, m.p, m.len);
    want_file(t, "file up to the old end", m.fd, 0, old, m.file);
    field_file_bytes(t, "file past the old end in its page", m.fd, (off_t)old,
                     2 * pg - old);
}

enum { FA_PUNCH, FA_PUNCH_PARTIAL, FA_ZERO, FA_ZERO_GROW, FA_COLLAPSE, FA_INSERT,
       FA_GROW, FA_KEEP_SIZE };

/* fallocate on a file of 4 pages, mapped shared 6 pages, every page with
 * a store not yet written back.  FA_PUNCH punches pages 1-2 (KEEP_SIZE),
 * FA_PUNCH_PARTIAL 100 bytes inside page 1 over a store, FA_ZERO zeroes
 * from page 1 + 10 to page 2 + 110, FA_ZERO_GROW zeroes 2 pages from
 * page 3 + 100 (the file grows), FA_COLLAPSE removes page 1, FA_INSERT
 * inserts a page of zeros at page 1, FA_GROW allocates up to 5 pages +
 * 100 (the file grows), FA_KEEP_SIZE allocates past the end without
 * growing it.  The mapping shows the file's new bytes, its end moves
 * (SIGBUS past it), the file after munmap holds them.  When the test
 * directory's filesystem does not support a mode, the kernel's error
 * (EOPNOTSUPP) is what usermap must give, the file unchanged. */
static void sc_io_fallocate(struct t *t, intptr_t mode)
{
    size_t pg = t->pg;
    struct m m;
    mk(t, &m, (struct spec){.fsize = 4 * pg, .len = 6 * pg, .prot = RW,
                            .flags = MAP_SHARED});
    dirty_pages(t, &m, 4);
    poke(&m, pg + 20);
    poke(&m, 3 * pg + 40);
    static const int modes[] = {
        [FA_PUNCH] = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
        [FA_PUNCH_PARTIAL] = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
        [FA_ZERO] = FALLOC_FL_ZERO_RANGE,
        [FA_ZERO_GROW] = FALLOC_FL_ZERO_RANGE,
        [FA_COLLAPSE] = FALLOC_FL_COLLAPSE_RANGE,
        [FA_INSERT] = FALLOC_FL_INSERT_RANGE,
        [FA_GROW] = 0,
        [FA_KEEP_SIZE] = FALLOC_FL_KEEP_SIZE,
    };
    size_t off, len;
    switch (mode) {
    case FA_PUNCH: off = pg, len = 2 * pg; break;
    case FA_PUNCH_PARTIAL: off = pg + 10, len = 100; break;
    case FA_ZERO: off = pg + 10, len = pg + 100; break;
    case FA_ZERO_GROW: off = 3 * pg + 100, len = 2 * pg; break;
    case FA_COLLAPSE: off = pg, len = pg; break;
    case FA_INSERT: off = pg, len = pg; break;
    case FA_GROW: off = 3 * pg, len = 2 * pg + 100; break;
    default: off = 3 * pg, len = 2 * pg; break;
    }
    int r = (int)ret(t, "fallocate", t->ops->fallocate(m.fd, modes[mode], (off_t)off,
                                                       (off_t)len), NULL);
    if (r == 0) {
        size_t old = m.fsize;
        uint8_t *before = copy(t, m.file, old);
        switch (mode) {
        case FA_PUNCH:
        case FA_PUNCH_PARTIAL:
        case FA_ZERO:
            memset(m.file + off, 0, len);
            break;
        case FA_ZERO_GROW:
            model_resize(t, &m, off + len);
            memset(m.file + off, 0, old - off); /* and zeros past the old end */
            break;
        case FA_GROW: /* the bytes stay; zeros past the old end */
            model_resize(t, &m, off + len);
            break;
        case FA_COLLAPSE:
            model_resize(t, &m, old - len);
            memcpy(m.file + off, before + off + len, old - off - len);
            break;
        case FA_INSERT:
            model_resize(t, &m, old + len);
            memset(m.file + off, 0, len);
            memcpy(m.file + off + len, before + off, old - off);
            break;
        default:
            break;
        }
        model_follow(&m);
    }
    want_size(t, "file size", m.fd, m.fsize);
    size_t rd = readable(t, m.fsize, m.len);
    want_bytes(t, "mapping", m.p, m.now, rd);
    if (rd < m.len)
        want_fault(t, "load past the end", m.p, rd + 1, READ, SIGBUS, BUS_ADRERR);
    want_pread(t, "pread", m.fd, 0, 6 * pg, m.file, (long)m.fsize);
    poke(&m, m.fsize - 1);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

enum { SY_FSYNC, SY_FDATASYNC, SY_RANGE_ALL, SY_RANGE_PART };

/* Child of sc_io_sync and sc_io_other_process, which maps nothing: the
 * hash of the file's bytes [off, off+len) as pread reads them (the
 * kernel's, or the call under test's when OPS is set), a short count, or
 * -errno. */
struct read_args {
    const struct hr_ops *ops; /* NULL: the kernel's pread */
    const char *path;
    off_t off;
    size_t len;
};

static long long read_file_child(void *arg)
{
    struct read_args *a = arg;
    uint8_t *b = malloc(a->len);
    int fd = open(a->path, O_RDONLY);
    if (!b || fd < 0)
        return -errno;
    ssize_t n = a->ops ? a->ops->pread(fd, b, a->len, a->off)
                       : pread(fd, b, a->len, a->off);
    if (n != (ssize_t)a->len)
        return n < 0 ? -errno : n;
    return (long long)(hr_fnv(b, a->len) >> 1);
}

/* The value read_file_child reports when the file holds MODEL. */
static long long model_hash(const uint8_t *model, size_t len)
{
    return (long long)(hr_fnv(model, len) >> 1);
}

/* fsync, fdatasync or sync_file_range (the whole file, or pages 1-2)
 * after stores through a shared mapping: the file then holds them, as the
 * kernel's pread reads it, in this process and in a forked child, before
 * any msync or munmap. */
static void sc_io_sync(struct t *t, intptr_t how)
{
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 4, RW);
    dirty_pages(t, &m, 4);
    poke(&m, 2 * pg - 1);
    unsigned all = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                   SYNC_FILE_RANGE_WAIT_AFTER;
    size_t from = 0, len = 4 * pg;
    switch (how) {
    case SY_FSYNC: ret(t, "fsync", t->ops->fsync(m.fd), "0"); break;
    case SY_FDATASYNC: ret(t, "fdatasync", t->ops->fdatasync(m.fd), "0"); break;
    case SY_RANGE_ALL:
        ret(t, "sync_file_range all", t->ops->sync_file_range(m.fd, 0, 0, all), "0");
        break;
    default:
        from = pg, len = 2 * pg;
        ret(t, "sync_file_range pages 1-2",
            t->ops->sync_file_range(m.fd, (off_t)pg, 2 * (off_t)pg, all), "0");
    }
    want_file(t, "file (kernel's pread)", m.fd, (off_t)from, len, m.file + from);
    struct read_args ra = {NULL, m.path, (off_t)from, len};
    reap(t, "forked child's pread", spawn(t, m.p, read_file_child, &ra, NULL),
         V(model_hash(m.file + from, len)));
    check_mapping(t, "mapping", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

enum { CF_TO_PLAIN, CF_TO_MAPPED, CF_FILE_OFFSETS, CF_SAME_FILE };

/* copy_file_range from a file with stores not yet written back (shared
 * mapping) into a file no one maps (read back with the kernel's pread:
 * nothing caches it), into a mapped one (its mapping shows the copy), with
 * the descriptors' own offsets (NULL), or within the same file to a range
 * that does not overlap.  Offsets move by the count; past the source's
 * end a short count, at it 0; a copy past the destination's end grows it. */
static void sc_io_copy_file_range(struct t *t, intptr_t how)
{
    size_t pg = t->pg;
    struct m s, d;
    mk_kind(t, &s, K_FILE_SHARED, 4, RW);
    dirty_pages(t, &s, 4);
    poke(&s, pg - 1);
    size_t n = pg + 200;
    if (how == CF_SAME_FILE) {
        loff_t in = (loff_t)pg - 10, out = 2 * (loff_t)pg + 300;
        uint8_t *src = copy(t, s.file + pg - 10, n);
        ret(t, "copy within the file", t->ops->copy_file_range(s.fd, &in, s.fd, &out,
                                                               n, 0), N(n));
        model_pwrite(&s, 2 * pg + 300, src, n);
        field(t, "offsets after", hr_fmt_ring("%lld", (long long)(pg - 10 + n)),
              "%lld", (long long)in);
        check_mapping(t, "mapping", &s);
        want_pread(t, "pread", s.fd, 0, 4 * pg, s.file, (long)(4 * pg));
        unmap(t, s.p, s.len);
        check_file(t, "file after munmap", &s);
        return;
    }
    if (how == CF_TO_MAPPED) {
        mk(t, &d, (struct spec){.fsize = 2 * pg, .len = 4 * pg, .prot = RW,
                                .flags = MAP_SHARED, .seed = 3});
        poke(&d, 50);       /* under the copy */
        poke(&d, pg + 500); /* after it */
    } else {
        memset(&d, 0, sizeof d);
        d.fd = tmp_file(t, 2 * pg, 3, d.path);
        d.fsize = 2 * pg;
        d.file = pattern(t, 2 * pg, 3, 0);
        d.flags = MAP_PRIVATE; /* no mapping: model_pwrite updates the file only */
    }
    loff_t in = (loff_t)pg - 10, out = 20;
    ssize_t r;
    if (how == CF_FILE_OFFSETS) {
        lseek(s.fd, in, SEEK_SET);
        lseek(d.fd, out, SEEK_SET);
        r = t->ops->copy_file_range(s.fd, NULL, d.fd, NULL, n, 0);
    } else {
        r = t->ops->copy_file_range(s.fd, &in, d.fd, &out, n, 0);
    }
    ret(t, "copy", r, N(n));
    model_pwrite(&d, 20, s.file + pg - 10, n);
    if (how == CF_FILE_OFFSETS) {
        field(t, "source offset", N(pg - 10 + n), "%lld",
              (long long)lseek(s.fd, 0, SEEK_CUR));
        field(t, "destination offset", N(20 + n), "%lld",
              (long long)lseek(d.fd, 0, SEEK_CUR));
    } else {
        field(t, "offsets", hr_fmt_ring("%lld", (long long)(pg - 10 + n)), "%lld",
              (long long)in);
        field(t, "destination offset", N(20 + n), "%lld", (long long)out);
    }
    /* Past the source's end: a short count; at it, 0; growing the
     * destination. */
    in = 4 * (loff_t)pg - 30;
    out = 2 * (loff_t)pg - 10;
    ret(t, "copy across the source's end", t->ops->copy_file_range(s.fd, &in, d.fd,
                                                                   &out, 100, 0), "30");
    model_resize(t, &d, 2 * pg + 20);
    model_pwrite(&d, 2 * pg - 10, s.file + 4 * pg - 30, 30);
    ret(t, "copy at the source's end", t->ops->copy_file_range(s.fd, &in, d.fd, &out,
                                                               100, 0), "0");
    want_size(t, "destination size", d.fd, d.fsize);
    want_pread(t, "destination (pread)", d.fd, 0, 4 * pg, d.file, (long)d.fsize);
    if (how == CF_TO_MAPPED) {
        model_follow(&d);
        want_bytes(t, "destination mapping", d.p, d.now, readable(t, d.fsize, d.len));
        unmap(t, d.p, d.len);
    }
    want_file(t, "destination (kernel's pread)", d.fd, 0, d.fsize, d.file);
    check_mapping(t, "source mapping", &s);
    unmap(t, s.p, s.len);
    check_file(t, "source after munmap", &s);
}

/* copy_file_range's errors, on a mapped source: flags not 0 (EINVAL),
 * overlapping ranges of one file (EINVAL), an O_APPEND destination
 * (EBADF), a write-only source (EBADF), a read-only destination (EBADF).
 * Nothing changes. */
static void sc_io_copy_errors(struct t *t, intptr_t arg)
{
    (void)arg;
    size_t pg = t->pg;
    struct m s;
    mk_kind(t, &s, K_FILE_SHARED, 2, RW);
    poke(&s, 3);
    char dpath[512];
    int d = tmp_file(t, pg, 3, dpath);
    int dapp = reopen(t, dpath, O_WRONLY | O_APPEND);
    int dro = reopen(t, dpath, O_RDONLY);
    int swo = reopen(t, s.path, O_WRONLY);
    loff_t in = 0, out = 0;
    ret(t, "flags 1", t->ops->copy_file_range(s.fd, &in, d, &out, 100, 1), E(EINVAL));
    in = 0, out = 100;
    ret(t, "overlap in one file", t->ops->copy_file_range(s.fd, &in, s.fd, &out, 1000, 0),
        E(EINVAL));
    in = 0, out = 0;
    ret(t, "O_APPEND destination", t->ops->copy_file_range(s.fd, &in, dapp, &out, 100, 0),
        E(EBADF));
    ret(t, "write-only source", t->ops->copy_file_range(swo, &in, d, &out, 100, 0),
        E(EBADF));
    ret(t, "read-only destination", t->ops->copy_file_range(s.fd, &in, dro, &out, 100, 0),
        E(EBADF));
    field(t, "offsets untouched", "0 0", "%lld %lld", (long long)in, (long long)out);
    uint8_t *dmodel = pattern(t, pg, 3, 0);
    want_file(t, "destination unchanged", d, 0, pg, dmodel);
    want_size(t, "destination size", d, pg);
    unmap(t, s.p, s.len);
    check_file(t, "source after munmap", &s);
}

enum { SF_PIPE, SF_FILE, SF_FILE_OFFSET, SF_MAPPED };

/* sendfile from a file with stores not yet written back: into a pipe (read
 * back), into a regular file no one maps, with the source descriptor's
 * offset (NULL: it moves, a short count at the end), into a mapped file
 * (its mapping shows the bytes). */
static void sc_io_sendfile(struct t *t, intptr_t how)
{
    size_t pg = t->pg;
    struct m s;
    mk_kind(t, &s, K_FILE_SHARED, 4, RW);
    dirty_pages(t, &s, 4);
    poke(&s, pg - 100);
    size_t n = pg + 300;
    off_t off = (off_t)pg - 100;
    if (how == SF_PIPE) {
        int p[2];
        if (pipe(p) != 0)
            stop(t);
        track_fd(t, p[0]);
        track_fd(t, p[1]);
        ret(t, "sendfile into a pipe", t->ops->sendfile(p[1], s.fd, &off, n), N(n));
        field(t, "offset after", N(pg - 100 + n), "%lld", (long long)off);
        field(t, "source fd offset", "0", "%lld", (long long)lseek(s.fd, 0, SEEK_CUR));
        uint8_t *b = alloc(t, n);
        size_t got = 0;
        struct pollfd pf = {p[0], POLLIN, 0};
        while (got < n && poll(&pf, 1, 1000) == 1) {
            ssize_t r = read(p[0], b + got, n - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        field(t, "read from the pipe", N(n), "%zu", got);
        want_bytes(t, "pipe bytes", b, s.file + pg - 100, got);
    } else {
        struct m d;
        if (how == SF_MAPPED) {
            mk(t, &d, (struct spec){.fsize = 2 * pg, .len = 4 * pg, .prot = RW,
                                    .flags = MAP_SHARED, .seed = 3});
            poke(&d, 10); /* under the bytes sent */
        } else {
            memset(&d, 0, sizeof d);
            d.fd = tmp_file(t, 0, SPARSE, d.path);
            d.flags = MAP_PRIVATE;
            d.file = alloc(t, 1);
        }
        if (how == SF_FILE_OFFSET) {
            lseek(s.fd, 3 * (off_t)pg + 50, SEEK_SET);
            ret(t, "sendfile to the end", t->ops->sendfile(d.fd, s.fd, NULL, 2 * pg),
                N(pg - 50));
            field(t, "source fd offset", N(4 * pg), "%lld",
                  (long long)lseek(s.fd, 0, SEEK_CUR));
            ret(t, "sendfile at the end", t->ops->sendfile(d.fd, s.fd, NULL, 100), "0");
            model_resize(t, &d, pg - 50);
            model_pwrite(&d, 0, s.file + 3 * pg + 50, pg - 50);
        } else {
            ret(t, "sendfile into a file", t->ops->sendfile(d.fd, s.fd, &off, n), N(n));
            field(t, "offset after", N(pg - 100 + n), "%lld", (long long)off);
            if (d.fsize < n)
                model_resize(t, &d, n);
            model_pwrite(&d, 0, s.file + pg - 100, n);
        }
        field(t, "destination fd offset", N(how == SF_FILE_OFFSET ? pg - 50 : n), "%lld",
              (long long)lseek(d.fd, 0, SEEK_CUR));
        want_pread(t, "destination (pread)", d.fd, 0, 4 * pg, d.file, (long)d.fsize);
        if (how == SF_MAPPED) {
            model_follow(&d);
            want_bytes(t, "destination mapping", d.p, d.now, readable(t, d.fsize, d.len));
            unmap(t, d.p, d.len);
        }
        want_size(t, "destination size", d.fd, d.fsize);
        want_file(t, "destination (kernel's pread)", d.fd, 0, d.fsize, d.file);
    }
    check_mapping(t, "source mapping", &s);
    unmap(t, s.p, s.len);
    check_file(t, "source after munmap", &s);
}

/* Child of sc_io_close_lock: whether another process holds a write lock
 * on the file: 1 when the parent does, 0 when no one. */
static long long lock_probe_child(void *arg)
{
    const char *path = arg;
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return -errno;
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_GETLK, &l) != 0)
        return -errno;
    if (l.l_type == F_UNLCK)
        return 0;
    return l.l_pid == getppid() ? 1 : 2;
}

/* A process holds an fcntl write lock on a file it maps, stores into and
 * unmaps (HELD: still maps when it closes): usermap's own descriptors of
 * the file must not drop the lock, and a forked child still sees it.
 * Closing the program's descriptor with the call under test releases it. */
static void sc_io_close_lock(struct t *t, intptr_t held)
{
    size_t pg = t->pg;
    char path[512];
    int fd = tmp_file(t, 2 * pg, 1, path);
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    ret(t, "F_SETLK write lock", fcntl(fd, F_SETLK, &l), "0");
    uint8_t *p = want_map(t, "mmap", OK, NULL, 2 * pg, RW, MAP_SHARED, fd, 0);
    p[5] = 0x42;
    p[pg + 5] = 0x43;
    ret(t, "msync", t->ops->msync(p, 2 * pg, MS_SYNC), "0");
    reap(t, "lock while mapped", spawn(t, p, lock_probe_child, path, NULL), V(1));
    if (!held)
        unmap(t, p, 2 * pg);
    reap(t, held ? "lock, still mapped" : "lock after munmap",
         spawn(t, NULL, lock_probe_child, path, NULL), V(1));
    untrack_fd(t, fd);
    ret(t, "close", t->ops->close(fd), "0");
    reap(t, "lock after close", spawn(t, NULL, lock_probe_child, path, NULL), V(0));
    if (held) {
        field(t, "mapped byte after close", "42", "%02x", p[5]);
        unmap(t, p, 2 * pg);
    }
    int rfd = reopen(t, path, O_RDONLY);
    uint8_t *model = pattern(t, 2 * pg, 1, 0);
    model[5] = 0x42;
    model[pg + 5] = 0x43;
    want_file(t, "file", rfd, 0, 2 * pg, model);
}

/* The calls' errors on a file usermap caches (MAPPED: a shared mapping
 * holds a store) or not: the system calls' errno, nothing written. */
static void sc_io_errno(struct t *t, intptr_t mapped)
{
    size_t pg = t->pg;
    struct m m;
    if (mapped) {
        mk_kind(t, &m, K_FILE_SHARED, 2, RW);
        poke(&m, 3);
    } else {
        memset(&m, 0, sizeof m);
        m.fd = tmp_file(t, 2 * pg, 1, m.path);
        m.fsize = 2 * pg;
        m.file = pattern(t, 2 * pg, 1, 0);
    }
    int wo = reopen(t, m.path, O_WRONLY), ro = reopen(t, m.path, O_RDONLY);
    int dir = reopen(t, t->dir, O_RDONLY | O_DIRECTORY);
    int p[2];
    if (pipe(p) != 0)
        stop(t);
    track_fd(t, p[0]);
    track_fd(t, p[1]);
    int badfd = 999;
    if (fcntl(badfd, F_GETFD) != -1) {
        bad(t, "harness: fd 999 is open");
        stop(t);
    }
    uint8_t *b = alloc(t, 2 * pg);
    memset(b, 0xee, 2 * pg);
    struct iovec iov[1] = {{b, 10}};
    off_t o = 0;
    ret(t, "pread write-only fd", t->ops->pread(wo, b, 10, 0), E(EBADF));
    ret(t, "read write-only fd", t->ops->read(wo, b, 10), E(EBADF));
    ret(t, "preadv write-only fd", t->ops->preadv(wo, iov, 1, 0), E(EBADF));
    ret(t, "pread offset -1", t->ops->pread(m.fd, b, 10, -1), E(EINVAL));
    ret(t, "preadv offset -1", t->ops->preadv(m.fd, iov, 1, -1), E(EINVAL));
    ret(t, "pwrite read-only fd", t->ops->pwrite(ro, b, 10, 0), E(EBADF));
    ret(t, "write read-only fd", t->ops->write(ro, b, 10), E(EBADF));
    ret(t, "pwritev read-only fd", t->ops->pwritev(ro, iov, 1, 0), E(EBADF));
    ret(t, "pwrite offset -5", t->ops->pwrite(m.fd, b, 10, -5), E(EINVAL));
    ret(t, "readv iovcnt -1", t->ops->readv(m.fd, iov, -1), E(EINVAL));
    ret(t, "writev iovcnt -1", t->ops->writev(m.fd, iov, -1), E(EINVAL));
    ret(t, "preadv iovcnt IOV_MAX+1", t->ops->preadv(m.fd, iov, IOV_MAX + 1, 0),
        E(EINVAL));
    ret(t, "pread fd 999", t->ops->pread(badfd, b, 10, 0), E(EBADF));
    ret(t, "write fd 999", t->ops->write(badfd, b, 10), E(EBADF));
    ret(t, "pread a directory", t->ops->pread(dir, b, 10, 0), E(EISDIR));
    ret(t, "pread a pipe", t->ops->pread(p[0], b, 10, 0), E(ESPIPE));
    ret(t, "pwrite a pipe", t->ops->pwrite(p[1], b, 10, 0), E(ESPIPE));
    ret(t, "fsync fd 999", t->ops->fsync(badfd), E(EBADF));
    ret(t, "fdatasync fd 999", t->ops->fdatasync(badfd), E(EBADF));
    ret(t, "sync_file_range bad flags", t->ops->sync_file_range(m.fd, 0, 0, 0x100),
        E(EINVAL));
    ret(t, "sync_file_range offset -1", t->ops->sync_file_range(m.fd, -1, 0, 0),
        E(EINVAL));
    ret(t, "ftruncate read-only fd", t->ops->ftruncate(ro, 0), E(EINVAL));
    ret(t, "ftruncate -1", t->ops->ftruncate(m.fd, -1), E(EINVAL));
    ret(t, "fallocate read-only fd", t->ops->fallocate(ro, 0, 0, (off_t)pg), E(EBADF));
    ret(t, "fallocate len 0", t->ops->fallocate(m.fd, 0, 0, 0), E(EINVAL));
    ret(t, "fallocate unknown mode", t->ops->fallocate(m.fd, 0x4000, 0, (off_t)pg),
        E(EOPNOTSUPP));
    ret(t, "fallocate punch without keep", t->ops->fallocate(m.fd, FALLOC_FL_PUNCH_HOLE,
                                                             0, (off_t)pg), E(EOPNOTSUPP));
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no-such-file", t->dir);
    ret(t, "truncate missing path", t->ops->truncate(missing, 0), E(ENOENT));
    ret(t, "truncate a directory", t->ops->truncate(t->dir, 0), E(EISDIR));
    ret(t, "sendfile to read-only fd", t->ops->sendfile(ro, m.fd, &o, 10), E(EBADF));
    ret(t, "sendfile from write-only fd", t->ops->sendfile(p[1], wo, &o, 10), E(EBADF));
    ret(t, "close fd 999", t->ops->close(badfd), E(EBADF));
    field(t, "offset", "0", "%lld", (long long)o);
    field(t, "buffer untouched", "ee", "%02x", b[0]);
    want_pread(t, "pread", m.fd, 0, 2 * pg, m.file, (long)(2 * pg));
    if (mapped)
        unmap(t, m.p, m.len);
    check_file(t, "file", &m);
}

/* Child of sc_io_other_process: write 5 bytes "CHILD" at OFF through the
 * call under test, on a descriptor of its own; report the count. */
struct write_args {
    const struct hr_ops *ops;
    const char *path;
    off_t off;
};

static long long write_file_child(void *arg)
{
    struct write_args *a = arg;
    int fd = open(a->path, O_RDWR);
    if (fd < 0)
        return -errno;
    ssize_t n = a->ops->pwrite(fd, "CHILD", 5, a->off);
    return n < 0 ? -errno : n;
}

/* The conformance binary itself, run again as an unrelated process (no
 * fork of the side: a fresh exec, which joins usermap's cache of the file
 * only through the shared cache).  "--io-helper SIDE pread PATH OFF LEN"
 * prints the count and the hash read_file_child reports; "--io-helper
 * SIDE pwrite PATH OFF" writes "OTHER" there and prints the count.  SIDE
 * is the name of the table of calls (kernel or usermap). */
static int io_helper(int argc, char **argv)
{
    if (argc != 6 && argc != 7)
        return 2;
    const struct hr_ops *ops =
        strcmp(argv[2], hr_usermap_ops.name) == 0 ? &hr_usermap_ops : &hr_kernel_ops;
    alarm(HR_CHILD_TIMEOUT); /* a hang in the library ends here */
    int fd = open(argv[4], O_RDWR);
    if (fd < 0) {
        printf("open: %s\n", hr_errname(errno));
        return 1;
    }
    off_t off = (off_t)strtoll(argv[5], NULL, 10);
    if (strcmp(argv[3], "pwrite") == 0) {
        ssize_t n = ops->pwrite(fd, "OTHER", 5, off);
        if (n < 0)
            printf("%zd %s\n", n, hr_errname(errno));
        else
            printf("%zd\n", n);
    } else {
        size_t len = (size_t)strtoull(argv[6], NULL, 10);
        uint8_t *b = malloc(len ? len : 1);
        ssize_t n = b ? ops->pread(fd, b, len, off) : -1;
        if (n < 0)
            printf("%zd %s\n", n, hr_errname(errno));
        else
            printf("%zd %lld\n", n, model_hash(b, (size_t)n));
        free(b);
    }
    fflush(stdout);
    ops->close(fd);
    return 0;
}

/* Run the helper with ARGS (after "--io-helper SIDE"); its one line of
 * output is the field KEY, which must be WANT. */
static void run_helper(struct t *t, const char *key, const char *want,
                       const char *op, const char *path, long long off, long long len)
{
    int p[2];
    if (pipe(p) != 0) {
        bad(t, "harness: pipe: %s", strerror(errno));
        stop(t);
    }
    char so[32], sl[32];
    snprintf(so, sizeof so, "%lld", off);
    snprintf(sl, sizeof sl, "%lld", len);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execl("/proc/self/exe", "conformance", "--io-helper", t->ops->name, op, path,
              so, strcmp(op, "pread") == 0 ? sl : NULL, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char line[160] = "";
    size_t got = 0;
    struct pollfd pf = {p[0], POLLIN, 0};
    while (got < sizeof line - 1 && poll(&pf, 1, (HR_CHILD_TIMEOUT + 2) * 1000) == 1) {
        ssize_t r = read(p[0], line + got, sizeof line - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    line[got] = 0;
    close(p[0]);
    char *nl = strchr(line, '\n');
    if (nl)
        *nl = 0;
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        st = -1;
    char status[64];
    hr_fmt_status(status, sizeof status, st, " (timed out)");
    field(t, key, want, "%s, %s", line, status);
}

enum { OP_FORK, OP_EXEC };

/* While this process holds stores not yet written back in a shared
 * mapping, another process that maps nothing reads the file with the call
 * under test and sees them (a forked child, or an unrelated process: this
 * binary exec'd again); it writes to the file with the call under test and
 * the mapping here shows that at once. */
static void sc_io_other_process(struct t *t, intptr_t how)
{
    size_t pg = t->pg;
    struct m m;
    mk_kind(t, &m, K_FILE_SHARED, 3, RW);
    dirty_pages(t, &m, 3);
    poke(&m, 3 * pg - 1);
    if (how == OP_FORK) {
        struct read_args ra = {t->ops, m.path, 0, 3 * pg};
        reap(t, "child's pread", spawn(t, m.p, read_file_child, &ra, NULL),
             V(model_hash(m.file, 3 * pg)));
        struct write_args wa = {t->ops, m.path, (off_t)pg + 100};
        reap(t, "child's pwrite", spawn(t, m.p, write_file_child, &wa, NULL), V(5));
        model_pwrite(&m, pg + 100, (const uint8_t *)"CHILD", 5);
    } else {
        char want[96];
        snprintf(want, sizeof want, "%zu %lld, exit 0", 3 * pg,
                 model_hash(m.file, 3 * pg));
        run_helper(t, "other process's pread", want, "pread", m.path, 0,
                   (long long)(3 * pg));
        run_helper(t, "other process's pwrite", "5, exit 0", "pwrite", m.path,
                   (long long)pg + 100, 0);
        model_pwrite(&m, pg + 100, (const uint8_t *)"OTHER", 5);
    }
    field(t, "mapping at page 1 + 100", how == OP_FORK ? "CHILD" : "OTHER", "%.5s",
          (const char *)m.p + pg + 100);
    check_mapping(t, "mapping", &m);
    unmap(t, m.p, m.len);
    check_file(t, "file after munmap", &m);
}

/* ================================================================== */
/* The table                                                           */

typedef void (*scenario_fn)(struct t *, intptr_t);

struct scenario {
    const char *name;
    scenario_fn fn;
    intptr_t arg;
    int usermap_only;
    int needs_free_holes;   /* expects a range it unmapped to stay unmapped */
    const char *env;        /* "NAME=VALUE" set in each side's process before
                             * its first usermap call (NULL: none) */
};

#define S(name, fn, arg) {name, fn, (intptr_t)(arg), 0, 0, NULL}
#define U(name, fn) {name, fn, 0, 1, 0, NULL}
/* A scenario that unmaps a range and then expects the address space there
 * to stay empty (SIGSEGV on access, ENOMEM from msync, MAP_FIXED_NOREPLACE
 * succeeding).  Under AddressSanitizer that cannot hold: its runtime maps
 * its own bookkeeping wherever the kernel finds room, holes included (for
 * instance for the threads the library starts in a forked child).  Such
 * scenarios are reported as skipped in sanitizer builds only. */
#define S_HOLE(name, fn, arg) {name, fn, (intptr_t)(arg), 0, 1, NULL}
/* A scenario run with one more variable in the environment of both sides
 * (the kernel's side ignores it), e.g. a memory limit. */
#define S_ENV(name, fn, arg, env) {name, fn, (intptr_t)(arg), 0, 0, env}

static const struct scenario scenarios[] = {
    /* kinds */
    S("kind_file_private", sc_kind, K_FILE_PRIVATE),
    S("kind_file_shared", sc_kind, K_FILE_SHARED),
    S("kind_anon_private", sc_kind, K_ANON_PRIVATE),
    S("kind_anon_shared", sc_kind, K_ANON_SHARED),
    S("flags_no_type_file", sc_bad_type, 0),
    S("flags_no_type_anon", sc_bad_type, MAP_ANONYMOUS),
    S("flags_type_0x0f_file", sc_bad_type, 0x0f),
    S("flags_type_0x0f_anon", sc_bad_type, 0x0f | MAP_ANONYMOUS),
    S("flags_type_0x04_file", sc_bad_type, 0x04),
    S("shared_validate_file", sc_shared_validate, 0),
    S("shared_validate_anon", sc_shared_validate_anon, 0),
    S("shared_validate_unknown_flag", sc_shared_validate_unknown, 0x200000),
    S("shared_validate_map_sync", sc_shared_validate_unknown, MAP_SYNC),
    S_HOLE("fixed_in_own_reservation", sc_fixed, 0),
    S("fixed_in_kernel_reservation", sc_fixed, 1),
    S("fixed_anon_replaces_middle_page", sc_fixed_replace_middle, 0),
    S("fixed_file_replaces_middle_page", sc_fixed_replace_middle, 1),
    S("fixed_noreplace_over_own", sc_fixed_noreplace, NR_OWN),
    S("fixed_noreplace_over_kernel", sc_fixed_noreplace, NR_KERNEL),
    S_HOLE("fixed_noreplace_free", sc_fixed_noreplace, NR_FREE),
    S("flag_populate", sc_extra_flag, MAP_POPULATE),
    S("flag_noreserve", sc_extra_flag, MAP_NORESERVE),
    S("flag_locked", sc_extra_flag, MAP_LOCKED),
    /* arguments */
    S("len_zero_file", sc_len_zero, 0),
    S("len_zero_anon", sc_len_zero, 1),
    S("unaligned_offset_file", sc_unaligned_offset, 0),
    S("unaligned_offset_anon", sc_unaligned_offset, 1),
    S("unaligned_fixed_address", sc_unaligned_fixed, 0),
    S("unaligned_hint_address", sc_unaligned_hint, 0),
    S("bad_fd_999", sc_bad_fd, 999),
    S("bad_fd_minus_1", sc_bad_fd, -1),
    S("anon_ignores_fd_and_offset", sc_anon_ignores_fd, 0),
    S("wronly_fd_private", sc_wronly, MAP_PRIVATE),
    S("wronly_fd_shared", sc_wronly, MAP_SHARED),
    S("rdonly_fd_shared", sc_rdonly, MAP_SHARED),
    S("rdonly_fd_private_write", sc_rdonly, MAP_PRIVATE),
    S("pipe_enodev", sc_special_fd, SP_PIPE),
    S("pipe_write_end_eacces", sc_special_fd, SP_PIPE_WRITE_END),
    S("socket_enodev", sc_special_fd, SP_SOCKET),
    S("directory_enodev", sc_special_fd, SP_DIRECTORY),
    S("dev_zero_private", sc_dev_zero, MAP_PRIVATE),
    S("dev_zero_shared", sc_dev_zero, MAP_SHARED),
    S("huge_len_file", sc_huge_len, 0),
    S("huge_len_anon", sc_huge_len, 1),
    S("offset_overflow", sc_offset_overflow, 0),
    S("offset_far_past_eof", sc_offset_far, 0),
    S("offset_3_pages_private", sc_offset, MAP_PRIVATE),
    S("offset_3_pages_shared", sc_offset, MAP_SHARED),
    S_HOLE("unaligned_lengths", sc_unaligned_lengths, 0),
    S("anon_large_16g", sc_anon_large, 0),
    /* protection */
    S("prot_read_write_file_private", sc_prot_read_write, K_FILE_PRIVATE),
    S("prot_read_write_file_shared", sc_prot_read_write, K_FILE_SHARED),
    S("prot_read_write_anon_private", sc_prot_read_write, K_ANON_PRIVATE),
    S("prot_read_write_anon_shared", sc_prot_read_write, K_ANON_SHARED),
    S("prot_none_file_shared", sc_prot_none, K_FILE_SHARED),
    S("prot_none_anon_private", sc_prot_none, K_ANON_PRIVATE),
    S("mprotect_write_file_shared", sc_mprotect_write, K_FILE_SHARED),
    S("mprotect_write_file_private", sc_mprotect_write, K_FILE_PRIVATE),
    S("mprotect_write_anon_private", sc_mprotect_write, K_ANON_PRIVATE),
    S("mprotect_rdonly_fd_shared", sc_mprotect_rdonly_fd, MAP_SHARED),
    S("mprotect_rdonly_fd_private", sc_mprotect_rdonly_fd, MAP_PRIVATE),
    S("mprotect_middle_page_shared", sc_mprotect_partial, MAP_SHARED),
    S("mprotect_middle_page_private", sc_mprotect_partial, MAP_PRIVATE),
    S("mprotect_errors", sc_mprotect_errors, 0),
    S("prot_exec", sc_prot_exec, 0),
    S("prot_write_only", sc_prot_write_only, 0),
    S("mprotect_read_after_write", sc_mprotect_after_write, PROT_READ),
    S("mprotect_none_after_write", sc_mprotect_after_write, PROT_NONE),
    /* private */
    S("private_cow_never_reaches_file", sc_private_cow, 0),
    S("private_two_mappings", sc_private_two_maps, 0),
    S("private_fork_snapshot_file", sc_private_fork, K_FILE_PRIVATE),
    S("private_fork_snapshot_anon", sc_private_fork, K_ANON_PRIVATE),
    /* shared */
    S("shared_msync_sync", sc_shared_msync, MS_SYNC),
    S("shared_msync_async", sc_shared_msync, MS_ASYNC),
    S("shared_msync_sync_invalidate", sc_shared_msync, MS_SYNC | MS_INVALIDATE),
    S("shared_msync_part", sc_shared_msync_part, 0),
    S("shared_child_munmap_exit", sc_shared_child_exit, CE_MUNMAP_EXIT),
    S("shared_child_exit", sc_shared_child_exit, CE_EXIT),
    S("shared_child_writes_parent_mapping", sc_shared_child_exit, CE_PARENT_MAPPING),
    S("shared_two_mappings_same_fd", sc_shared_two_maps, 0),
    S("shared_two_mappings_two_fds", sc_shared_two_maps, 1),
    S("shared_fork_anon", sc_shared_fork, K_ANON_SHARED),
    S("shared_fork_file", sc_shared_fork, K_FILE_SHARED),
    S("shared_child_maps_same_file", sc_shared_child_maps_file, 0),
    S("shared_child_own_mapping_underscore_exit", sc_shared_child_own_mapping, 0),
    S("private_sees_shared_writes_until_cow", sc_private_sees_shared, 0),
    S("shared_write_after_msync_sync", sc_shared_write_after_msync, MS_SYNC),
    S("shared_write_after_msync_async", sc_shared_write_after_msync, MS_ASYNC),
    S_HOLE("two_files_adjacent", sc_two_files_adjacent, 0),
    S("shared_many_pages", sc_shared_many_pages, 300),
    /* end of file */
    S("eof_partial_page_private", sc_eof_partial, MAP_PRIVATE),
    S("eof_partial_page_shared", sc_eof_partial, MAP_SHARED),
    S("eof_write_past_munmap", sc_eof_write_past, 0),
    S("eof_write_past_msync", sc_eof_write_past, 1),
    S("eof_sigbus_shared_read", sc_eof_sigbus, EOF_SHARED),
    S("eof_sigbus_shared_write", sc_eof_sigbus, EOF_SHARED | EOF_WRITE),
    S("eof_sigbus_private_read", sc_eof_sigbus, 0),
    S("eof_sigbus_private_write", sc_eof_sigbus, EOF_WRITE),
    S("eof_sigbus_empty_file", sc_eof_sigbus, EOF_SHARED | EOF_EMPTY),
    /* lifetime */
    S("outlives_close_shared", sc_outlives_close, MAP_SHARED),
    S("outlives_close_private", sc_outlives_close, MAP_PRIVATE),
    S("outlives_unlink", sc_outlives_unlink, 0),
    S_HOLE("munmap_split_first", sc_munmap_split, 0),
    S_HOLE("munmap_split_middle", sc_munmap_split, 1),
    S_HOLE("munmap_split_last", sc_munmap_split, 2),
    S("munmap_unmapped_range", sc_munmap_unmapped, 0),
    S_HOLE("access_after_munmap_file", sc_after_munmap, K_FILE_SHARED),
    S_HOLE("access_after_munmap_anon", sc_after_munmap, K_ANON_PRIVATE),
    S("munmap_errors", sc_munmap_errors, 0),
    /* msync */
    S("msync_einval", sc_msync_einval, 0),
    S_HOLE("msync_enomem", sc_msync_enomem, 0),
    S("msync_invalidate_shared_ro", sc_msync_invalidate, INV_SHARED_RO),
    S("msync_invalidate_shared_rw", sc_msync_invalidate, INV_SHARED_RW),
    S("msync_invalidate_private_ro", sc_msync_invalidate, INV_PRIVATE_RO),
    S("msync_invalidate_keeps_dirty", sc_msync_invalidate_dirty, 0),
    S("msync_anon_private", sc_msync_anon, K_ANON_PRIVATE),
    S("msync_anon_shared", sc_msync_anon, K_ANON_SHARED),
    /* madvise */
    S("dontneed_file_private", sc_dontneed, K_FILE_PRIVATE),
    S("dontneed_file_shared", sc_dontneed, K_FILE_SHARED),
    S("dontneed_anon_private", sc_dontneed, K_ANON_PRIVATE),
    S("dontneed_anon_shared", sc_dontneed, K_ANON_SHARED),
    S("madvise_willneed", sc_madvise_hint, MADV_WILLNEED),
    S("madvise_sequential", sc_madvise_hint, MADV_SEQUENTIAL),
    S("madvise_random", sc_madvise_hint, MADV_RANDOM),
    S("madvise_normal", sc_madvise_hint, MADV_NORMAL),
    S("madvise_errors", sc_madvise_errors, 0),
    /* the kernel touching mapped memory */
    S("write_from_file_private", sc_write_from_map, K_FILE_PRIVATE),
    S("write_from_file_shared", sc_write_from_map, K_FILE_SHARED),
    S("write_from_anon_private", sc_write_from_map, K_ANON_PRIVATE),
    S("read_into_file_private", sc_read_into_map, K_FILE_PRIVATE),
    S("read_into_file_shared", sc_read_into_map, K_FILE_SHARED),
    S("read_into_anon_private", sc_read_into_map, K_ANON_PRIVATE),
    S("read_into_anon_shared", sc_read_into_map, K_ANON_SHARED),
    S("syscall_past_eof_shared", sc_syscall_past_eof, MAP_SHARED),
    S("syscall_past_eof_private", sc_syscall_past_eof, MAP_PRIVATE),
    S("syscall_forbidden_file_shared", sc_syscall_forbidden, K_FILE_SHARED),
    S("syscall_forbidden_anon_private", sc_syscall_forbidden, K_ANON_PRIVATE),
    /* large */
    /* mremap */
    S_HOLE("mremap_grow_in_place_file_private", sc_mremap_grow_in_place, K_FILE_PRIVATE),
    S_HOLE("mremap_grow_in_place_file_shared", sc_mremap_grow_in_place, K_FILE_SHARED),
    S_HOLE("mremap_grow_in_place_anon_private", sc_mremap_grow_in_place, K_ANON_PRIVATE),
    S_HOLE("mremap_grow_in_place_anon_shared", sc_mremap_grow_in_place, K_ANON_SHARED),
    S("mremap_grow_moves_file_private", sc_mremap_grow_moves, K_FILE_PRIVATE),
    S("mremap_grow_moves_file_shared", sc_mremap_grow_moves, K_FILE_SHARED),
    S("mremap_grow_moves_anon_private", sc_mremap_grow_moves, K_ANON_PRIVATE),
    S("mremap_grow_moves_anon_shared", sc_mremap_grow_moves, K_ANON_SHARED),
    S("mremap_shrink_file_private", sc_mremap_shrink, K_FILE_PRIVATE),
    S("mremap_shrink_file_shared", sc_mremap_shrink, K_FILE_SHARED),
    S("mremap_shrink_anon_private", sc_mremap_shrink, K_ANON_PRIVATE),
    S("mremap_shrink_anon_shared", sc_mremap_shrink, K_ANON_SHARED),
    S("mremap_fixed_file_private", sc_mremap_fixed, K_FILE_PRIVATE),
    S("mremap_fixed_grow_file_private", sc_mremap_fixed, K_FILE_PRIVATE | FX_GROW),
    S("mremap_fixed_shrink_file_private", sc_mremap_fixed, K_FILE_PRIVATE | FX_SHRINK),
    S("mremap_fixed_file_shared", sc_mremap_fixed, K_FILE_SHARED),
    S("mremap_fixed_grow_file_shared", sc_mremap_fixed, K_FILE_SHARED | FX_GROW),
    S("mremap_fixed_shrink_file_shared", sc_mremap_fixed, K_FILE_SHARED | FX_SHRINK),
    S("mremap_fixed_anon_private", sc_mremap_fixed, K_ANON_PRIVATE),
    S("mremap_fixed_grow_anon_private", sc_mremap_fixed, K_ANON_PRIVATE | FX_GROW),
    S("mremap_fixed_shrink_anon_private", sc_mremap_fixed, K_ANON_PRIVATE | FX_SHRINK),
    S("mremap_fixed_anon_shared", sc_mremap_fixed, K_ANON_SHARED),
    S("mremap_fixed_grow_anon_shared", sc_mremap_fixed, K_ANON_SHARED | FX_GROW),
    S("mremap_fixed_shrink_anon_shared", sc_mremap_fixed, K_ANON_SHARED | FX_SHRINK),
    S("mremap_dontunmap_file_private", sc_mremap_dontunmap, K_FILE_PRIVATE),
    S("mremap_dontunmap_file_shared", sc_mremap_dontunmap, K_FILE_SHARED),
    S("mremap_dontunmap_anon_private", sc_mremap_dontunmap, K_ANON_PRIVATE),
    S("mremap_dontunmap_anon_shared", sc_mremap_dontunmap, K_ANON_SHARED),
    S("mremap_duplicate_file_shared", sc_mremap_duplicate, K_FILE_SHARED),
    S("mremap_duplicate_anon_shared", sc_mremap_duplicate, K_ANON_SHARED),
    S("mremap_file_grew_shared", sc_mremap_file_grew, MAP_SHARED),
    S("mremap_file_grew_private", sc_mremap_file_grew, MAP_PRIVATE),
    S("mremap_past_eof_shared", sc_mremap_past_eof, MAP_SHARED),
    S("mremap_past_eof_private", sc_mremap_past_eof, MAP_PRIVATE),
    S("mremap_shared_visible_at_new_address", sc_mremap_shared_visible, 0),
    S("mremap_kernel_mapping", sc_mremap_foreign, 0),
    S("mremap_errors", sc_mremap_errors, 0),
    S("sparse_64g_shared", sc_sparse_64g, 0),
    /* errno order: matrices of argument combinations */
    /* integrity (issue 7) */
    S("integrity_fork_exit_then_pwrite", sc_fork_then_pwrite, 0),
    S("integrity_fork_exit_then_pwrite_dirty", sc_fork_then_pwrite, 1),
    S_ENV("integrity_fork_exit_then_pwrite_budget_256k", sc_fork_then_pwrite, 1,
          "USERMAP_MEMORY_LIMIT=256K"),
    S("integrity_child_stores_underscore_exit_parent_msyncs", sc_child_stores,
      CS_UNDERSCORE_EXIT),
    S("integrity_child_stores_exit_parent_msyncs", sc_child_stores, CS_EXIT),
    S("integrity_msync_pwrite_invalidate", sc_msync_pwrite_invalidate, 0),
    S_ENV("integrity_msync_pwrite_invalidate_budget_256k", sc_msync_pwrite_invalidate,
          0, "USERMAP_MEMORY_LIMIT=256K"),
    S("integrity_truncate_dirty_page", sc_truncate_dirty, 0),
    S_ENV("integrity_truncate_dirty_page_budget_256k", sc_truncate_dirty, 0,
          "USERMAP_MEMORY_LIMIT=256K"),
    S("integrity_truncate_partial_then_grow", sc_truncate_partial_grow, 0),
    S("integrity_mprotect_one_page_anon_private", sc_mprotect_one_page, K_ANON_PRIVATE),
    S("integrity_mprotect_one_page_file_private", sc_mprotect_one_page, K_FILE_PRIVATE),
    S("integrity_mprotect_one_page_file_shared", sc_mprotect_one_page, K_FILE_SHARED),
    S("errno_mmap_null", sc_mmap_matrix, MA_NULL),
    S("errno_mmap_hint_unaligned", sc_mmap_matrix, MA_HINT_UNALIGNED),
    S("errno_mmap_fixed", sc_mmap_matrix, MA_FIXED),
    S("errno_mmap_fixed_unaligned", sc_mmap_matrix, MA_FIXED_UNALIGNED),
    S("errno_mmap_noreplace_own", sc_mmap_matrix, MA_NOREPLACE_OWN),
    S("errno_mmap_noreplace_kernel", sc_mmap_matrix, MA_NOREPLACE_KERNEL),
    S("errno_mmap_noreplace_unaligned", sc_mmap_matrix, MA_NOREPLACE_UNALIGNED),
    S("errno_mmap_noreplace_high", sc_mmap_matrix, MA_NOREPLACE_HIGH),
    S_HOLE("errno_mmap_noreplace_free", sc_mmap_matrix, MA_NOREPLACE_FREE),
    S_HOLE("errno_munmap", sc_munmap_matrix, 0),
    S_HOLE("errno_mprotect", sc_mprotect_matrix, 0),
    S_HOLE("errno_mprotect_applies_before_failing", sc_mprotect_partial_apply, 0),
    S_HOLE("errno_msync", sc_msync_matrix, 0),
    S_HOLE("errno_madvise", sc_madvise_matrix, 0),
    /* file I/O that sees the mappings (issue 9) */
    S("io_pread_unsynced", sc_io_pread_unsynced, 0),
    S("io_read_readv_offset", sc_io_read_offset, 0),
    S("io_preadv_buffers", sc_io_preadv, 0),
    S("io_pwrite_shared_private_second", sc_io_pwrite_views, 0),
    /* Fail on c9c7b64 (src/cache/cache.c cache_resize): um_pwrite past EOF
     * clears the old page's whole tail, the kernel only [old end, write). */
    S("io_pwrite_past_eof_short", sc_io_pwrite_grows, GROW_SHORT),
    S("io_pwrite_past_eof_over_tail", sc_io_pwrite_grows, GROW_OVER),
    S("io_pwrite_past_eof_hole", sc_io_pwrite_grows, GROW_HOLE),
    S("io_pwrite_past_eof_gap_same_page", sc_io_pwrite_grows, GROW_GAP),
    S("io_ftruncate_grow_old_tail", sc_io_grow_tail, TG_FTRUNCATE),
    S("io_truncate_grow_old_tail", sc_io_grow_tail, TG_TRUNCATE),
    S("io_fallocate_grow_old_tail", sc_io_grow_tail, TG_FALLOCATE),
    S("io_write_o_append", sc_io_append, 0),
    S("io_writev_pwritev", sc_io_writev, 0),
    S("io_buffer_same_file", sc_io_buffer, BUF_SAME),
    S("io_buffer_other_file_shared", sc_io_buffer, BUF_OTHER_SHARED),
    S("io_buffer_other_file_private", sc_io_buffer, BUF_OTHER_PRIVATE),
    S("io_buffer_anon_private", sc_io_buffer, BUF_ANON_PRIVATE),
    S("io_buffer_anon_shared", sc_io_buffer, BUF_ANON_SHARED),
    S("io_buffer_prot_none_anon", sc_io_buffer_prot_none, K_ANON_PRIVATE),
    S("io_buffer_prot_none_file", sc_io_buffer_prot_none, K_FILE_SHARED),
    S("io_buffer_past_eof", sc_io_buffer_past_eof, 0),
    S("io_truncate_two_mappings", sc_io_truncate_two_maps, 0),
    S("io_fallocate_punch_hole", sc_io_fallocate, FA_PUNCH),
    S("io_fallocate_punch_partial_page", sc_io_fallocate, FA_PUNCH_PARTIAL),
    S("io_fallocate_zero_range", sc_io_fallocate, FA_ZERO),
    S("io_fallocate_zero_range_grows", sc_io_fallocate, FA_ZERO_GROW),
    S("io_fallocate_collapse_range", sc_io_fallocate, FA_COLLAPSE),
    S("io_fallocate_insert_range", sc_io_fallocate, FA_INSERT),
    S("io_fallocate_grows", sc_io_fallocate, FA_GROW),
    S("io_fallocate_keep_size", sc_io_fallocate, FA_KEEP_SIZE),
    S("io_fsync", sc_io_sync, SY_FSYNC),
    S("io_fdatasync", sc_io_sync, SY_FDATASYNC),
    S("io_sync_file_range_all", sc_io_sync, SY_RANGE_ALL),
    S("io_sync_file_range_part", sc_io_sync, SY_RANGE_PART),
    S("io_copy_file_range_to_plain", sc_io_copy_file_range, CF_TO_PLAIN),
    S("io_copy_file_range_to_mapped", sc_io_copy_file_range, CF_TO_MAPPED),
    S("io_copy_file_range_file_offsets", sc_io_copy_file_range, CF_FILE_OFFSETS),
    S("io_copy_file_range_same_file", sc_io_copy_file_range, CF_SAME_FILE),
    S("io_copy_file_range_errors", sc_io_copy_errors, 0),
    S("io_sendfile_pipe", sc_io_sendfile, SF_PIPE),
    S("io_sendfile_file", sc_io_sendfile, SF_FILE),
    S("io_sendfile_file_offset", sc_io_sendfile, SF_FILE_OFFSET),
    S("io_sendfile_mapped_file", sc_io_sendfile, SF_MAPPED),
    S("io_close_keeps_lock_after_munmap", sc_io_close_lock, 0),
    S("io_close_keeps_lock_while_mapped", sc_io_close_lock, 1),
    S("io_errno_mapped", sc_io_errno, 1),
    S("io_errno_unmapped", sc_io_errno, 0),
    S("io_other_process_forked", sc_io_other_process, OP_FORK),
    S("io_other_process_exec", sc_io_other_process, OP_EXEC),
    /* usermap-only */
    U("usermap_only_stats_lazy_1g", um_stats_lazy),
    U("usermap_only_stats_counts", um_stats_counts),
    U("usermap_only_error_messages", um_error_messages),
    U("usermap_only_memory_limit", um_memory_limit),
};

#define NSCENARIOS (sizeof scenarios / sizeof scenarios[0])

/* ================================================================== */
/* The runner                                                          */

static size_t g_pg;
static char g_dir[512];
static struct hr_args g_args;

static void clean_dir(void)
{
    DIR *d = opendir(g_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

struct side {
    const struct scenario *s;
    const struct hr_ops *ops;
    struct hr_outcome *o;
};

/* In the side's process: the scenario, given up at a stop(). */
static void side_main(void *arg)
{
    struct side *sd = arg;
    static struct t t; /* static: survives longjmp untouched */
    memset(&t, 0, sizeof t);
    t.ops = sd->ops;
    t.o = sd->o;
    t.pg = g_pg;
    t.dir = g_dir;
    if (setjmp(t.stop) == 0)
        sd->s->fn(&t, sd->s->arg);
    cleanup(&t);
}

/* Run one side of a scenario in its own process; STATUS is how it ended. */
static void run_side(const struct scenario *s, const struct hr_ops *ops,
                     struct hr_outcome *o, char *status, size_t n)
{
    struct side sd = {s, ops, o};
    struct hr_proc proc = {SIDE_TIMEOUT, s->env, " (timed out)", 0};
    memset(o, 0, sizeof *o);
    hr_run_proc(o, side_main, &sd, &proc, status, n);
    clean_dir();
}

/* What went wrong with one side on its own ("" if nothing). */
static void side_problems(const struct hr_outcome *o, const char *status,
                          char *out, size_t n)
{
    out[0] = 0;
    if (strcmp(status, "exit 0") != 0 || !o->done)
        snprintf(out, n, "process %s%s", status, o->done ? "" : " before the end");
    else if (o->dropped)
        snprintf(out, n, "harness: %d fields dropped", o->dropped);
    if (o->bad[0])
        hr_append(out, n, "expectations: %s", o->bad);
}

static void dump(const char *side, const struct hr_outcome *o)
{
    if (g_args.verbose)
        hr_dump(side, o, 40);
}

static int run_scenario(const struct scenario *s, struct hr_outcome *ko,
                        struct hr_outcome *uo, int kernel_only)
{
    char kst[64], ust[64], kp[1400], up[1400], msg[4096];
    msg[0] = 0;
    if (s->usermap_only) {
        run_side(s, &hr_usermap_ops, uo, ust, sizeof ust);
        side_problems(uo, ust, up, sizeof up);
        dump("usermap", uo);
        if (up[0])
            printf("FAIL %s (usermap-only): %s\n", s->name, up);
        else
            printf("ok %s (usermap-only)\n", s->name);
        return up[0] == 0;
    }
    run_side(s, &hr_kernel_ops, ko, kst, sizeof kst);
    side_problems(ko, kst, kp, sizeof kp);
    /* The reference itself went wrong (seen once in errno_mmap_fixed: the
     * kernel's side killed by SIGSEGV after a MAP_FIXED of MAP_DROPPABLE
     * memory failed past unmapping its target): run it again, once, and
     * say so; a reference that goes wrong twice fails the scenario. */
    if (kp[0] && !kernel_only) {
        printf("note %s: the kernel side went wrong (%s); running it again\n", s->name, kp);
        run_side(s, &hr_kernel_ops, ko, kst, sizeof kst);
        side_problems(ko, kst, kp, sizeof kp);
    }
    dump("kernel", ko);
    if (kernel_only) {
        if (kp[0])
            printf("FAIL %s: kernel %s\n", s->name, kp);
        else
            printf("ok %s (kernel)\n", s->name);
        return kp[0] == 0;
    }
    run_side(s, &hr_usermap_ops, uo, ust, sizeof ust);
    side_problems(uo, ust, up, sizeof up);
    dump("usermap", uo);
    if (kp[0])
        snprintf(msg, sizeof msg, "kernel side (the test's expectation is wrong): %s; ",
                 kp);
    int ndiff = hr_diff_fields(ko, uo, msg, sizeof msg);
    if (strcmp(kst, ust) != 0) {
        hr_append(msg, sizeof msg, "[process] kernel=%s usermap=%s", kst, ust);
        ndiff++;
    }
    if (!kp[0] && !ndiff && up[0]) /* cannot normally happen */
        hr_append(msg, sizeof msg, "usermap side: %s", up);
    if (msg[0])
        printf("FAIL %s: %s\n", s->name, msg);
    else
        printf("ok %s\n", s->name);
    return msg[0] == 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--io-helper") == 0)
        return io_helper(argc, argv);
    if (hr_parse_args(argc, argv, &g_args) != 0)
        return 2;
    if (g_args.list) {
        for (size_t i = 0; i < NSCENARIOS; i++)
            if (hr_selected(&g_args, scenarios[i].name))
                printf("%s\n", scenarios[i].name);
        return 0;
    }

    g_pg = (size_t)sysconf(_SC_PAGESIZE);
    struct hr_outcome *o;
    if (hr_start("conformance", g_dir, sizeof g_dir, &o) != 0)
        return 2;

    int passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < NSCENARIOS; i++) {
        const struct scenario *s = &scenarios[i];
        if (!hr_selected(&g_args, s->name))
            continue;
        if (g_args.kernel_only && s->usermap_only)
            continue;
        if (s->needs_free_holes && !HOLES_STAY_FREE) {
            printf("skip %s (AddressSanitizer maps its own memory into unmapped ranges)\n",
                   s->name);
            skipped++;
            continue;
        }
        if (run_scenario(s, &o[0], &o[1], g_args.kernel_only))
            passed++;
        else
            failed++;
    }
    munmap(o, 2 * sizeof *o);
    clean_dir();
    rmdir(g_dir);
    if (passed + failed + skipped == 0) {
        fprintf(stderr, "no scenario matches\n");
        return 2;
    }
    if (skipped)
        printf("%d skipped in this sanitizer build\n", skipped);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
