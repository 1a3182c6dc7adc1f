/* SPDX-License-Identifier: MIT */
/*
 * difftest.c - kernel-differential random tester for usermap.
 *
 * A seed generates a list of operations (as data, see struct op) over three
 * regular files whose sizes are not multiples of the page size, anonymous
 * memory and a reserved arena for MAP_FIXED: mmap, munmap, mprotect, msync,
 * madvise, loads and stores through mappings, pread/pwrite/ftruncate on the
 * files, read()/write() with a mapped buffer, and fork with a child that
 * touches the mappings.  The list runs twice, each time in a fresh process
 * with fresh copies of the files: once with the kernel's calls, once with
 * usermap's (um_*).  Each run logs every observable result (return values
 * and errno, bytes loaded, signals with si_code and si_addr as an offset,
 * child reports, the files at the end); the parent compares the logs and
 * the files left after both processes exited, and prints the first
 * divergence with its class (e.g. "msync:errno", "load:data", "hang").
 *
 * usage:
 *   difftest [--seeds A-B | --seed S] [--ops N] [--timeout S] [-v]
 *   difftest --soak SECONDS        new seeds until the time is up
 *   difftest --minimise SEED       shrink a failing seed's op list (ddmin)
 *   difftest --self-check ...      the kernel on both sides: must not diverge
 *   difftest --mremap ...          mremap ops too (see gen_mremap)
 * Replay one failing seed with --seed S -v (prints both logs).  The usermap
 * side inherits USERMAP_PAGE_SIZE, USERMAP_MEMORY_LIMIT, USERMAP_FAULT_MODE.
 *
 * Addresses differ between runs, so ops name mappings by slot, and every
 * address is logged as an offset from its slot or from the arena.  The
 * arena (a PROT_NONE anonymous reservation, made with the run's own mmap:
 * the kernel's in the kernel run, um_mmap in the usermap run) lies above
 * the kernel's mmap_base, where no mapping without an address hint is ever
 * placed, so its holes stay holes; holes punched into ordinary slots are
 * not safe that way (either side's allocator may reuse them), so ops on a
 * slot's unmapped pages are skipped, identically on both sides.
 *
 * A divergence is tagged "/coherence" when it involves file I/O mixed with
 * mapped access without the msync POSIX asks for (pread of a file whose
 * shared mapping holds unsynced stores, loads after pwrite/ftruncate of the
 * mapped file, --mixed): usermap's file calls see its page cache as the
 * kernel's see theirs, so these are bugs like any other; the tag says
 * where to look.
 *
 * --processes P (2..4) runs each side as P worker processes on the same
 * files, scheduled in lock-step by a coordinator process (one pipe pair
 * per worker: it hands worker i its next op and waits for the answer), so
 * that both runs see the same global order of operations.  Each op names
 * its worker; workers leave by exit(0), _exit(0) or the coordinator's
 * SIGKILL, and a fresh worker takes their place.  At the end every worker
 * leaves, a last process maps and unmaps each file (where usermap writes
 * back the stores of dead processes), and the files and the run's private
 * USERMAP_CACHE_DIR (which must then be empty) are compared.  The POSIX
 * rules hold across workers: before file I/O on a file, every worker
 * msyncs its dirty shared mappings of it, after a write every worker
 * invalidates its mappings of it, no file mapped by any worker is
 * resized, and no file I/O touches a file holding stores of a worker that
 * died (usermap writes them back at the next map of the file by a process
 * alone on it).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "usermap.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define NFILES 3
#define NSLOTS 8
#define MAXPAGES 512                /* longest mapping, in system pages */
#define ARENA_PAGES 1024            /* the MAP_FIXED arena: 4 MiB */
#define MAXOPS 4096
#define LINE 384                    /* one log line */

/* ================================================================== */
/* The two (three) tables of functions                                 */

/* The kernel's and usermap's are the harness's, hr_kernel_ops and
 * hr_usermap_ops (harness.h): usermap's run does its file I/O with
 * um_pread, um_pwrite and um_ftruncate, as a program built with the
 * redirect header (or run under the interposer) does. */
/* --self-check's second side: the kernel again, as a distinct table. */
static struct hr_ops kernel_self_fns;

/* ================================================================== */
/* Operations, as data                                                 */

enum kind {
    K_MMAP, K_MUNMAP, K_MPROTECT, K_MSYNC, K_MADVISE, K_LOAD, K_STORE,
    K_PREAD, K_PWRITE, K_TRUNCATE, K_SYSREAD, K_SYSWRITE, K_FORK,
    K_EXIT, /* --processes: the op's worker leaves (place: enum leave) */
    K_MREMAP, /* --mremap only, from a stream of its own (gen_mremap) */
    K_NKINDS
};

enum leave { LV_EXIT, LV__EXIT, LV_KILL };
#define MAXWORKERS 4

static const char *const kind_name[K_NKINDS] = {
    "mmap", "munmap", "mprotect", "msync", "madvise", "load", "store",
    "pread", "pwrite", "ftruncate", "sysread", "syswrite", "fork", "exit", "mremap"};

enum fdkind { FD_RDWR, FD_RDONLY, FD_WRONLY, FD_BAD, FD_DIR, FD_ANON };
enum place { PL_ANY, PL_FIXED, PL_NOREPLACE };
#define SP_ARENA 0xff /* op.slot for a range relative to the arena */

struct op {
    uint8_t kind;
    uint8_t slot;   /* mapping slot, or SP_ARENA for range ops */
    uint8_t file;   /* file index */
    uint8_t fdkind; /* mmap: which descriptor */
    uint8_t place;  /* mmap: where; fork: 1 = child leaves with _exit;
                       mremap: 1 = new_address is arena + aoff */
    uint8_t unaligned; /* mmap, mremap: the arena address off by one byte */
    uint8_t slot2;  /* mremap: the slot for what stays at the old place
                       (NO_SLOT: munmapped) */
    uint8_t worker; /* --processes: the worker that runs the op */
    int prot, flags; /* mmap, mprotect (prot) */
    int arg;        /* msync flags, madvise advice */
    int64_t off;    /* mmap: file offset; range ops: offset in slot/arena;
                       file ops: file offset */
    uint64_t len;   /* bytes */
    uint64_t aoff;  /* mmap: arena offset; sysread/syswrite: file offset */
    uint64_t seed;  /* stored values, fork child actions */
    uint64_t len2;  /* mremap: new_size (len is old_size) */
};
#define NO_SLOT 0xfe

/* ================================================================== */
/* Random numbers                                                      */

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t *s, uint64_t n) { return n ? next(s) % n : 0; }
static int chance(uint64_t *s, int percent) { return (int)below(s, 100) < percent; }

/* ================================================================== */
/* Globals of the parent                                               */

static size_t pg;
static int g_verbose;
static int g_timeout = 20;
static int g_self_check;
static uintptr_t g_arena_hint;
static char g_root[512];
static int g_in_thread; /* USERMAP_FAULT_MODE=in-thread */
/* --mixed: file I/O and mapped access mix without the msync POSIX asks for
 * (divergences there are tagged /coherence).  Without it, the run process
 * does what a POSIX program must: msync(MS_SYNC) the file's dirty shared
 * mappings before reading or writing the file, msync(MS_INVALIDATE) its
 * mappings after writing it, and no resizing of a mapped file. */
static int g_mixed;
/* --test-hang N (hidden): the second run stops at op N, to test the
 * watchdog and the minimiser's hang class. */
static int g_test_hang = -1;
/* --processes P: P worker processes per run (0: one run process). */
static int g_processes;
/* --mremap: mremap ops too, inserted from a random stream of their own. */
static int g_mremap;
/* --test-diverge N (hidden): in the second run, the first store at or
 * after op N to a shared file mapping stores other bytes, to prove that
 * such a divergence is found (a self-check of the checker). */
static int g_test_diverge = -1;
static volatile int g_diverged;
/* In a worker: its number (log lines end with it), and the files other
 * workers map (bit per file), which a write must not resize. */
static int g_wid = -1;
static unsigned g_others_mapped;

/* ================================================================== */
/* Files: sizes and contents depend on the seed only                   */

static size_t file_size0(uint64_t seed, int f)
{
    uint64_t s = seed * 31 + (uint64_t)f + 7;
    size_t tail = 1 + below(&s, pg - 1); /* never a multiple of pg */
    switch (f) {
    case 0: return tail;                           /* less than a page */
    case 1: return (2 + below(&s, 18)) * pg + tail; /* a few pages */
    default: return (64 + below(&s, 190)) * pg + tail; /* up to ~1 MiB */
    }
}

static uint8_t file_byte(uint64_t seed, int f, uint64_t x)
{
    return (uint8_t)(x * 7 + (x >> 12) * 31 + (uint64_t)f * 59 + seed * 13 + 1);
}

/* ================================================================== */
/* Generation                                                          */

/* What the generator believes about slots and files: only a guide to
 * make most ops meaningful; execution decides what really happens. */
struct model {
    int live[NSLOTS];
    uint64_t len[NSLOTS];   /* bytes, page-rounded */
    int file[NSLOTS];       /* -1: anonymous */
    int64_t off[NSLOTS];    /* file offset */
    int shared[NSLOTS];     /* MAP_SHARED (only gen_mremap looks) */
    size_t fsize[NFILES];
};

static uint64_t round_pg(uint64_t n) { return (n + pg - 1) / pg * pg; }

static int pick_slot(uint64_t *r, const struct model *m, int want_live)
{
    int cand[NSLOTS], n = 0;
    for (int i = 0; i < NSLOTS; i++)
        if (m->live[i] == want_live)
            cand[n++] = i;
    return n ? cand[below(r, (uint64_t)n)] : (int)below(r, NSLOTS);
}

static int pick_prot(uint64_t *r)
{
    static const int prots[] = {PROT_READ, PROT_READ | PROT_WRITE,
                                PROT_READ | PROT_WRITE, PROT_NONE, PROT_WRITE,
                                PROT_READ | PROT_EXEC};
    return prots[below(r, sizeof prots / sizeof prots[0])];
}

static int pick_type(uint64_t *r)
{
    int x = (int)below(r, 100);
    if (x < 45) return MAP_PRIVATE;
    if (x < 85) return MAP_SHARED;
    if (x < 95) return MAP_SHARED_VALIDATE;
    if (x < 97) return 0;                       /* neither: EINVAL */
    if (x < 98) return 0x04;                    /* unknown type: EINVAL */
    return MAP_SHARED_VALIDATE | 0x800000;      /* unknown flag: EOPNOTSUPP */
}

static void gen_mmap(uint64_t *r, struct model *m, struct op *o)
{
    int s = pick_slot(r, m, 0);
    o->slot = (uint8_t)s;
    o->prot = pick_prot(r);
    o->flags = pick_type(r);
    if (chance(r, 10)) o->flags |= MAP_POPULATE;
    if (chance(r, 4)) o->flags |= MAP_NORESERVE;
    int anon = chance(r, 25);
    int file = (int)below(r, NFILES);
    o->file = (uint8_t)file;
    uint64_t fpages = round_pg(m->fsize[file]) / pg;
    uint64_t pages = anon ? 1 + below(r, 48) : 1 + below(r, fpages + 2);
    o->len = pages * pg - (chance(r, 40) ? below(r, pg) : 0);
    if (chance(r, 2)) o->len = 0;
    o->off = 0;
    if (anon) {
        o->flags |= MAP_ANONYMOUS;
        o->fdkind = FD_ANON;
    } else {
        int x = (int)below(r, 100);
        o->fdkind = x < 86 ? FD_RDWR : x < 94 ? FD_RDONLY : x < 96 ? FD_WRONLY
                  : x < 98 ? FD_BAD : FD_DIR;
        x = (int)below(r, 100);
        if (x < 30) o->off = (int64_t)(below(r, fpages) * pg);
        else if (x < 35) o->off = (int64_t)((fpages + below(r, 3)) * pg); /* past EOF */
        else if (x < 39) o->off = (int64_t)(below(r, fpages) * pg + 1 + below(r, pg - 1));
        else if (x < 40) o->off = chance(r, 50) ? -(int64_t)pg : (int64_t)1 << 40;
    }
    int x = (int)below(r, 100);
    o->place = x < 75 ? PL_ANY : x < 90 ? PL_FIXED : PL_NOREPLACE;
    if (o->place != PL_ANY) {
        uint64_t lp = round_pg(o->len) / pg;
        o->aoff = below(r, ARENA_PAGES - (lp < ARENA_PAGES ? lp : ARENA_PAGES) + 1) * pg;
        o->unaligned = chance(r, 3);
    }
    if (o->len && !o->unaligned && (o->flags & 0x0f) && !(o->flags & 0x800000)) {
        m->live[s] = 1;
        m->len[s] = round_pg(o->len);
        m->file[s] = anon ? -1 : file;
        m->off[s] = o->off;
        m->shared[s] = (o->flags & 0x0f) != MAP_PRIVATE;
    }
}

/* A range inside slot S (whole, prefix, suffix, middle, or a bit off). */
static void gen_range(uint64_t *r, const struct model *m, struct op *o, int s)
{
    uint64_t np = m->len[s] / pg ? m->len[s] / pg : 1;
    int x = (int)below(r, 100);
    uint64_t a = 0, b = np;
    if (x < 35) {
        /* whole */
    } else if (x < 55) {
        b = 1 + below(r, np);                 /* prefix */
    } else if (x < 75) {
        a = below(r, np);                     /* suffix */
    } else {
        a = below(r, np);                     /* middle */
        b = a + 1 + below(r, np - a);
    }
    o->off = (int64_t)(a * pg);
    o->len = (b - a) * pg;
    if (chance(r, 10)) o->len -= below(r, pg); /* unaligned length: rounds up */
    if (chance(r, 3)) o->off += 1 + (int64_t)below(r, pg - 1); /* EINVAL */
    if (chance(r, 2)) o->len = 0;
}

