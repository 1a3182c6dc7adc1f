/* SPDX-License-Identifier: MIT */
/*
 * served.h - whose mapping holds an address, from /proc/self/maps: the
 * kernel's mapping of a file names the file, usermap's (its page cache
 * object) does not.  For the test programs that never call um_* (the
 * interposer's and the redirect header's); valid C and C++.
 */
#ifndef USERMAP_TESTS_SERVED_H
#define USERMAP_TESTS_SERVED_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "usermap", "kernel" or "unmapped". */
static const char *served(const void *p, const char *file)
{
    char line[4096], real[4096] = "";
    FILE *maps = fopen("/proc/self/maps", "r");
    const char *who = "unmapped";

    if (file && !realpath(file, real))
        snprintf(real, sizeof(real), "%s", file);
    while (maps && fgets(line, sizeof(line), maps)) {
        unsigned long lo, hi;

        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && (uintptr_t)p >= lo && (uintptr_t)p < hi) {
            who = real[0] && strstr(line, real) ? "kernel" : "usermap";
            break;
        }
    }
    if (maps)
        fclose(maps);
    return who;
}

#endif
