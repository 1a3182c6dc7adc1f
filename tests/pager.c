/* SPDX-License-Identifier: MIT */
/*
 * pager.c - what usermap does that the kernel's mmap cannot be asked to:
 * a memory budget per pool, eviction policies, write-back of only the
 * pages that were written.  Not differential (the kernel has no budget to
 * compare with); every check reads the file's bytes back to prove no data
 * was lost, and the budget is checked both with usermap's own counter and
 * with the process's proportional set size from /proc/self/smaps_rollup.
 *
 *   pager [NAME...]     runs the named checks (default: all)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <usermap.h>

#define MIB ((size_t)1 << 20)

static int failures;
static size_t sys_page;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("  FAIL %s:%d: ", __func__, __LINE__);                      \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
            failures++;                                                        \
        }                                                                      \
    } while (0)

/* A temporary file of len bytes; byte i holds pattern(i) when filled. */
static uint8_t pattern(uint64_t i)
{
    return (uint8_t)((i * 2654435761u) >> 24);
}

static int temp_file(uint64_t len, int filled)
{
    char path[] = "/tmp/usermap-pager-XXXXXX";
    int fd = mkstemp(path);
    uint8_t *buf = malloc(MIB);

    if (fd < 0 || !buf) {
        perror("temp file");
        exit(2);
    }
    unlink(path);
    if (ftruncate(fd, (off_t)len) < 0) {
        perror("ftruncate");
        exit(2);
    }
    for (uint64_t off = 0; filled && off < len; off += MIB) {
        size_t n = len - off < MIB ? (size_t)(len - off) : MIB;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(off + i);
        if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) {
            perror("pwrite");
            exit(2);
        }
    }
    free(buf);
    return fd;
}

static enum um_fault_mode fault_mode;   /* of the pools the checks make */

/* The same file through a descriptor open read-only: its mappings cannot
 * write, so every pool mode serves them its own way. */
static int read_only(int fd)
{
    char path[64];
    int ro;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ro = open(path, O_RDONLY);
    if (ro < 0) {
        perror(path);
        exit(2);
    }
    return ro;
}

static um_pool *pool_with(size_t page, uint64_t limit, enum um_policy policy)
{
    um_pool_config cfg;
    um_pool *pool;

    um_pool_config_init(&cfg);
    cfg.page_size = page;
    cfg.memory_limit = limit;
    cfg.policy = policy;
    cfg.fault_mode = fault_mode;
    pool = um_pool_create(&cfg);
    if (!pool) {
        printf("  um_pool_create: %s\n", um_error_message());
        exit(2);
    }
    return pool;
}

/* The process's proportional set size in bytes: a page mapped twice in
 * this process (usermap's window and the program's mapping) counts once. */
static uint64_t pss_bytes(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    uint64_t kib = 0;

    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "Pss: %" SCNu64 " kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib * 1024;
}

/* ------------------------------------------------------------ checks */

/* Ten bytes written across a 1 GiB MAP_SHARED mapping: msync writes the
 * ten system pages written, not the gigabyte, nor the rest of their
 * usermap pages (bytes no mapping wrote, which may be older than the
 * file's), and the file holds exactly the bytes. */