static void gen_range_op(uint64_t *r, struct model *m, struct op *o)
{
    int s = pick_slot(r, m, 1);
    o->slot = (uint8_t)s;
    if (chance(r, 8)) {
        /* somewhere in the arena, often unmapped or PROT_NONE */
        o->slot = SP_ARENA;
        o->off = (int64_t)(below(r, ARENA_PAGES - 16) * pg);
        o->len = (1 + below(r, 16)) * pg;
        return;
    }
    if (!m->live[s]) m->len[s] = m->len[s] ? m->len[s] : pg;
    gen_range(r, m, o, s);
}

static int pick_msync_flags(uint64_t *r)
{
    static const int f[] = {MS_SYNC, MS_SYNC, MS_ASYNC, MS_ASYNC, MS_INVALIDATE,
                            MS_SYNC | MS_INVALIDATE, MS_ASYNC | MS_INVALIDATE,
                            MS_SYNC | MS_ASYNC, 0, 8};
    return f[below(r, sizeof f / sizeof f[0])];
}

static int pick_advice(uint64_t *r)
{
    static const int a[] = {MADV_DONTNEED, MADV_DONTNEED, MADV_WILLNEED,
                            MADV_SEQUENTIAL, MADV_RANDOM, MADV_NORMAL,
                            MADV_POPULATE_READ, MADV_POPULATE_WRITE, 12345};
    return a[below(r, sizeof a / sizeof a[0])];
}

/* An offset in slot S for a load or store: often near the end of the file. */
static int64_t gen_access_off(uint64_t *r, const struct model *m, int s)
{
    uint64_t len = m->len[s] ? m->len[s] : pg;
    if (m->file[s] >= 0 && chance(r, 35)) {
        int64_t eof = (int64_t)m->fsize[m->file[s]] - m->off[s];
        int64_t o = eof - 8 + (int64_t)below(r, pg + 16);
        if (o >= 0 && (uint64_t)o < len) return o;
    }
    return (int64_t)below(r, len);
}

static void gen_file_op(uint64_t *r, struct model *m, struct op *o)
{
    int f = (int)below(r, NFILES);
    o->file = (uint8_t)f;
    size_t size = m->fsize[f];
    switch (o->kind) {
    case K_PREAD:
        o->off = (int64_t)below(r, size + 2 * pg);
        o->len = 1 + below(r, 64);
        break;
    case K_PWRITE:
        o->off = (int64_t)below(r, size + pg);
        o->len = 1 + below(r, 64);
        if (o->off + (int64_t)o->len > (int64_t)size) m->fsize[f] = (size_t)o->off + o->len;
        break;
    default: /* K_TRUNCATE: shrink or grow, never to a page multiple */
        if (chance(r, 50)) o->len = below(r, size + 1);
        else o->len = size + below(r, 16 * pg);
        if (o->len > 300 * pg) o->len = 300 * pg - 1;
        if (o->len % pg == 0) o->len += 1 + below(r, pg - 1);
        m->fsize[f] = o->len;
        break;
    }
}

static void gen_one(uint64_t *r, struct model *m, struct op *o)
{
    static const uint8_t one_process[K_NKINDS] = {12, 6, 6, 6, 6, 20, 20, 4, 4, 3,
                                                  3, 3, 3, 0};
    /* With workers: they leave now and then; file ops a bit more often,
     * for the I/O of one against the mappings of others. */
    static const uint8_t workers[K_NKINDS] = {12, 5, 3, 6, 6, 20, 20, 5, 5, 3,
                                              3, 3, 2, 2};
    const uint8_t *weights = g_processes ? workers : one_process;
    int total = 0, x;
    for (int k = 0; k < K_NKINDS; k++) total += weights[k];
    x = (int)below(r, (uint64_t)total);
    int k = 0;
    while (x >= weights[k]) x -= weights[k++];
    memset(o, 0, sizeof *o);
    o->kind = (uint8_t)k;
    o->seed = next(r);
    switch (k) {
    case K_MMAP:
        gen_mmap(r, m, o);
        break;
    case K_MUNMAP:
        gen_range_op(r, m, o);
        if (o->slot != SP_ARENA && o->off == 0 && o->len >= m->len[o->slot])
            m->live[o->slot] = 0;
        break;
    case K_MPROTECT:
        gen_range_op(r, m, o);
        o->prot = pick_prot(r);
        break;
    case K_MSYNC:
        gen_range_op(r, m, o);
        o->arg = pick_msync_flags(r);
        break;
    case K_MADVISE:
        gen_range_op(r, m, o);
        o->arg = pick_advice(r);
        break;
    case K_LOAD:
    case K_STORE:
        o->slot = (uint8_t)pick_slot(r, m, 1);
        o->off = gen_access_off(r, m, o->slot);
        o->len = 1 + below(r, 8);
        break;
    case K_SYSREAD:
    case K_SYSWRITE:
        o->slot = (uint8_t)pick_slot(r, m, 1);
        o->off = gen_access_off(r, m, o->slot);
        o->file = (uint8_t)below(r, NFILES);
        o->aoff = below(r, m->fsize[o->file] + pg);
        o->len = 1 + below(r, 2 * pg);
        break;
    case K_FORK:
        o->place = (uint8_t)chance(r, 40); /* _exit instead of exit */
        break;
    case K_EXIT:
        o->place = (uint8_t)below(r, 3); /* enum leave */
        memset(m->live, 0, sizeof m->live);
        break;
    default:
        gen_file_op(r, m, o);
        break;
    }
}

/* A page count for mremap's new_size: in [1, MAXPAGES / 2]. */
static uint64_t clamp_pages(uint64_t p)
{
    return p < 1 ? 1 : p > MAXPAGES / 2 ? MAXPAGES / 2 : p;
}

/* mremap(2): grow in place, grow with MREMAP_MAYMOVE, shrink, move with
 * MREMAP_FIXED into the arena, MREMAP_DONTUNMAP, old_size 0 (a second
 * mapping of shared pages), and now and then arguments the kernel
 * refuses.  Drawn from its own stream R, so that --mremap inserts these
 * ops between the same ops as without it. */
static void gen_mremap(uint64_t *r, struct model *m, struct op *o)
{
    memset(o, 0, sizeof *o);
    o->kind = K_MREMAP;
    o->seed = next(r);
    o->slot2 = NO_SLOT;
    int s = pick_slot(r, m, 1);
    int x = (int)below(r, 100);
    if (x >= 78 && x < 90 && chance(r, 85)) {
        /* old_size 0 wants a shared mapping */
        int cand[NSLOTS], n = 0;
        for (int i = 0; i < NSLOTS; i++)
            if (m->live[i] && m->shared[i]) cand[n++] = i;
        if (n) s = cand[below(r, (uint64_t)n)];
    }
    o->slot = (uint8_t)s;
    if (chance(r, 6)) {
        /* a range of the arena: in place, or moved within the arena */
        o->slot = SP_ARENA;
        o->off = (int64_t)(below(r, ARENA_PAGES - 16) * pg);
        o->len = (1 + below(r, 16)) * pg;
        o->len2 = (1 + below(r, 24)) * pg;
        if (x < 60) {
            o->arg = 0;
        } else {
            o->arg = MREMAP_MAYMOVE | MREMAP_FIXED;
            o->place = 1;
            o->aoff = below(r, ARENA_PAGES - o->len2 / pg + 1) * pg;
        }
        return;
    }
    if (!m->live[s]) m->len[s] = m->len[s] ? m->len[s] : pg;
    uint64_t np = m->len[s] / pg ? m->len[s] / pg : 1, a = 0, b = np;
    if (chance(r, 25)) {                        /* part of the slot */
        a = below(r, np);
        b = a + 1 + below(r, np - a);
    }
    o->off = (int64_t)(a * pg);
    uint64_t op = b - a, npages = op;
    if (x < 16) {                                /* grow in place */
        npages = clamp_pages(op + 1 + below(r, 16));
    } else if (x < 36) {                         /* grow, may move */
        o->arg = MREMAP_MAYMOVE;
        npages = clamp_pages(chance(r, 30) ? 2 * op : op + 1 + below(r, 32));
    } else if (x < 50) {                         /* shrink */
        o->arg = chance(r, 30) ? MREMAP_MAYMOVE : 0;
        npages = op > 1 ? 1 + below(r, op - 1) : 1;
    } else if (x < 64) {                         /* move into the arena */
        o->arg = MREMAP_MAYMOVE | MREMAP_FIXED;
        if (chance(r, 40)) npages = clamp_pages(1 + below(r, 2 * op + 4));
    } else if (x < 78) {                         /* leave the old range */
        o->arg = MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
        if (chance(r, 25)) o->arg |= MREMAP_FIXED;
    } else if (x < 90) {                         /* a second mapping */
        /* old_size 0: shared mappings only (private ones: EINVAL) */
        op = 0;
        o->arg = chance(r, 90) ? MREMAP_MAYMOVE : 0;
        npages = clamp_pages(1 + below(r, np + 2));
        if (chance(r, 20)) o->arg |= MREMAP_FIXED;
    }
    o->len = op * pg;
    o->len2 = npages * pg;
    if (o->arg & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
        o->place = 1;
        o->aoff = below(r, ARENA_PAGES - npages + 1) * pg;
    }
    /* Lengths that are not page multiples: they round up. */
    if (o->len && chance(r, 8)) o->len -= below(r, pg);
    if (chance(r, 8)) o->len2 -= below(r, pg);
    if (x >= 90) {
        /* arguments the kernel refuses before it looks at the mappings */
        switch (below(r, 7)) {
        case 0: o->off += 1 + (int64_t)below(r, pg - 1); break;    /* unaligned */
        case 1: o->arg |= 8; break;                                /* unknown flag */
        case 2: o->len2 = 0; break;                                /* new_size 0 */
        case 3: o->arg = MREMAP_FIXED; o->place = 1; break;        /* no MAYMOVE */
        case 4: o->arg = MREMAP_DONTUNMAP; o->place = 1; break;    /* no MAYMOVE */
        case 5: o->arg = MREMAP_MAYMOVE | MREMAP_DONTUNMAP;        /* resizes */
            o->len2 = o->len + pg * (1 + below(r, 4)); o->place = 1; break;
        default: o->arg = MREMAP_MAYMOVE | MREMAP_FIXED;           /* unaligned target */
            o->place = 1; o->unaligned = 1; break;
        }
        return;
    }
    /* What stays at the old place goes to a free slot, if there is one. */
    int t = pick_slot(r, m, 0);
    if (!m->live[t] && t != s) o->slot2 = (uint8_t)t;
    if (!m->live[s]) return;
    if (op < np || (o->arg & MREMAP_DONTUNMAP) || o->len == 0) {
        if (o->slot2 != NO_SLOT) {
            m->live[o->slot2] = 1;
            m->len[o->slot2] = m->len[s];
            m->file[o->slot2] = m->file[s];
            m->off[o->slot2] = m->off[s];
            m->shared[o->slot2] = m->shared[s];
        }
    }
    if (m->file[s] >= 0) m->off[s] += o->off;
    m->len[s] = round_pg(o->len2);
}

/* Whether op I is an mremap inserted from stream R2 (--mremap, 1 in 20). */
static int insert_mremap(uint64_t *r2)
{
    return g_mremap && chance(r2, 5);
}

static int generate(uint64_t seed, int n, struct op *ops)
{
    struct model m;
    memset(&m, 0, sizeof m);
    for (int f = 0; f < NFILES; f++) m.fsize[f] = file_size0(seed, f);
    uint64_t r = seed ^ 0x5eed5eed5eedull;
    /* mremap ops come from a stream of their own: without --mremap the
     * programs are those of before (the regress_* seeds keep theirs). */
    uint64_t r2 = seed ^ 0x3e3a93e3a93e3aull;
    if (!g_processes) {
        for (int i = 0; i < n; i++) {
            if (insert_mremap(&r2)) gen_mremap(&r2, &m, &ops[i]);
            else gen_one(&r, &m, &ops[i]);
        }
        return n;
    }
    /* One model per worker (its slots), the files' sizes common to all. */
    struct model w[MAXWORKERS];
    for (int i = 0; i < g_processes; i++) w[i] = m;
    for (int i = 0; i < n; i++) {
        if (insert_mremap(&r2)) {
            int k = (int)below(&r2, (uint64_t)g_processes);
            gen_mremap(&r2, &w[k], &ops[i]);
            ops[i].worker = (uint8_t)k;
            continue;
        }
        int k = (int)below(&r, (uint64_t)g_processes);
        gen_one(&r, &w[k], &ops[i]);
        ops[i].worker = (uint8_t)k;
        for (int j = 0; j < g_processes; j++)
            memcpy(w[j].fsize, w[k].fsize, sizeof w[j].fsize);
    }
    return n;
}

/* ================================================================== */
/* Describing ops                                                      */

static void prot_str(int prot, char *b, size_t n)
{
    if (prot == PROT_NONE) { snprintf(b, n, "PROT_NONE"); return; }
    snprintf(b, n, "%s%s%s%s", prot & PROT_READ ? "PROT_READ" : "",
             (prot & PROT_READ) && (prot & ~PROT_READ) ? "|" : "",
             prot & PROT_WRITE ? "PROT_WRITE" : "",
             prot & PROT_EXEC ? ((prot & PROT_WRITE) ? "|PROT_EXEC" : "PROT_EXEC") : "");
}

