/* SPDX-License-Identifier: MIT */
/*
 * argcheck.c - the argument checks of um_mmap, um_munmap, um_mprotect,
 * um_msync, um_madvise and um_mremap, as tables in the order Linux 6.x
 * makes them.
 *
 * A call's errno is that of the first check that fails, so the order is
 * part of the interface: with an unaligned MAP_FIXED address and a
 * write-only descriptor, the kernel says EINVAL, not EACCES.  Each table
 * names the kernel function that makes each check (mm/mmap.c, mm/util.c,
 * mm/mprotect.c, mm/msync.c, mm/madvise.c, mm/vma.c, mm/mremap.c).
 *
 * Where the answer depends on what the kernel alone knows (the address
 * space, TASK_SIZE, the memlock limit, the file's filesystem, the advice
 * this kernel knows), the check asks the kernel with a probe at that point
 * of the order: a call that changes nothing the caller can see (a
 * PROT_NONE mapping made and unmapped at once, in a free range or one of
 * the probe's own; madvise of 0 bytes).  The probes are marked "kernel".
 *
 * A check returns 0 when it passes, an errno when the call fails with it,
 * CHECK_DONE when the call succeeds with nothing to do, or CHECK_KERNEL
 * when the mapping is the kernel's own from there on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "argcheck.h"
#include "error.h"
#include "lifecycle.h"
#include "mman_compat.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

enum { CHECK_KERNEL = -1, CHECK_DONE = -2 };

static uintptr_t page_mask(void)
{
    return um_system_page() - 1;
}

/* len rounded up to whole pages; 0 when that wraps around. */
static size_t page_align(size_t len)
{
    return (len + page_mask()) & ~page_mask();
}

static unsigned page_shift(void)
{
    return (unsigned)__builtin_ctzl(um_system_page());
}

/* Whether the page at p is mapped: the kernel's msync says ENOMEM if not. */
static bool is_mapped(void *p)
{
    return msync(p, 1, MS_ASYNC) == 0;
}

/* A PROT_NONE mapping that reserves nothing (the probes' own). */
static void *probe_map(void *addr, size_t len, int flags)
{
    /* The system call itself: a sanitizer's mmap wrapper judges addresses
     * by its own layout (ThreadSanitizer aborts on a probe near the top of
     * the address space), and a probe is never used anyway. */
    return (void *)syscall(SYS_mmap, addr, len, PROT_NONE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | flags, -1, 0);
}

static void probe_unmap(void *p, size_t len)
{
    syscall(SYS_munmap, p, len);
}

/*
 * TASK_SIZE, the end of the user address space (munmap's limit), asked of
 * the kernel once: the highest 2^k - 2 pages a one-page MAP_FIXED_NOREPLACE
 * probe may have, and whether 2^k - 1 page may too (x86 keeps the last page
 * below 2^k out, arm64 does not).  0 while unknown.
 */
static uintptr_t task_size(void)
{
    static uintptr_t known;
    size_t pg = um_system_page();

    if (known)
        return known;
    for (unsigned k = 8 * sizeof(uintptr_t) - 1; k >= 32; k--) {
        uintptr_t top = (uintptr_t)1 << k;
        void *p = probe_map((void *)(top - 2 * pg), pg, MAP_FIXED_NOREPLACE);
        if (p == MAP_FAILED && errno == ENOMEM)
            continue;
        if (p != MAP_FAILED)
            probe_unmap(p, pg);
        p = probe_map((void *)(top - pg), pg, MAP_FIXED_NOREPLACE);
        if (p != MAP_FAILED)
            probe_unmap(p, pg);
        known = p == MAP_FAILED && errno == ENOMEM ? top - pg : top;
        return known;
    }
    return 0;    /* every probe failed (the map count at its limit?): unknown */
}

/* ============================================================== um_mmap */

static int offset_unaligned(struct mmap_call *c)
{
    return ((uint64_t)c->offset & page_mask()) ? EINVAL : 0;
}

static int fd_not_open(struct mmap_call *c)
{
    int fl;

    if (c->anon)
        return 0;
    fl = fcntl(c->fd, F_GETFL);
    if (fl < 0 || (fl & O_PATH) || fstat(c->fd, &c->st) < 0)
        return EBADF;
    c->accmode = fl & O_ACCMODE;
    return 0;
}

/* What usermap cannot page (devices, pipes, directories, hugetlbfs files,
 * anonymous huge pages, droppable memory) is the kernel's to map, with
 * the kernel's answer for what cannot be mapped at all. */
