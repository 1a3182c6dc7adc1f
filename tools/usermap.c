/* SPDX-License-Identifier: MIT */
/*
 * usermap - command-line tool for libusermap.
 *
 *   usermap cat FILE...     print files through usermap mappings
 *   usermap stat FILE       scan a file through usermap and report counters
 *   usermap gen FILE SIZE   write a deterministic sample file
 *   usermap caches          list the shared page caches of the user's files
 *   usermap flush [FILE...] write orphan caches back to their files, drop them
 *   usermap run [OPTIONS] -- PROGRAM [ARGS...]
 *                           run an unmodified program with its mappings on usermap
 *   usermap help [COMMAND]  usage, of the tool or of one command
 *
 * Exit status: 0 on success, 1 on an error, 2 on a usage error.  Every
 * error is one line on stderr, "usermap: COMMAND: what went wrong".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <usermap.h>

#include "size.h"

#define EXIT_USAGE 2

/* Writes go out in pieces so a huge mapping never turns into one giant
 * write(2) that a pipe reader could only see end to end. */
#define WRITE_CHUNK ((size_t)1 << 20)

/* gen writes 64-byte lines, each starting with its own file offset in hex,
 * so a page that lands in the wrong place is obvious in `usermap cat`. */
#define GEN_LINE 64
#define GEN_BUF ((size_t)1 << 20)

/* stat scans in pieces of this size between looks at the progress bar
 * (a multiple of 8: the checksum adds 64-bit words). */
#define SCAN_CHUNK ((size_t)1 << 22)
/* Without --progress, stat shows a bar for files of this size and up. */
#define STAT_PROGRESS_MIN ((uint64_t)256 << 20)

/* Filesystems whose files do not know their size in advance: st_size is
 * 0 or a page whatever they hold, and their content is made as read. */
#define PROC_SUPER_MAGIC 0x9fa0
#define SYSFS_MAGIC 0x62656572
#define DEBUGFS_MAGIC 0x64626720
#define TRACEFS_MAGIC 0x74726163
#define SECURITYFS_MAGIC 0x73636673
#define CONFIGFS_MAGIC 0x62656570

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis;
    const char *help;
};

static const struct command *find_command(const char *name);
static const struct command commands[];

static const char usage_text[] =
    "usage: usermap [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "Read, measure and make files through usermap mappings; list and flush\n"
    "the shared page caches of usermap processes.\n"
    "\n"
    "commands:\n"
    "  cat FILE...                   print files through usermap mappings\n"
    "  stat [--json] FILE            scan a file through usermap, print its counters\n"
    "  gen FILE SIZE                 write a deterministic sample file of SIZE bytes\n"
    "  caches                        list the shared page caches and who is attached\n"
    "  flush [FILE...]               write orphan caches back to their files, drop them\n"
    "  run [OPTIONS] -- PROGRAM ...  run an unmodified program, its mappings on usermap\n"
    "  help [COMMAND]                this text, or a command's\n"
    "\n"
    "options:\n"
    "  -h, --help                    print this help and exit\n"
    "  -V, --version                 print the version of libusermap and exit\n"
    "\n"
    "'usermap help COMMAND' or 'usermap COMMAND --help' describes a command.\n"
    "The USERMAP_* variables configure the pool the tool maps in; see\n"
    "um_pool_create(3).  Exit status: 0 ok, 1 error, 2 usage error.\n";

/* The command whose error is being reported, for the message's prefix. */
static const char *current = NULL;

/* One line on stderr: "usermap: COMMAND: ..." */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;

    fputs("usermap: ", stderr);
    if (current)
        fprintf(stderr, "%s: ", current);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* A usage error: what is wrong, and where to look. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    char what[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (current)
        say("%s (see 'usermap help %s')", what, current);
    else
        say("%s (see 'usermap --help')", what);
    return EXIT_USAGE;
}

/* Failure of a usermap call on FILE: its own sentence says more than
 * strerror. */
static int fail_um(const char *file)
{
    int err = errno;
    const char *msg = um_error_message();

    say("%s: %s", file, *msg ? msg : strerror(err));
    return EXIT_FAILURE;
}

