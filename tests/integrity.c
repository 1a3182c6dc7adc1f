/* SPDX-License-Identifier: MIT */
/*
 * integrity.c - kernel-differential tests of issue 7 ("usermap never writes
 * a stale byte, never drops a dirty one, never hangs") for the cases the
 * conformance suite cannot run: a full filesystem, a device whose reads
 * fail, a descriptor limit, and a deadlock that needs a watchdog.  (Cases
 * 3-6 are conformance scenarios: tests/conformance.c, integrity_*.)
 *
 * Every case runs twice, once on the kernel's mmap/munmap/msync/ftruncate
 * and once on usermap's (um_*; pread/pwrite are the syscalls on both
 * sides), each time in a fresh process with its own files (and its own
 * filesystem or loop device where the case needs one), and records an
 * outcome: a list of (key, value) fields.  The two outcomes must be equal
 * field by field, and the kernel's side must give the result the case
 * states.  Some cases also look at the files again after the side's
 * process has exited (the "after exit" fields).
 *
 * Each side has a watchdog (WATCHDOG seconds): a side that has not ended
 * by then is killed with its process group and the case fails ("hang").
 * Cases that need root (mount, losetup) print "skip NAME: reason" when
 * they cannot run.
 *
 * usage: integrity [-v] [--kernel] [--list] [NAME-or-glob ...]
 *   -v        print every field of both sides
 *   --kernel  run only the kernel side, checking the stated results
 *   --list    print the case names
 * Output: "ok NAME", "FAIL NAME: ...", "skip NAME: reason"; exit 1 if any
 * case failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "usermap.h"

#define RW (PROT_READ | PROT_WRITE)
#define WATCHDOG 20 /* seconds for one side of a case (a child it forks:
                       HR_CHILD_TIMEOUT) */

/* ================================================================== */
/* A side's context                                                    */

struct ctx {
    const struct hr_ops *ops;
    struct hr_outcome *o;
    size_t pg;
    const char *dir; /* this side's own directory */
};

/* The harness's recording functions on the side's outcome. */
#define field(c, ...) hr_field((c)->o, __VA_ARGS__)
#define ret(c, key, r, want) hr_ret((c)->o, key, r, want)
#define errname hr_errname

static void skip(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void skip(struct ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->o->skip, sizeof c->o->skip, fmt, ap);
    va_end(ap);
}

/* ================================================================== */
/* Files and their bytes                                              */

static void path_in(const struct ctx *c, char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", c->dir, name);
}

/* A file of SIZE bytes of pattern SEED (SEED 0: a hole), open O_RDWR. */
static int make_file(const char *path, size_t size, int seed)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, (off_t)size) != 0) {
        close(fd);
        return -1;
    }
    if (seed && hr_write_pattern(fd, size, seed) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static uint8_t *model_of(size_t size, int seed)
{
    uint8_t *b = calloc(1, size ? size : 1);
    if (b && seed)
        for (size_t i = 0; i < size; i++)
            b[i] = hr_pat(i, seed);
    return b;
}

/* LEN bytes at GOT against WANT: the checksum, or where they differ. */
static void want_bytes(struct ctx *c, const char *key, const void *got,
                       const uint8_t *want, size_t len)
{
    size_t first;
    uint8_t g;
    uint64_t hash;
    size_t ndiff = hr_compare_bytes(got, want, len, &first, &g, &hash);
    if (ndiff == (size_t)-1)
        field(c, key, "", "harness: out of memory");
    else if (ndiff == 0)
        field(c, key, NULL, "%zu bytes as stated (fnv %016llx)", len,
              (unsigned long long)hash);
    else
        field(c, key, "(the stated bytes)",
              "%zu of %zu bytes differ, first at +%zu: %02x want %02x", ndiff, len,
              first, g, want[first]);
}

/* The file's size and bytes against a model of SIZE bytes. */
static void want_file(struct ctx *c, const char *key, int fd,
                      const uint8_t *want, size_t size)
{
    char k[96];
    struct stat st;
    snprintf(k, sizeof k, "%s: size", key);
    if (fstat(fd, &st) != 0) {
        field(c, k, N(size), "fstat %s", errname(errno));
        return;
    }
    field(c, k, N(size), "%lld", (long long)st.st_size);
    uint8_t *buf = calloc(1, size ? size : 1);
    ssize_t n = buf ? pread(fd, buf, size, 0) : -1;
    snprintf(k, sizeof k, "%s: bytes", key);
    if (n != (ssize_t)size)
        field(c, k, "(the stated bytes)", "pread returned %zd %s", n,
              n < 0 ? errname(errno) : "");
    else
        want_bytes(c, k, buf, want, size);
    free(buf);
}

static void want_path(struct ctx *c, const char *key, const char *path,
                      const uint8_t *want, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        field(c, key, "(the stated file)", "open: %s", errname(errno));
        return;
    }
    want_file(c, key, fd, want, size);
    close(fd);
}

