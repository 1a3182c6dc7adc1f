/* SPDX-License-Identifier: MIT */
/*
 * engine_uffd.c - the userfaultfd engine.
 *
 * Watched ranges are registered in MISSING mode, so a page absent from the
 * memfd page cache (or, for anonymous private memory, from the page tables)
 * faults to us; a fault taken by the kernel itself (read(2) into a mapped
 * page) is served the same way, which is why handler threads are kept at
 * all.  Each userfaultfd has one handler thread that hands its faults to
 * um_fault().
 *
 * Dirty tracking write-protects tracked ranges when they are watched, and
 * PAGEMAP_SCAN reads which pages were written and protects them again.
 * Two userfaultfds, because the write-protect mode is chosen per
 * descriptor:
 *   async  the kernel itself lifts the protection on a first write (no
 *          round trip): for mappings that are never evicted under a write;
 *   sync   a first write faults to us (UFFD_PAGEFAULT_FLAG_WP), so that a
 *          write to a page being evicted waits until the page is gone and
 *          then lands on a fresh copy: for pools with a memory limit.
 * A third one, with UFFD_FEATURE_SIGBUS, watches the mappings of in-thread
 * pools: a missing page raises SIGBUS in the faulting thread, whose
 * handler (um_fault_in_thread) fills the page and returns; no thread reads
 * that descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "error.h"
#include "linux_compat.h"
#include "pagemap.h"
#include "thread.h"

/* Features usermap needs, and those it uses when the kernel has them. */
#define NEEDED_FEATURES UFFD_FEATURE_MISSING_SHMEM
#define WP_FEATURES (UFFD_FEATURE_WP_HUGETLBFS_SHMEM | UFFD_FEATURE_WP_UNPOPULATED)
#define OPTIONAL_FEATURES (WP_FEATURES | UFFD_FEATURE_POISON | UFFD_FEATURE_MINOR_SHMEM)

/* The two descriptors: async write protect (and everything untracked),
 * and sync write protect.  -1 when not open. */
enum { ASYNC, SYNC, INTHREAD, INSTANCES };
static int uffds[INSTANCES] = { -1, -1, -1 };
static uint64_t features[INSTANCES];   /* what each handshake enabled */
static long system_page;

static struct um_engine uffd_engine;

/* A userfaultfd from the syscall, or from /dev/userfaultfd where the
 * syscall is refused (vm.unprivileged_userfaultfd=0 without privilege). */
static int open_uffd(void)
{
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
    int dev;

    if (fd >= 0 || errno != EPERM)
        return fd;
    dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (dev < 0) {
        errno = EPERM;
        return -1;
    }
    fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC);
    close(dev);
    if (fd < 0)
        errno = EPERM;
    return fd;
}

/* A userfaultfd with the wanted features enabled; *available (if not
 * NULL) learns every feature the kernel offers. */
