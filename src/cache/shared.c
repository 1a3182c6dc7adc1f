/* SPDX-License-Identifier: MIT */
/*
 * shared.c - the named objects of a shared page cache: the directory
 * that holds them, attaching to and leaving them, and the locks kept on
 * the state object.  See shared.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "addrspace.h"
#include "dirty.h"
#include "error.h"
#include "shared.h"

static void count_attach(struct um_shared *s, int delta);

/* The state object's length: header, then the dirty map (sparse). */
static uint64_t system_page(void)
{
    return (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t enabler_offset(void)
{
    return SHARED_DIRTY_OFFSET + dirty_map_bytes(system_page());
}

static uint64_t enabler_pages(void)
{
    return SHARED_ENABLER_BYTES / system_page();
}

static uint64_t enabler_length(void)
{
    return enabler_pages() * SHARED_MASK_WORDS * sizeof(uint64_t);
}

uint64_t shared_state_length(void)
{
    return enabler_offset() + enabler_length();
}

/* ---------------------------------------------------------- locks */

static bool byte_lock(int fd, short type, off_t at, off_t len, bool wait)
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = at, .l_len = len };

    while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0)
        if (errno != EINTR)
            return false;
    return true;
}

bool shared_lock_byte(int fd, off_t at, bool exclusive, bool wait)
{
    return byte_lock(fd, exclusive ? F_WRLCK : F_RDLCK, at, 1, wait);
}

void shared_unlock_byte(int fd, off_t at)
{
    byte_lock(fd, F_UNLCK, at, 1, false);
}

bool shared_lock_pages(const struct um_shared *s, uint64_t off, uint64_t len, bool exclusive,
                       bool wait)
{
    return byte_lock(s->state_fd, exclusive ? F_WRLCK : F_RDLCK,
                     SHARED_LOCK_PAGES + (off_t)off, (off_t)len, wait);
}

void shared_unlock_pages(const struct um_shared *s, uint64_t off, uint64_t len)
{
    byte_lock(s->state_fd, F_UNLCK, SHARED_LOCK_PAGES + (off_t)off, (off_t)len, false);
}

/* Whether another open description than fd's holds slot's lock: its
 * process is alive (the kernel drops the lock of a dead one). */
int shared_slot_live(int state_fd, int slot)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
                        .l_start = SHARED_LOCK_SLOT + slot, .l_len = 1 };

    if (fcntl(state_fd, F_OFD_GETLK, &fl) < 0)
        return 0;
    return fl.l_type != F_UNLCK;
}

static bool other_live(const struct um_shared *s, int i)
{
    return i != s->slot && __atomic_load_n(&s->hdr->pid[i], __ATOMIC_ACQUIRE) != 0 &&
           shared_slot_live(s->state_fd, i);
}

bool shared_lone_begin(struct um_shared *s)
{
    __atomic_fetch_add(&s->hdr->lone_work[s->slot], 1, __ATOMIC_SEQ_CST);
    if (!shared_maybe_others(s))
        return true;
    shared_lone_end(s);
    return false;
}

void shared_lone_end(struct um_shared *s)
{
    __atomic_fetch_sub(&s->hdr->lone_work[s->slot], 1, __ATOMIC_SEQ_CST);
}

/* A newcomer, its pid shown: lone work that began before it was seen
 * ends before it touches a page (a dead process's count is ignored). */
static void wait_for_lone_work(const struct um_shared *s)
{
    for (int i = 0; i < SHARED_SLOTS; i++)
        while (i != s->slot && __atomic_load_n(&s->hdr->lone_work[i], __ATOMIC_SEQ_CST) &&
               shared_slot_live(s->state_fd, i))
            sched_yield();
}

bool shared_maybe_others(const struct um_shared *s)
{
    for (int i = 0; i < SHARED_SLOTS; i++)
        if (i != s->slot && __atomic_load_n(&s->hdr->pid[i], __ATOMIC_SEQ_CST) != 0)
            return true;
    return false;
}

bool shared_others_attached(const struct um_shared *s)
{
    for (int i = 0; i < SHARED_SLOTS; i++)
        if (other_live(s, i))
            return true;
    return false;
}