static int kernels_mapping(struct mmap_call *c)
{
    struct statfs fs;

    if (c->anon)
        return (c->flags & MAP_HUGETLB) || (c->flags & MAP_TYPE_BITS) == MAP_DROPPABLE
                   ? CHECK_KERNEL : 0;
    if (!S_ISREG(c->st.st_mode))
        return CHECK_KERNEL;
    if (fstatfs(c->fd, &fs) == 0 && (unsigned long)fs.f_type == HUGETLBFS_MAGIC)
        return CHECK_KERNEL;
    return 0;
}

static int hugetlb_file(struct mmap_call *c)
{
    return !c->anon && (c->flags & MAP_HUGETLB) ? EINVAL : 0;
}

static int length_zero(struct mmap_call *c)
{
    return c->len == 0 ? EINVAL : 0;
}

static int length_wraps(struct mmap_call *c)
{
    return page_align(c->len) == 0 ? ENOMEM : 0;
}

static int pgoff_wraps(struct mmap_call *c)
{
    uint64_t pgoff = (uint64_t)c->offset >> page_shift();

    return pgoff + (page_align(c->len) >> page_shift()) < pgoff ? EOVERFLOW : 0;
}

/* The address range, as get_unmapped_area judges it (too long, an
 * unaligned MAP_FIXED address, past TASK_SIZE, no room), then
 * MAP_FIXED_NOREPLACE over a mapping: a PROT_NONE probe at that address. */
static int address_range(struct mmap_call *c)
{
    bool fixed = c->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
    size_t len = page_align(c->len);
    void *p = probe_map(c->addr, len, fixed ? MAP_FIXED_NOREPLACE : 0);

    if (p != MAP_FAILED) {
        probe_unmap(p, len);
        return 0;
    }
    /* MAP_FIXED replaces what is there */
    if (errno == EEXIST && !(c->flags & MAP_FIXED_NOREPLACE))
        return 0;
    return errno;
}

/* MAP_LOCKED: allowed at all (EPERM), and within RLIMIT_MEMLOCK (EAGAIN);
 * a PROT_NONE probe is counted but never populated. */
static int memlock(struct mmap_call *c)
{
    size_t len = page_align(c->len);
    void *p;

    if (!(c->flags & MAP_LOCKED))
        return 0;
    p = probe_map(NULL, len, MAP_LOCKED);
    if (p != MAP_FAILED) {
        probe_unmap(p, len);
        return 0;
    }
    return errno == EPERM || errno == EAGAIN ? errno : 0;
}

/* A regular file holds at most MAX_LFS_FILESIZE bytes (LLONG_MAX). */
static int past_largest_file(struct mmap_call *c)
{
    uint64_t max = INT64_MAX, len = page_align(c->len);

    if (c->anon)
        return 0;
    if (len > max || ((uint64_t)c->offset >> page_shift()) > ((max - len) >> page_shift()))
        return EOVERFLOW;
    return 0;
}

/* MAP_SHARED_VALIDATE refuses flags outside the legacy set; of those, the
 * file probe below cannot carry MAP_FIXED_NOREPLACE (it maps elsewhere),
 * so that one is judged here; the probe judges the others. */
static int validate_noreplace(struct mmap_call *c)
{
    return !c->anon && (c->flags & MAP_TYPE_BITS) == MAP_SHARED_VALIDATE &&
                   (c->flags & MAP_FIXED_NOREPLACE)
               ? EOPNOTSUPP : 0;
}

/*
 * Everything else about mapping this file this way is do_mmap's switch on
 * the type (EINVAL for none, EOPNOTSUPP, EACCES, ETXTBSY, EPERM on a
 * noexec mount, ENODEV, EINVAL for MAP_GROWSDOWN) and the file's own
 * ->mmap: a probe mapping of the caller's fd, never touched.  For MAP_FIXED
 * it replaces a reservation of the probe's own, because a failure there
 * comes after the kernel unmapped the target (MAP_SYNC on a filesystem
 * without DAX, say): then usermap unmaps the caller's range too.
 */