static int open_configured_uffd(uint64_t wanted, uint64_t *available)
{
    struct uffdio_api api = { .api = UFFD_API, .features = wanted };
    int fd = open_uffd();

    if (fd < 0)
        return -1;
    if (ioctl(fd, UFFDIO_API, &api) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    if (available)
        *available = api.features;
    return fd;
}

/* The handshake may be done once per descriptor, so probing what the
 * kernel offers takes a descriptor of its own. */
static int probe_features(uint64_t *available)
{
    int fd = open_configured_uffd(0, available);

    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static void serve_message(const struct uffd_msg *msg)
{
    uint64_t flags = msg->arg.pagefault.flags;

    if (msg->event == UFFD_EVENT_PAGEFAULT)
        um_fault((uintptr_t)msg->arg.pagefault.address,
                 (flags & UFFD_PAGEFAULT_FLAG_WP)      ? UM_FAULT_WRITE
                 : (flags & UFFD_PAGEFAULT_FLAG_MINOR) ? UM_FAULT_MINOR
                                                       : UM_FAULT_MISSING,
                 flags & UFFD_PAGEFAULT_FLAG_WRITE);
}

/* The handler thread: takes no signals, reads faults until the descriptor
 * goes away (in a forked child, the thread simply does not exist). */
static void *handler_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    struct uffd_msg msgs[16];

    for (;;) {
        ssize_t n = read(fd, msgs, sizeof(msgs));

        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return NULL;
        for (ssize_t i = 0; i < n / (ssize_t)sizeof(msgs[0]); i++)
            serve_message(&msgs[i]);
    }
}

static int start_handler_thread(int uffd)
{
    /* Handler threads run as long as the process: never joined. */
    struct um_thread thread;
    int err = um_thread_start(&thread, handler_main, (void *)(intptr_t)uffd);

    if (err)
        return um_fail(err, "cannot start usermap's fault handler thread: %s",
                       strerror(err));
    return 0;
}

/* The tracking a range gets when asked for tracking: as well as the
 * kernel allows (the caller learns what it got from tracks_writes(_sync)).
 * In-thread faults are SIGBUS for every reason, write-protect ones
 * included: only asynchronous tracking goes with them (region.c never
 * asks for more). */
static enum um_tracking tracking_granted(enum um_tracking tracking, bool in_thread)
{
    if (tracking == UM_TRACK_SYNC && (!uffd_engine.tracks_writes_sync || in_thread))
        tracking = UM_TRACK_ASYNC;
    if (tracking == UM_TRACK_ASYNC && !uffd_engine.tracks_writes)
        tracking = UM_TRACK_NONE;
    return tracking;
}

/* The descriptor that watches a range watched so. */
static int uffd_watching(enum um_tracking granted, bool in_thread)
{
    return uffds[in_thread ? INTHREAD : granted == UM_TRACK_SYNC ? SYNC : ASYNC];
}

static int uffd_watch(void *addr, size_t len, enum um_tracking tracking, unsigned flags)
{
    bool in_thread = flags & UM_WATCH_IN_THREAD;
    struct uffdio_register reg = {
        .range = { .start = (uintptr_t)addr, .len = len },
        .mode = UFFDIO_REGISTER_MODE_MISSING,
    };
    struct uffdio_writeprotect wp = {
        .range = { .start = (uintptr_t)addr, .len = len },
        .mode = UFFDIO_WRITEPROTECT_MODE_WP,
    };
    int uffd;

    tracking = tracking_granted(tracking, in_thread);
    if (in_thread && uffds[INTHREAD] < 0)
        return um_fail(ENOTSUP, "this kernel's userfaultfd cannot raise SIGBUS for "
                       "in-thread faults (UFFD_FEATURE_SIGBUS)");
    uffd = uffd_watching(tracking, in_thread);
    if (tracking != UM_TRACK_NONE)
        reg.mode |= UFFDIO_REGISTER_MODE_WP;
    if (flags & UM_WATCH_MINOR) {
        if (!(features[SYNC] & UFFD_FEATURE_MINOR_SHMEM))
            return um_fail(ENOTSUP, "this kernel's userfaultfd cannot watch minor faults "
                           "(UFFD_FEATURE_MINOR_SHMEM)");
        reg.mode |= UFFDIO_REGISTER_MODE_MINOR;
    }
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
        return um_fail(errno, "userfaultfd cannot watch %zu bytes at %p: %s",
                       len, addr, strerror(errno));
    /* Protecting never-touched pages leaves markers in the page tables,
     * so that a page mapped later is still protected when first written. */
    if (tracking != UM_TRACK_NONE && !(flags & UM_WATCH_UNPROTECTED) &&
        ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) < 0)
        return um_fail(errno, "userfaultfd cannot write-protect %zu bytes at %p: %s",
                       len, addr, strerror(errno));
    return 0;
}

/* Ways of installing pages where none is mapped. */
enum install {
    INSTALL_COPY,       /* UFFDIO_COPY from a buffer */
    INSTALL_COPY_WP,    /* the same, write-protected */
    INSTALL_ZEROS,      /* UFFDIO_ZEROPAGE */
    INSTALL_CACHED,     /* UFFDIO_CONTINUE: the memfd's page */
    INSTALL_CACHED_WP,  /* the same, write-protected */
};

/* One ioctl installing from dst on; *moved learns how far it got. */
static int install_once(int uffd, enum install how, uintptr_t dst, uintptr_t src, size_t len,
                        int64_t *moved)
{
    int rc;

    if (how == INSTALL_COPY || how == INSTALL_COPY_WP) {
        struct uffdio_copy c = {
            .dst = dst, .src = src, .len = len,
            .mode = UFFDIO_COPY_MODE_DONTWAKE | (how == INSTALL_COPY_WP ? UFFDIO_COPY_MODE_WP : 0),
        };
        rc = ioctl(uffd, UFFDIO_COPY, &c);
        *moved = c.copy;
    } else if (how == INSTALL_ZEROS) {
        struct uffdio_zeropage z = {
            .range = { .start = dst, .len = len }, .mode = UFFDIO_ZEROPAGE_MODE_DONTWAKE,
        };
        rc = ioctl(uffd, UFFDIO_ZEROPAGE, &z);
        *moved = z.zeropage;
    } else {
        struct uffdio_continue c = {
            .range = { .start = dst, .len = len },
            .mode = UFFDIO_CONTINUE_MODE_DONTWAKE |
                    (how == INSTALL_CACHED_WP ? UFFDIO_CONTINUE_MODE_WP : 0),
        };
        rc = ioctl(uffd, UFFDIO_CONTINUE, &c);
        *moved = c.mapped;
    }
    return rc;
}