static void flags_str(int fl, char *b, size_t n)
{
    int t = fl & 0x0f;
    snprintf(b, n, "%s%s%s%s%s",
             t == MAP_SHARED ? "MAP_SHARED" : t == MAP_PRIVATE ? "MAP_PRIVATE"
             : t == MAP_SHARED_VALIDATE ? "MAP_SHARED_VALIDATE"
             : t == 0 ? "0 /*no type*/" : "0x4 /*bad type*/",
             fl & MAP_ANONYMOUS ? "|MAP_ANONYMOUS" : "",
             fl & MAP_POPULATE ? "|MAP_POPULATE" : "",
             fl & MAP_NORESERVE ? "|MAP_NORESERVE" : "",
             fl & 0x800000 ? "|0x800000" : "");
}

static const char *msync_str(int f)
{
    switch (f) {
    case MS_SYNC: return "MS_SYNC";
    case MS_ASYNC: return "MS_ASYNC";
    case MS_INVALIDATE: return "MS_INVALIDATE";
    case MS_SYNC | MS_INVALIDATE: return "MS_SYNC|MS_INVALIDATE";
    case MS_ASYNC | MS_INVALIDATE: return "MS_ASYNC|MS_INVALIDATE";
    case MS_SYNC | MS_ASYNC: return "MS_SYNC|MS_ASYNC";
    case 0: return "0";
    default: return "8 /*bad flag*/";
    }
}

static const char *advice_str(int a)
{
    switch (a) {
    case MADV_DONTNEED: return "MADV_DONTNEED";
    case MADV_WILLNEED: return "MADV_WILLNEED";
    case MADV_SEQUENTIAL: return "MADV_SEQUENTIAL";
    case MADV_RANDOM: return "MADV_RANDOM";
    case MADV_NORMAL: return "MADV_NORMAL";
    case MADV_POPULATE_READ: return "MADV_POPULATE_READ";
    case MADV_POPULATE_WRITE: return "MADV_POPULATE_WRITE";
    default: return "12345 /*bad advice*/";
    }
}

static void where_str(const struct op *o, char *b, size_t n)
{
    if (o->slot == SP_ARENA)
        snprintf(b, n, "arena + %" PRId64, o->off);
    else
        snprintf(b, n, "p[%d] + %" PRId64, o->slot, o->off);
}

static void mremap_flags_str(int fl, char *b, size_t n)
{
    if (!fl) { snprintf(b, n, "0"); return; }
    snprintf(b, n, "%s%s%s%s", fl & MREMAP_MAYMOVE ? "|MREMAP_MAYMOVE" : "",
             fl & MREMAP_FIXED ? "|MREMAP_FIXED" : "",
             fl & MREMAP_DONTUNMAP ? "|MREMAP_DONTUNMAP" : "",
             fl & 8 ? "|8 /*bad flag*/" : "");
    memmove(b, b + 1, strlen(b)); /* the first '|' */
}

static const char *const fd_name[] = {"fd", "rofd", "wofd", "badfd", "dirfd", ""};

/* One op as a C-like line, the form a conformance scenario would use. */
static void describe_op(const struct op *o, char *b, size_t n)
{
    char w[64], p[48], f[96], addr[64], fd[32];
    where_str(o, w, sizeof w);
    switch (o->kind) {
    case K_MMAP:
        prot_str(o->prot, p, sizeof p);
        flags_str(o->flags, f, sizeof f);
        if (o->place == PL_ANY) snprintf(addr, sizeof addr, "NULL");
        else snprintf(addr, sizeof addr, "arena + %" PRIu64 "%s", o->aoff,
                      o->unaligned ? " + 1" : "");
        if (o->fdkind == FD_ANON) snprintf(fd, sizeof fd, "-1");
        else snprintf(fd, sizeof fd, "%s[%d]", fd_name[o->fdkind], o->file);
        snprintf(b, n, "p[%d] = mmap(%s, %" PRIu64 ", %s, %s%s, %s, %" PRId64 ");",
                 o->slot, addr, o->len, p, f,
                 o->place == PL_FIXED ? "|MAP_FIXED"
                 : o->place == PL_NOREPLACE ? "|MAP_FIXED_NOREPLACE" : "",
                 fd, o->off);
        break;
    case K_MUNMAP:
        snprintf(b, n, "munmap(%s, %" PRIu64 ");", w, o->len);
        break;
    case K_MPROTECT:
        prot_str(o->prot, p, sizeof p);
        snprintf(b, n, "mprotect(%s, %" PRIu64 ", %s);", w, o->len, p);
        break;
    case K_MSYNC:
        snprintf(b, n, "msync(%s, %" PRIu64 ", %s);", w, o->len, msync_str(o->arg));
        break;
    case K_MADVISE:
        snprintf(b, n, "madvise(%s, %" PRIu64 ", %s);", w, o->len, advice_str(o->arg));
        break;
    case K_LOAD:
        snprintf(b, n, "load(%s, %" PRIu64 ");", w, o->len);
        break;
    case K_STORE:
        snprintf(b, n, "store(%s, %" PRIu64 ", 0x%02x...);", w, o->len,
                 (unsigned)(o->seed & 0xff));
        break;
    case K_PREAD:
        snprintf(b, n, "pread(fd[%d], buf, %" PRIu64 ", %" PRId64 ");", o->file,
                 o->len, o->off);
        break;
    case K_PWRITE:
        snprintf(b, n, "pwrite(fd[%d], 0x%02x..., %" PRIu64 ", %" PRId64 ");",
                 o->file, (unsigned)(o->seed & 0xff), o->len, o->off);
        break;
    case K_TRUNCATE:
        snprintf(b, n, "ftruncate(fd[%d], %" PRIu64 ");", o->file, o->len);
        break;
    case K_SYSREAD:
        snprintf(b, n, "pread(fd[%d], %s, %" PRIu64 ", %" PRIu64 "); /* into the mapping */",
                 o->file, w, o->len, o->aoff);
        break;
    case K_SYSWRITE:
        snprintf(b, n, "pwrite(fd[%d], %s, %" PRIu64 ", %" PRIu64 "); /* from the mapping */",
                 o->file, w, o->len, o->aoff);
        break;
    case K_FORK:
        snprintf(b, n, "fork(); /* child seed %016" PRIx64 ", then %s */", o->seed,
                 o->place ? "_exit(0)" : "exit(0)");
        break;
    case K_MREMAP:
        mremap_flags_str(o->arg, f, sizeof f);
        if (o->place) snprintf(addr, sizeof addr, ", arena + %" PRIu64 "%s", o->aoff,
                               o->unaligned ? " + 1" : "");
        else addr[0] = 0;
        if (o->slot2 == NO_SLOT) snprintf(fd, sizeof fd, "munmapped");
        else snprintf(fd, sizeof fd, "p[%d]", o->slot2);
        if (o->slot == SP_ARENA)
            snprintf(b, n, "mremap(%s, %" PRIu64 ", %" PRIu64 ", %s%s);", w, o->len,
                     o->len2, f, addr);
        else
            snprintf(b, n, "p[%d] = mremap(%s, %" PRIu64 ", %" PRIu64 ", %s%s);"
                     " /* what stays: %s */", o->slot, w, o->len, o->len2, f, addr, fd);
        break;
    case K_EXIT:
        snprintf(b, n, "%s", o->place == LV_EXIT ? "exit(0);" : o->place == LV__EXIT
                 ? "_exit(0);" : "kill(worker, SIGKILL); /* by the coordinator */");
        break;
    }
}

/* With workers, the line names the one that runs it. */
static void describe(const struct op *o, char *b, size_t n)
{
    char t[LINE - 16];
    describe_op(o, t, sizeof t);
    if (g_processes) snprintf(b, n, "w%d: %s", o->worker, t);
    else snprintf(b, n, "%s", t);
}

/* ================================================================== */
/* Execution (in the run process)                                      */

struct slot {
    uint8_t *base;
    size_t len;      /* page-rounded */
    int live, file;  /* file -1: anonymous */
    int64_t foff;    /* file offset of the slot's base */
    int shared, in_arena;
    int dirty;       /* stores not yet msynced (shared file mappings) */
    uint8_t hole[MAXPAGES / 8]; /* pages unmapped by a partial munmap */
};

struct run {
    const struct hr_ops *f;
    uint64_t seed;
    int fd[NFILES], rofd[NFILES], wofd[NFILES], dirfd;
    uint8_t *arena;
    struct slot s[NSLOTS];
    int logfd;
    int fstale[NFILES]; /* file written by I/O while mapped */
    int fmixed[NFILES]; /* file I/O and mapped stores mixed without msync */
    int ftail[NFILES];  /* got bytes from past EOF of a mapping (tail_ctx) */
    char ctx;           /* 'c': the current op depends on coherence */
};

static struct run R; /* static: survives siglongjmp untouched */
static const struct hr_ops *R_second; /* the table of the second run */

static sigjmp_buf g_jmp;
static volatile sig_atomic_t g_armed;
static volatile int g_sig, g_code;
static volatile uintptr_t g_addr;

/* SIGSEGV/SIGBUS: taken by an access we are making, or a real crash.  In
 * in-thread mode usermap's SIGBUS handler runs first and chains here for
 * faults that are not its own, which is why this is installed before the
 * first um_* call. */
static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    if (!g_armed) {
        signal(sig, SIG_DFL); /* the access faults again and kills us */
        return;
    }
    g_armed = 0;
    g_sig = sig;
    g_code = si->si_code;
    g_addr = (uintptr_t)si->si_addr;
    siglongjmp(g_jmp, 1);
}