/* Failure of a plain system call: um_error_message() would be stale here. */
static int fail_sys(const char *what)
{
    say("%s: %s", what, strerror(errno));
    return EXIT_FAILURE;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        size_t n = len < WRITE_CHUNK ? len : WRITE_CHUNK;
        ssize_t done = write(fd, buf, n);

        if (done < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += done;
        len -= (size_t)done;
    }
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mib(uint64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

/*
 * The progress bar: one line on stderr, redrawn at most ten times a second.
 * --progress shows it, --no-progress hides it; by default it shows when
 * stderr is a terminal (and, for stat, the file is large).
 */
enum progress_mode { PROGRESS_AUTO, PROGRESS_ON, PROGRESS_OFF };

struct progress {
    bool on;
    const char *what;
    uint64_t total;
    double start, last;
};

static void progress_start(struct progress *pr, enum progress_mode mode,
                           bool worth_it, const char *what, uint64_t total)
{
    pr->on = mode == PROGRESS_ON ||
             (mode == PROGRESS_AUTO && worth_it && isatty(STDERR_FILENO));
    pr->what = what;
    pr->total = total;
    pr->start = pr->last = now_seconds();
}

static void progress_draw(struct progress *pr, uint64_t done)
{
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    double frac = pr->total ? (double)done / (double)pr->total : 1.0;
    double secs = now_seconds() - pr->start;
    int full = (int)(frac * WIDTH);

    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < full ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r%s [%s] %3d%% %.1f/%.1f MiB %.1f MiB/s", pr->what, bar,
            (int)(frac * 100.0), mib(done), mib(pr->total),
            secs > 0 ? mib(done) / secs : 0.0);
}

static void progress_update(struct progress *pr, uint64_t done)
{
    double t;

    if (!pr->on)
        return;
    t = now_seconds();
    if (t - pr->last < 0.1)
        return;
    pr->last = t;
    progress_draw(pr, done);
}

/* Draws the final state and ends the line (also after a failure). */
static void progress_end(struct progress *pr, uint64_t done)
{
    if (!pr->on)
        return;
    progress_draw(pr, done);
    fputc('\n', stderr);
}

static int parse_progress(const char *opt, enum progress_mode *mode)
{
    if (strcmp(opt, "progress") == 0)
        *mode = PROGRESS_ON;
    else if (strcmp(opt, "no-progress") == 0)
        *mode = PROGRESS_OFF;
    else
        return -1;
    return 0;
}

/*
 * Option parsing shared by the commands: getopt_long over ARGV (ARGV[0]
 * is the command's name).  Returns the option or -1 at the end; prints one
 * line and returns '?' for an option it does not know.  No option takes
 * an argument.
 */
static int next_option(int argc, char **argv, const char *shorts,
                       const struct option *longs, int *longindex)
{
    const char *arg;
    int c;

    opterr = 0;
    c = getopt_long(argc, argv, shorts, longs, longindex);
    if (c != '?')
        return c;
    arg = argv[optind - 1];
    if (strncmp(arg, "--", 2) == 0 && strchr(arg, '='))
        usage_error("option '%.*s' takes no argument", (int)(strchr(arg, '=') - arg), arg);
    else if (strncmp(arg, "--", 2) == 0)
        usage_error("unknown option '%s'", arg);
    else
        usage_error("unknown option '-%c'", optopt);
    return '?';
}

static int command_help(const struct command *cmd)
{
    printf("usage: usermap %s\n\n%s", cmd->synopsis, cmd->help);
    return ferror(stdout) || fflush(stdout) ? EXIT_FAILURE : 0;
}

/* The options of a command that has --help only: -1 to go on with its
 * arguments (from optind), else the exit status. */
static int help_only_options(int argc, char **argv, const char *name)
{
    static const struct option longs[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c = next_option(argc, argv, "h", longs, NULL);

    if (c == -1)
        return -1;
    return c == 'h' ? command_help(find_command(name)) : EXIT_USAGE;
}

/* ---- cat ---- */

/* Whether FD is on a filesystem whose files do not hold what their size
 * says: they are made as they are read. */
static bool made_as_read(int fd)
{
    struct statfs fs;

    if (fstatfs(fd, &fs) < 0)
        return false;
    switch ((unsigned long)fs.f_type) {
    case PROC_SUPER_MAGIC: case SYSFS_MAGIC: case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC: case SECURITYFS_MAGIC: case CONFIGFS_MAGIC:
        return true;
    default:
        return false;
    }
}

/* Whether FD's size is known in advance: a regular file, not one made as
 * it is read. */
static bool size_known(int fd, const struct stat *st)
{
    return S_ISREG(st->st_mode) && !made_as_read(fd);
}

/* Copies FD to stdout with read(2), for what cannot be mapped whole. */
static int cat_read(int fd, const char *path)
{
    char *buf = malloc(WRITE_CHUNK);
    int rc = 0;

    if (!buf)
        return fail_sys(path);
    for (;;) {
        ssize_t n = read(fd, buf, WRITE_CHUNK);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = fail_sys(path);
            break;
        }
        if (n == 0)
            break;
        if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
            rc = fail_sys("standard output");
            break;
        }
    }
    free(buf);
    return rc;
}