bool shared_others_died(const struct um_shared *s)
{
    for (int i = 0; i < SHARED_SLOTS; i++)
        if (i != s->slot && __atomic_load_n(&s->hdr->pid[i], __ATOMIC_ACQUIRE) != 0 &&
            !shared_slot_live(s->state_fd, i))
            return true;
    return false;
}

void shared_set_writing(struct um_shared *s, bool on)
{
    if (__atomic_load_n(&s->hdr->writing[s->slot], __ATOMIC_RELAXED) != on)
        __atomic_store_n(&s->hdr->writing[s->slot], on, __ATOMIC_SEQ_CST);
}

/* The enabler words of system page p: one bit per slot. */
static uint64_t *enabler_of(const struct um_shared *s, uint64_t p)
{
    return &s->enabler[p * SHARED_MASK_WORDS];
}

/* Widens this slot's record of the pages it ever named, which the next
 * owner of the slot clears. */
static void note_range(struct um_shared *s, uint64_t first, uint64_t end)
{
    uint64_t *lo = &s->hdr->named_lo[s->slot], *hi = &s->hdr->named_hi[s->slot];
    uint64_t now = __atomic_load_n(lo, __ATOMIC_RELAXED);

    while (first < now && !__atomic_compare_exchange_n(lo, &now, first, false, __ATOMIC_RELAXED,
                                                       __ATOMIC_RELAXED))
        ;
    now = __atomic_load_n(hi, __ATOMIC_RELAXED);
    while (end > now && !__atomic_compare_exchange_n(hi, &now, end, false, __ATOMIC_RELAXED,
                                                     __ATOMIC_RELAXED))
        ;
}

/* Sets (or clears) slot's bit in the pages [first, end) the map covers. */
static void set_bit_in(struct um_shared *s, int slot, uint64_t first, uint64_t end, bool on)
{
    uint64_t bit = (uint64_t)1 << (slot % 64);

    if (!s->enabler)
        return;
    if (end > s->enabler_pages)
        end = s->enabler_pages;
    for (uint64_t p = first; p < end; p++) {
        uint64_t *w = enabler_of(s, p) + slot / 64;

        if (on && !(__atomic_load_n(w, __ATOMIC_RELAXED) & bit))
            __atomic_fetch_or(w, bit, __ATOMIC_SEQ_CST);
        else if (!on && (__atomic_load_n(w, __ATOMIC_RELAXED) & bit))
            __atomic_fetch_and(w, ~bit, __ATOMIC_SEQ_CST);
    }
}

static void pages_of(const struct um_shared *s, uint64_t off, uint64_t len, uint64_t *first,
                     uint64_t *end)
{
    *first = off >> s->page_shift;
    *end = (off + len + system_page() - 1) >> s->page_shift;
}

void shared_note_enabled(struct um_shared *s, uint64_t off, uint64_t len)
{
    uint64_t first, end;

    pages_of(s, off, len, &first, &end);
    note_range(s, first, end);
    set_bit_in(s, s->slot, first, end, true);
}

void shared_note_protected(struct um_shared *s, uint64_t off, uint64_t len)
{
    uint64_t first, end;

    pages_of(s, off, len, &first, &end);
    set_bit_in(s, s->slot, first, end, false);
}

/* A slot changes hands: its bits, wherever its last owner set them, go,
 * so that they never stand for the new owner. */
static void clear_slot_names(struct um_shared *s, int slot)
{
    uint64_t lo = s->hdr->named_lo[slot], hi = s->hdr->named_hi[slot];

    if (lo < hi)
        set_bit_in(s, slot, lo, hi, false);
    s->hdr->named_lo[slot] = UINT64_MAX;
    s->hdr->named_hi[slot] = 0;
}

/* A forked child may hold what its parent could write (if the kernel
 * copied the page tables): its slot gets the parent's bits. */