static void catch_faults(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

static void put(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void logf_(int idx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(int idx, const char *fmt, ...)
{
    char text[LINE - 32], line[LINE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (g_wid >= 0)
        snprintf(line, sizeof line, "%d|%c|%s [w%d]\n", idx, R.ctx ? R.ctx : '-', text, g_wid);
    else
        snprintf(line, sizeof line, "%d|%c|%s\n", idx, R.ctx ? R.ctx : '-', text);
    put(R.logfd, line);
}

static const char *errname(int e)
{
    const char *s = strerrorname_np(e);
    return s ? s : "E?";
}

static void log_ret(int idx, long r)
{
    int e = errno;
    if (r < 0) logf_(idx, "= %ld %s", r, errname(e));
    else logf_(idx, "= %ld", r);
}

static const char *sig_str(int sig, int code, char *b, size_t n)
{
    const char *c = "?";
    if (sig == SIGSEGV) c = code == SEGV_MAPERR ? "SEGV_MAPERR" : code == SEGV_ACCERR ? "SEGV_ACCERR" : "?";
    if (sig == SIGBUS) c = code == BUS_ADRERR ? "BUS_ADRERR" : code == BUS_OBJERR ? "BUS_OBJERR" : "?";
    snprintf(b, n, "SIG%s %s(%d)", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", c, code);
    return b;
}

/* Load or store N bytes at BASE+OFF one at a time, describing what
 * happened in OUT: the bytes, and the signal that stopped it if any, with
 * si_addr relative to BASE. */
static void access_bytes(uint8_t *base, int64_t off, int n, int store,
                         uint8_t val, char *out, size_t outn)
{
    volatile uint8_t *p = base + off;
    static volatile uint8_t got[16];
    static volatile int done;
    done = 0;
    g_sig = 0;
    if (sigsetjmp(g_jmp, 1) == 0) {
        g_armed = 1;
        for (; done < n; done++) {
            if (store) p[done] = (uint8_t)(val + done);
            else got[done] = p[done];
        }
        g_armed = 0;
    }
    size_t l = (size_t)snprintf(out, outn, "%s %d", store ? "stored" : "loaded", done);
    for (int i = 0; !store && i < done && l < outn; i++)
        l += (size_t)snprintf(out + l, outn - l, " %02x", got[i]);
    if (g_sig && l < outn) {
        char sb[64];
        snprintf(out + l, outn - l, ", then %s at %+" PRIdPTR,
                 sig_str(g_sig, g_code, sb, sizeof sb), (intptr_t)(g_addr - (uintptr_t)base));
    }
}

static int slot_hole(const struct slot *s, uint64_t off, uint64_t len)
{
    if (s->in_arena) return 0;
    for (uint64_t p = off / pg; p < (off + len + pg - 1) / pg && p < MAXPAGES; p++)
        if (s->hole[p / 8] & (1u << (p % 8))) return 1;
    return 0;
}

/* Whether every page of slot t within the addresses [a, b) is a hole:
 * the kernel may have put another slot there, in one run and not the
 * other, so a hole never links two slots. */
static int slot_all_holes(const struct slot *t, uintptr_t a, uintptr_t b)
{
    uintptr_t lo = (uintptr_t)t->base, hi = lo + t->len;
    uint64_t from = (uint64_t)((a > lo ? a : lo) - lo), to = (uint64_t)((b < hi ? b : hi) - lo);
    for (uint64_t p = from / pg * pg; p < to; p += pg)
        if (!slot_hole(t, p, 1)) return 0;
    return 1;
}

/* Resolve the range of a slot or arena op to an address; NULL (with the
 * reason logged) when it must not be touched. */
static uint8_t *resolve(int idx, const struct op *o, uint8_t **base)
{
    if (o->slot == SP_ARENA) {
        *base = R.arena;
        return R.arena ? R.arena + o->off : NULL;
    }
    struct slot *s = &R.s[o->slot];
    if (!s->live) { logf_(idx, "skip: slot %d not mapped", o->slot); return NULL; }
    uint64_t end = (uint64_t)o->off + (o->len ? o->len : 1);
    if (o->off < 0 || end > s->len) { logf_(idx, "skip: outside slot %d", o->slot); return NULL; }
    if (slot_hole(s, (uint64_t)o->off, o->len ? o->len : 1)) {
        logf_(idx, "skip: slot %d has a hole there", o->slot);
        return NULL;
    }
    *base = s->base;
    return s->base + o->off;
}

static int file_has_slot(int f, int shared_dirty_only)
{
    for (int i = 0; i < NSLOTS; i++)
        if (R.s[i].live && R.s[i].file == f && (!shared_dirty_only || R.s[i].dirty))
            return 1;
    return 0;
}

/* The coherence context of a load (or a pread of a buffer) from slot S. */
static char slot_ctx(const struct slot *s)
{
    return s->file >= 0 && R.fstale[s->file] ? 'c' : 0;
}

/* 't' when [off, off+len) of slot S reaches the bytes past the end of the
 * file in its last, partial page: Linux keeps what was stored there until
 * write-back zeroes it (ext4 does, at msync), an implementation detail. */
static char tail_ctx(const struct slot *s, int64_t off, uint64_t len)
{
    struct stat st;
    if (s->file < 0 || fstat(R.fd[s->file], &st) != 0) return 0;
    uint64_t size = (uint64_t)st.st_size, a = (uint64_t)(s->foff + off);
    return a + len > size && a < round_pg(size) ? 't' : 0;
}

static void mark_slot_store(struct slot *s)
{
    if (s->file < 0) return;
    if (s->shared) s->dirty = 1;
    if (R.fstale[s->file]) R.fmixed[s->file] = 1;
}

/* A store to [off, off+len) of slot s dirties every slot mapping those
 * addresses: a MAP_FIXED mapping may lie over part of another slot. */
static void mark_store(struct slot *s, int64_t off, uint64_t len)
{
    uintptr_t a = (uintptr_t)s->base + (uintptr_t)off, b = a + len;
    for (int i = 0; i < NSLOTS; i++) {
        struct slot *t = &R.s[i];
        uintptr_t lo = (uintptr_t)t->base, hi = lo + t->len;
        /* Only the arena's addresses are the same in both runs; elsewhere
         * a slot overlaps no other. */
        if (t != s && !(s->in_arena && t->in_arena)) continue;
        if (t->live && a < hi && lo < b && !slot_all_holes(t, a, b)) mark_slot_store(t);
    }
}

/* The file was written by I/O: mappings of it may be stale from now on. */
static void mark_file_write(int f)
{
    if (file_has_slot(f, 0)) R.fstale[f] = 1;
    if (file_has_slot(f, 1)) R.fmixed[f] = 1;
}

static void forget_slot(struct slot *s)
{
    int f = s->file;
    memset(s, 0, sizeof *s);
    if (f >= 0 && !file_has_slot(f, 0)) R.fstale[f] = 0;
}

static int map_fd(const struct op *o)
{
    switch (o->fdkind) {
    case FD_RDWR: return R.fd[o->file];
    case FD_RDONLY: return R.rofd[o->file];
    case FD_WRONLY: return R.wofd[o->file];
    case FD_BAD: return 1000;
    case FD_DIR: return R.dirfd;
    default: return -1;
    }
}

static void do_mmap(int idx, const struct op *o)
{
    struct slot *s = &R.s[o->slot];
    if (s->live) { logf_(idx, "skip: slot %d in use", o->slot); return; }
    int flags = o->flags;
    uint8_t *addr = NULL;
    if (o->place != PL_ANY) {
        addr = R.arena + o->aoff + o->unaligned;
        flags |= o->place == PL_FIXED ? MAP_FIXED : MAP_FIXED_NOREPLACE;
    }
    errno = 0;
    uint8_t *p = R.f->mmap(addr, o->len, o->prot, flags, map_fd(o), o->off);
    int e = errno;
    if (p == MAP_FAILED) { logf_(idx, "MAP_FAILED %s", errname(e)); return; }
    if (addr) logf_(idx, "ok at arena %+td", p - R.arena);
    else logf_(idx, "ok");
    s->base = p;
    s->len = round_pg(o->len);
    s->live = 1;
    s->file = o->fdkind == FD_ANON ? -1 : o->file;
    s->foff = o->off;
    s->shared = (o->flags & 0x0f) != MAP_PRIVATE;
    s->in_arena = addr != NULL;
    if (s->len > MAXPAGES * pg) s->len = MAXPAGES * pg; /* never touch beyond */
}

static int all_holes(const struct slot *s)
{
    for (uint64_t p = 0; p < s->len / pg; p++)
        if (!(s->hole[p / 8] & (1u << (p % 8)))) return 0;
    return 1;
}

/* After a successful munmap of [off, off+len) of slot S (or the arena). */
static void note_unmap(const struct op *o)
{
    uint64_t a = (uint64_t)o->off, b = a + round_pg(o->len);
    for (int i = 0; i < NSLOTS; i++) {
        struct slot *s = &R.s[i];
        if (!s->live) continue;
        if (o->slot == SP_ARENA || s->in_arena) {
            /* arena-relative: a slot wholly inside the range is gone */
            uint8_t *base = o->slot == SP_ARENA ? R.arena : R.s[o->slot].base;
            if (s->in_arena && s->base >= base + a && s->base + s->len <= base + b)
                forget_slot(s);
            if (o->slot != SP_ARENA && i == o->slot && a == 0 && b >= s->len)
                forget_slot(s);
            continue;
        }
        if (i != o->slot) continue;
        for (uint64_t p = a / pg; p < b / pg && p < MAXPAGES; p++)
            s->hole[p / 8] |= (uint8_t)(1u << (p % 8));
        if (slot_hole(s, 0, s->len) && all_holes(s)) forget_slot(s);
    }
}

/* ------------------------------------------------------------ mremap */

static int hole_bit(const struct slot *s, uint64_t p)
{
    return p < MAXPAGES && (s->hole[p / 8] >> (p % 8) & 1);
}

/* Marks the pages of slot S at offsets [a, b) as holes (arena slots too:
 * only what follows an mremap reads their holes). */
static void mark_holes(struct slot *s, uint64_t a, uint64_t b)
{
    for (uint64_t p = a / pg; p < (b + pg - 1) / pg && p < MAXPAGES; p++)
        s->hole[p / 8] |= (uint8_t)(1u << (p % 8));
}

static int in_arena_range(const uint8_t *p, uint64_t len)
{
    return R.arena && p >= R.arena && p + len <= R.arena + ARENA_PAGES * pg;
}

/* What stays at the old place after a successful mremap of slot O->slot
 * (a copy of the slot as it was, in L): a slot of its own (O->slot2) if
 * that is free, else munmapped, the same on both sides.  L's holes say
 * what stays; every page of it the new mapping covers is one. */
static void keep_old_place(int idx, const struct op *o, struct slot *l, const struct slot *n)
{
    uintptr_t lo = (uintptr_t)l->base, nlo = (uintptr_t)n->base, nhi = nlo + n->len;
    if (nlo < lo + l->len && lo < nhi)
        mark_holes(l, nlo > lo ? nlo - lo : 0, (nhi < lo + l->len ? nhi : lo + l->len) - lo);
    if (all_holes(l)) return;
    if (o->slot2 < NSLOTS && !R.s[o->slot2].live) {
        R.s[o->slot2] = *l;
        logf_(idx, "the old place is p[%d]", o->slot2);
        return;
    }
    for (uint64_t a = 0; a < l->len;) {
        if (hole_bit(l, a / pg)) { a += pg; continue; }
        uint64_t b = a;
        while (b < l->len && !hole_bit(l, b / pg)) b += pg;
        errno = 0;
        int r = R.f->munmap(l->base + a, b - a);
        logf_(idx, "the old place: munmap(old p[%d] + %" PRIu64 ", %" PRIu64 ") = %d %s",
              o->slot, a, b - a, r, r ? errname(errno) : "");
        a = b;
    }
}

static void do_mremap(int idx, const struct op *o)
{
    uint64_t olen = round_pg(o->len), nlen = round_pg(o->len2);
    uint8_t *old;
    int arena_src;
    struct slot *s = NULL;
    if (o->slot == SP_ARENA) {
        if (!R.arena) { logf_(idx, "skip: no arena"); return; }
        old = R.arena + o->off;
        arena_src = 1;
    } else {
        /* The old range must be the slot's own (old_size 0: its first page). */
        struct op range = *o;
        uint8_t *base;
        range.off = o->off / (int64_t)pg * (int64_t)pg;
        range.len = olen ? olen : pg;
        if (!resolve(idx, &range, &base)) return;
        s = &R.s[o->slot];
        old = s->base + o->off;
        arena_src = s->in_arena;
    }
    if (o->place && !R.arena) { logf_(idx, "skip: no arena"); return; }
    uint8_t *target = o->place ? R.arena + o->aoff + o->unaligned : NULL;
    /* Grown in place, the range takes the addresses after it: free or not
     * in the arena alike in both runs, elsewhere a matter of each run's
     * layout.  So outside the arena no growth in place is tried, and in
     * it none past its end. */
    int in_place = !(o->arg & ~MREMAP_MAYMOVE) && olen && nlen > olen;
    if (in_place && !arena_src && !(o->arg & MREMAP_MAYMOVE)) {
        logf_(idx, "skip: grows in place outside the arena (depends on the run's layout)");
        return;
    }
    if (in_place && arena_src && !in_arena_range(old, nlen)) {
        logf_(idx, "skip: would grow past the end of the arena");
        return;
    }
    errno = 0;
    uint8_t *p = R.f->mremap(old, o->len, o->len2, o->arg, target);
    int e = errno;
    if (p == MAP_FAILED) { logf_(idx, "MAP_FAILED %s", errname(e)); return; }
    int moved_in_arena = in_arena_range(p, nlen);
    if (moved_in_arena) logf_(idx, "ok at arena %+td", p - R.arena);
    else if (arena_src) logf_(idx, "ok, out of the arena");
    else logf_(idx, "ok");
    if (!s) return; /* an arena range: what it moved is no slot's */
    struct slot l = *s;
    /* The new mapping: the slot follows it. */
    s->base = p;
    s->len = nlen > MAXPAGES * pg ? MAXPAGES * pg : nlen;
    s->foff += o->off;
    s->in_arena = moved_in_arena;
    memset(s->hole, 0, sizeof s->hole);
    /* The old place keeps what the call did not take: with
     * MREMAP_DONTUNMAP or old_size 0 all of it, else all but the range. */
    if (!(o->arg & MREMAP_DONTUNMAP) && olen) mark_holes(&l, (uint64_t)o->off, (uint64_t)o->off + olen);
    keep_old_place(idx, o, &l, s);
}

static void do_range(int idx, const struct op *o)
{
    uint8_t *base, *p = resolve(idx, o, &base);
    if (!p) return;
    int r = 0;
    errno = 0;
    switch (o->kind) {
    case K_MUNMAP:
        r = R.f->munmap(p, o->len);
        if (r == 0 && o->len) note_unmap(o);
        break;
    case K_MPROTECT:
        r = R.f->mprotect(p, o->len, o->prot);
        break;
    case K_MSYNC:
        r = R.f->msync(p, o->len, o->arg);
        if (r == 0 && o->slot != SP_ARENA && o->off == 0 &&
            round_pg(o->len) >= R.s[o->slot].len && (o->arg & (MS_SYNC | MS_ASYNC)))
            R.s[o->slot].dirty = 0;
        break;
    default:
        if (o->arg == MADV_POPULATE_WRITE && o->slot != SP_ARENA)
            mark_store(&R.s[o->slot], o->off, o->len);
        r = R.f->madvise(p, o->len, o->arg);
        break;
    }
    log_ret(idx, r);
}

static void do_access(int idx, const struct op *o)
{
    uint8_t *base, *p = resolve(idx, o, &base);
    if (!p) return;
    char out[LINE - 64];
    struct slot *s = o->slot == SP_ARENA ? NULL : &R.s[o->slot];
    /* Past EOF is the more specific reason, as for a write from it. */
    if (s) R.ctx = tail_ctx(s, o->off, o->len);
    if (s && !R.ctx) R.ctx = slot_ctx(s);
    if (s && o->kind == K_STORE) mark_store(s, o->off, o->len);
    uint8_t val = (uint8_t)o->seed;
    if (g_test_diverge >= 0 && idx >= g_test_diverge && !g_diverged && R.f == R_second &&
        o->kind == K_STORE && s && s->shared && s->file >= 0) {
        g_diverged = 1; /* the checker's self-check: other bytes, same log */
        val = (uint8_t)~val;
    }
    access_bytes(base, o->off, (int)o->len, o->kind == K_STORE, val, out, sizeof out);
    logf_(idx, "%s", out);
}

/* The next mapped piece [*a, *b) of slot S at or after *b; 0 at the end. */
static int next_piece(const struct slot *s, size_t *a, size_t *b)
{
    *a = *b;
    while (*a < s->len && slot_hole(s, *a, 1)) *a += pg;
    if (*a >= s->len) return 0;
    *b = *a;
    while (*b < s->len && !slot_hole(s, *b, 1)) *b += pg;
    return 1;
}

/* msync(FLAGS) every mapped piece of the live slots of file F (with
 * DIRTY_ONLY, only the shared slots holding stores not yet synced). */
static void sync_file(int idx, int f, int flags, int dirty_only)
{
    for (int i = 0; i < NSLOTS; i++) {
        struct slot *s = &R.s[i];
        if (!s->live || s->file != f || (dirty_only && !s->dirty)) continue;
        size_t a, b = 0;
        int bad = 0;
        while (next_piece(s, &a, &b)) {
            errno = 0;
            int r = R.f->msync(s->base + a, b - a, flags);
            bad |= r != 0;
            logf_(idx, "posix: msync(p[%d] + %zu, %zu, %s) = %d %s", i, a, b - a,
                  msync_str(flags), r, r ? errname(errno) : "");
        }
        if (!bad && (flags & MS_SYNC)) s->dirty = 0;
    }
    if (flags & MS_INVALIDATE) R.fstale[f] = 0;
}

/* Whether a write of [off, off+len) to file F is allowed here: in POSIX
 * mode a mapped file is not resized (what mappings see then is
 * unspecified).  Syncs F's dirty mappings first, as POSIX asks. */
static int before_file_write(int idx, int f, uint64_t off, uint64_t len, int truncate)
{
    if (g_mixed) return 1;
    struct stat st;
    fstat(R.fd[f], &st);
    uint64_t size = (uint64_t)st.st_size;
    int mapped = file_has_slot(f, 0) || (g_others_mapped >> f & 1);
    if (mapped && (truncate ? len != size : off + len > size)) {
        logf_(idx, "skip: would resize mapped file %d (POSIX: unspecified)", f);
        return 0;
    }
    sync_file(idx, f, MS_SYNC, 1);
    return 1;
}

static void after_file_write(int idx, int f)
{
    if (!g_mixed) sync_file(idx, f, MS_INVALIDATE, 0);
}

static void before_file_read(int idx, int f)
{
    if (!g_mixed) sync_file(idx, f, MS_SYNC, 1);
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void do_file_op(int idx, const struct op *o)
{
    int fd = R.fd[o->file];
    uint8_t buf[64];
    ssize_t r;
    errno = 0;
    switch (o->kind) {
    case K_PREAD:
        before_file_read(idx, o->file);
        R.ctx = file_has_slot(o->file, 1) ? 'c' : 0;
        r = R.f->pread(fd, buf, o->len, o->off);
        if (r < 0) { log_ret(idx, r); return; }
        logf_(idx, "= %zd fnv %016" PRIx64 " %02x%02x", r, fnv(buf, (size_t)r),
              r > 0 ? buf[0] : 0, r > 1 ? buf[1] : 0);
        return;
    case K_PWRITE:
        for (uint64_t i = 0; i < o->len; i++) buf[i] = (uint8_t)(o->seed + i * 3);
        if (!before_file_write(idx, o->file, (uint64_t)o->off, o->len, 0)) return;
        mark_file_write(o->file);
        log_ret(idx, R.f->pwrite(fd, buf, o->len, o->off));
        after_file_write(idx, o->file);
        return;
    default:
        if (!before_file_write(idx, o->file, 0, o->len, 1)) return;
        mark_file_write(o->file);
        log_ret(idx, R.f->ftruncate(fd, (off_t)o->len));
        after_file_write(idx, o->file);
        return;
    }
}

/* Whether a read() from file F into slot S can read bytes it has already
 * stored through the mapping (S maps F and the ranges are within a page
 * of each other): the kernel reads its page cache as it writes it, usermap
 * reads the file; what the read sees of itself is not a contract. */
static int reads_own_file(const struct op *o)
{
    /* By address, not by the op's slot: a MAP_FIXED mapping of the file
     * may lie over part of another slot's range. */
    uintptr_t a = (uintptr_t)(R.s[o->slot].base + o->off), b = a + o->len;
    for (int i = 0; i < NSLOTS; i++) {
        const struct slot *t = &R.s[i];
        uintptr_t lo = (uintptr_t)t->base, hi = lo + t->len;
        if (t != &R.s[o->slot] && !(R.s[o->slot].in_arena && t->in_arena)) continue;
        if (!t->live || t->file != o->file || b <= lo || hi <= a || slot_all_holes(t, a, b))
            continue;
        int64_t from = t->foff + (int64_t)((a > lo ? a : lo) - lo);
        int64_t to = t->foff + (int64_t)((b < hi ? b : hi) - lo);
        int64_t src = (int64_t)o->aoff, end = src + (int64_t)o->len;
        if (from < end + (int64_t)pg && src < to + (int64_t)pg) return 1;
    }
    return 0;
}

/* In-thread mode a system call cannot fill a page (it fails EFAULT, as
 * documented): a program in that mode touches its buffers first, and so
 * do both runs here, so that the calls compare like for like.  A page the
 * touch cannot read (PROT_NONE, past the end) stops it there. */
static void touch_buffer(volatile uint8_t *p, size_t len)
{
    static volatile size_t at;
    const char *mode = getenv("USERMAP_FAULT_MODE");
    if (!mode || strcmp(mode, "in-thread") != 0) return;
    at = 0;
    g_sig = 0;
    if (sigsetjmp(g_jmp, 1) == 0) {
        g_armed = 1;
        /* One load per page the buffer touches: steps from page start to
         * page start in addresses, not in offsets from p. */
        for (; at < len; at = (((uintptr_t)p + at) | (pg - 1)) + 1 - (uintptr_t)p) (void)p[at];
        g_armed = 0;
    }
}

/* read() into, or write() from, a mapped buffer: the kernel itself touches
 * the mapping. */
static void do_sysio(int idx, const struct op *o)
{
    struct op range = *o;
    uint8_t *base, *p = resolve(idx, &range, &base);
    if (!p) return;
    touch_buffer(p, o->len);
    struct slot *s = &R.s[o->slot];
    ssize_t r;
    errno = 0;
    if (o->kind == K_SYSREAD) {
        /* The kernel copies the file into its page cache as it reads it
         * (overlapping ranges smear), usermap through a buffer of its
         * own; what the read sees of itself is not a contract. */
        if (reads_own_file(o)) { logf_(idx, "skip: reads the file into its own mapping"); return; }
        before_file_read(idx, o->file);
        R.ctx = file_has_slot(o->file, 1) ? 'c' : 0;
        mark_store(s, o->off, o->len);
        r = R.f->pread(R.fd[o->file], p, o->len, (off_t)o->aoff);
        log_ret(idx, r);
        return;
    }
    if (reads_own_file(o)) {
        /* The mirror case: the kernel's write reads its page cache as it
         * writes it (overlapping ranges smear), usermap's reads its
         * cache; what the write sees of itself is not a contract. */
        logf_(idx, "skip: writes the file from its own mapping");
        return;
    }
    if (!before_file_write(idx, o->file, o->aoff, o->len, 0)) return;
    /* Bytes from past the end of the mapped file are the more specific
     * reason for a difference: they are unspecified whatever else holds. */
    R.ctx = tail_ctx(s, o->off, o->len);
    if (R.ctx) R.ftail[o->file] = 1;
    else R.ctx = slot_ctx(s);
    mark_file_write(o->file);
    r = R.f->pwrite(R.fd[o->file], p, o->len, (off_t)o->aoff);
    log_ret(idx, r);
    after_file_write(idx, o->file);
}

/* The fork child: a few loads, stores and msyncs chosen by the op's seed,
 * each reported as one line through the pipe. */
static void child_actions(const struct op *o, int out)
{
    uint64_t r = o->seed;
    int n = 1 + (int)below(&r, 4);
    for (int i = 0; i < n; i++) {
        int what = (int)below(&r, 10), si = (int)below(&r, NSLOTS);
        uint64_t x = next(&r);
        struct slot *s = &R.s[si];
        char line[LINE - 80], acc[LINE - 128];
        if (!s->live) {
            snprintf(line, sizeof line, "[%d] slot %d not mapped; ", i, si);
        } else if (what < 8) {
            int64_t off = (int64_t)(x % s->len);
            int len = 1 + (int)(x >> 40) % 4;
            if (slot_hole(s, (uint64_t)off, (uint64_t)len)) {
                snprintf(line, sizeof line, "[%d] hole; ", i);
            } else {
                access_bytes(s->base, off, len, what >= 4, (uint8_t)(x >> 8), acc, sizeof acc);
                snprintf(line, sizeof line, "[%d] p[%d]+%" PRId64 " %s; ", i, si, off, acc);
            }
        } else if (slot_hole(s, 0, s->len)) {
            /* Either side's allocator may have filled the hole. */
            snprintf(line, sizeof line, "[%d] msync p[%d] over a hole; ", i, si);
        } else {
            errno = 0;
            int rc = R.f->msync(s->base, s->len, MS_SYNC);
            snprintf(line, sizeof line, "[%d] msync p[%d] = %d %s; ", i, si, rc,
                     rc ? errname(errno) : "");
        }
        put(out, line);
    }
}

/* The coherence bookkeeping of the child of O (the same choices
 * child_actions makes): before the fork, whether it reads stale slots
 * (returned as the context); after it (STORES), the slots it stored to. */
static char child_marks(const struct op *o, int stores)
{
    uint64_t r = o->seed;
    int n = 1 + (int)below(&r, 4);
    char ctx = 0;
    for (int i = 0; i < n; i++) {
        int what = (int)below(&r, 10), si = (int)below(&r, NSLOTS);
        uint64_t x = next(&r);
        if (!R.s[si].live || what >= 8) continue;
        /* the same offset and length child_actions draws */
        if (tail_ctx(&R.s[si], (int64_t)(x % R.s[si].len), 1 + (x >> 40) % 4)) ctx = 't';
        else if (slot_ctx(&R.s[si]) && ctx != 't') ctx = 'c';
        if (stores && what >= 4)
            mark_store(&R.s[si], (int64_t)(x % R.s[si].len), 1 + (x >> 40) % 4);
    }
    return ctx;
}

static void do_fork(int idx, const struct op *o)
{
    int p[2];
    R.ctx = child_marks(o, 0);
    if (pipe(p) != 0) { logf_(idx, "harness: pipe failed"); return; }
    pid_t pid = fork();
    if (pid < 0) { logf_(idx, "harness: fork failed"); close(p[0]); close(p[1]); return; }
    if (pid == 0) {
        close(p[0]);
        alarm((unsigned)(g_timeout > 3 ? g_timeout / 2 : 1));
        child_actions(o, p[1]);
        if (o->place) _exit(0);
        exit(0);
    }
    close(p[1]);
    char rep[LINE - 96];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(p[0], rep + got, sizeof rep - 1 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
        if (got == sizeof rep - 1) { char junk[256]; while (read(p[0], junk, sizeof junk) > 0) {} break; }
    }
    rep[got] = 0;
    close(p[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    child_marks(o, 1);
    if (WIFEXITED(st))
        logf_(idx, "child: %sexit %d", rep, WEXITSTATUS(st));
    else
        logf_(idx, "child: %skilled by SIG%s", rep,
              WIFSIGNALED(st) && sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
}

static void execute(int idx, const struct op *o)
{
    R.ctx = 0;
    switch (o->kind) {
    case K_MMAP: do_mmap(idx, o); break;
    case K_MUNMAP: case K_MPROTECT: case K_MSYNC: case K_MADVISE: do_range(idx, o); break;
    case K_LOAD: case K_STORE: do_access(idx, o); break;
    case K_PREAD: case K_PWRITE: case K_TRUNCATE: do_file_op(idx, o); break;
    case K_SYSREAD: case K_SYSWRITE: do_sysio(idx, o); break;
    case K_FORK: do_fork(idx, o); break;
    case K_MREMAP: do_mremap(idx, o); break;
    }
}

/* Unmap what is left (only the mapped pieces of each slot: a hole may hold
 * someone else's mapping now). */
static void unmap_all(int idx)
{
    R.ctx = 0;
    for (int i = 0; i < NSLOTS; i++) {
        struct slot *s = &R.s[i];
        if (!s->live || s->in_arena) continue;
        size_t a, b = 0;
        while (next_piece(s, &a, &b)) {
            errno = 0;
            int r = R.f->munmap(s->base + a, b - a);
            logf_(idx, "final munmap p[%d] + %zu, %zu = %d %s", i, a, b - a, r,
                  r ? errname(errno) : "");
        }
    }
    if (R.arena) {
        errno = 0;
        int r = R.f->munmap(R.arena, ARENA_PAGES * pg);
        logf_(idx, "final munmap arena = %d %s", r, r ? errname(errno) : "");
    }
}

/* Log every file's size and checksum. */
static void log_files(int idx)
{
    for (int f = 0; f < NFILES; f++) {
        struct stat st;
        fstat(R.fd[f], &st);
        uint8_t *buf = malloc((size_t)st.st_size + 1);
        ssize_t n = buf ? pread(R.fd[f], buf, (size_t)st.st_size, 0) : -1;
        R.ctx = R.ftail[f] ? 't' : R.fmixed[f] ? 'c' : 0;
        logf_(idx, "file %d: size %lld, read %zd, fnv %016" PRIx64, f,
              (long long)st.st_size, n, n > 0 ? fnv(buf, (size_t)n) : 0);
        free(buf);
    }
}

static void finish(int idx)
{
    unmap_all(idx);
    log_files(idx);
}

static int open_files(const char *dir)
{
    char path[640];
    for (int f = 0; f < NFILES; f++) {
        snprintf(path, sizeof path, "%s/f%d", dir, f);
        R.fd[f] = open(path, O_RDWR);
        R.rofd[f] = open(path, O_RDONLY);
        R.wofd[f] = open(path, O_WRONLY);
        if (R.fd[f] < 0 || R.rofd[f] < 0 || R.wofd[f] < 0) return -1;
    }
    R.dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    return R.dirfd < 0 ? -1 : 0;
}

/* The setup of a run process (or a worker), logged as op IDX: the files,
 * the arena.  Returns 0, or -1 when the files cannot be opened. */
static int setup_run(const struct hr_ops *f, const char *dir, int logfd, int idx)
{
    memset(&R, 0, sizeof R);
    R.f = f;
    R.logfd = logfd;
    catch_faults();
    if (open_files(dir) != 0) { logf_(idx, "harness: open: %s", strerror(errno)); return -1; }
    errno = 0;
    void *a = f->mmap((void *)g_arena_hint, ARENA_PAGES * pg, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
                      -1, 0);
    if (a == MAP_FAILED) logf_(idx, "arena: MAP_FAILED %s", errname(errno));
    else { R.arena = a; logf_(idx, "arena: ok%s", a == (void *)g_arena_hint ? "" : " (moved)"); }
    return 0;
}

/* The body of one run process.  Op index -1 is the setup, N the end. */
static void run_ops(const struct hr_ops *f, const char *dir, int logfd,
                    const struct op *ops, int n)
{
    if (setup_run(f, dir, logfd, -1) != 0) return;
    for (int i = 0; i < n; i++) {
        if (i == g_test_hang && f == R_second) for (;;) pause();
        execute(i, &ops[i]);
    }
    finish(n);
}

/* ================================================================== */
/* --processes: workers in lock-step                                   */

/* What the coordinator hands a worker. */
enum cmd_type { C_OP, C_SYNC, C_EXIT, C_FINISH };

struct cmd {
    int type, idx;          /* idx: the op (C_OP), or the op the command serves */
    int file, flags;        /* C_SYNC: msync flags; C_EXIT: enum leave */
    unsigned others_mapped; /* C_OP: files other workers map (a bit each) */
};

/* A worker's answer after each command: a bit per file. */
struct answer {
    unsigned mapped; /* it maps the file */
    unsigned dirty;  /* it holds stores to a shared mapping not yet synced */
    unsigned tail;   /* it wrote the file from past the end of a mapping */
};

struct worker {
    pid_t pid;
    int cmd, ans; /* the coordinator's ends of the pipes */
    struct answer a;
};

/* The coordinator's state: what it runs, its workers, and the files that
 * hold stores of a worker that died without exit(0) (no file I/O touches
 * them until a process maps the file alone: usermap's recovery point). */
static struct {
    const struct hr_ops *f;
    const char *dir;
    int logfd;
    const struct op *ops;
    struct worker w[MAXWORKERS];
    unsigned orphan;
    unsigned tail;   /* files a worker wrote from past a mapping's end */
} C;

static int full_io(int fd, void *buf, size_t n, int wr)
{
    uint8_t *p = buf;
    for (size_t done = 0; done < n;) {
        ssize_t r = wr ? write(fd, p + done, n - done) : read(fd, p + done, n - done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        done += (size_t)r;
    }
    return 0;
}

static void answer(int fd)
{
    struct answer a = {0, 0, 0};
    for (int f = 0; f < NFILES; f++) {
        if (file_has_slot(f, 0)) a.mapped |= 1u << f;
        if (file_has_slot(f, 1)) a.dirty |= 1u << f;
        if (R.ftail[f]) a.tail |= 1u << f;
    }
    if (full_io(fd, &a, sizeof a, 1) != 0) _exit(0);
}

/* A worker: set up as a run process (logged as op IDX), then do what the
 * coordinator hands it, one command at a time, answering each. */
static void worker_main(int wid, int idx, int in, int out, pid_t coordinator)
{
    g_wid = wid;
    /* Its own watchdogs: the coordinator's death, and the run's time. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != coordinator) _exit(1);
    alarm((unsigned)g_timeout + 2);
    if (setup_run(C.f, C.dir, C.logfd, idx) != 0) _exit(1);
    answer(out);
    for (;;) {
        struct cmd c;
        if (full_io(in, &c, sizeof c, 0) != 0) _exit(0); /* the coordinator is gone */
        switch (c.type) {
        case C_OP:
            g_others_mapped = c.others_mapped;
            if (c.idx == g_test_hang && C.f == R_second) for (;;) pause();
            execute(c.idx, &C.ops[c.idx]);
            break;
        case C_SYNC:
            sync_file(c.idx, c.file, c.flags, (c.flags & MS_SYNC) != 0);
            break;
        case C_EXIT:
            if (c.flags == LV__EXIT) _exit(0);
            exit(0); /* exit, not _exit: usermap writes back at exit */
        default: /* C_FINISH */
            unmap_all(c.idx);
            exit(0);
        }
        answer(out);
    }
}

/* Wait for worker W, which has left or died, and log how (as op IDX).
 * CLEAN: it was told to exit(0), which writes its stores back. */
static void reap(int w, int idx, int clean)
{
    struct worker *k = &C.w[w];
    int st = 0;
    char b[96];
    close(k->cmd);
    close(k->ans);
    while (waitpid(k->pid, &st, 0) < 0 && errno == EINTR) {}
    hr_fmt_status(b, sizeof b, st, " (its watchdog)");
    logf_(idx, "worker %d: %s", w, b);
    if (!clean || !WIFEXITED(st) || WEXITSTATUS(st) != 0) C.orphan |= k->a.dirty;
    k->pid = -1;
}

static void spawn_worker(int w, int idx);

/* Wait for worker W's answer to a command of op IDX; if it died instead,
 * log how and put a fresh worker in its place. */
static void wait_answer(int w, int idx)
{
    if (full_io(C.w[w].ans, &C.w[w].a, sizeof C.w[w].a, 0) == 0) {
        C.tail |= C.w[w].a.tail;
        return;
    }
    reap(w, idx, 0);
    spawn_worker(w, idx);
}

static void spawn_worker(int w, int idx)
{
    int down[2], up[2];
    struct worker *k = &C.w[w];
    pid_t self = getpid();
    memset(k, 0, sizeof *k);
    k->pid = -1;
    if (pipe(down) != 0) { logf_(idx, "harness: pipe failed"); return; }
    if (pipe(up) != 0) { close(down[0]); close(down[1]); logf_(idx, "harness: pipe failed"); return; }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        /* No other worker's pipes: their deaths must show as end of file. */
        for (int v = 0; v < MAXWORKERS; v++)
            if (v != w && C.w[v].pid > 0) { close(C.w[v].cmd); close(C.w[v].ans); }
        worker_main(w, idx, down[0], up[1], self);
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    k->cmd = down[1];
    k->ans = up[0];
    if (pid < 0) {
        close(k->cmd);
        close(k->ans);
        logf_(idx, "harness: fork failed");
        return;
    }
    k->pid = pid;
    wait_answer(w, idx);
}

/* Hand worker W a command and wait for its answer. */
static void hand(int w, int type, int idx, int file, int flags, unsigned others)
{
    struct cmd c = {type, idx, file, flags, others};
    if (C.w[w].pid <= 0) spawn_worker(w, idx);
    if (C.w[w].pid <= 0) return;
    if (full_io(C.w[w].cmd, &c, sizeof c, 1) != 0) { reap(w, idx, 0); spawn_worker(w, idx); return; }
    if (type != C_EXIT && type != C_FINISH) wait_answer(w, idx);
}

/* The files the live workers other than W map. */
static unsigned mapped_by_others(int w)
{
    unsigned m = 0;
    for (int v = 0; v < g_processes; v++)
        if (v != w && C.w[v].pid > 0) m |= C.w[v].a.mapped;
    return m;
}

/* The file an op reads or writes with file I/O (-1: none), and whether
 * it writes it. */
static int io_file(const struct op *o, int *writes)
{
    *writes = o->kind == K_PWRITE || o->kind == K_TRUNCATE || o->kind == K_SYSWRITE;
    switch (o->kind) {
    case K_PREAD: case K_PWRITE: case K_TRUNCATE: case K_SYSREAD: case K_SYSWRITE:
        return o->file;
    default:
        return -1;
    }
}

/* Msync (FLAGS) the mappings of file F in every live worker other than W
 * that has some (SYNC: only those with unsynced stores), for op IDX. */
static void sync_others(int w, int idx, int f, int flags)
{
    for (int v = 0; v < g_processes; v++) {
        unsigned bits = flags & MS_SYNC ? C.w[v].a.dirty : C.w[v].a.mapped;
        if (v != w && C.w[v].pid > 0 && (bits >> f & 1)) hand(v, C_SYNC, idx, f, flags, 0);
    }
}

/* Op IDX, by its worker, with the POSIX rules across workers around it. */
static void coordinate(int idx)
{
    const struct op *o = &C.ops[idx];
    int w = o->worker % g_processes, writes;
    if (o->kind == K_EXIT) {
        if (o->place == LV_KILL) {
            if (C.w[w].pid > 0) kill(C.w[w].pid, SIGKILL);
        } else {
            hand(w, C_EXIT, idx, 0, o->place, 0);
        }
        if (C.w[w].pid > 0) reap(w, idx, o->place == LV_EXIT);
        spawn_worker(w, idx);
        return;
    }
    int f = io_file(o, &writes);
    /* --mixed: no POSIX rules across workers either; usermap's file calls
     * see every worker's stores, a dead one's included. */
    if (g_mixed) {
        hand(w, C_OP, idx, f, 0, mapped_by_others(w));
        return;
    }
    if (f >= 0 && (C.orphan >> f & 1)) {
        logf_(idx, "skip: file %d holds stores of a dead worker (not written until a lone map)", f);
        return;
    }
    if (f >= 0) sync_others(w, idx, f, MS_SYNC);
    unsigned before = mapped_by_others(-1);
    hand(w, C_OP, idx, f, 0, mapped_by_others(w));
    if (f >= 0 && writes) sync_others(w, idx, f, MS_INVALIDATE);
    /* A map of a file no one mapped: a lone attach, where usermap writes
     * back what dead workers left. */
    if (o->kind == K_MMAP && C.w[w].pid > 0) C.orphan &= ~(C.w[w].a.mapped & ~before);
}

/* The last process: maps and unmaps each file alone (usermap writes back
 * there the stores of dead processes). */
static void last_maps(int idx)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        for (int f = 0; f < NFILES; f++) {
            char path[640];
            struct stat st;
            snprintf(path, sizeof path, "%s/f%d", C.dir, f);
            int fd = open(path, O_RDWR);
            if (fd < 0 || fstat(fd, &st) != 0) { logf_(idx, "last map of file %d: open failed", f); continue; }
            size_t len = st.st_size > 0 ? (size_t)st.st_size : pg;
            errno = 0;
            void *p = C.f->mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (p == MAP_FAILED) {
                logf_(idx, "last map of file %d: MAP_FAILED %s", f, errname(errno));
            } else {
                errno = 0;
                int r = C.f->munmap(p, len);
                logf_(idx, "last map of file %d: ok, munmap = %d %s", f, r, r ? errname(errno) : "");
            }
            close(fd);
        }
        exit(0);
    }
    int st = 0;
    while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    char b[96];
    hr_fmt_status(b, sizeof b, st, "");
    logf_(idx, "last process: %s", pid > 0 ? b : "fork failed");
}

/* What the run left in its cache directory: nothing, once every process
 * has left and the last one wrote the dead ones' stores back. */
static void log_cache_dir(int idx)
{
    const char *dir = getenv("USERMAP_CACHE_DIR");
    DIR *d = dir ? opendir(dir) : NULL;
    char names[LINE - 96] = "";
    int count = 0;
    size_t l = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        /* Dot files are the directory's own (the registry), not caches. */
        if (e->d_name[0] == '.') continue;
        count++;
        if (l < sizeof names) l += (size_t)snprintf(names + l, sizeof names - l, " %s", e->d_name);
    }
    if (d) closedir(d);
    logf_(idx, "cache dir: %d objects left%s", count, names);
}

/* The body of a run with workers: the coordinator. */
static void run_workers(const struct hr_ops *f, const char *dir, int logfd,
                        const struct op *ops, int n)
{
    memset(&R, 0, sizeof R);
    R.f = f;
    R.logfd = logfd;
    memset(&C, 0, sizeof C);
    C.f = f;
    C.dir = dir;
    C.logfd = logfd;
    C.ops = ops;
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm((unsigned)g_timeout + 2);
    for (int w = 0; w < g_processes; w++) spawn_worker(w, -1);
    for (int i = 0; i < n; i++) coordinate(i);
    for (int w = 0; w < g_processes; w++) {
        hand(w, C_FINISH, n, 0, 0, 0);
        if (C.w[w].pid > 0) reap(w, n, 1);
    }
    last_maps(n);
    /* What a worker wrote from past a mapping's end is unspecified: the
     * file's comparison says so, as in one process. */
    for (int f = 0; f < NFILES; f++)
        if (C.tail >> f & 1) R.ftail[f] = 1;
    if (open_files(dir) != 0) logf_(n, "harness: open: %s", strerror(errno));
    else log_files(n);
    log_cache_dir(n);
}

/* ================================================================== */
/* The parent: running both sides, the watchdog, comparing             */

struct side {
    char dir[600];
    char cache[600]; /* --processes: the run's USERMAP_CACHE_DIR */
    char log[640];
    int status;     /* wait status */
    int hung;
    char *text;     /* the log */
};

static void write_files(const char *dir, uint64_t seed)
{
    char path[640];
    static uint8_t buf[65536];
    for (int f = 0; f < NFILES; f++) {
        snprintf(path, sizeof path, "%s/f%d", dir, f);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        size_t size = file_size0(seed, f);
        for (size_t off = 0; off < size; off += sizeof buf) {
            size_t k = size - off < sizeof buf ? size - off : sizeof buf;
            for (size_t i = 0; i < k; i++) buf[i] = file_byte(seed, f, off + i);
            if (pwrite(fd, buf, k, (off_t)off) != (ssize_t)k) perror("pwrite");
        }
        close(fd);
    }
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    }
    rmdir(dir);
}

static int g_minimising;
/* Processes the watchdog could not kill (D state): the run stops. */
static int g_unkillable;

static void print_stacks(pid_t pid)
{
    char cmd[256];
    fflush(NULL);
    /* The kernel's view first (wchan, kernel stacks): it needs no ptrace. */
    snprintf(cmd, sizeof cmd,
             "for t in /proc/%d/task/*; do echo \"== thread ${t##*/} $(cat $t/comm)"
             " wchan=$(cat $t/wchan 2>/dev/null)\"; cat $t/stack 2>/dev/null; done", pid);
    if (system(cmd) != 0) printf("(no /proc stacks)\n");
    fflush(NULL);
    if (system("command -v gdb >/dev/null 2>&1") == 0) {
        snprintf(cmd, sizeof cmd,
                 "timeout -s KILL 30 gdb -p %d -batch -ex 'thread apply all bt' 2>&1"
                 " | grep -v -e '^\\[New LWP' -e '^warning:'", pid);
        if (system(cmd) != 0) printf("(gdb could not print the stacks)\n");
    }
    fflush(NULL);
}

/* The processes of group PGID (a run process and its workers). */
static int group_members(pid_t pgid, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)) != NULL && n < max) {
        char path[300], buf[512];
        pid_t p = (pid_t)atoi(e->d_name);
        if (p <= 0) continue;
        snprintf(path, sizeof path, "/proc/%d/stat", p);
        FILE *fp = fopen(path, "r");
        if (!fp) continue;
        size_t got = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
        buf[got] = 0;
        char *rp = strrchr(buf, ')'), state;
        int ppid, pgrp;
        if (rp && sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid)
            out[n++] = p;
    }
    if (d) closedir(d);
    return n;
}

/* The state letter of PID in /proc (0 if gone). */
static char proc_state(pid_t pid)
{
    char path[64], buf[512], state = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *fp = fopen(path, "r");
    if (!fp) return 0;
    size_t got = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[got] = 0;
    char *rp = strrchr(buf, ')');
    if (!rp || sscanf(rp + 1, " %c", &state) != 1) return 0;
    return state;
}

/* The stacks of every process of the group, the kernel's view of each
 * first; gdb only when none is in uninterruptible sleep. */
static void print_group_stacks(pid_t pgid)
{
    pid_t m[64];
    int n = group_members(pgid, m, 64), dstate = 0;
    for (int i = 0; i < n; i++) dstate |= proc_state(m[i]) == 'D';
    for (int i = 0; i < n; i++) {
        char cmd[400];
        printf("== process %d (state %c)\n", m[i], proc_state(m[i]));
        fflush(NULL);
        snprintf(cmd, sizeof cmd,
                 "for t in /proc/%d/task/*; do echo \"== thread ${t##*/} $(cat $t/comm)"
                 " state=$(cut -d' ' -f3 $t/stat) wchan=$(cat $t/wchan 2>/dev/null)\";"
                 " cat $t/stack 2>/dev/null; done", m[i]);
        if (system(cmd) != 0) printf("(no /proc stacks)\n");
        fflush(NULL);
        if (!dstate && system("command -v gdb >/dev/null 2>&1") == 0) {
            snprintf(cmd, sizeof cmd,
                     "timeout -s KILL 30 gdb -p %d -batch -ex 'thread apply all bt' 2>&1"
                     " | grep -v -e '^\\[New LWP' -e '^warning:'", m[i]);
            if (system(cmd) != 0) printf("(gdb could not print the stacks)\n");
        }
        fflush(NULL);
    }
}

/* After the watchdog's SIGKILL: the processes of group PGID still there
 * (in D state: a hang in the kernel), reported.  Returns how many. */
static int report_unkillable(pid_t pgid)
{
    pid_t m[64];
    struct timespec t = {0, 200000000};
    nanosleep(&t, NULL);
    int n = group_members(pgid, m, 64), bad = 0;
    for (int i = 0; i < n; i++) {
        char st = proc_state(m[i]);
        if (st == 'D') {
            printf("watchdog: process %d of group %d in state D after SIGKILL"
                   " (uninterruptible, in the kernel)\n", m[i], pgid);
            bad++;
        }
    }
    return bad;
}

/* Wait for PID for g_timeout seconds; on expiry print its threads' stacks
 * (with workers, of every process of its group) and kill the group. */
static int watch(pid_t pid, int *status)
{
    struct timespec t0, now, nap = {0, 2000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid) return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec >= g_timeout) break;
        nanosleep(&nap, NULL);
        if (nap.tv_nsec < 50000000) nap.tv_nsec *= 2;
    }
    printf("watchdog: run process %d hung for %d s%s\n", pid, g_timeout,
           g_minimising ? "" : "; its threads:");
    /* The minimiser meets the hang again and again: stacks once is enough. */
    if (!g_minimising) {
        if (g_processes) print_group_stacks(pid);
        else print_stacks(pid);
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    /* A process in uninterruptible sleep (D) does not die: never wait for
     * it for ever, and say so. */
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, status, WNOHANG) == pid) break;
        struct timespec t = {0, 20000000};
        nanosleep(&t, NULL);
    }
    g_unkillable += report_unkillable(pid);
    return 1;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) { *len = 0; return NULL; }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *b = malloc((size_t)(n > 0 ? n : 0) + 1);
    size_t got = b ? fread(b, 1, (size_t)(n > 0 ? n : 0), fp) : 0;
    if (b) b[got] = 0;
    fclose(fp);
    *len = got;
    return b;
}