/*
 * Installing stops at the first page that is already there (EEXIST);
 * such a page is someone else's fill and must be kept, so step over it
 * and go on.  The range must be watched by uffd (else ENOENT).  Returns
 * the bytes installed, or -errno.
 */
static long install(int uffd, enum install how, void *dst, const void *src, size_t len)
{
    size_t done = 0, placed = 0;

    while (done < len) {
        int64_t moved = 0;
        int rc = install_once(uffd, how, (uintptr_t)dst + done, (uintptr_t)src + done,
                              len - done, &moved);

        if (moved > 0) {
            done += (size_t)moved;
            placed += (size_t)moved;
        }
        if (rc == 0)
            break;
        if (errno == EEXIST)
            done += (size_t)system_page;
        else if (errno != EAGAIN)
            return -errno;
    }
    return (long)placed;
}

/* For ranges whose descriptor the caller does not name: windows are the
 * async one's, private memory may be any one's (ENOENT from one: try the
 * next). */
static long install_anywhere(enum install how, void *dst, const void *src, size_t len)
{
    long rc = -ENOENT;

    for (int i = 0; i < INSTANCES && rc == -ENOENT; i++)
        if (uffds[i] >= 0)
            rc = install(uffds[i], how, dst, src, len);
    return rc;
}

static long uffd_place(void *dst, const void *src, size_t len)
{
    return install_anywhere(INSTALL_COPY, dst, src, len);
}

/* Straight into the program's shared mapping: the descriptor is the one
 * that watches it, and a tracked page arrives protected, so that its
 * first write is seen like any other. */
static long uffd_place_in(void *dst, const void *src, size_t len, enum um_tracking tracking,
                          bool in_thread, bool writable)
{
    enum um_tracking granted = tracking_granted(tracking, in_thread);

    return install(uffd_watching(granted, in_thread),
                   granted == UM_TRACK_NONE || writable ? INSTALL_COPY : INSTALL_COPY_WP, dst,
                   src, len);
}

static long uffd_place_zero(void *dst, size_t len)
{
    return install_anywhere(INSTALL_ZEROS, dst, NULL, len);
}

/* Only private mappings with pages of their own are watched for minor
 * faults, by the sync descriptor. */
static int uffd_map_cached(void *dst, size_t len, bool protect)
{
    long rc = install(uffds[SYNC], protect ? INSTALL_CACHED_WP : INSTALL_CACHED, dst, NULL, len);

    return rc < 0 ? (int)rc : 0;
}

/* The range is watched by one of the descriptors: try each. */
static int uffd_place_error(void *dst, size_t len)
{
    struct uffdio_poison p = {
        .range = { .start = (uintptr_t)dst, .len = len },
        .mode = UFFDIO_POISON_MODE_DONTWAKE,
    };
    struct uffdio_writeprotect unprotect = {
        .range = { .start = (uintptr_t)dst, .len = len },
        .mode = UFFDIO_WRITEPROTECT_MODE_DONTWAKE,
    };
    int err = ENOTSUP;

    /* A write-protect marker would keep the poison out (EEXIST): clear
     * it first; the SIGBUS handler protects the page again. */
    for (int i = 0; i < INSTANCES; i++)
        if (uffds[i] >= 0)
            ioctl(uffds[i], UFFDIO_WRITEPROTECT, &unprotect);
    for (int i = 0; i < INSTANCES; i++) {
        if (uffds[i] < 0 || !(features[i] & UFFD_FEATURE_POISON))
            continue;
        if (ioctl(uffds[i], UFFDIO_POISON, &p) == 0 || errno == EEXIST)
            return 0;
        err = errno;
    }
    return -err;
}

/* A thread waits on the descriptor that watches its address; waking a
 * range on the other one is a harmless no-op. */
static int uffd_wake(void *addr, size_t len)
{
    struct uffdio_range r = { .start = (uintptr_t)addr, .len = len };
    int rc = 0;

    for (int i = 0; i < INSTANCES; i++)
        if (uffds[i] >= 0 && ioctl(uffds[i], UFFDIO_WAKE, &r) < 0)
            rc = -errno;
    return rc;
}

/* Synchronous write protection of a range, set (mode WP) or cleared
 * (mode 0, which also wakes the writers). */
static int write_protect(void *addr, size_t len, uint64_t mode)
{
    struct uffdio_writeprotect wp = {
        .range = { .start = (uintptr_t)addr, .len = len },
        .mode = mode,
    };

    return ioctl(uffds[SYNC], UFFDIO_WRITEPROTECT, &wp) < 0 ? -errno : 0;
}

static int uffd_unprotect(void *addr, size_t len)
{
    return write_protect(addr, len, 0);
}