static void copy_slot_names(struct um_shared *s, int from, int to)
{
    uint64_t lo = s->hdr->named_lo[from], hi = s->hdr->named_hi[from];
    uint64_t bit = (uint64_t)1 << (from % 64);

    if (!s->enabler || lo >= hi)
        return;
    if (hi > s->enabler_pages)
        hi = s->enabler_pages;
    for (uint64_t p = lo; p < hi; p++)
        if (__atomic_load_n(enabler_of(s, p) + from / 64, __ATOMIC_RELAXED) & bit)
            __atomic_fetch_or(enabler_of(s, p) + to / 64, (uint64_t)1 << (to % 64),
                              __ATOMIC_SEQ_CST);
    s->hdr->named_lo[to] = lo;
    s->hdr->named_hi[to] = hi;
}

void shared_writers_now(const struct um_shared *s, struct shared_writers *w)
{
    memset(w, 0, sizeof(*w));
    for (int i = 0; i < SHARED_SLOTS; i++) {
        if (__atomic_load_n(&s->hdr->writing[i], __ATOMIC_SEQ_CST) && other_live(s, i)) {
            w->mask[i / 64] |= (uint64_t)1 << (i % 64);
            w->any = true;
        }
    }
}

bool shared_keeps(const struct um_shared *s, const struct shared_writers *w, uint64_t off)
{
    uint64_t p = off >> s->page_shift;

    if (!w->any)
        return false;
    if (!s->enabler || p >= s->enabler_pages)
        return true;            /* not tracked per page: any writer keeps it */
    for (int i = 0; i < SHARED_MASK_WORDS; i++)
        if (__atomic_load_n(enabler_of(s, p) + i, __ATOMIC_SEQ_CST) & w->mask[i])
            return true;
    return false;
}

bool shared_writeback_begin(struct um_shared *s)
{
    shared_lock_byte(s->state_fd, SHARED_LOCK_WRITEBACK, true, true);
    return __atomic_exchange_n(&s->hdr->wb_active, 1, __ATOMIC_SEQ_CST) != 0;
}

void shared_writeback_end(struct um_shared *s)
{
    __atomic_store_n(&s->hdr->wb_active, 0, __ATOMIC_SEQ_CST);
    shared_unlock_byte(s->state_fd, SHARED_LOCK_WRITEBACK);
}

/* Locks a free slot (one whose lock no live process holds) through the
 * description fd and fills it in for pid.  The slot, or -1. */
static int lock_free_slot(struct um_shared *s, int fd, bool writing, pid_t pid)
{
    for (int i = 0; i < SHARED_SLOTS; i++) {
        if (!shared_lock_byte(fd, SHARED_LOCK_SLOT + i, true, false))
            continue;
        clear_slot_names(s, i);
        __atomic_store_n(&s->hdr->lone_work[i], 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&s->hdr->writing[i], writing, __ATOMIC_SEQ_CST);
        __atomic_store_n(&s->hdr->pid[i], (int32_t)pid, __ATOMIC_RELEASE);
        return i;
    }
    errno = EUSERS;
    return -1;
}

static int take_slot(struct um_shared *s, bool writing)
{
    s->slot = lock_free_slot(s, s->state_fd, writing, getpid());
    return s->slot < 0 ? -1 : 0;
}

/* A description of the state object of this process's own. */
static int reopen_state(int fd)
{
    char link[64];

    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    return open(link, O_RDWR | O_CLOEXEC);
}

int shared_before_fork(struct um_shared *s)
{
    bool writing = __atomic_load_n(&s->hdr->writing[s->slot], __ATOMIC_SEQ_CST);

    s->child_fd = s->state_fd < 0 ? -1 : reopen_state(s->state_fd);
    if (s->child_fd < 0)
        return -1;
    /* Named after the parent until the child writes its own pid: the
     * slot must look taken from the first instant. */
    s->child_slot = lock_free_slot(s, s->child_fd, writing, getpid());
    if (s->child_slot < 0) {
        close(s->child_fd);
        s->child_fd = -1;
        return -1;
    }
    copy_slot_names(s, s->slot, s->child_slot);
    count_attach(s, +1);        /* the child's, which leaves on its own */
    return 0;
}

int shared_after_fork(struct um_shared *s, bool in_child)
{
    int fd = s->child_fd;

    s->child_fd = -1;
    if (fd < 0)
        return in_child && s->state_fd >= 0 ? shared_attach_child(s) : 0;
    if (!in_child) {
        close(fd);              /* the child holds the slot now */
        return 0;
    }
    close(s->state_fd);
    s->state_fd = fd;
    s->slot = s->child_slot;
    __atomic_store_n(&s->hdr->pid[s->slot], (int32_t)getpid(), __ATOMIC_RELEASE);
    return 0;
}