/* Write pages to PATH until the filesystem is full; the pages written. */
static long fill_fs(const char *path, size_t pg)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    char *buf = malloc(pg);
    memset(buf, 0x11, pg);
    long n = 0;
    while (write(fd, buf, pg) == (ssize_t)pg)
        n++;
    free(buf);
    close(fd);
    return n;
}

/* ================================================================== */
/* Children that touch a mapping: signal and si_code reported          */

/* Run FN(ARG) in a forked child (hr_spawn); record its value, or the
 * signal it took (with si_addr - BASE), as field KEY. */
static void in_child(struct ctx *c, const char *key, const char *want,
                     void *base, hr_child_fn fn, void *arg)
{
    struct hr_child ch;
    const char *what;
    if (hr_spawn(&ch, base, fn, arg, NULL, &what) != 0) {
        field(c, key, want, "harness: %s %s", what, errname(errno));
        return;
    }
    hr_reap(c->o, key, ch, want);
}

/* Run FN(ARG) in this process, SIGSEGV/SIGBUS caught (the mapping's
 * state as the process itself sees it after a fault). */
static sigjmp_buf here_jmp;
static uintptr_t here_base;
static struct {
    int signo, code;
    long long off;
} here_rep;

static void on_fault_here(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    here_rep.signo = sig;
    here_rep.code = si->si_code;
    here_rep.off = (long long)((uintptr_t)si->si_addr - here_base);
    siglongjmp(here_jmp, 1);
}

static void in_process(struct ctx *c, const char *key, const char *want,
                       void *base, hr_child_fn fn, void *arg)
{
    struct sigaction sa, old_segv, old_bus;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault_here;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    here_base = (uintptr_t)base;
    char val[120];
    if (sigsetjmp(here_jmp, 1) == 0) {
        long long v = fn(arg);
        snprintf(val, sizeof val, "value %lld", v);
    } else {
        hr_fmt_signal(val, sizeof val, here_rep.signo, here_rep.code, here_rep.off);
    }
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    field(c, key, want, "%s", val);
}

struct pages {
    uint8_t *base;
    size_t pg, n;
    uint8_t first; /* store FIRST + i into byte 1 of page i */
};

/* Store into byte 1 of each page in turn; the number of pages stored. */
static long long store_pages(void *arg)
{
    struct pages *a = arg;
    for (size_t i = 0; i < a->n; i++)
        ((volatile uint8_t *)a->base)[i * a->pg + 1] = (uint8_t)(a->first + i);
    return (long long)a->n;
}

/* Load byte 1 of each page; their sum. */
static long long load_pages(void *arg)
{
    struct pages *a = arg;
    long long sum = 0;
    for (size_t i = 0; i < a->n; i++)
        sum += ((volatile uint8_t *)a->base)[i * a->pg + 1];
    return sum;
}

#define fmt_sigwant hr_fmt_signal

/* ================================================================== */
/* Case 1: a full filesystem (a 128 KiB tmpfs the case mounts itself)  */

static int mount_tmpfs(struct ctx *c, const char *opts)
{
    if (geteuid() != 0) {
        skip(c, "not root: mounting a small tmpfs needs root");
        return -1;
    }
    if (mount("usermap-integrity", c->dir, "tmpfs", 0, opts) != 0) {
        skip(c, "mount -t tmpfs -o %s %s: %s", opts, c->dir, strerror(errno));
        return -1;
    }
    return 0;
}

static void umount_dir(const char *dir)
{
    if (umount2(dir, 0) != 0)
        umount2(dir, MNT_DETACH);
}

#define FS_PAGES 16 /* the mapped file: 16 pages */

/* The model of case 1's file: byte 1 of pages [0, STORED) holds 0x40 + i
 * over SEED's pattern (or zeros). */
static uint8_t *full_model(size_t pg, int seed, size_t stored)
{
    uint8_t *m = model_of(FS_PAGES * pg, seed);
    for (size_t i = 0; i < stored; i++)
        m[i * pg + 1] = (uint8_t)(0x40 + i);
    return m;
}