static void run_side(struct side *sd, const struct hr_ops *f, uint64_t seed,
                     const struct op *ops, int n, const char *tag)
{
    snprintf(sd->dir, sizeof sd->dir, "%s/%s", g_root, tag);
    mkdir(sd->dir, 0700);
    write_files(sd->dir, seed);
    snprintf(sd->log, sizeof sd->log, "%s/%s.log", g_root, tag);
    int logfd = open(sd->log, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (g_processes) {
        /* A cache directory of the run's own (mkdtemp: mode 0700). */
        struct stat st;
        snprintf(sd->cache, sizeof sd->cache, "%s/usermap-difftest-cache.XXXXXX",
                 stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : g_root);
        if (!mkdtemp(sd->cache)) { perror("mkdtemp"); sd->cache[0] = 0; }
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        if (g_processes) {
            setenv("USERMAP_CACHE_DIR", sd->cache, 1);
            run_workers(f, sd->dir, logfd, ops, n);
        } else {
            run_ops(f, sd->dir, logfd, ops, n);
        }
        exit(0); /* exit, not _exit: usermap writes back at exit */
    }
    setpgid(pid, pid); /* also here: no race with the watchdog's kill(-pid) */
    close(logfd);
    sd->hung = pid < 0 ? 0 : watch(pid, &sd->status);
    size_t len;
    sd->text = slurp(sd->log, &len);
}

static void status_str(const struct side *sd, char *b, size_t n)
{
    int st = sd->status;
    if (sd->hung) snprintf(b, n, "hung (killed by the watchdog)");
    else if (WIFEXITED(st)) snprintf(b, n, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(b, n, "killed by SIG%s", sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
    else snprintf(b, n, "status %#x", st);
}

struct divergence {
    int found;
    int idx;           /* op index; -1 setup; n end; n+1 after exit */
    char cls[64];
    char kernel[LINE], usermap[LINE];
};

/* Split "idx|ctx|text" */
static int parse_line(const char *l, int *idx, char *ctx, const char **text)
{
    char *e;
    long v = strtol(l, &e, 10);
    if (e == l || e[0] != '|' || !e[1] || e[2] != '|') return -1;
    *idx = (int)v;
    *ctx = e[1];
    *text = e + 3;
    return 0;
}

static int is_fail(const char *t)
{
    return strncmp(t, "MAP_FAILED", 10) == 0 || strncmp(t, "= -1", 4) == 0;
}

/* The class of a divergence at op O between kernel text K and usermap U. */
static void classify(const struct op *o, const char *what, char ctx, const char *k,
                     const char *u, char *cls, size_t n)
{
    const char *aspect;
    if (!strncmp(k, "cache dir", 9) || !strncmp(u, "cache dir", 9)) aspect = "cache-left";
    else if (is_fail(k) && is_fail(u)) aspect = "errno";
    else if (is_fail(k) != is_fail(u)) aspect = "result";
    else if (!strncmp(k, "skip", 4) || !strncmp(u, "skip", 4)) aspect = "state";
    else if (!!strstr(k, "SIG") != !!strstr(u, "SIG")) aspect = "signal";
    else if (o && o->kind == K_FORK) aspect = "child";
    else if (strstr(k, "SIG") && strstr(u, "SIG")) aspect = "signal";
    else if (strstr(k, "size") && strstr(u, "size") &&
             strcspn(k, ",") != strcspn(u, ",")) aspect = "size";
    else if (strstr(k, "size") && strstr(u, "size") &&
             strncmp(k, u, strcspn(k, ",")) != 0) aspect = "size";
    else aspect = "data";
    /* In-thread mode documents that the kernel's own accesses to a page
     * not yet filled fail: EFAULT, or a short count once some bytes went. */
    if (g_in_thread && o && (o->kind == K_SYSREAD || o->kind == K_SYSWRITE) &&
        ((strstr(u, "EFAULT") && !strstr(k, "EFAULT")) ||
         (!strncmp(k, "= ", 2) && !strncmp(u, "= ", 2) && atol(u + 2) >= 0 &&
          atol(u + 2) < atol(k + 2))))
        aspect = "efault-in-thread";
    /* A known limit (docs/DESIGN.md): MREMAP_FIXED with no change of size
     * over several mappings, which Linux 6.17 and later move piece by
     * piece, but not where a userfaultfd watches them: EFAULT. */
    if (o && o->kind == K_MREMAP && (o->arg & MREMAP_FIXED) && o->len &&
        round_pg(o->len) == round_pg(o->len2) && !is_fail(k) &&
        !strncmp(u, "MAP_FAILED EFAULT", 17))
        ctx = 'v';
    snprintf(cls, n, "%s:%s%s", o ? kind_name[o->kind] : what, aspect,
             ctx == 'c' ? "/coherence" : ctx == 't' ? "/past-eof-tail"
             : ctx == 'v' ? "/several-mappings" : "");
}

/* Compare two logs line by line; the first difference is the divergence. */
static void compare_logs(const struct side *k, const struct side *u,
                         const struct op *ops, int n, struct divergence *d)
{
    const char *a = k->text ? k->text : "", *b = u->text ? u->text : "";
    while (*a || *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la == lb && strncmp(a, b, la) == 0) {
            a += la + (a[la] != 0);
            b += lb + (b[lb] != 0);
            continue;
        }
        char ka[LINE], ub[LINE], kc = '-', uc = '-';
        const char *kt = "(nothing)", *ut = "(nothing)";
        int ki = -2, ui = -2;
        snprintf(ka, sizeof ka, "%.*s", (int)(la < LINE - 1 ? la : LINE - 1), a);
        snprintf(ub, sizeof ub, "%.*s", (int)(lb < LINE - 1 ? lb : LINE - 1), b);
        if (la) parse_line(ka, &ki, &kc, &kt);
        if (lb) parse_line(ub, &ui, &uc, &ut);
        d->found = 1;
        d->idx = la ? ki : ui;
        if (lb && (!la || ui < ki)) d->idx = ui;
        const struct op *o = d->idx >= 0 && d->idx < n ? &ops[d->idx] : NULL;
        snprintf(d->kernel, sizeof d->kernel, "%s", kt);
        snprintf(d->usermap, sizeof d->usermap, "%s", ut);
        classify(o, d->idx < 0 ? "setup" : "end", la ? kc : uc, kt, ut, d->cls, sizeof d->cls);
        return;
    }
}

/* Where file F differs between the two runs' directories, as text in
 * OUT ("" when equal).  Read after both processes exited. */
static int file_diff(const struct side *k, const struct side *u, int f, char *out,
                     size_t n)
{
    char pk[700], pu[700];
    size_t lk, lu, i = 0, last = 0, count = 0;
    snprintf(pk, sizeof pk, "%s/f%d", k->dir, f);
    snprintf(pu, sizeof pu, "%s/f%d", u->dir, f);
    char *bk = slurp(pk, &lk), *bu = slurp(pu, &lu);
    size_t first = lk < lu ? lk : lu;
    for (i = 0; i < lk && i < lu; i++)
        if (bk[i] != bu[i]) {
            if (first == (lk < lu ? lk : lu)) first = i;
            last = i;
            count++;
        }
    out[0] = 0;
    if (count)
        snprintf(out, n, "file %d on disk: %zu bytes differ in [%zu, %zu], first kernel %02x usermap %02x%s",
                 f, count, first, last, (uint8_t)bk[first], (uint8_t)bu[first],
                 lk != lu ? "; sizes differ" : "");
    else if (lk != lu)
        snprintf(out, n, "file %d on disk: %zu bytes, kernel's %zu", f, lu, lk);
    free(bk);
    free(bu);
    return out[0] != 0;
}

/* The files both runs left, read after both processes exited: a
 * difference here after equal end-of-run lines was lost at exit. */
static void compare_files(const struct side *k, const struct side *u, int n,
                          struct divergence *d)
{
    for (int f = 0; f < NFILES && !d->found; f++)
        if (file_diff(k, u, f, d->usermap, sizeof d->usermap)) {
            d->found = 1;
            d->idx = n + 1;
            snprintf(d->kernel, sizeof d->kernel, "file %d as at the end of the run", f);
            snprintf(d->cls, sizeof d->cls, "exit:data-lost");
        }
}

/* A run's log with each op's line before its results. */
static void print_op_log(const char *text, const struct op *ops, int n)
{
    int last = -2;
    for (const char *l = text ? text : ""; *l;) {
        size_t len = strcspn(l, "\n");
        int idx = atoi(l);
        if (idx != last && idx >= 0 && idx < n) {
            char b[LINE];
            describe(&ops[idx], b, sizeof b);
            printf("op %d: %s\n", idx, b);
        }
        last = idx;
        printf("    %.*s\n", (int)len, l);
        l += len + (l[len] != 0);
    }
}

/* Run OPS on both sides; fill D with the first divergence. */
static void run_pair(uint64_t seed, const struct op *ops, int n, struct divergence *d,
                     int verbose)
{
    struct side k, u;
    memset(&k, 0, sizeof k);
    memset(&u, 0, sizeof u);
    memset(d, 0, sizeof *d);
    run_side(&k, &hr_kernel_ops, seed, ops, n, "kernel");
    kernel_self_fns = hr_kernel_ops;
    kernel_self_fns.name = "kernel (self-check)";
    R_second = g_self_check ? &kernel_self_fns : &hr_usermap_ops;
    run_side(&u, R_second, seed, ops, n, "usermap");
    char ks[64], us[64];
    status_str(&k, ks, sizeof ks);
    status_str(&u, us, sizeof us);
    if (verbose) {
        printf("--- kernel log (%s)\n%s--- usermap log (%s)\n%s", ks,
               k.text ? k.text : "", us, u.text ? u.text : "");
    }
    compare_logs(&k, &u, ops, n, d);
    if (u.hung || k.hung) {
        int at = d->found ? d->idx : n;
        d->found = 1;
        d->idx = at;
        snprintf(d->cls, sizeof d->cls, "hang");
        snprintf(d->kernel, sizeof d->kernel, "%s", ks);
        snprintf(d->usermap, sizeof d->usermap, "%s (in or after op %d)", us, at);
    } else if (!d->found && strcmp(ks, us) != 0) {
        d->found = 1;
        d->idx = n;
        snprintf(d->cls, sizeof d->cls, "exit:status");
        snprintf(d->kernel, sizeof d->kernel, "%s", ks);
        snprintf(d->usermap, sizeof d->usermap, "%s", us);
    } else if (d->found && strcmp(ks, us) != 0 && strcmp(d->usermap, "(nothing)") == 0) {
        snprintf(d->cls, sizeof d->cls, "crash:%s", d->idx >= 0 && d->idx < n ? kind_name[ops[d->idx].kind] : "end");
        snprintf(d->usermap, sizeof d->usermap, "process %s", us);
    }
    if (!d->found) compare_files(&k, &u, n, d);
    else if (!strncmp(d->kernel, "file ", 5) && strstr(d->kernel, "fnv")) {
        /* an end-of-run checksum: say where the bytes differ */
        char where[LINE];
        if (file_diff(&k, &u, atoi(d->kernel + 5), where, sizeof where)) {
            size_t l = strlen(d->usermap);
            snprintf(d->usermap + l, sizeof d->usermap - l, "\n             %s", where);
        }
    }
    if ((u.hung || k.hung) && !verbose && !g_minimising) {
        /* The operation log of the hung run, to the last op it finished. */
        const struct side *h = u.hung ? &u : &k;
        printf("--- operation log of the hung run (seed %" PRIu64 ", %s)\n", seed,
               h == &u ? "second" : "kernel");
        print_op_log(h->text, ops, n);
        printf("--- end of log\n");
    }
    free(k.text);
    free(u.text);
    remove_dir(k.dir);
    remove_dir(u.dir);
    if (k.cache[0]) remove_dir(k.cache);
    if (u.cache[0]) remove_dir(u.cache);
    unlink(k.log);
    unlink(u.log);
}

static void print_divergence(uint64_t seed, const struct op *ops, int n,
                             const struct divergence *d)
{
    char desc[LINE];
    if (d->idx >= 0 && d->idx < n) describe(&ops[d->idx], desc, sizeof desc);
    else snprintf(desc, sizeof desc, "%s", d->idx < 0 ? "(setup)" : d->idx == n ? "(end of run)" : "(after exit)");
    printf("seed %" PRIu64 ": DIVERGENCE [%s] at op %d: %s\n    kernel:  %s\n    usermap: %s\n",
           seed, d->cls, d->idx, desc, d->kernel, d->usermap);
}

/* ================================================================== */
/* The arena's place: above mmap_base, below the stack                 */

static int range_free(uintptr_t a, uintptr_t b)
{
    FILE *fp = fopen("/proc/self/maps", "r");
    char line[512];
    int ok = 1;
    while (fp && fgets(line, sizeof line, fp)) {
        uintptr_t s, e;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &s, &e) == 2 && s < b && a < e) ok = 0;
    }
    if (fp) fclose(fp);
    return ok;
}

