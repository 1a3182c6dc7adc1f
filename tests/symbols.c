/* SPDX-License-Identifier: MIT */
/*
 * symbols.c - a program that has its own cache_fill, size_parse,
 * region_find, pool_default and other names usermap uses inside, linked
 * with libusermap.a (symbols_static) and libusermap.so (symbols_shared,
 * with its names exported so that a leaked library name would bind to
 * them).  It must link, its functions must be its own, and the library
 * must go on calling its own: a mapping still reads its file, and none of
 * the program's functions runs behind its back.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <usermap.h>

#define INTERNAL_NAMES(X) \
    X(cache_fill) X(cache_evict) X(cache_sync) X(cache_size) X(cache_hold) \
    X(cache_release) X(size_parse) X(region_find) X(region_insert) \
    X(region_for_each) X(pool_default) X(pool_or_default) X(evict_reserve) \
    X(claims_take) X(claims_init) X(mapping_new) X(mapping_release) \
    X(private_fault) X(prefetch_start) X(readahead_init) X(ranges_add) \
    X(sparse_punch) X(stat_now_ns) X(pagemap_scan) X(frames_init)

static int calls;

#define DEFINE(name) \
    int name(void); \
    int name(void) { calls++; return (int)sizeof(#name); }
INTERNAL_NAMES(DEFINE)

/* A variable by a library variable's name, too. */
int stat_current_mapping = 42;

static int failures;

static void expect(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "symbols: FAIL: %s\n", what);
        failures++;
    }
}

int main(void)
{
    char path[] = "/tmp/usermap-symbols.XXXXXX";
    const char text[] = "usermap keeps its names to itself\n";
    int expected = 0;
    char want[32];

#define CALL(name) \
    expected++; \
    expect(name() == (int)sizeof(#name), #name " is the program's own");
    INTERNAL_NAMES(CALL)
    expect(stat_current_mapping == 42, "stat_current_mapping is the program's own");

    int fd = mkstemp(path);
    if (fd < 0 || write(fd, text, sizeof(text) - 1) != (ssize_t)(sizeof(text) - 1)) {
        perror("symbols: temporary file");
        return 1;
    }
    unlink(path);
    char *p = um_mmap(NULL, sizeof(text) - 1, PROT_READ, MAP_SHARED, fd, 0);
    expect(p != MAP_FAILED, "um_mmap maps the file");
    if (p != MAP_FAILED) {
        expect(memcmp(p, text, sizeof(text) - 1) == 0, "the mapping reads the file");
        expect(um_munmap(p, sizeof(text) - 1) == 0, "um_munmap");
    }
    close(fd);

    expect(calls == expected, "the library called none of the program's functions");
    snprintf(want, sizeof(want), "%d.%d.", USERMAP_VERSION_MAJOR, USERMAP_VERSION_MINOR);
    expect(um_version() != NULL && strncmp(um_version(), want, strlen(want)) == 0,
           "um_version() matches the header's major and minor");
    printf("symbols: usermap %s, %d names of the program's own, %s\n", um_version(),
           expected, failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