static int cat_one(const char *path)
{
    bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "standard input" : path;
    struct stat st;
    size_t size;
    void *p;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return fail_sys(name);
    if (fstat(fd, &st) < 0) {
        rc = fail_sys(name);
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        rc = fail_sys(name);
        goto out;
    }
    /* Pipes, terminals, /proc files and empty files are read as cat(1)
     * reads them: a mapping needs a length known in advance.  So is
     * standard input read from where its offset stands. */
    if (!size_known(fd, &st) || st.st_size == 0 ||
        (is_stdin && lseek(fd, 0, SEEK_CUR) != 0)) {
        rc = cat_read(fd, name);
        goto out;
    }
    if ((uintmax_t)st.st_size > SIZE_MAX) {
        errno = EFBIG;
        rc = fail_sys(name);
        goto out;
    }
    size = (size_t)st.st_size;
    p = um_mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        rc = fail_um(name);
        goto out;
    }
    rc = 0;
    if (write_all(STDOUT_FILENO, p, size) < 0)
        rc = fail_sys("standard output");
    if (um_munmap(p, size) < 0 && rc == 0)
        rc = fail_um(name);
out:
    if (!is_stdin)
        close(fd);
    return rc;
}

static int cmd_cat(int argc, char **argv)
{
    int rc = help_only_options(argc, argv, "cat");

    if (rc >= 0)
        return rc;
    rc = 0;
    if (optind >= argc)
        return usage_error("no FILE to print");
    for (int i = optind; i < argc; i++)
        if (cat_one(argv[i]) != 0)
            rc = EXIT_FAILURE;  /* go on, like cat(1), but report it */
    return rc;
}

/* ---- stat ---- */

/* Adds every byte of the mapping, as 64-bit words and then the tail. The
 * sum is printed, so the compiler has to keep every load, and it doubles
 * as a checksum to compare runs.  Pieces of SCAN_CHUNK bytes in between
 * show progress; their sums add up to the same. */
static uint64_t scan_words(const unsigned char *p, size_t size)
{
    const uint64_t *w = (const uint64_t *)(const void *)p; /* page aligned */
    size_t words = size / sizeof(uint64_t);
    uint64_t sum = 0;

    for (size_t i = 0; i < words; i++)
        sum += w[i];
    for (size_t i = words * sizeof(uint64_t); i < size; i++)
        sum += p[i];
    return sum;
}

static uint64_t scan(const unsigned char *p, size_t size, struct progress *pr)
{
    uint64_t sum = 0;

    for (size_t off = 0; off < size; off += SCAN_CHUNK) {
        size_t n = size - off < SCAN_CHUNK ? size - off : SCAN_CHUNK;

        sum += scan_words(p + off, n);
        progress_update(pr, off + n);
    }
    progress_end(pr, size);
    return sum;
}

/* "8950 bytes (8.7 KiB)": exact for scripts, scaled for people. */
static void print_bytes(const char *label, uint64_t bytes)
{
    static const char *unit[] = { "KiB", "MiB", "GiB", "TiB" };
    double v = (double)bytes / 1024.0;
    int u = 0;

    printf("%-14s %" PRIu64 " bytes", label, bytes);
    if (bytes >= 1024) {
        while (v >= 1024.0 && u < 3) {
            v /= 1024.0;
            u++;
        }
        printf(" (%.1f %s)", v, unit[u]);
    }
    putchar('\n');
}

struct scan_result {
    const char *path;
    size_t size;
    struct um_stats before, after;
    double secs;
    uint64_t sum;
};

static void print_stat(const struct scan_result *r)
{
    const struct um_stats *a = &r->before, *b = &r->after;

    printf("%-14s %s\n", "file", r->path);
    print_bytes("size", r->size);
    print_bytes("page size", b->page_size);
    printf("%-14s %" PRIu64 "\n", "faults", b->faults - a->faults);
    printf("%-14s %" PRIu64 " (%" PRIu64 " ahead of a fault)\n",
           "pages filled", b->pages_filled - a->pages_filled,
           b->pages_prefetched - a->pages_prefetched);
    print_bytes("bytes read", b->bytes_read - a->bytes_read);
    print_bytes("resident", b->resident_bytes);
    print_bytes("peak resident", b->peak_resident_bytes);
    if (b->memory_limit)
        print_bytes("memory limit", b->memory_limit);
    printf("%-14s %" PRIu64 "\n", "evictions", b->evictions - a->evictions);
    /* Percentiles cannot be subtracted: these cover the pool's life, which
     * for this tool is this one scan. */
    printf("%-14s %.1f us p50, %.1f us p99\n", "fault time",
           (double)b->fault_p50_ns / 1e3, (double)b->fault_p99_ns / 1e3);
    printf("%-14s %.3f ms\n", "elapsed", r->secs * 1e3);
    printf("%-14s %.1f MiB/s\n", "throughput",
           r->secs > 0 ? mib(r->size) / r->secs : 0.0);
    printf("%-14s %016" PRIx64 "\n", "checksum", r->sum);
}

/* S as a JSON string: quotes, backslashes and control characters escaped,
 * other bytes as they are (file names are bytes; most are UTF-8). */