static int file_answer(struct mmap_call *c)
{
    int flags = c->flags & ~(MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_POPULATE | MAP_LOCKED);
    size_t len = page_align(c->len);
    void *scratch = NULL, *p;
    int err;

    if (c->anon)
        return 0;
    if ((c->flags & MAP_FIXED) && !(c->flags & MAP_FIXED_NOREPLACE)) {
        scratch = probe_map(NULL, len, 0);
        if (scratch == MAP_FAILED)
            scratch = NULL;
        else
            flags |= MAP_FIXED;
    }
    p = mmap(scratch, c->len, c->prot, flags, c->fd, c->offset);
    err = errno;
    if (p != MAP_FAILED) {
        munmap(p, len);
        if (scratch && p != scratch)
            probe_unmap(scratch, len);
        return 0;
    }
    if (scratch) {
        c->target_unmapped = !is_mapped(scratch);
        probe_unmap(scratch, len);
    }
    return err;
}

static int anon_shared_growsdown(struct mmap_call *c)
{
    return c->anon && (c->flags & MAP_TYPE_BITS) == MAP_SHARED && (c->flags & MAP_GROWSDOWN)
               ? EINVAL : 0;
}

static int anon_type(struct mmap_call *c)
{
    int type = c->flags & MAP_TYPE_BITS;

    return c->anon && type != MAP_SHARED && type != MAP_PRIVATE ? EINVAL : 0;
}

struct mmap_check {
    int (*fails)(struct mmap_call *c);
    int err;                    /* its errno; 0: the kernel's answer */
    const char *kernel;         /* the kernel function that checks it */
    const char *what;
};

/* um_mmap's checks, in Linux's order.  The address checks come before any
 * about the file: EINVAL for an unaligned MAP_FIXED address, ENOMEM for a
 * length past TASK_SIZE and EEXIST for MAP_FIXED_NOREPLACE over a mapping
 * win over EACCES, EOVERFLOW, EOPNOTSUPP and ENODEV. */
static const struct mmap_check mmap_checks[] = {
    {offset_unaligned, EINVAL, "sys_mmap (arch)", "the offset is not a multiple of the page size"},
    {fd_not_open, EBADF, "ksys_mmap_pgoff", "fd is not a descriptor open for reading or writing"},
    {kernels_mapping, 0, "-", "this mapping is the kernel's own"},
    {hugetlb_file, EINVAL, "ksys_mmap_pgoff", "MAP_HUGETLB needs anonymous memory or a hugetlbfs file"},
    {length_zero, EINVAL, "do_mmap", "the length is 0; a mapping needs at least one byte"},
    {length_wraps, ENOMEM, "do_mmap", "the length rounded up to pages wraps around"},
    {pgoff_wraps, EOVERFLOW, "do_mmap", "offset + length wraps around"},
    {address_range, 0, "__get_unmapped_area, do_mmap (kernel)",
     "no room for the range at this address (too long, unaligned MAP_FIXED address, "
     "past the address space, or MAP_FIXED_NOREPLACE over a mapping)"},
    {memlock, 0, "do_mmap: can_do_mlock, mlock_future_ok (kernel)", "MAP_LOCKED is not allowed here"},
    {past_largest_file, EOVERFLOW, "file_mmap_ok", "offset + length is past the largest file"},
    {validate_noreplace, EOPNOTSUPP, "do_mmap",
     "MAP_SHARED_VALIDATE does not take MAP_FIXED_NOREPLACE"},
    {file_answer, 0, "do_mmap (switch on the type), the file's mmap (kernel)",
     "the kernel refuses this mapping of the file"},
    {anon_shared_growsdown, EINVAL, "do_mmap", "anonymous MAP_SHARED memory cannot grow down"},
    {anon_type, EINVAL, "do_mmap",
     "no mapping type: anonymous memory takes exactly one of MAP_SHARED and MAP_PRIVATE"},
};

int argcheck_mmap(struct mmap_call *c)
{
    for (size_t i = 0; i < sizeof(mmap_checks) / sizeof(mmap_checks[0]); i++) {
        const struct mmap_check *k = &mmap_checks[i];
        int err = k->fails(c);

        if (err == CHECK_KERNEL)
            return ARGCHECK_KERNEL;
        if (err > 0)
            return um_fail(err, "um_mmap(%p, %zu, %#x, %#x, %d, %lld): %s (%s) [%s]", c->addr,
                           c->len, c->prot, c->flags, c->fd, (long long)c->offset, k->what,
                           strerror(err), k->kernel);
    }
    return ARGCHECK_OK;
}

/* ============================================= munmap, mprotect, msync, madvise */

struct range_call {
    uintptr_t start;
    size_t len;
    int arg;                    /* prot, flags or advice */
};