static uintptr_t find_arena(void)
{
    FILE *fp = fopen("/proc/self/maps", "r");
    char line[512];
    uintptr_t stack = 0;
    while (fp && fgets(line, sizeof line, fp)) {
        uintptr_t s, e;
        if (strstr(line, "[stack]") && sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &s, &e) == 2)
            stack = s;
    }
    if (fp) fclose(fp);
    /* 32 MiB below the stack leaves it room to grow (8 MiB by default). */
    uintptr_t size = ARENA_PAGES * pg;
    for (uintptr_t a = stack - (32u << 20) - size; stack && a > (64u << 20); a -= size)
        if (range_free(a, a + size)) return a & ~(uintptr_t)(pg - 1);
    return 0;
}

/* ================================================================== */
/* Seeds, soak, minimiser                                              */

#define NCLASSES 64
static struct { char cls[64]; int count; uint64_t first_seed; } g_classes[NCLASSES];
static int g_nclasses;

static void count_class(const char *cls, uint64_t seed)
{
    for (int i = 0; i < g_nclasses; i++)
        if (!strcmp(g_classes[i].cls, cls)) { g_classes[i].count++; return; }
    if (g_nclasses == NCLASSES) return;
    snprintf(g_classes[g_nclasses].cls, sizeof g_classes[0].cls, "%s", cls);
    g_classes[g_nclasses].count = 1;
    g_classes[g_nclasses++].first_seed = seed;
}