static int uffd_protect(void *addr, size_t len)
{
    return write_protect(addr, len, UFFDIO_WRITEPROTECT_MODE_WP);
}

struct reprotect {
    um_range_fn fn;
    void *arg;
    int err;
};

/* Sync mode: PAGEMAP_SCAN protects again only in async mode, so protect
 * each written range here, then report it. */
static void protect_then_report(void *arg, uintptr_t start, uintptr_t end)
{
    struct reprotect *rp = arg;
    int rc = uffd_protect((void *)start, end - start);

    if (rc < 0)
        rp->err = rc;
    rp->fn(rp->arg, start, end);
}

static int uffd_collect_written(void *addr, size_t len, enum um_tracking tracking, bool reset,
                                um_range_fn fn, void *arg)
{
    bool sync = tracking == UM_TRACK_SYNC && uffd_engine.tracks_writes_sync;
    struct pagemap_query q = { .all = PAGE_IS_WRITTEN, .reset_written = reset && !sync };
    struct reprotect rp = { fn, arg, 0 };
    int rc;

    if (!(sync && reset))
        return pagemap_scan(addr, len, &q, fn, arg);
    rc = pagemap_scan(addr, len, &q, protect_then_report, &rp);
    return rc ? rc : rp.err;
}

static void close_all(void)
{
    for (int i = 0; i < INSTANCES; i++) {
        if (uffds[i] >= 0)
            close(uffds[i]);
        uffds[i] = -1;
    }
}

/* Opens the descriptors and starts their threads; shared by first start
 * and restart in a forked child.  Every descriptor is open before any
 * thread starts, so that running out of descriptors leaves nothing
 * behind and the next call can try again. */
static int bring_up(void)
{
    for (int i = 0; i < INSTANCES; i++) {
        if (!features[i])
            continue;
        uffds[i] = open_configured_uffd(features[i], NULL);
        if (uffds[i] < 0) {
            int err = errno;
            close_all();
            return um_fail(err, "cannot open a userfaultfd: %s", strerror(err));
        }
    }
    for (int i = 0; i < INSTANCES; i++)
        if (uffds[i] >= 0 && i != INTHREAD && start_handler_thread(uffds[i]) < 0)
            return -1;
    return 0;
}

/* The parent's descriptors refer to the parent's memory: drop them. */
static int uffd_restart_in_child(void)
{
    close_all();
    pagemap_reopen_in_child();
    return bring_up();
}

static struct um_engine uffd_engine = {
    .name = "userfaultfd",
    .watch = uffd_watch,
    .place = uffd_place,
    .place_in = uffd_place_in,
    .place_zero = uffd_place_zero,
    .map_cached = uffd_map_cached,
    .place_error = uffd_place_error,
    .wake = uffd_wake,
    .unprotect = uffd_unprotect,
    .protect = uffd_protect,
    .collect_written = uffd_collect_written,
    .restart_in_child = uffd_restart_in_child,
};

static const char *explain_open_error(int err)
{
    switch (err) {
    case EPERM:
        return "userfaultfd is not permitted here (vm.unprivileged_userfaultfd=0 "
               "and no access to /dev/userfaultfd, or a seccomp filter)";
    case ENOSYS:
        return "this kernel has no userfaultfd";
    default:
        return strerror(err);
    }
}

const struct um_engine *um_engine_uffd_start(void)
{
    uint64_t available;

    system_page = sysconf(_SC_PAGESIZE);
    if (probe_features(&available) < 0) {
        int err = errno;
        um_fail(err, "usermap cannot page: %s", explain_open_error(err));
        return NULL;
    }
    if ((available & NEEDED_FEATURES) != NEEDED_FEATURES) {
        um_fail(ENOTSUP, "usermap cannot page: this kernel's userfaultfd "
                "does not handle shared memory (UFFD_FEATURE_MISSING_SHMEM)");
        return NULL;
    }
    features[ASYNC] = NEEDED_FEATURES | (available & OPTIONAL_FEATURES);
    uffd_engine.tracks_writes_sync =
        (available & WP_FEATURES) == WP_FEATURES && pagemap_available();
    uffd_engine.tracks_writes =
        uffd_engine.tracks_writes_sync && (available & UFFD_FEATURE_WP_ASYNC);
    if (uffd_engine.tracks_writes_sync)
        features[SYNC] = features[ASYNC];
    if (uffd_engine.tracks_writes)
        features[ASYNC] |= UFFD_FEATURE_WP_ASYNC;
    if (available & UFFD_FEATURE_SIGBUS)
        features[INTHREAD] = features[ASYNC] | UFFD_FEATURE_SIGBUS;
    if (bring_up() < 0)
        return NULL;
    return &uffd_engine;
}