static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* The same figures as one JSON object, in bytes, counts and nanoseconds. */
static void print_stat_json(const struct scan_result *r)
{
    const struct um_stats *a = &r->before, *b = &r->after;

    fputs("{\"file\": ", stdout);
    print_json_string(r->path);
    printf(", \"size\": %zu", r->size);
    printf(", \"page_size\": %zu", b->page_size);
    printf(", \"faults\": %" PRIu64, b->faults - a->faults);
    printf(", \"pages_filled\": %" PRIu64, b->pages_filled - a->pages_filled);
    printf(", \"pages_prefetched\": %" PRIu64, b->pages_prefetched - a->pages_prefetched);
    printf(", \"bytes_read\": %" PRIu64, b->bytes_read - a->bytes_read);
    printf(", \"resident_bytes\": %" PRIu64, b->resident_bytes);
    printf(", \"peak_resident_bytes\": %" PRIu64, b->peak_resident_bytes);
    printf(", \"memory_limit\": %" PRIu64, b->memory_limit);
    printf(", \"evictions\": %" PRIu64, b->evictions - a->evictions);
    printf(", \"fault_p50_ns\": %" PRIu64, b->fault_p50_ns);
    printf(", \"fault_p99_ns\": %" PRIu64, b->fault_p99_ns);
    printf(", \"elapsed_ns\": %.0f", r->secs * 1e9);
    printf(", \"throughput_mib_s\": %.1f", r->secs > 0 ? mib(r->size) / r->secs : 0.0);
    printf(", \"checksum\": \"%016" PRIx64 "\"}\n", r->sum);
}

