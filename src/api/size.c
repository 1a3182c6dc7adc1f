/* SPDX-License-Identifier: MIT */
/*
 * size.c - sizes as people write them, see size.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "size.h"

int size_parse(const char *text, uint64_t *out)
{
    char *end;
    unsigned long long n;
    unsigned shift = 0;

    /* Digits first: strtoull would also take spaces, signs and "-1". */
    if (text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    n = strtoull(text, &end, 10);
    if (errno)
        return -1;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: break;
    }
    if (shift && (*end == 'i' || *end == 'I'))
        end++;
    if (shift && (*end == 'b' || *end == 'B'))
        end++;
    if (*end != '\0' || (shift && n > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)n << shift;
    return 0;
}