struct range_check {
    int (*fails)(const struct range_call *c);
    int err;
    const char *kernel;
    const char *what;
};

static int start_unaligned(const struct range_call *c)
{
    return (c->start & page_mask()) ? EINVAL : 0;
}

static int len_zero_done(const struct range_call *c)
{
    return c->len == 0 ? CHECK_DONE : 0;
}

/* start + the length rounded up wraps (or rounds to 0) */
static bool end_wraps(const struct range_call *c)
{
    size_t len = page_align(c->len);

    return (c->len && !len) || c->start + len < c->start;
}

/* munmap: the range must lie below TASK_SIZE (asked of the kernel). */
static int past_task_size(const struct range_call *c)
{
    uintptr_t top = task_size();

    if (!top)
        return 0;
    return c->start > top || c->len > top - c->start ? EINVAL : 0;
}

static int munmap_len_zero(const struct range_call *c)
{
    return page_align(c->len) == 0 ? EINVAL : 0;
}

static const struct range_check munmap_checks[] = {
    {start_unaligned, EINVAL, "do_vmi_munmap", "the address is not page aligned"},
    {past_task_size, EINVAL, "do_vmi_munmap", "the range reaches past the address space"},
    {munmap_len_zero, EINVAL, "do_vmi_munmap", "the length is 0"},
};

static int prot_grows_both(const struct range_call *c)
{
    return (c->arg & PROT_GROWSDOWN) && (c->arg & PROT_GROWSUP) ? EINVAL : 0;
}

static int mprotect_end_wraps(const struct range_call *c)
{
    return end_wraps(c) ? ENOMEM : 0;
}

static int prot_unknown(const struct range_call *c)
{
    int prot = c->arg & ~(PROT_GROWSDOWN | PROT_GROWSUP);

    return prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) ? EINVAL : 0;
}

static const struct range_check mprotect_checks[] = {
    {prot_grows_both, EINVAL, "do_mprotect_pkey", "PROT_GROWSDOWN and PROT_GROWSUP together"},
    {start_unaligned, EINVAL, "do_mprotect_pkey", "the address is not page aligned"},
    {len_zero_done, 0, "do_mprotect_pkey", "nothing to do for 0 bytes"},
    {mprotect_end_wraps, ENOMEM, "do_mprotect_pkey", "the range wraps around"},
    {prot_unknown, EINVAL, "arch_validate_prot", "unknown protection bits"},
};

static int msync_flags_unknown(const struct range_call *c)
{
    return c->arg & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) ? EINVAL : 0;
}

static int msync_sync_and_async(const struct range_call *c)
{
    return (c->arg & MS_SYNC) && (c->arg & MS_ASYNC) ? EINVAL : 0;
}

static int msync_end_wraps(const struct range_call *c)
{
    return c->start + page_align(c->len) < c->start ? ENOMEM : 0;
}

static int msync_nothing(const struct range_call *c)
{
    return page_align(c->len) == 0 ? CHECK_DONE : 0;
}

static const struct range_check msync_checks[] = {
    {msync_flags_unknown, EINVAL, "msync", "unknown flags"},
    {start_unaligned, EINVAL, "msync", "the address is not page aligned"},
    {msync_sync_and_async, EINVAL, "msync", "MS_SYNC and MS_ASYNC together"},
    {msync_end_wraps, ENOMEM, "msync", "the range wraps around"},
    {msync_nothing, 0, "msync", "nothing to do for 0 bytes"},
};

/* Which advice this kernel knows is the kernel's to say (it depends on its
 * configuration): madvise of 0 bytes at an aligned address checks the
 * advice and nothing else. */
static int advice_unknown(const struct range_call *c)
{
    return madvise((void *)(c->start & ~page_mask()), 0, c->arg) < 0 ? errno : 0;
}

static int madvise_end_wraps(const struct range_call *c)
{
    return end_wraps(c) ? EINVAL : 0;
}

static const struct range_check madvise_checks[] = {
    {advice_unknown, 0, "madvise_behavior_valid (kernel)", "advice this kernel does not know"},
    {start_unaligned, EINVAL, "do_madvise", "the address is not page aligned"},
    {madvise_end_wraps, EINVAL, "do_madvise", "the range wraps around"},
    {len_zero_done, 0, "do_madvise", "nothing to do for 0 bytes"},
};