static void give_slot(struct um_shared *s)
{
    if (s->slot < 0)
        return;
    __atomic_store_n(&s->hdr->writing[s->slot], 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->hdr->pid[s->slot], 0, __ATOMIC_RELEASE);
    shared_unlock_byte(s->state_fd, SHARED_LOCK_SLOT + s->slot);
    s->slot = -1;
}

/* ---------------------------------------------------- the directory */

static void default_dir(char *path, size_t len)
{
    const char *env = secure_getenv("USERMAP_CACHE_DIR");

    if (env && *env)
        snprintf(path, len, "%s", env);
    else
        snprintf(path, len, "/dev/shm/usermap-%u", (unsigned)geteuid());
}

/* Refuses what another user could have planted or could read: returns
 * fd, or closes it and returns -1 with errno and a message.  made: we
 * just created it, and set its mode first (the umask may have cut it). */
static int owned_or_close(int fd, bool made, const char *what, const char *path, mode_t mode,
                          bool dir)
{
    struct stat st;
    int rc;

    if (made && fchmod(fd, mode) < 0)
        rc = um_fail(errno, "cannot set the mode of usermap's %s %s: %s", what, path,
                     strerror(errno));
    else if (fstat(fd, &st) < 0)
        rc = um_fail(errno, "cannot check usermap's %s %s: %s", what, path, strerror(errno));
    else if ((dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) || st.st_uid != geteuid() ||
             (st.st_mode & 07777) != mode)
        rc = um_fail(EACCES,
                     "refusing usermap's %s %s: it must be a %s owned by uid %u with mode "
                     "%04o (it is owned by uid %u, mode %04o)",
                     what, path, dir ? "directory" : "regular file", (unsigned)geteuid(),
                     (unsigned)mode, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
    else
        return fd;
    {
        int err = errno;
        close(fd);
        errno = err;
    }
    return rc;
}

/* userfaultfd serves shared memory, not the pages of a disk file: the
 * objects must be on a tmpfs. */
static int on_tmpfs_or_close(int fd, const char *path)
{
    struct statfs fs;

    if (fstatfs(fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC)
        return fd;
    close(fd);
    return um_fail(EINVAL,
                   "usermap's cache directory %s is not on a tmpfs (userfaultfd can only fill "
                   "shared memory): set USERMAP_CACHE_DIR to a directory under /dev/shm or "
                   "another tmpfs", path);
}

int shared_open_dir(char *path, size_t path_len, bool create)
{
    bool made = false;
    int fd;

    default_dir(path, path_len);
    if (create)
        made = mkdir(path, 0700) == 0;
    if (create && !made && errno != EEXIST)
        return um_fail(errno, "cannot make usermap's cache directory %s: %s", path,
                       strerror(errno));
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int err = errno == ELOOP || errno == ENOTDIR ? EACCES : errno;
        return um_fail(err, "refusing usermap's cache directory %s: %s", path,
                       errno == ELOOP ? "it is a symbolic link" : strerror(errno));
    }
    fd = owned_or_close(fd, made, "cache directory", path, 0700, true);
    return fd < 0 ? -1 : on_tmpfs_or_close(fd, path);
}

/* ------------------------------------------------------ the registry */

/*
 * How many processes are attached to the caches of files hashing to each
 * counter, in the directory's ".registry.counts": a file call on a file
 * whose counter is 0 knows without a system call that no usermap process
 * caches it (a look in the directory costs more than the read itself).
 * Attaching counts up before the cache can hold a byte, leaving counts
 * down; a process that dies attached leaves its count, which only costs
 * its files (and those that share their counter) the look.  A counter
 * saturates rather than wraps.
 */
#define REGISTRY_COUNTERS 32768u
#define REGISTRY_BYTES (REGISTRY_COUNTERS * sizeof(uint16_t))

static uint16_t *registry;

static uint16_t *registry_counter(const struct stat *st)
{
    uint64_t h = (uint64_t)st->st_dev * 0x9e3779b97f4a7c15ull ^
                 (uint64_t)st->st_ino * 0xc2b2ae3d27d4eb4full;

    return &registry[(h >> 32) % REGISTRY_COUNTERS];
}

static bool install_registry(int fd, bool grow)
{
    struct stat rs;
    void *r;

    if (fstat(fd, &rs) < 0 || !S_ISREG(rs.st_mode) || rs.st_uid != geteuid() ||
        (rs.st_mode & 0077))
        return false;
    if ((uint64_t)rs.st_size < REGISTRY_BYTES && (!grow || ftruncate(fd, REGISTRY_BYTES) < 0))
        return false;
    r = um_private_mmap(REGISTRY_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
    if (r == MAP_FAILED)
        return false;
    if (!__atomic_compare_exchange_n(&registry, &(uint16_t *){ NULL }, r, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        um_private_munmap(r, REGISTRY_BYTES);
    return true;
}

/* Maps the registry of the directory at dir_fd (making it if create). */
static bool map_registry(int dir_fd, bool create)
{
    int fd = openat(dir_fd, ".registry.counts",
                    O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    bool ok;

    if (__atomic_load_n(&registry, __ATOMIC_ACQUIRE)) {
        if (fd >= 0)
            close(fd);
        return true;
    }
    if (fd < 0)
        return false;
    ok = install_registry(fd, create);
    close(fd);
    return ok;
}

static void registry_add(const struct stat *st, int delta)
{
    uint16_t *c, now;

    if (!__atomic_load_n(&registry, __ATOMIC_ACQUIRE))
        return;
    c = registry_counter(st);
    now = __atomic_load_n(c, __ATOMIC_RELAXED);
    do {
        if (now == UINT16_MAX || (delta < 0 && now == 0))
            return;
    } while (!__atomic_compare_exchange_n(c, &now, (uint16_t)(now + delta), false,
                                          __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
}

/* The counts of this cache's file: up at every attach (the child's
 * included), down at every leave. */
static void count_attach(struct um_shared *s, int delta)
{
    struct stat st = { .st_dev = (dev_t)s->hdr->dev, .st_ino = (ino_t)s->hdr->ino };

    if (delta > 0)
        map_registry(s->dir_fd, true);
    registry_add(&st, delta);
}

/* Whether the registry says no process is attached to a cache of st's
 * file: then nothing but a look could say more. */
static bool registry_says_none(const struct stat *st)
{
    char path[PATH_MAX];

    if (!__atomic_load_n(&registry, __ATOMIC_ACQUIRE)) {
        int dir;

        default_dir(path, sizeof(path));
        struct stat ds;

        dir = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir < 0)
            return false;
        /* Only the user's own directory, as attaching demands. */
        if (fstat(dir, &ds) == 0 && ds.st_uid == geteuid() && (ds.st_mode & 0777) == 0700)
            map_registry(dir, false);
        close(dir);
        if (!__atomic_load_n(&registry, __ATOMIC_ACQUIRE))
            return false;
    }
    return __atomic_load_n(registry_counter(st), __ATOMIC_SEQ_CST) == 0;
}

bool shared_exists(const struct stat *st)
{
    char path[PATH_MAX], name[64];
    struct stat os;
    size_t n;

    if (registry_says_none(st))
        return false;
    default_dir(path, sizeof(path));
    shared_name_of(st, name, sizeof(name));
    n = strlen(path);
    if (snprintf(path + n, sizeof(path) - n, "/%s.state", name) >= (int)(sizeof(path) - n))
        return false;
    /* Only a look: joining it checks the directory and the object. */
    return lstat(path, &os) == 0;
}

int shared_open_object(int dir_fd, const char *name, const char *suffix, bool create)
{
    char file[96];
    int fd = -1;
    bool made;

    snprintf(file, sizeof(file), "%s.%s", name, suffix);
    if (create)
        fd = openat(dir_fd, file, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    else
        errno = EEXIST;
    made = fd >= 0;
    if (fd < 0 && errno == EEXIST)
        fd = openat(dir_fd, file, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int err = errno == ELOOP ? EACCES : errno;
        return um_fail(err, "cannot open usermap's cache object %s: %s", file,
                       errno == ELOOP ? "it is a symbolic link" : strerror(errno));
    }
    return owned_or_close(fd, made, "cache object", file, 0600, false);
}

/* ---------------------------------------------------------- identity */

void shared_identify(int fd, const struct stat *st, struct shared_header *id)
{
    struct statx sx;
    int gen = 0;

    memset(id, 0, sizeof(*id));
    id->dev = (uint64_t)st->st_dev;
    id->ino = (uint64_t)st->st_ino;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &sx) == 0 && (sx.stx_mask & STATX_BTIME))
        id->birth_ns = (uint64_t)sx.stx_btime.tv_sec * 1000000000u + sx.stx_btime.tv_nsec;
    if (ioctl(fd, FS_IOC_GETVERSION, &gen) == 0)
        id->generation = (uint32_t)gen;
}

bool shared_header_valid(const struct shared_header *h)
{
    return h->magic == SHARED_MAGIC && h->version == SHARED_VERSION &&
           h->header_size == sizeof(*h);
}

bool shared_same_file(const struct shared_header *h, const struct shared_header *id)
{
    return shared_header_valid(h) && h->dev == id->dev && h->ino == id->ino &&
           h->birth_ns == id->birth_ns && h->generation == id->generation;
}

bool shared_still_named(int dir_fd, const char *name, const char *suffix, int fd)
{
    char file[96];
    struct stat a, b;

    snprintf(file, sizeof(file), "%s.%s", name, suffix);
    return fstat(fd, &a) == 0 && fstatat(dir_fd, file, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

void shared_remove_objects(int dir_fd, const char *name)
{
    char file[96];

    snprintf(file, sizeof(file), "%s.pages", name);
    unlinkat(dir_fd, file, 0);
    snprintf(file, sizeof(file), "%s.state", name);
    unlinkat(dir_fd, file, 0);
}

/* A new (or stale) pair of objects starts empty, with the file's
 * identity. */
static int reset_objects(struct um_shared *s, const struct shared_header *id, int fd)
{
    char link[64];
    ssize_t n;

    if (ftruncate(s->state_fd, 0) < 0 ||
        ftruncate(s->state_fd, (off_t)shared_state_length()) < 0 ||
        ftruncate(s->pages_fd, 0) < 0)
        return -1;
    memcpy(s->hdr, id, offsetof(struct shared_header, stamp));
    s->hdr->version = SHARED_VERSION;
    s->hdr->header_size = sizeof(*s->hdr);
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, s->hdr->path, sizeof(s->hdr->path) - 1);
    s->hdr->path[n > 0 ? n : 0] = '\0';
    __atomic_store_n(&s->hdr->magic, SHARED_MAGIC, __ATOMIC_RELEASE);
    return 0;
}

static void close_objects(struct um_shared *s)
{
    if (s->hdr)
        um_private_munmap(s->hdr, sizeof(*s->hdr));
    if (s->enabler)
        um_private_munmap(s->enabler, enabler_length());
    s->enabler = NULL;
    if (s->pages_fd >= 0)
        close(s->pages_fd);
    if (s->state_fd >= 0)
        close(s->state_fd);
    s->hdr = NULL;
    s->pages_fd = s->state_fd = -1;
}

/* Under the gate: the objects as they should be for the file, or
 * 1 when the caller must start over (the names went, or belong to a
 * deleted file still in use). */
static int settle_objects(struct um_shared *s, int fd, const struct stat *st)
{
    struct shared_header id;
    struct stat ss;
    void *h;

    if (!shared_still_named(s->dir_fd, s->name, "state", s->state_fd))
        return 1;
    if (fstat(s->state_fd, &ss) < 0 ||
        ((uint64_t)ss.st_size < shared_state_length() &&
         ftruncate(s->state_fd, (off_t)shared_state_length()) < 0))
        return -1;
    h = um_private_mmap(sizeof(*s->hdr), PROT_READ | PROT_WRITE, MAP_SHARED, s->state_fd);
    if (h == MAP_FAILED)
        return -1;
    s->hdr = h;
    h = um_private_mmap_at(enabler_length(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                           s->state_fd, (off_t)enabler_offset());
    if (h == MAP_FAILED)
        return -1;
    s->enabler = h;
    s->enabler_pages = enabler_pages();
    s->page_shift = (unsigned)__builtin_ctzll(system_page());
    s->pages_fd = shared_open_object(s->dir_fd, s->name, "pages", true);
    if (s->pages_fd < 0)
        return -1;
    shared_identify(fd, st, &id);
    if (shared_same_file(s->hdr, &id))
        return 0;
    if (shared_header_valid(s->hdr) && shared_others_attached(s)) {
        /* A deleted file with our device and inode is still mapped:
         * its users keep their objects, unnamed; we make new ones. */
        shared_remove_objects(s->dir_fd, s->name);
        return 1;
    }
    return reset_objects(s, &id, fd);
}

void shared_name_of(const struct stat *st, char *name, size_t len)
{
    snprintf(name, len, "%llx-%llx", (unsigned long long)st->st_dev,
             (unsigned long long)st->st_ino);
}

int shared_attach(struct um_shared *s, int fd, const struct stat *st, bool *alone)
{
    char dir[4096];

    memset(s, 0, sizeof(*s));
    s->state_fd = s->pages_fd = s->slot = s->child_fd = s->child_slot = -1;
    shared_name_of(st, s->name, sizeof(s->name));
    s->dir_fd = shared_open_dir(dir, sizeof(dir), true);
    if (s->dir_fd < 0)
        return -1;
    for (int tries = 0; tries < 100; tries++) {
        int rc;

        s->state_fd = shared_open_object(s->dir_fd, s->name, "state", true);
        if (s->state_fd < 0)
            break;
        shared_lock_byte(s->state_fd, SHARED_LOCK_GATE, true, true);
        rc = settle_objects(s, fd, st);
        if (rc == 0 && take_slot(s, false) == 0) {
            struct stat ss;

            *alone = !shared_others_attached(s);
            wait_for_lone_work(s);
            fstat(s->state_fd, &ss);
            s->state_dev = ss.st_dev;
            s->state_ino = ss.st_ino;
            count_attach(s, +1);
            shared_unlock_byte(s->state_fd, SHARED_LOCK_GATE);
            return 0;
        }
        if (rc < 0 || (rc == 0 && s->slot < 0)) {
            int err = errno;
            close_objects(s);
            close(s->dir_fd);
            return um_fail(err, "cannot attach to usermap's shared cache %s/%s: %s", dir,
                           s->name, strerror(err));
        }
        close_objects(s);       /* rc 1: start over */
    }
    {
        int err = s->state_fd < 0 ? errno : EAGAIN;
        close_objects(s);
        close(s->dir_fd);
        errno = err;
    }
    return -1;
}

int shared_attach_child(struct um_shared *s)
{
    bool writing = __atomic_load_n(&s->hdr->writing[s->slot], __ATOMIC_SEQ_CST);
    int fd, inherited = s->state_fd, parent = s->slot, rc;

    /* The inherited descriptor is the parent's description, and so are
     * its locks: the child opens its own.  It keeps the inherited one
     * (and the parent's slot lock with it) until it holds a slot. */
    fd = reopen_state(inherited);
    if (fd < 0)
        return -1;
    s->state_fd = fd;
    s->slot = -1;
    rc = take_slot(s, writing);
    if (rc == 0) {
        copy_slot_names(s, parent, s->slot);
        count_attach(s, +1);
    }
    close(inherited);
    return rc;
}

void shared_leave(struct um_shared *s, bool (*clean)(void *arg), void *arg)
{
    if (s->state_fd < 0)
        return;
    shared_lock_byte(s->state_fd, SHARED_LOCK_GATE, true, true);
    give_slot(s);
    count_attach(s, -1);
    if (clean && !shared_others_attached(s) && clean(arg) &&
        shared_still_named(s->dir_fd, s->name, "state", s->state_fd))
        shared_remove_objects(s->dir_fd, s->name);
    shared_unlock_byte(s->state_fd, SHARED_LOCK_GATE);
    close(s->state_fd);
    close(s->dir_fd);
    s->state_fd = s->dir_fd = -1;
}

void shared_forget(struct um_shared *s)
{
    shared_leave(s, NULL, NULL);
    close_objects(s);
}