static void check_dirty_pages_only(size_t page)
{
    uint64_t len = (uint64_t)1 << 30;
    int fd = temp_file(len, 0);
    um_pool *pool = pool_with(page, 0, UM_POLICY_CLOCK);
    struct um_stats before, after;
    uint8_t *p = um_mmap_pool(pool, NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

    CHECK(p != MAP_FAILED, "um_mmap_pool: %s", um_error_message());
    if (p == MAP_FAILED)
        return;
    um_stats(pool, &before);
    for (int i = 0; i < 10; i++)
        p[(uint64_t)i * (len / 10) + 12345] = (uint8_t)(i + 1);
    CHECK(um_msync(p, len, MS_SYNC) == 0, "msync: %s", um_error_message());
    um_stats(pool, &after);
    CHECK(after.bytes_written - before.bytes_written == 10 * sys_page,
          "wrote %" PRIu64 " bytes for 10 dirty system pages (usermap pages of %zu)",
          after.bytes_written - before.bytes_written, page);
    CHECK(after.pages_written - before.pages_written == 10, "wrote %" PRIu64 " pages",
          after.pages_written - before.pages_written);
    CHECK(um_munmap(p, len) == 0, "munmap: %s", um_error_message());
    for (int i = 0; i < 10; i++) {
        uint8_t b = 0;
        pread(fd, &b, 1, (off_t)((uint64_t)i * (len / 10) + 12345));
        CHECK(b == i + 1, "byte %d in the file is %u", i, b);
    }
    CHECK(um_pool_destroy(pool) == 0, "um_pool_destroy: %s", um_error_message());
    close(fd);
}

/* A scan of a file four times the budget: usermap's resident count stays
 * within the limit plus one page per faulting thread (the handler and the
 * fill thread), and so does the process's set size, give or take the
 * library's own buffers. */
static void check_budget_scan(size_t page, enum um_policy policy)
{
    uint64_t limit = 16 * MIB, len = 4 * limit, sum = 0, base, worst = 0;
    uint64_t allowed = limit + 2 * page;
    int rw = temp_file(len, 1), fd = read_only(rw);
    um_pool *pool = pool_with(page, limit, policy);
    struct um_stats s;
    uint8_t *p;

    close(rw);
    base = pss_bytes();
    p = um_mmap_pool(pool, NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED, "um_mmap_pool: %s", um_error_message());
    if (p == MAP_FAILED)
        return;
    for (uint64_t off = 0; off < len; off += sys_page) {
        sum += p[off] == pattern(off) ? 0 : 1;
        if (off % MIB == 0) {
            uint64_t pss = pss_bytes();
            if (pss > base && pss - base > worst)
                worst = pss - base;
        }
    }
    CHECK(sum == 0, "%" PRIu64 " pages read wrong bytes", sum);
    um_stats(pool, &s);
    CHECK(s.peak_resident_bytes <= allowed, "peak resident %" PRIu64 " > limit %" PRIu64
          " + 2 pages", s.peak_resident_bytes, limit);
    CHECK(s.evictions > 0, "nothing was evicted");
    /* The library's buffers (a few MiB: fill buffers, thread stacks) are
     * not pool pages; everything else must fit the budget. */
    CHECK(worst <= allowed + limit / 50 + 8 * MIB,
          "set size grew by %" PRIu64 " for a limit of %" PRIu64, worst, limit);
    printf("  page %zu policy %d: peak resident %.1f MiB, set size +%.1f MiB, %" PRIu64
           " evictions\n", page, (int)policy, s.peak_resident_bytes / 1048576.0,
           worst / 1048576.0, s.evictions);
    CHECK(um_munmap(p, len) == 0, "munmap: %s", um_error_message());
    CHECK(um_pool_destroy(pool) == 0, "um_pool_destroy: %s", um_error_message());
    close(fd);
}

/* Writes all over a mapping eight times the budget, twice: every page is
 * written back before it leaves, and the file ends up exact. */
static void check_evict_dirty(size_t page, enum um_policy policy)
{
    uint64_t limit = 2 * MIB > 4 * page ? 2 * MIB : 4 * page, len = 8 * limit;
    int fd = temp_file(len, 1);
    um_pool *pool = pool_with(page, limit, policy);
    struct um_stats s;
    uint8_t *p = um_mmap_pool(pool, NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    uint8_t *buf = malloc(len);
    uint64_t x = 88172645463325252ull, bad = 0;

    CHECK(p != MAP_FAILED, "um_mmap_pool: %s", um_error_message());
    if (p == MAP_FAILED || !buf)
        return;
    pread(fd, buf, len, 0);
    for (int round = 0; round < 2; round++) {
        for (uint64_t i = 0; i < len / 4096; i++) {
            uint64_t off;
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            off = x % len;
            p[off] = (uint8_t)(p[off] + 1);
            buf[off] = (uint8_t)(buf[off] + 1);
        }
    }
    um_stats(pool, &s);
    CHECK(s.evictions > 0, "nothing was evicted");
    CHECK(s.peak_resident_bytes <= limit + 2 * page, "peak resident %" PRIu64
          " over the limit %" PRIu64, s.peak_resident_bytes, limit);
    for (uint64_t off = 0; off < len; off++)
        bad += p[off] != buf[off];
    CHECK(bad == 0, "%" PRIu64 " bytes differ in the mapping", bad);
    CHECK(um_munmap(p, len) == 0, "munmap: %s", um_error_message());
    for (uint64_t off = 0; off < len; off += MIB) {
        static uint8_t chunk[MIB];
        size_t n = len - off < MIB ? (size_t)(len - off) : MIB;
        pread(fd, chunk, n, (off_t)off);
        bad += memcmp(chunk, buf + off, n) != 0;
    }
    CHECK(bad == 0, "%" PRIu64 " MiB of the file differ", bad);
    CHECK(um_pool_destroy(pool) == 0, "um_pool_destroy: %s", um_error_message());
    free(buf);
    close(fd);
}

/* In-thread faults: the scan reads the file's bytes and its faults are
 * counted; a system call into a page not filled yet fails with EFAULT (the
 * documented limit), and works once the page is in; a page past the end
 * of the file still raises the kernel's SIGBUS, BUS_ADRERR at the address. */
static void on_bus(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    _exit(si->si_code == BUS_ADRERR ? 40 : 41);
}

static int reopen_read_only(int fd)
{
    char path[64];
    int ro;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ro = open(path, O_RDONLY);
    if (ro < 0) {
        perror("reopen");
        exit(2);
    }
    close(fd);
    return ro;
}

static void check_in_thread_limits(size_t page)
{
    uint64_t len = 4 * MIB + 100;
    int rw = temp_file(len, 1), out = temp_file(0, 0), status = 0;
    um_pool *pool = pool_with(page, 0, UM_POLICY_CLOCK);
    /* Read-only: a mapping that can write back takes its first writes in
     * the handler, and so all its faults. */
    int fd = reopen_read_only(rw);
    uint8_t *p = um_mmap_pool(pool, NULL, len + 2 * sys_page, PROT_READ, MAP_SHARED, fd, 0);
    uint64_t bad = 0;
    struct um_stats s;
    pid_t child;

    CHECK(p != MAP_FAILED, "um_mmap_pool: %s", um_error_message());
    if (p == MAP_FAILED)
        return;
    errno = 0;
    CHECK(write(out, p + 2 * MIB, 10) == -1 && errno == EFAULT,
          "write(2) from an unfilled page: errno %d, expected EFAULT", errno);
    for (uint64_t off = 0; off < len; off += 1)
        bad += p[off] != pattern(off);
    CHECK(bad == 0, "%" PRIu64 " bytes read wrong", bad);
    CHECK(write(out, p + 2 * MIB, 10) == 10, "write(2) from a filled page: %s",
          strerror(errno));
    um_stats(pool, &s);
    CHECK(s.faults > 0, "no fault was counted");
    child = fork();
    if (child == 0) {
        struct sigaction sa = { .sa_sigaction = on_bus, .sa_flags = SA_SIGINFO };
        sigaction(SIGBUS, &sa, NULL);
        alarm(10);
        return (void)(*(volatile uint8_t *)(p + len + sys_page)), _exit(42);
    }
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 40,
          "a page past the end of the file: child status %#x, expected SIGBUS BUS_ADRERR",
          status);
    CHECK(um_munmap(p, len + 2 * sys_page) == 0, "munmap: %s", um_error_message());
    CHECK(um_pool_destroy(pool) == 0, "um_pool_destroy: %s", um_error_message());
    close(out);
    close(fd);
}

/* Two mappings in one pool: each one's counters hold its own faults,
 * fills and write-backs, not the other's. */
static void check_mapping_stats(void)
{
    size_t page = 4096;
    int fa = temp_file(MIB, 1), fb = temp_file(MIB, 1);
    um_pool *pool = pool_with(page, 0, UM_POLICY_CLOCK);
    uint8_t *a = um_mmap_pool(pool, NULL, MIB, PROT_READ, MAP_SHARED, fa, 0);
    uint8_t *b = um_mmap_pool(pool, NULL, MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fb, 0);
    struct um_stats sa, sb, none;
    volatile uint8_t sink = 0;

    CHECK(a != MAP_FAILED && b != MAP_FAILED, "um_mmap_pool: %s", um_error_message());
    if (a == MAP_FAILED || b == MAP_FAILED)
        return;
    for (size_t off = 0; off < 16 * page; off += page)
        sink += a[off];
    b[5 * page] = (uint8_t)(sink + 1);
    CHECK(um_msync(b, MIB, MS_SYNC) == 0, "msync: %s", um_error_message());
    CHECK(um_mapping_stats(a + 100, &sa) == 0, "um_mapping_stats(a): %s", um_error_message());
    CHECK(um_mapping_stats(b + MIB - 1, &sb) == 0, "um_mapping_stats(b): %s",
          um_error_message());
    CHECK(sa.faults > 0 && sa.pages_filled >= 1 && sa.bytes_read >= page,
          "a: %" PRIu64 " faults, %" PRIu64 " pages filled", sa.faults, sa.pages_filled);
    CHECK(sa.bytes_written == 0, "a wrote %" PRIu64 " bytes", sa.bytes_written);
    CHECK(sb.bytes_written == page && sb.pages_written == 1,
          "b wrote %" PRIu64 " bytes in %" PRIu64 " pages", sb.bytes_written, sb.pages_written);
    CHECK(sb.faults >= 1 && sb.faults < sa.faults, "b: %" PRIu64 " faults, a: %" PRIu64,
          sb.faults, sa.faults);
    CHECK(um_munmap(a, MIB) == 0 && um_munmap(b, MIB) == 0, "munmap: %s", um_error_message());
    errno = 0;
    CHECK(um_mapping_stats(a, &none) == -1 && errno == EINVAL,
          "um_mapping_stats of an unmapped address: errno %d", errno);
    CHECK(um_pool_destroy(pool) == 0, "um_pool_destroy: %s", um_error_message());
    close(fa);
    close(fb);
}

/* ------------------------------------------------------ private pages */

static char swap_dir[] = "/tmp/usermap-swap-test-XXXXXX";

/* The swap files this process has open in swap_dir: unlinked, 0600. */
static int count_swap_files(void)
{
    char link[64], target[4096];
    int found = 0;

    for (int fd = 0; fd < 1024; fd++) {
        struct stat st;
        ssize_t n;

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = 0;
        if (strncmp(target, swap_dir, strlen(swap_dir)) != 0 || fstat(fd, &st) < 0)
            continue;
        CHECK((st.st_mode & 0777) == 0600, "swap file mode %o", (unsigned)(st.st_mode & 0777));
        CHECK(st.st_nlink == 0, "swap file %s has %lu links", target, (unsigned long)st.st_nlink);
        found++;
    }
    return found;
}

/* Writes one byte in n random places of p and of its model. */
static void scribble(uint8_t *p, uint8_t *model, uint64_t from, uint64_t len, uint64_t n,
                     uint64_t *x)
{
    for (uint64_t i = 0; i < n; i++) {
        uint64_t off;
        *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
        off = from + *x % len;
        p[off] = (uint8_t)(p[off] + 1);
        model[off] = (uint8_t)(model[off] + 1);
    }
}

static uint64_t differences(const uint8_t *p, const uint8_t *model, uint64_t len)
{
    uint64_t bad = 0;

    for (uint64_t off = 0; off < len; off++)
        bad += p[off] != model[off];
    return bad;
}

/* A forked child sees the parent's pages, spilled ones included, and
 * spills and brings back its own without disturbing the parent's. */
static int private_child(uint8_t *p, uint8_t *model, uint64_t len)
{
    uint64_t x = 1234567;

    if (differences(p, model, len))
        return 1;
    scribble(p, model, 0, len, len / 512, &x);
    return differences(p, model, len) ? 2 : 0;
}

/*
 * Private pages four times the budget (a file's copy-on-write copies, or
 * anonymous memory): they are spilled to the swap file and come back
 * byte-exact, through PROT_READ, PROT_NONE, fork and MADV_DONTNEED; the budget holds
 * by usermap's count and by the set size; a file never sees a byte.
 */
static void check_private_swap(size_t page, enum um_policy policy, int anonymous)
{
    uint64_t limit = 2 * MIB > 4 * page ? 2 * MIB : 4 * page, len = 4 * limit;
    uint64_t allowed = limit + 2 * page, x = 88172645463325252ull, base, pss;
    int rw = anonymous ? -1 : temp_file(len, 1), fd = anonymous ? -1 : read_only(rw);
    um_pool *pool = pool_with(page, limit, policy);
    uint8_t *model = calloc(1, len), *p;
    struct um_stats s;
    pid_t child;
    int status = 0;

    for (uint64_t i = 0; !anonymous && i < len; i++)
        model[i] = pattern(i);
    base = pss_bytes();
    p = um_mmap_pool(pool, NULL, len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | (anonymous ? MAP_ANONYMOUS : 0), fd, 0);
    CHECK(p != MAP_FAILED, "um_mmap_pool: %s", um_error_message());
    if (p == MAP_FAILED)
        return;
    /* Every page written, then random bytes twice over. */
    for (uint64_t off = 0; off < len; off += sys_page)
        p[off] = model[off] = (uint8_t)(model[off] ^ 0x5a);
    scribble(p, model, 0, len, 2 * len / 4096, &x);
    CHECK(differences(p, model, len) == 0, "bytes differ after the writes");
    /* Spilled pages that the program may only read. */
    CHECK(um_mprotect(p, limit, PROT_READ) == 0, "mprotect: %s", um_error_message());
    scribble(p, model, limit, len - limit, len / 1024, &x);
    CHECK(differences(p, model, len) == 0, "bytes differ through PROT_READ");
    /* And pages the program may not touch at all while they leave. */
    CHECK(um_mprotect(p, limit, PROT_NONE) == 0, "mprotect: %s", um_error_message());
    scribble(p, model, limit, len - limit, len / 1024, &x);
    CHECK(um_mprotect(p, limit, PROT_READ | PROT_WRITE) == 0, "mprotect: %s",
          um_error_message());
    CHECK(differences(p, model, len) == 0, "bytes differ through PROT_NONE");
    pss = pss_bytes();
    CHECK(pss <= base || pss - base <= allowed + limit / 50 + 8 * MIB,
          "set size grew by %" PRIu64 " for a limit of %" PRIu64, pss - base, limit);
    child = fork();
    if (child == 0)
        _exit(private_child(p, model, len));
    scribble(p, model, 0, len, len / 1024, &x);
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child saw wrong bytes: %#x", status);
    CHECK(differences(p, model, len) == 0, "bytes differ after the child ran");
    /* MADV_DONTNEED: the first half reads the file (or zeros) again. */
    CHECK(um_madvise(p, len / 2, MADV_DONTNEED) == 0, "madvise: %s", um_error_message());
    for (uint64_t i = 0; i < len / 2; i++)
        model[i] = anonymous ? 0 : pattern(i);
    CHECK(differences(p, model, len) == 0, "bytes differ after MADV_DONTNEED");
    scribble(p, model, 0, len, len / 1024, &x);
    CHECK(differences(p, model, len) == 0, "bytes differ after writing again");
    um_stats(pool, &s);
    CHECK(s.bytes_swapped_out > 0 && s.bytes_swapped_in > 0,
          "swapped out %" PRIu64 ", in %" PRIu64, s.bytes_swapped_out, s.bytes_swapped_in);
    CHECK(s.peak_resident_bytes <= allowed, "peak resident %" PRIu64 " > limit %" PRIu64
          " + 2 pages", s.peak_resident_bytes, limit);
    CHECK(count_swap_files() >= 1, "no swap file open in %s", swap_dir);
    printf("  page %zu policy %d %s: peak resident %.1f MiB, swapped out %.1f MiB, "
           "in %.1f MiB\n", page, (int)policy, anonymous ? "anonymous" : "file",
           s.peak_resident_bytes / 1048576.0, s.bytes_swapped_out / 1048576.0,
           s.bytes_swapped_in / 1048576.0);
    CHECK(um_munmap(p, len) == 0, "munmap: %s", um_error_message());
    um_stats(pool, &s);
    CHECK(s.resident_bytes == 0, "%" PRIu64 " bytes still counted after munmap",
          s.resident_bytes);
    CHECK(count_swap_files() == 0, "a swap file is left open after munmap");
    for (uint64_t off = 0; !anonymous && off < len; off += MIB) {
        static uint8_t chunk[MIB];
        uint64_t bad = 0;
        pread(rw, chunk, MIB, (off_t)off);
        for (size_t i = 0; i < MIB; i++)
            bad += chunk[i] != pattern(off + i);
        CHECK(bad == 0, "a private write reached the file at %" PRIu64, off);
    }
    CHECK(um_pool_destroy(pool) == 0, "um_pool_destroy: %s", um_error_message());
    free(model);
    if (!anonymous) {
        close(fd);
        close(rw);
    }
}

/* ------------------------------------------------------------ runner */

static void run_dirty(void)
{
    check_dirty_pages_only(4096);
    check_dirty_pages_only(64 * 1024);
    check_dirty_pages_only(2 * MIB);
}

static void run_budget(void)
{
    check_budget_scan(4096, UM_POLICY_CLOCK);
    check_budget_scan(64 * 1024, UM_POLICY_FIFO);
    check_budget_scan(2 * MIB, UM_POLICY_LRU);
}

static void run_evict(void)
{
    static const enum um_policy policies[] = { UM_POLICY_FIFO, UM_POLICY_CLOCK, UM_POLICY_LRU };

    for (unsigned i = 0; i < 3; i++) {
        check_evict_dirty(4096, policies[i]);
        check_evict_dirty(64 * 1024, policies[i]);
    }
}

static void run_swap(void)
{
    check_private_swap(4096, UM_POLICY_CLOCK, 0);
    check_private_swap(4096, UM_POLICY_FIFO, 1);
    check_private_swap(64 * 1024, UM_POLICY_LRU, 0);
    check_private_swap(64 * 1024, UM_POLICY_CLOCK, 1);
}

/* The checks above again, with faults served in the faulting thread. */
static void run_in_thread(void)
{
    fault_mode = UM_FAULTS_IN_THREAD;
    check_in_thread_limits(4096);
    check_in_thread_limits(64 * 1024);
    run_dirty();
    run_budget();
    check_evict_dirty(4096, UM_POLICY_CLOCK);
    fault_mode = UM_FAULTS_HANDLER;
}

static const struct {
    const char *name;
    void (*run)(void);
} checks[] = {
    { "dirty_pages_only", run_dirty },
    { "budget_scan", run_budget },
    { "evict_dirty", run_evict },
    { "in_thread", run_in_thread },
    { "mapping_stats", check_mapping_stats },
    { "swap", run_swap },
};

int main(int argc, char **argv)
{
    int ran = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    sys_page = (size_t)sysconf(_SC_PAGESIZE);
    /* Swap files go to a directory of the test's own, to be found. */
    if (!mkdtemp(swap_dir)) {
        perror("mkdtemp");
        return 2;
    }
    setenv("USERMAP_SWAP_DIR", swap_dir, 1);
    for (unsigned i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        int wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            wanted |= strcmp(argv[a], checks[i].name) == 0;
        if (!wanted)
            continue;
        int before = failures;
        printf("%s\n", checks[i].name);
        checks[i].run();
        printf("%s %s\n", failures == before ? "ok" : "FAIL", checks[i].name);
        ran++;
    }
    rmdir(swap_dir);
    printf("%d checks, %d failures\n", ran, failures);
    return failures || !ran ? 1 : 0;
}
