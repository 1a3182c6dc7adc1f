/* SPDX-License-Identifier: MIT */
/*
 * size.h - sizes as people write them ("512M", "4G", "64KiB"), read the
 * same way by the environment of the default pool, the tool and the
 * benchmark (which build this file into themselves).
 */
#ifndef USERMAP_SIZE_H
#define USERMAP_SIZE_H

#include <stdint.h>

/* Parses digits with an optional K, M, G or T (powers of 1024, "i" and
 * "B" allowed after it).  0, or -1 on anything else or on overflow. */
int size_parse(const char *text, uint64_t *out);

#endif