enum { FULL_STORE_SIGBUS, FULL_STORE_SIGBUS_HERE, FULL_ALLOCATED, FULL_MSYNC_RETRY,
       FULL_MUNMAP };

/* FULL_STORE_SIGBUS (issue 7 case 1, scenario A): a sparse 16-page file,
 *   the filesystem filled, then 4 pages freed; a child stores into the 16
 *   pages in turn.  Kernel: pages 0-3 take the store, page 4 raises SIGBUS
 *   BUS_ADRERR (no space for it) and nothing is lost unnoticed: msync and
 *   munmap return 0, the file holds pages 0-3's bytes, zeros elsewhere.
 * FULL_STORE_SIGBUS_HERE: the same, the stores made by the process itself
 *   (its SIGBUS caught), no fork involved.
 * FULL_ALLOCATED (scenario B): the file is written out first, so its pages
 *   exist, then the filesystem is filled: stores to all 16 pages and msync
 *   succeed (kernel), and the file holds them.
 * FULL_MSYNC_RETRY (scenario B): a sparse file, a child stores into all 16
 *   pages (there is room), then the filesystem is filled: msync returns 0
 *   on the kernel (its stores reserved the pages); after freeing the space
 *   a second msync returns 0 and all 16 pages are in the file.
 * FULL_MUNMAP: the same, but munmap while the filesystem is full: 0, and
 *   all 16 pages are in the file. */
static void full_fs_side(struct ctx *c, int mode)
{
    size_t pg = c->pg, len = FS_PAGES * pg;
    char f[600], filler[600];
    path_in(c, f, sizeof f, "f");
    path_in(c, filler, sizeof filler, "filler");
    int seed = mode == FULL_ALLOCATED ? 3 : 0;
    int fd = make_file(f, len, seed);
    if (fd < 0) {
        field(c, "make the file", "ok", "%s", errname(errno));
        return;
    }
    int sigbus = mode == FULL_STORE_SIGBUS || mode == FULL_STORE_SIGBUS_HERE;
    if (sigbus || mode == FULL_ALLOCATED) {
        field(c, "filled the filesystem", "yes", "%s",
              fill_fs(filler, pg) >= 0 ? "yes" : "no");
        if (sigbus) {
            struct stat st;
            stat(filler, &st);
            ret(c, "free 4 pages", truncate(filler, st.st_size - 4 * (off_t)pg), "0");
        }
    }
    uint8_t *p = c->ops->mmap(NULL, len, RW, MAP_SHARED, fd, 0);
    field(c, "mmap", "ok", "%s", p == MAP_FAILED ? errname(errno) : "ok");
    if (p == MAP_FAILED)
        return;
    struct pages a = {p, pg, FS_PAGES, 0x40};
    size_t stored = FS_PAGES;
    char want[96];
    if (sigbus) {
        stored = 4;
        fmt_sigwant(want, sizeof want, SIGBUS, BUS_ADRERR, (long long)(4 * pg + 1));
        if (mode == FULL_STORE_SIGBUS)
            in_child(c, "child stores into pages 0-15", want, p, store_pages, &a);
        else
            in_process(c, "stores into pages 0-15", want, p, store_pages, &a);
    } else {
        in_child(c, "child stores into pages 0-15", V(FS_PAGES), p, store_pages, &a);
    }
    uint8_t *model = full_model(pg, seed, stored);
    /* the pages stored into only: on a full tmpfs, even a load from a
     * page that has none raises SIGBUS on the kernel (shmem allocates one) */
    want_bytes(c, "the mapping after the stores (pages stored)", p, model,
               stored * pg);
    if (mode == FULL_MSYNC_RETRY || mode == FULL_MUNMAP)
        field(c, "filled the filesystem", "yes", "%s",
              fill_fs(filler, pg) >= 0 ? "yes" : "no");
    if (mode != FULL_MUNMAP) {
        ret(c, "msync MS_SYNC (filesystem full)", c->ops->msync(p, len, MS_SYNC), "0");
        if (mode == FULL_MSYNC_RETRY) {
            ret(c, "unlink the filler", unlink(filler), "0");
            ret(c, "second msync MS_SYNC", c->ops->msync(p, len, MS_SYNC), "0");
        }
        want_file(c, "file after msync", fd, model, len);
    }
    ret(c, "munmap", c->ops->munmap(p, len), "0");
    if (mode == FULL_MUNMAP)
        ret(c, "unlink the filler", unlink(filler), "0");
    want_file(c, "file after munmap", fd, model, len);
    close(fd);
    free(model);
}