static struct op g_ops[MAXOPS];

/* Differences docs/RELIABILITY.md lists, with their reason: they are
 * counted and shown, but fail no run.  Bytes stored past the end of a
 * file in its last page are unspecified by POSIX; the kernel's depend on
 * when its write-back ran (ext4 clears them then), usermap's on its own.
 * An mremap with MREMAP_FIXED and no change of size over several mappings
 * fails EFAULT on usermap (docs/DESIGN.md, known limits). */
static const char *const documented_suffixes[] = { "/past-eof-tail", "/several-mappings" };
static long g_documented;

static int documented(const char *cls)
{
    size_t n = strlen(cls);
    for (size_t i = 0; i < sizeof documented_suffixes / sizeof documented_suffixes[0]; i++) {
        size_t m = strlen(documented_suffixes[i]);
        if (n >= m && !strcmp(cls + n - m, documented_suffixes[i])) return 1;
    }
    return 0;
}

/* Run one seed; returns 1 on a divergence. */
static int run_seed(uint64_t seed, int nops)
{
    int n = generate(seed, nops, g_ops);
    struct divergence d;
    if (g_verbose)
        for (int i = 0; i < n; i++) {
            char b[LINE];
            describe(&g_ops[i], b, sizeof b);
            printf("  %3d  %s\n", i, b);
        }
    run_pair(seed, g_ops, n, &d, g_verbose);
    if (!d.found) return 0;
    print_divergence(seed, g_ops, n, &d);
    count_class(d.cls, seed);
    if (documented(d.cls)) {
        g_documented++;
        return 0;
    }
    return 1;
}