static int run_range(const char *call, const struct range_check *checks, size_t n, void *addr,
                     size_t len, int arg, uintptr_t *start, uintptr_t *end)
{
    struct range_call c = {(uintptr_t)addr, len, arg};

    for (size_t i = 0; i < n; i++) {
        int err = checks[i].fails(&c);

        if (err == CHECK_DONE) {
            *start = *end = c.start;
            return 0;
        }
        if (err > 0)
            return um_fail(err, "%s(%p, %zu, %#x): %s (%s) [%s]", call, addr, len, arg,
                           checks[i].what, strerror(err), checks[i].kernel);
    }
    *start = c.start;
    *end = c.start + page_align(len);
    return 0;
}

#define RUN(call, table, addr, len, arg, start, end) \
    run_range(call, table, sizeof(table) / sizeof(table[0]), addr, len, arg, start, end)

int argcheck_munmap(void *addr, size_t len, uintptr_t *start, uintptr_t *end)
{
    return RUN("um_munmap", munmap_checks, addr, len, 0, start, end);
}

int argcheck_mprotect(void *addr, size_t len, int prot, uintptr_t *start, uintptr_t *end)
{
    return RUN("um_mprotect", mprotect_checks, addr, len, prot, start, end);
}

int argcheck_msync(void *addr, size_t len, int flags, uintptr_t *start, uintptr_t *end)
{
    return RUN("um_msync", msync_checks, addr, len, flags, start, end);
}

int argcheck_madvise(void *addr, size_t len, int advice, uintptr_t *start, uintptr_t *end)
{
    return RUN("um_madvise", madvise_checks, addr, len, advice, start, end);
}

/* ============================================================= mremap */

static bool implies_new_addr(const struct mremap_call *c)
{
    return c->flags & (MREMAP_FIXED | MREMAP_DONTUNMAP);
}

static int mremap_flags_unknown(const struct mremap_call *c)
{
    return c->flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP) ? EINVAL : 0;
}

static int mremap_addr_unaligned(const struct mremap_call *c)
{
    return (c->addr & page_mask()) ? EINVAL : 0;
}

static int mremap_new_len_zero(const struct mremap_call *c)
{
    return page_align(c->new_len) == 0 ? EINVAL : 0;
}

static int mremap_new_addr_unaligned(const struct mremap_call *c)
{
    return implies_new_addr(c) && (c->new_addr & page_mask()) ? EINVAL : 0;
}

static int mremap_fixed_without_maymove(const struct mremap_call *c)
{
    return implies_new_addr(c) && !(c->flags & MREMAP_MAYMOVE) ? EINVAL : 0;
}

/* Compared in whole pages, as Linux 6.17 and later do; an older kernel,
 * which compares the bytes, still says EINVAL for the rest itself. */
static int mremap_dontunmap_resizes(const struct mremap_call *c)
{
    return (c->flags & MREMAP_DONTUNMAP) && page_align(c->old_len) != page_align(c->new_len)
               ? EINVAL : 0;
}

struct mremap_check {
    int (*fails)(const struct mremap_call *c);
    const char *what;
};

/* check_mremap_params, the checks every kernel makes before it looks at
 * the address space (all EINVAL, so their order is moot).  Those of the
 * target range (past TASK_SIZE, overlapping the source) came after the
 * lookup of old_address (EFAULT) before Linux 6.17 and before it since:
 * the kernel's own call judges them, and everything after. */
static const struct mremap_check mremap_checks[] = {
    {mremap_flags_unknown, "unknown flags"},
    {mremap_addr_unaligned, "old_address is not page aligned"},
    {mremap_new_len_zero, "new_size is 0"},
    {mremap_new_addr_unaligned, "new_address is not page aligned"},
    {mremap_fixed_without_maymove,
     "MREMAP_FIXED and MREMAP_DONTUNMAP need MREMAP_MAYMOVE"},
    {mremap_dontunmap_resizes, "MREMAP_DONTUNMAP cannot change the size"},
};

int argcheck_mremap(const struct mremap_call *c)
{
    for (size_t i = 0; i < sizeof(mremap_checks) / sizeof(mremap_checks[0]); i++)
        if (mremap_checks[i].fails(c))
            return um_fail(EINVAL, "um_mremap(%p, %zu, %zu, %#x, %p): %s (%s) [check_mremap_params]",
                           (void *)c->addr, c->old_len, c->new_len, c->flags,
                           (void *)c->new_addr, mremap_checks[i].what, strerror(EINVAL));
    return 0;
}