/* After the side's process has exited: the file once more. */
static void full_fs_after(struct ctx *c, int mode)
{
    char f[600];
    path_in(c, f, sizeof f, "f");
    uint8_t *model = full_model(c->pg, mode == FULL_ALLOCATED ? 3 : 0,
                                mode == FULL_STORE_SIGBUS ||
                                        mode == FULL_STORE_SIGBUS_HERE ? 4 : FS_PAGES);
    want_path(c, "file after the process exited", f, model, FS_PAGES * c->pg);
    free(model);
}

static int full_fs_prepare(struct ctx *c) { return mount_tmpfs(c, "size=128k"); }
static void full_fs_cleanup(struct ctx *c) { umount_dir(c->dir); }

#define FULL_CASE(mode)                                                       \
    static void full_side_##mode(struct ctx *c) { full_fs_side(c, mode); }   \
    static void full_after_##mode(struct ctx *c) { full_fs_after(c, mode); }
FULL_CASE(FULL_STORE_SIGBUS)
FULL_CASE(FULL_STORE_SIGBUS_HERE)
FULL_CASE(FULL_ALLOCATED)
FULL_CASE(FULL_MSYNC_RETRY)
FULL_CASE(FULL_MUNMAP)

/* ================================================================== */
/* Case 2: write(2) from a mapping of the same file under a 64K limit  */

/* Issue 7 case 2: USERMAP_MEMORY_LIMIT=64K, a 1 MiB file mapped shared
 * RW, pages of [256K, 512K) and [768K, 1M) dirtied, then
 * pwrite(fd, p + 512K, 256K, 0): the source is the mapping of that same
 * file, untouched.  Kernel: 262144, promptly; the mapping and the file
 * then hold [512K, 768K)'s bytes at [0, 256K). */
static void pwrite_self_side(struct ctx *c)
{
    size_t pg = c->pg, len = 1 << 20, k = 1 << 10;
    char f[600];
    path_in(c, f, sizeof f, "f");
    int fd = make_file(f, len, 5);
    uint8_t *model = model_of(len, 5);
    uint8_t *p = c->ops->mmap(NULL, len, RW, MAP_SHARED, fd, 0);
    field(c, "mmap", "ok", "%s", p == MAP_FAILED ? errname(errno) : "ok");
    if (fd < 0 || !model || p == MAP_FAILED)
        return;
    for (size_t x = 256 * k + 3; x < 512 * k; x += pg) {
        p[x] ^= 0xA5;
        model[x] ^= 0xA5;
    }
    for (size_t x = 768 * k + 9; x < len; x += 2 * pg) {
        p[x] ^= 0x5A;
        model[x] ^= 0x5A;
    }
    ret(c, "pwrite(fd, p + 512K, 256K, 0)", pwrite(fd, p + 512 * k, 256 * k, 0),
        "262144");
    memcpy(model, model + 512 * k, 256 * k);
    want_bytes(c, "the mapping after pwrite", p, model, len);
    ret(c, "msync MS_SYNC", c->ops->msync(p, len, MS_SYNC), "0");
    want_file(c, "file after msync", fd, model, len);
    ret(c, "munmap", c->ops->munmap(p, len), "0");
    want_file(c, "file after munmap", fd, model, len);
    close(fd);
    free(model);
}

/* Issue 7 case 9, as the random tester minimised it (seed
 * 8493213677781351975, USERMAP_MEMORY_LIMIT=256K): anonymous shared
 * memory nearly fills the budget and cannot be evicted; a pwrite(2) whose
 * source spans two untouched pages of anonymous private memory then made
 * each page's fault evict the other, for ever (the kernel faults both in,
 * then copies).  Kernel: the pwrite returns 5637. */