static int cmd_stat(int argc, char **argv)
{
    static const struct option longs[] = {
        { "help", no_argument, NULL, 'h' },
        { "json", no_argument, NULL, 'j' },
        { "progress", no_argument, NULL, 'p' },
        { "no-progress", no_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    enum progress_mode mode = PROGRESS_AUTO;
    struct scan_result r = { 0 };
    struct progress pr;
    bool json = false;
    struct stat st;
    void *p = NULL;
    double t0;
    int fd, c, li;

    while ((c = next_option(argc, argv, "hj", longs, &li)) != -1) {
        if (c == 'h')
            return command_help(find_command("stat"));
        if (c == 'j')
            json = true;
        else if (c == 'p' || c == 'P')
            parse_progress(longs[li].name, &mode);
        else
            return EXIT_USAGE;
    }
    if (optind >= argc)
        return usage_error("no FILE to scan");
    if (argc - optind > 1)
        return usage_error("one FILE at a time, not %d", argc - optind);
    r.path = argv[optind];

    fd = open(r.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail_sys(r.path);
    if (fstat(fd, &st) < 0) {
        int rc = fail_sys(r.path);
        close(fd);
        return rc;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        errno = EISDIR;
        return fail_sys(r.path);
    }
    /* An empty regular file is an empty scan; a pipe or a /proc file is
     * refused: stat maps a file whole, which takes its size up front. */
    if (!size_known(fd, &st)) {
        close(fd);
        say("%s: size not known in advance (%s); stat maps a file whole, "
            "'usermap cat' can read it", r.path,
            S_ISREG(st.st_mode) ? "a file made as it is read" : "not a regular file");
        return EXIT_FAILURE;
    }
    if ((uintmax_t)st.st_size > SIZE_MAX) {
        close(fd);
        errno = EFBIG;
        return fail_sys(r.path);
    }
    r.size = (size_t)st.st_size;
    if (um_stats(NULL, &r.before) < 0) {
        close(fd);
        say("cannot read usermap's counters: %s", um_error_message());
        return EXIT_FAILURE;
    }
    progress_start(&pr, mode, r.size >= STAT_PROGRESS_MIN, "scanning", r.size);
    /* The clock covers map and scan: read-ahead may start at map time. */
    t0 = now_seconds();
    if (r.size > 0) {
        p = um_mmap(NULL, r.size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return fail_um(r.path);
        }
        r.sum = scan(p, r.size, &pr);
    } else {
        progress_end(&pr, 0);
    }
    r.secs = now_seconds() - t0;
    close(fd);
    if (um_stats(NULL, &r.after) < 0) {
        say("cannot read usermap's counters: %s", um_error_message());
        return EXIT_FAILURE;
    }
    if (p && um_munmap(p, r.size) < 0)
        return fail_um(r.path);
    if (json)
        print_stat_json(&r);
    else
        print_stat(&r);
    if (fflush(stdout) != 0 || ferror(stdout))
        return fail_sys("standard output");
    return 0;
}

/* ---- gen ---- */

/* One line: 16 hex digits of its offset, a space, dots, a newline. */
static void gen_line(char *line, uint64_t offset)
{
    static const char hex[] = "0123456789abcdef";

    for (int i = 15; i >= 0; i--, offset >>= 4)
        line[i] = hex[offset & 15];
    line[16] = ' ';
    memcpy(line + 17, "usermap sample data", 19);
    memset(line + 36, '.', GEN_LINE - 37);
    line[GEN_LINE - 1] = '\n';
}

/* Fills buf with the content that belongs at file offset `offset`. */
static void gen_fill(char *buf, size_t len, uint64_t offset)
{
    for (size_t i = 0; i < len; i += GEN_LINE)
        gen_line(buf + i, offset + i);
}

static int gen_write(int fd, uint64_t size, struct progress *pr)
{
    char *buf = malloc(GEN_BUF);    /* GEN_BUF is a multiple of GEN_LINE */
    uint64_t off;
    int rc = 0;

    if (!buf)
        return -1;
    for (off = 0; off < size && rc == 0; off += GEN_BUF) {
        size_t n = size - off < GEN_BUF ? (size_t)(size - off) : GEN_BUF;

        gen_fill(buf, GEN_BUF, off);
        rc = write_all(fd, buf, n);
        progress_update(pr, rc == 0 ? off + n : off);
    }
    progress_end(pr, off < size ? off : size);
    free(buf);
    return rc;
}

static int cmd_gen(int argc, char **argv)
{
    static const struct option longs[] = {
        { "help", no_argument, NULL, 'h' },
        { "progress", no_argument, NULL, 'p' },
        { "no-progress", no_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    enum progress_mode mode = PROGRESS_AUTO;
    struct progress pr;
    const char *path;
    uint64_t size;
    int fd, c, li;

    while ((c = next_option(argc, argv, "h", longs, &li)) != -1) {
        if (c == 'h')
            return command_help(find_command("gen"));
        if (c == 'p' || c == 'P')
            parse_progress(longs[li].name, &mode);
        else
            return EXIT_USAGE;
    }
    if (argc - optind != 2)
        return usage_error("takes FILE and SIZE, got %d argument%s", argc - optind,
                           argc - optind == 1 ? "" : "s");
    path = argv[optind];
    if (size_parse(argv[optind + 1], &size) < 0)
        return usage_error("invalid size '%s': a number of bytes, optionally "
                           "followed by K, M, G or T", argv[optind + 1]);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail_sys(path);
    progress_start(&pr, mode, true, "writing", size);
    if (gen_write(fd, size, &pr) < 0) {
        int rc = fail_sys(path);
        close(fd);
        return rc;
    }
    if (close(fd) < 0)
        return fail_sys(path);
    return 0;
}

/* ---- caches, flush ---- */

/* Every shared cache, or NULL with *n -1 and a message said. */
static struct um_cache_info *list_caches(int *n)
{
    struct um_cache_info *list = NULL;
    int want = 16;

    for (;;) {
        struct um_cache_info *more = realloc(list, (size_t)want * sizeof(*list));

        if (!more) {
            free(list);
            *n = -1;
            say("out of memory");
            return NULL;
        }
        list = more;
        *n = um_caches(list, (size_t)want);
        if (*n < 0) {
            free(list);
            fail_um("cache directory");
            return NULL;
        }
        if (*n <= want)
            return list;
        want = *n + 16;     /* more came meanwhile: ask again */
    }
}

static void print_cache(const struct um_cache_info *c)
{
    printf("%-14s %s\n", "file", c->path[0] ? c->path : "(unknown)");
    print_bytes("size", c->size);
    print_bytes("resident", c->resident);
    print_bytes("dirty", c->dirty);
    printf("%-14s %d", "processes", c->processes);
    for (int i = 0; i < c->processes && i < UM_CACHE_PIDS; i++)
        printf("%s%d", i ? ", " : " (pid ", (int)c->pids[i]);
    if (c->processes > UM_CACHE_PIDS)
        printf(", ...");
    printf("%s\n", c->processes ? ")" : " (orphan: 'usermap flush' writes it back)");
}

static int cmd_caches(int argc, char **argv)
{
    struct um_cache_info *list;
    int n, rc = help_only_options(argc, argv, "caches");

    if (rc >= 0)
        return rc;
    if (optind < argc)
        return usage_error("takes no argument");
    list = list_caches(&n);
    if (!list)
        return EXIT_FAILURE;
    for (int i = 0; i < n; i++) {
        if (i)
            putchar('\n');
        print_cache(&list[i]);
    }
    free(list);
    return ferror(stdout) || fflush(stdout) ? EXIT_FAILURE : 0;
}

/* Whether the file the cache was made for is still at its path. */
static bool file_there(const struct um_cache_info *c)
{
    struct stat st;

    return stat(c->path, &st) == 0 && (uint64_t)st.st_dev == c->dev &&
           (uint64_t)st.st_ino == c->ino;
}

/* One cache of the list: one line says what was done.  A file deleted
 * since is left to the last um_cache_flush(NULL), which drops it. */
static int flush_listed(const struct um_cache_info *c)
{
    if (c->processes) {
        printf("%s: in use by %d process%s (pid %d), left to %s\n", c->path, c->processes,
               c->processes == 1 ? "" : "es", (int)c->pids[0],
               c->processes == 1 ? "it" : "them");
    } else if (!file_there(c)) {
        printf("%s: deleted or replaced; %" PRIu64 " unsaved bytes dropped\n", c->path,
               c->dirty);
    } else if (um_cache_flush(c->path) < 0) {
        say("%s", um_error_message());      /* it names the file */
        return EXIT_FAILURE;
    } else {
        printf("%s: %" PRIu64 " dirty bytes written back\n", c->path, c->dirty);
    }
    return 0;
}

/* Every orphan, one line each. */
static int flush_all(void)
{
    struct um_cache_info *list;
    int n, rc = 0;

    list = list_caches(&n);
    if (!list)
        return EXIT_FAILURE;
    for (int i = 0; i < n; i++)
        if (flush_listed(&list[i]) != 0)
            rc = EXIT_FAILURE;
    free(list);
    if (um_cache_flush(NULL) < 0)
        rc = fail_um("cache directory");
    return rc;
}

/* The dirty bytes of path's cache, for the report (0 without one). */
static uint64_t dirty_of(const char *path)
{
    struct um_cache_info *list;
    struct stat st;
    uint64_t dirty = 0;
    int n;

    if (stat(path, &st) < 0 || !(list = list_caches(&n)))
        return 0;
    for (int i = 0; i < n; i++)
        if (list[i].dev == (uint64_t)st.st_dev && list[i].ino == (uint64_t)st.st_ino)
            dirty = list[i].dirty;
    free(list);
    return dirty;
}

static int cmd_flush(int argc, char **argv)
{
    int rc = help_only_options(argc, argv, "flush");

    if (rc >= 0)
        return rc;
    rc = 0;
    if (optind >= argc)
        rc = flush_all();
    for (int i = optind; i < argc; i++) {
        uint64_t dirty = dirty_of(argv[i]);

        if (um_cache_flush(argv[i]) < 0) {
            say("%s", um_error_message());  /* it names the file */
            rc = EXIT_FAILURE;              /* go on with the others */
        }
        else
            printf("%s: %" PRIu64 " dirty bytes written back\n", argv[i], dirty);
    }
    return ferror(stdout) || fflush(stdout) ? EXIT_FAILURE : rc;
}

/* ---- run ---- */

/* The interposer, libusermap-preload.so: $USERMAP_PRELOAD, else next to
 * the tool as installed (BINDIR/../LIBDIR), else as built (the build
 * tree's top, the tool in tools/), else the install's LIBDIR. */
static bool find_preload(char *path, size_t size)
{
    const char *env = getenv("USERMAP_PRELOAD");
    const char *rel[] = { USERMAP_PRELOAD_RELATIVE, "../libusermap-preload.so" };
    char exe[PATH_MAX], *slash;
    ssize_t n;

    if (env && *env)
        return realpath(env, path) != NULL || (snprintf(path, size, "%s", env), false);
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        *slash = '\0';
        for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
            char candidate[PATH_MAX + 64];

            snprintf(candidate, sizeof(candidate), "%s/%s", exe, rel[i]);
            if (realpath(candidate, path) && access(path, R_OK) == 0)
                return true;
        }
    }
    snprintf(path, size, "%s", USERMAP_PRELOAD_INSTALLED);
    return access(path, R_OK) == 0;
}

/* "A" SEP "B" in a new string, or NULL. */
static char *join(const char *a, const char *sep, const char *b)
{
    size_t len = strlen(a) + strlen(sep) + strlen(b) + 1;
    char *s = malloc(len);

    if (s)
        snprintf(s, len, "%s%s%s", a, sep, b);
    return s;
}

/* Length of LD_PRELOAD's first entry if it is AddressSanitizer's run-time
 * (gcc's libasan, clang's libclang_rt.asan), which refuses to start unless
 * it comes first in the initial library list; else 0. */
static size_t sanitizer_first(const char *list)
{
    size_t len = strcspn(list, ": ");
    const char *base = list + len;

    while (base > list && base[-1] != '/')
        base--;
    if (strncmp(base, "libasan.so", 10) == 0 || strncmp(base, "libclang_rt.asan", 16) == 0)
        return len;
    return 0;
}

/* LD_PRELOAD with the interposer first (after a sanitizer's run-time
 * that was first), what was there after it. */
static int set_preload(const char *lib)
{
    const char *old = getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "";
    size_t keep = sanitizer_first(old), len = strlen(old) + strlen(lib) + 3;
    const char *rest = old + keep + strspn(old + keep, ": ");
    char *value = malloc(len);
    int rc;

    if (!value)
        return -1;
    snprintf(value, len, "%.*s%s%s%s%s", (int)keep, old, keep ? ":" : "", lib,
             *rest ? ":" : "", rest);
    rc = setenv("LD_PRELOAD", value, 1);
    free(value);
    return rc;
}

/* --stats[=FILE]: where the program prints the pool's counters at exit
 * (src/preload/stats.h); a relative FILE is made absolute, the program
 * may change directory. */
static int set_stats(const char *file)
{
    char cwd[PATH_MAX], pid[32], *value = NULL;
    int rc;

    if (!file || strcmp(file, "-") == 0)
        rc = setenv("USERMAP_STATS", "-", 1);
    else if (file[0] == '/' || !getcwd(cwd, sizeof(cwd)))
        rc = setenv("USERMAP_STATS", file, 1);
    else if (!(value = join(cwd, "/", file)))
        rc = -1;
    else
        rc = setenv("USERMAP_STATS", value, 1);
    free(value);
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    return rc < 0 ? rc : setenv("USERMAP_STATS_PID", pid, 1);
}

/* A SIZE option into VARIABLE, checked as the library reads it. */
static int set_size(const char *option, const char *variable, const char *value)
{
    uint64_t n;

    if (size_parse(value, &n) < 0)
        return usage_error("%s: '%s' is not a size (digits, then K, M, G or T)", option, value);
    return setenv(variable, value, 1) < 0 ? fail_sys("setenv") : 0;
}

static int set_policy(const char *value)
{
    if (strcmp(value, "clock") != 0 && strcmp(value, "fifo") != 0 && strcmp(value, "lru") != 0)
        return usage_error("--policy: '%s' is not clock, fifo or lru", value);
    return setenv("USERMAP_POLICY", value, 1) < 0 ? fail_sys("setenv") : 0;
}

/* The options before PROGRAM: -1 to go on (optind at PROGRAM), else the
 * exit status. */
static int run_options(int argc, char **argv)
{
    static const struct option longs[] = {
        { "help", no_argument, NULL, 'h' },
        { "memory-limit", required_argument, NULL, 'm' },
        { "page-size", required_argument, NULL, 'p' },
        { "policy", required_argument, NULL, 'P' },
        { "stats", optional_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    int c, rc = 0;

    opterr = 0;
    /* '+': PROGRAM's own options are PROGRAM's. */
    while (rc == 0 && (c = getopt_long(argc, argv, "+h", longs, NULL)) != -1) {
        if (c == 'h')
            return command_help(find_command("run"));
        else if (c == 'm')
            rc = set_size("--memory-limit", "USERMAP_MEMORY_LIMIT", optarg);
        else if (c == 'p')
            rc = set_size("--page-size", "USERMAP_PAGE_SIZE", optarg);
        else if (c == 'P')
            rc = set_policy(optarg);
        else if (c == 's')
            rc = set_stats(optarg) < 0 ? fail_sys("setenv") : 0;
        else
            rc = usage_error("bad option '%s'", argv[optind - 1]);
    }
    return rc == 0 ? -1 : rc;
}

/* Execs PROGRAM in place of the tool: its exit status and the signal that
 * ends it are the tool's, with nothing in between. */
static int cmd_run(int argc, char **argv)
{
    char lib[PATH_MAX];
    int rc = run_options(argc, argv);

    if (rc >= 0)
        return rc;
    if (optind >= argc)
        return usage_error("needs a PROGRAM to run");
    if (!find_preload(lib, sizeof(lib))) {
        say("cannot find libusermap-preload.so (looked for %s; USERMAP_PRELOAD names it)", lib);
        return EXIT_FAILURE;
    }
    if (set_preload(lib) < 0)
        return fail_sys("setenv");
    fflush(NULL);
    execvp(argv[optind], argv + optind);
    say("%s: %s", argv[optind], strerror(errno));
    /* As a shell: 127 for a program not found, 126 for one that cannot run. */
    return errno == ENOENT ? 127 : 126;
}

/* ---- help ---- */

static int cmd_help(int argc, char **argv)
{
    const struct command *cmd;

    if (argc > 2)
        return usage_error("takes at most one COMMAND");
    if (argc < 2 || strcmp(argv[1], "help") == 0 ||
        strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, stdout);
        return ferror(stdout) || fflush(stdout) ? EXIT_FAILURE : 0;
    }
    cmd = find_command(argv[1]);
    if (!cmd)
        return usage_error("no command '%s'", argv[1]);
    return command_help(cmd);
}

static const struct command commands[] = {
    { "cat", cmd_cat, "cat FILE...",
      "Print each FILE to standard output through a private, read-only usermap\n"
      "mapping.  '-' is standard input.  Files whose size is not known in\n"
      "advance (pipes, /proc and /sys files) and empty files are read with\n"
      "read(2), as cat does.  A file that fails is reported, and the others are\n"
      "still printed; the exit status is then 1.\n"
      "\n"
      "  -h, --help        print this help\n" },
    { "stat", cmd_stat, "stat [--json] [--progress|--no-progress] FILE",
      "Map FILE shared and read-only, read every byte of it, and print what\n"
      "usermap did: pages faulted and filled, bytes read, memory resident, fault\n"
      "times, elapsed time, throughput, and a checksum of the content.  The file\n"
      "must be a regular file whose size is known in advance.\n"
      "\n"
      "  -j, --json        one JSON object instead of the table (bytes, counts,\n"
      "                    nanoseconds; the checksum as a hex string)\n"
      "      --progress    show a progress bar on stderr\n"
      "      --no-progress do not (default: shown for files of 256 MiB and up\n"
      "                    when stderr is a terminal)\n"
      "  -h, --help        print this help\n" },
    { "gen", cmd_gen, "gen [--progress|--no-progress] FILE SIZE",
      "Write a deterministic sample file of SIZE bytes to FILE, replacing it:\n"
      "64-byte text lines, each starting with its own offset in 16 hex digits.\n"
      "SIZE is a number of bytes, optionally followed by K, M, G or T (powers\n"
      "of 1024; 'KiB' and 'KB' mean the same).\n"
      "\n"
      "      --progress    show a progress bar on stderr\n"
      "      --no-progress do not (default: shown when stderr is a terminal)\n"
      "  -h, --help        print this help\n" },
    { "caches", cmd_caches, "caches",
      "List the shared page caches of the user's files (in $USERMAP_CACHE_DIR,\n"
      "default /dev/shm/usermap-UID): for each, the file, the bytes it covers,\n"
      "the memory its pages take, the bytes written and not yet in the file, and\n"
      "the processes attached, with their pids.  A cache no process is attached\n"
      "to is an orphan: a process died with stores not yet written; the next\n"
      "usermap process to start writes them back, or 'usermap flush' does.\n"
      "\n"
      "  -h, --help        print this help\n" },
    { "flush", cmd_flush, "flush [FILE...]",
      "Write the dirty pages of orphan shared caches to their files, fsync, and\n"
      "remove the caches: every orphan without FILE, else the cache of each\n"
      "FILE.  A cache of a file deleted or replaced since is removed, its stores\n"
      "dropped.  A cache processes are attached to is theirs to write back:\n"
      "without FILE it is left alone, a FILE whose cache is in use is an error\n"
      "that names the process.  One line per cache says what was done.\n"
      "\n"
      "  -h, --help        print this help\n" },
    { "run", cmd_run,
      "run [--memory-limit SIZE] [--page-size SIZE] [--policy P] [--stats[=FILE]]\n"
      "           -- PROGRAM [ARGS...]",
      "Run PROGRAM, unmodified, with its mappings of regular files served by\n"
      "usermap: the tool execs it with libusermap-preload.so first in LD_PRELOAD\n"
      "(USERMAP_PRELOAD names another copy).  Its mmap, munmap, mremap, msync,\n"
      "mprotect, madvise, truncate and file I/O calls go to usermap; anonymous\n"
      "memory, devices and /proc files stay the kernel's.  The programs it starts\n"
      "inherit LD_PRELOAD, and are interposed too.  PROGRAM's exit status, or\n"
      "the signal that ends it, is the tool's.  The USERMAP_* variables apply\n"
      "(USERMAP_PATHS: only files matching one of its colon-separated patterns;\n"
      "USERMAP_ANONYMOUS=1: anonymous mappings too; USERMAP_DEBUG=1: say which).\n"
      "\n"
      "      --memory-limit SIZE  the default pool's budget (USERMAP_MEMORY_LIMIT)\n"
      "      --page-size SIZE     its page size (USERMAP_PAGE_SIZE)\n"
      "      --policy P           clock, fifo or lru (USERMAP_POLICY)\n"
      "      --stats[=FILE]       at exit, print the pool's counters to stderr or\n"
      "                           append them to FILE (each process that mapped)\n"
      "  -h, --help               print this help\n" },
    { "help", cmd_help, "help [COMMAND]",
      "Print the tool's usage, or COMMAND's.\n" },
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const struct command *cmd;
    int c;

    /* '+': options up to the command only; the command has its own. */
    while ((c = next_option(argc, argv, "+hV", longs, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            return ferror(stdout) || fflush(stdout) ? EXIT_FAILURE : 0;
        }
        if (c == 'V') {
            printf("usermap %s\n", um_version());
            return ferror(stdout) || fflush(stdout) ? EXIT_FAILURE : 0;
        }
        return EXIT_USAGE;
    }
    if (optind >= argc) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    cmd = find_command(argv[optind]);
    if (!cmd)
        return usage_error("no command '%s'", argv[optind]);
    current = cmd->name;
    argv += optind;
    argc -= optind;
    optind = 0;  /* glibc: start over on the command's own arguments */
    return cmd->run(argc, argv);
}