static int same_class(const char *want, const struct divergence *d)
{
    return d->found && strcmp(want, d->cls) == 0;
}

/* Delta debugging: drop chunks of ops while the same class of divergence
 * remains, halving the chunk size down to single ops. */
static int minimise(uint64_t seed, int nops)
{
    static struct op cur[MAXOPS], trial[MAXOPS];
    int n = generate(seed, nops, cur);
    struct divergence d;
    run_pair(seed, cur, n, &d, 0);
    if (!d.found) { printf("seed %" PRIu64 ": no divergence to minimise\n", seed); return 0; }
    print_divergence(seed, cur, n, &d);
    char want[64];
    snprintf(want, sizeof want, "%s", d.cls);
    printf("minimising class %s ...\n", want);
    /* ops after the divergence cannot matter (except for exit/hang ones) */
    if (d.idx >= 0 && d.idx < n && strncmp(want, "hang", 4)) n = d.idx + 1;
    int chunks = 2, tries = 0;
    while (n >= 1) {
        int size = (n + chunks - 1) / chunks, reduced = 0;
        for (int start = 0; start < n; start += size) {
            int m = 0;
            for (int i = 0; i < n; i++)
                if (i < start || i >= start + size) trial[m++] = cur[i];
            tries++;
            if (g_unkillable) break;
            run_pair(seed, trial, m, &d, 0);
            if (same_class(want, &d)) {
                memcpy(cur, trial, sizeof cur[0] * (size_t)m);
                n = m;
                if (d.idx >= 0 && d.idx < n - 1 && strncmp(want, "hang", 4)) n = d.idx + 1;
                chunks = chunks > 2 ? chunks - 1 : 2;
                reduced = 1;
                break;
            }
        }
        if (!reduced) {
            if (size == 1) break;
            chunks = chunks * 2 < n ? chunks * 2 : n;
        }
    }
    printf("the minimal run's logs:\n");
    run_pair(seed, cur, n, &d, 1);
    printf("minimal: %d ops (%d trial runs), seed %" PRIu64 " (file sizes %zu %zu %zu)\n", n,
           tries, seed, file_size0(seed, 0), file_size0(seed, 1), file_size0(seed, 2));
    for (int i = 0; i < n; i++) {
        char b[LINE];
        describe(&cur[i], b, sizeof b);
        printf("    %s%s\n", b, d.found && d.idx == i ? "   /* <- diverges */" : "");
    }
    if (d.found) print_divergence(seed, cur, n, &d);
    return 1;
}

static void print_classes(void)
{
    if (!g_nclasses) return;
    printf("divergences by class:\n");
    for (int i = 0; i < g_nclasses; i++)
        printf("  %-36s %5d  (first: seed %" PRIu64 ")%s\n", g_classes[i].cls,
               g_classes[i].count, g_classes[i].first_seed,
               documented(g_classes[i].cls) ? "  documented" : "");
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--seeds A-B | --seed S] [--ops N] [--soak SECONDS]\n"
            "          [--minimise SEED] [--timeout S] [--mixed] [--processes P] [--mremap]\n"
            "          [-v]\n"
            "  --mremap       mremap ops too (a stream of their own: the other ops stay)\n"
            "  --processes P  P worker processes (2..%d) on the same files, in lock-step\n",
            argv0, MAXWORKERS);
    exit(2);
}

static int parse_args(int argc, char **argv, uint64_t *a, uint64_t *b, int *nops,
                      int *soak, int *mini)
{
    for (int i = 1; i < argc; i++) {
        const char *x = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(x, "-v")) g_verbose = 1;
        else if (!strcmp(x, "--self-check")) g_self_check = 1;
        else if (!strcmp(x, "--mixed")) g_mixed = 1;
        else if (!strcmp(x, "--mremap")) g_mremap = 1;
        else if (!strcmp(x, "--test-hang") && v) { g_test_hang = atoi(v); i++; }
        else if (!strcmp(x, "--test-diverge") && v) { g_test_diverge = atoi(v); i++; }
        else if (!strcmp(x, "--processes") && v) { g_processes = atoi(v); i++; }
        else if (!v) usage(argv[0]);
        else if (!strcmp(x, "--seed")) { *a = *b = strtoull(v, NULL, 0); i++; }
        else if (!strcmp(x, "--seeds")) {
            char *e;
            *a = strtoull(v, &e, 0);
            *b = *e == '-' ? strtoull(e + 1, NULL, 0) : *a;
            i++;
        } else if (!strcmp(x, "--ops")) { *nops = atoi(v); i++; }
        else if (!strcmp(x, "--soak")) { *soak = atoi(v); i++; }
        else if (!strcmp(x, "--timeout")) { g_timeout = atoi(v); i++; }
        else if (!strcmp(x, "--minimise") || !strcmp(x, "--minimize")) {
            *a = *b = strtoull(v, NULL, 0); *mini = 1; i++;
        } else usage(argv[0]);
    }
    if (*nops < 1 || *nops > MAXOPS || g_timeout < 1 || *b < *a) usage(argv[0]);
    /* --mixed with workers: its /coherence tags are per process, a hint only. */
    if (g_processes && (g_processes < 2 || g_processes > MAXWORKERS)) usage(argv[0]);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t a = 1, b = 20;
    int nops = 200, soak = 0, mini = 0;
    parse_args(argc, argv, &a, &b, &nops, &soak, &mini);
    setvbuf(stdout, NULL, _IOLBF, 0);
    pg = (size_t)sysconf(_SC_PAGESIZE);
    const char *fm = getenv("USERMAP_FAULT_MODE");
    g_in_thread = fm && !strcmp(fm, "in-thread");
    g_arena_hint = find_arena();
    const char *tmp = getenv("TMPDIR");
    snprintf(g_root, sizeof g_root, "%s/usermap-difftest.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_root)) { perror("mkdtemp"); return 2; }
    if (g_self_check) printf("self-check: the kernel on both sides\n");

    int rc = 0;
    long seeds = 0, fails = 0;
    if (mini) {
        g_minimising = 1;
        rc = minimise(a, nops) ? 1 : 0;
    } else if (soak) {
        time_t end = time(NULL) + soak;
        uint64_t s = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
        while (time(NULL) < end && !g_unkillable) {
            fails += run_seed(s, nops);
            seeds++;
            s = s * 6364136223846793005ull + 1;
        }
    } else {
        for (uint64_t s = a; s <= b && !g_unkillable; s++) { fails += run_seed(s, nops); seeds++; }
    }
    if (!mini) {
        print_classes();
        printf("%s: %ld seeds, %ld operations, %ld divergences (and %ld documented)\n",
               g_self_check ? "self-check" : "difftest", seeds, seeds * nops, fails,
               g_documented);
        rc = fails ? 1 : 0;
    }
    remove_dir(g_root);
    if (g_unkillable) {
        printf("STOPPED: %d process(es) left in state D (uninterruptible) by a hang\n",
               g_unkillable);
        return 3;
    }
    return rc;
}