static void livelock_side(struct ctx *c)
{
    char f[600];
    path_in(c, f, sizeof f, "f");
    int fd = make_file(f, 819950, 3);
    uint8_t *p4 = c->ops->mmap(NULL, 185648, PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint8_t *p6 = c->ops->mmap(NULL, 172032, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *p0 = c->ops->mmap(NULL, 135168, PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    field(c, "mmap x3", "ok", "%s",
          p4 == MAP_FAILED || p6 == MAP_FAILED || p0 == MAP_FAILED ? errname(errno) : "ok");
    if (fd < 0 || p4 == MAP_FAILED || p6 == MAP_FAILED || p0 == MAP_FAILED)
        return;
    ret(c, "madvise(MADV_WILLNEED) 128K of shared", c->ops->madvise(p4, 131072, MADV_WILLNEED),
        "0");
    ret(c, "madvise(MADV_POPULATE_WRITE) 100K of shared",
        c->ops->madvise(p0, 102400, MADV_POPULATE_WRITE), "0");
    ret(c, "pwrite(fd, private + 89393, 5637, 762314)", pwrite(fd, p6 + 89393, 5637, 762314),
        "5637");
    close(fd);
}

/* ================================================================== */
/* Case 7: a read error, then the device is back                       */

/* An ext4 filesystem (no journal) on a loop device over a backing file
 * in the side's directory, mounted at DIR/mnt; f is 4 pages of pattern 7
 * and its data sits at byte `phys` of the backing file. */
static struct {
    char loop[64], img[600], mnt[600];
    off_t phys, img_size;
    int loop_fd;
} dev = {.loop_fd = -1};

static int run(const char *cmd)
{
    int r = system(cmd);
    return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static int tool(const char *name)
{
    const char *dirs[] = {"/sbin", "/usr/sbin", "/bin", "/usr/bin"};
    char p[128];
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dirs[i], name);
        if (access(p, X_OK) == 0)
            return 1;
    }
    return 0;
}

#define DEV_PAGES 4

static int read_error_prepare(struct ctx *c)
{
    if (geteuid() != 0) {
        skip(c, "not root: a loop device and a mount need root");
        return -1;
    }
    if (!tool("mkfs.ext4") || !tool("losetup")) {
        skip(c, "mkfs.ext4 or losetup missing (e2fsprogs, util-linux)");
        return -1;
    }
    char cmd[2048];
    dev.img_size = 8 << 20;
    snprintf(dev.img, sizeof dev.img, "%s/disk.img", c->dir);
    snprintf(dev.mnt, sizeof dev.mnt, "%s/mnt", c->dir);
    mkdir(dev.mnt, 0700);
    snprintf(cmd, sizeof cmd,
             "truncate -s %lld '%s' && mkfs.ext4 -q -F -b 4096 -O ^has_journal '%s' "
             ">/dev/null 2>&1",
             (long long)dev.img_size, dev.img, dev.img);
    if (run(cmd) != 0) {
        skip(c, "mkfs.ext4 on %s failed", dev.img);
        return -1;
    }
    snprintf(cmd, sizeof cmd, "losetup -f --show '%s'", dev.img);
    FILE *pf = popen(cmd, "r");
    dev.loop[0] = 0;
    if (pf) {
        if (!fgets(dev.loop, sizeof dev.loop, pf))
            dev.loop[0] = 0;
        pclose(pf);
    }
    dev.loop[strcspn(dev.loop, "\n")] = 0;
    if (!dev.loop[0]) {
        skip(c, "losetup -f --show %s failed", dev.img);
        return -1;
    }
    dev.loop_fd = open(dev.loop, O_RDWR);
    if (dev.loop_fd < 0 ||
        mount(dev.loop, dev.mnt, "ext4", MS_NOATIME, "errors=continue") != 0) {
        skip(c, "mount -t ext4 %s %s: %s", dev.loop, dev.mnt, strerror(errno));
        return -1;
    }
    char f[700];
    snprintf(f, sizeof f, "%s/f", dev.mnt);
    int fd = make_file(f, DEV_PAGES * c->pg, 7);
    if (fd < 0 || fsync(fd) != 0) {
        skip(c, "writing %s: %s", f, strerror(errno));
        return -1;
    }
    /* where its data is in the backing file */
    /* struct fiemap ends in a flexible array: room for 4 extents after it */
    uint64_t room[(sizeof(struct fiemap) + 4 * sizeof(struct fiemap_extent)) / 8 + 1];
    struct fiemap *fm = (struct fiemap *)room;
    memset(room, 0, sizeof room);
    fm->fm_length = ~0ull;
    fm->fm_flags = FIEMAP_FLAG_SYNC;
    fm->fm_extent_count = 4;
    if (ioctl(fd, FS_IOC_FIEMAP, fm) != 0 || fm->fm_mapped_extents < 1) {
        skip(c, "FIEMAP on %s: %s", f, strerror(errno));
        close(fd);
        return -1;
    }
    dev.phys = (off_t)fm->fm_extents[0].fe_physical;
    close(fd);
    return 0;
}

static void read_error_cleanup(struct ctx *c)
{
    (void)c;
    if (dev.mnt[0])
        umount_dir(dev.mnt);
    if (dev.loop_fd >= 0) {
        ioctl(dev.loop_fd, LOOP_CLR_FD, 0);
        close(dev.loop_fd);
        dev.loop_fd = -1;
    }
    if (dev.img[0])
        unlink(dev.img);
    rmdir(dev.mnt);
    memset(&dev, 0, sizeof dev);
    dev.loop_fd = -1;
}

/* Drop what the kernel has cached of the file and of the device. */
static void drop_caches(int fd)
{
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ioctl(dev.loop_fd, BLKFLSBUF, 0);
    int d = open("/proc/sys/vm/drop_caches", O_WRONLY);
    if (d >= 0) {
        if (write(d, "3", 1) < 0) {
        }
        close(d);
    }
}

/* Issue 7 case 7: a shared read-only mapping of f; the backing file is
 * shrunk under the loop device (losetup -c) so that f's data is past the
 * device's end and its reads fail EIO; a load then raises SIGBUS
 * BUS_ADRERR (kernel).  The device is grown back with its bytes and the
 * caches dropped: pread works again, and the kernel's next loads succeed
 * with the right bytes, in a child and in the process itself. */
static void read_error_side(struct ctx *c)
{
    size_t pg = c->pg, len = DEV_PAGES * pg;
    char f[700];
    snprintf(f, sizeof f, "%s/f", dev.mnt);
    int fd = open(f, O_RDWR);
    uint8_t *model = model_of(len, 7);
    size_t tail = (size_t)(dev.img_size - dev.phys);
    uint8_t *saved = malloc(tail);
    int img = open(dev.img, O_RDWR);
    if (fd < 0 || img < 0 || !saved || pread(img, saved, tail, dev.phys) != (ssize_t)tail) {
        field(c, "harness: open and save the device's tail", "ok", "%s", errname(errno));
        return;
    }
    drop_caches(fd);
    uint8_t *p = c->ops->mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    field(c, "mmap", "ok", "%s", p == MAP_FAILED ? errname(errno) : "ok");
    if (p == MAP_FAILED)
        return;
    /* break it */
    ret(c, "shrink the backing file", ftruncate(img, dev.phys), "0");
    ret(c, "losetup -c", ioctl(dev.loop_fd, LOOP_SET_CAPACITY, 0), "0");
    drop_caches(fd);
    uint8_t b[64];
    ret(c, "pread while broken", pread(fd, b, sizeof b, 0), "-1 EIO");
    char want[96];
    struct pages a = {p, pg, DEV_PAGES, 0};
    fmt_sigwant(want, sizeof want, SIGBUS, BUS_ADRERR, 1);
    in_process(c, "load while broken (in the process)", want, p, load_pages, &a);
    in_process(c, "load again while broken (in the process)", want, p, load_pages, &a);
    in_child(c, "load while broken (in a child)", want, p, load_pages, &a);
    /* repair it */
    ret(c, "grow the backing file", ftruncate(img, dev.img_size), "0");
    ret(c, "put its bytes back", pwrite(img, saved, tail, dev.phys), N(tail));
    fsync(img);
    ret(c, "losetup -c again", ioctl(dev.loop_fd, LOOP_SET_CAPACITY, 0), "0");
    drop_caches(fd);
    ret(c, "pread after the repair", pread(fd, b, sizeof b, 0), N(sizeof b));
    long long sum = 0;
    for (size_t i = 0; i < DEV_PAGES; i++)
        sum += model[i * pg + 1];
    in_process(c, "load after the repair (in the process)", V(sum), p, load_pages, &a);
    in_child(c, "load after the repair (in a child)", V(sum), p, load_pages, &a);
    want_bytes(c, "the mapping, read by the process", p, model, len);
    ret(c, "munmap", c->ops->munmap(p, len), "0");
    want_file(c, "file after munmap", fd, model, len);
    close(fd);
    close(img);
    free(saved);
    free(model);
}

/* ================================================================== */
/* Case 8: out of descriptors once                                     */

static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

/* Issue 7 case 8: RLIMIT_NOFILE 64 (set before any usermap call), 62 fds
 * in use, mmap a file: whatever that first call gives (the kernel's
 * succeeds; usermap may fail EMFILE, and that is not compared), after
 * closing 40 fds a second mmap succeeds and reads the file's bytes. */
static void fd_limit_side(struct ctx *c)
{
    size_t pg = c->pg, len = 4 * pg;
    char f[600];
    path_in(c, f, sizeof f, "f");
    int fd = make_file(f, len, 9);
    uint8_t *model = model_of(len, 9);
    struct rlimit rl = {64, 64};
    ret(c, "setrlimit RLIMIT_NOFILE 64", setrlimit(RLIMIT_NOFILE, &rl), "0");
    int extra[64], nextra = 0;
    while (open_fds() < 62 && nextra < 64) {
        int e = open("/dev/null", O_RDONLY);
        if (e < 0)
            break;
        extra[nextra++] = e;
    }
    field(c, "fds in use", "62", "%d", open_fds());
    uint8_t *p = c->ops->mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    int e = errno;
    /* not compared: usermap may need descriptors the kernel does not */
    fprintf(stderr, "  [%s] first mmap with 62 of 64 fds in use: %s\n", c->ops->name,
            p == MAP_FAILED ? errname(e) : "ok");
    if (p != MAP_FAILED)
        c->ops->munmap(p, len);
    for (int i = 0; i < 40 && nextra > 0; i++)
        close(extra[--nextra]);
    p = c->ops->mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    field(c, "mmap after closing 40 fds", "ok", "%s",
          p == MAP_FAILED ? errname(errno) : "ok");
    if (p == MAP_FAILED)
        return;
    long long sum = 0;
    for (size_t i = 0; i < 4; i++)
        sum += model[i * pg + 1];
    struct pages a = {p, pg, 4, 0};
    in_child(c, "a child loads pages 0-3", V(sum), p, load_pages, &a);
    want_bytes(c, "the mapping", p, model, len);
    ret(c, "munmap", c->ops->munmap(p, len), "0");
    close(fd);
    free(model);
}

/* ================================================================== */
/* The table                                                           */

struct testcase {
    const char *name;
    void (*side)(struct ctx *);
    int (*prepare)(struct ctx *);   /* in the runner, before the side */
    void (*after)(struct ctx *);    /* in a fresh process, after the side */
    void (*cleanup)(struct ctx *);  /* in the runner */
    const char *env;                /* "NAME=VALUE" for both sides */
    const char *skip_reason;        /* not run at all: why */
};

static const struct testcase cases[] = {
    /* case 1 */
    {"full_fs_store_sigbus", full_side_FULL_STORE_SIGBUS, full_fs_prepare,
     full_after_FULL_STORE_SIGBUS, full_fs_cleanup, NULL, NULL},
    {"full_fs_store_sigbus_in_process", full_side_FULL_STORE_SIGBUS_HERE,
     full_fs_prepare, full_after_FULL_STORE_SIGBUS_HERE, full_fs_cleanup, NULL, NULL},
    {"full_fs_allocated_file", full_side_FULL_ALLOCATED, full_fs_prepare,
     full_after_FULL_ALLOCATED, full_fs_cleanup, NULL, NULL},
    {"full_fs_msync_then_free_space", full_side_FULL_MSYNC_RETRY, full_fs_prepare,
     full_after_FULL_MSYNC_RETRY, full_fs_cleanup, NULL, NULL},
    {"full_fs_munmap_while_full", full_side_FULL_MUNMAP, full_fs_prepare,
     full_after_FULL_MUNMAP, full_fs_cleanup, NULL, NULL},
    /* case 2 */
    {"pwrite_from_own_mapping_limit_64k", pwrite_self_side, NULL, NULL, NULL,
     "USERMAP_MEMORY_LIMIT=64K", NULL},
    /* case 7 */
    {"read_error_then_device_back", read_error_side, read_error_prepare, NULL,
     read_error_cleanup, NULL, NULL},
    /* case 8 */
    {"fd_limit_then_fds_freed", fd_limit_side, NULL, NULL, NULL, NULL, NULL},
    /* case 9 */
    {"livelock_limit_256k", livelock_side, NULL, NULL, NULL, "USERMAP_MEMORY_LIMIT=256K",
     NULL},
};

#define NCASES (sizeof cases / sizeof cases[0])

/* ================================================================== */
/* The runner                                                          */

static struct hr_args g_args;
static char g_base[512];
static int g_side_no;

struct call {
    void (*fn)(struct ctx *);
    struct ctx *c;
};

static void call_fn(void *arg)
{
    struct call *k = arg;
    k->fn(k->c);
}

/* Run FN in a fresh process of its own process group, with a watchdog;
 * the status, as text. */
static void run_proc(const struct testcase *tc, void (*fn)(struct ctx *),
                     struct ctx *c, char *status, size_t n)
{
    struct call k = {fn, c};
    struct hr_proc proc = {WATCHDOG, tc->env, " (hang: the watchdog fired)", 1};
    hr_run_proc(c->o, call_fn, &k, &proc, status, n);
}

/* One side: prepare, the side, after, cleanup.  Returns 0, or -1 when
 * it could not run (o->skip says why). */
static int run_side(const struct testcase *tc, const struct hr_ops *ops,
                    struct hr_outcome *o, char *status, size_t n)
{
    char dir[600];
    memset(o, 0, sizeof *o);
    snprintf(dir, sizeof dir, "%s/%d", g_base, ++g_side_no);
    mkdir(dir, 0700);
    struct ctx c = {ops, o, (size_t)sysconf(_SC_PAGESIZE), dir};
    int r = 0;
    if (tc->prepare && tc->prepare(&c) != 0) {
        r = -1;
    } else {
        run_proc(tc, tc->side, &c, status, n);
        if (tc->after && o->done) {
            char st2[128];
            int done = o->done;
            o->done = 0;
            run_proc(tc, tc->after, &c, st2, sizeof st2);
            if (!o->done) {
                snprintf(status, n, "after-exit check: %s", st2);
                done = 0;
            }
            o->done = done;
        }
        if (o->skip[0])
            r = -1;
    }
    if (tc->cleanup)
        tc->cleanup(&c);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (run(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return r;
}

static void dump(const char *side, const struct hr_outcome *o)
{
    if (g_args.verbose)
        hr_dump(side, o, 44);
}

static int run_case(const struct testcase *tc, struct hr_outcome *ko,
                    struct hr_outcome *uo, int kernel_only)
{
    if (tc->skip_reason) {
        printf("skip %s: %s\n", tc->name, tc->skip_reason);
        return 0;
    }
    char kst[160] = "", ust[160] = "", msg[8192] = "";
    if (run_side(tc, &hr_kernel_ops, ko, kst, sizeof kst) != 0) {
        printf("skip %s: %s\n", tc->name, ko->skip);
        return 0;
    }
    dump("kernel", ko);
    if (strcmp(kst, "exit 0") != 0 || !ko->done || ko->bad[0] || ko->dropped)
        snprintf(msg, sizeof msg,
                 "kernel side (the test's statement is wrong): process %s%s; %s; ", kst,
                 ko->done ? "" : " before the end", ko->bad);
    if (!kernel_only) {
        if (run_side(tc, &hr_usermap_ops, uo, ust, sizeof ust) != 0) {
            printf("skip %s: usermap side: %s\n", tc->name, uo->skip);
            return 0;
        }
        dump("usermap", uo);
        hr_diff_fields(ko, uo, msg, sizeof msg);
        if (strcmp(kst, ust) != 0 || !uo->done)
            hr_append(msg, sizeof msg, "[process] kernel=%s usermap=%s%s", kst, ust,
                      uo->done ? "" : " before the end");
    }
    if (msg[0]) {
        printf("FAIL %s: %s\n", tc->name, msg);
        return 1;
    }
    printf("ok %s%s\n", tc->name, kernel_only ? " (kernel)" : "");
    return 0;
}

int main(int argc, char **argv)
{
    if (hr_parse_args(argc, argv, &g_args) != 0)
        return 2;
    if (g_args.list) {
        for (size_t i = 0; i < NCASES; i++)
            if (hr_selected(&g_args, cases[i].name))
                printf("%s\n", cases[i].name);
        return 0;
    }
    struct hr_outcome *o;
    if (hr_start("integrity", g_base, sizeof g_base, &o) != 0)
        return 2;
    int failed = 0, ran = 0;
    for (size_t i = 0; i < NCASES; i++) {
        if (!hr_selected(&g_args, cases[i].name))
            continue;
        ran++;
        failed += run_case(&cases[i], &o[0], &o[1], g_args.kernel_only);
    }
    rmdir(g_base);
    if (!ran) {
        fprintf(stderr, "no case matches\n");
        return 2;
    }
    printf("%d of %d failed\n", failed, ran);
    return failed ? 1 : 0;
}
