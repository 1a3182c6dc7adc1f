/* SPDX-License-Identifier: MIT */
/*
 * store_zero.c - the store behind anonymous shared memory: all zeros, and
 * nowhere to write back to (write is NULL, so caches never try).
 */
#include <string.h>

#include "store.h"

static ssize_t zero_read(struct um_store *s, void *buf, size_t len, uint64_t off)
{
    (void)s;
    (void)off;
    memset(buf, 0, len);
    return (ssize_t)len;
}

static void zero_close(struct um_store *s)
{
    (void)s;    /* the one zero store is static */
}

static const struct um_store_ops zero_ops = {
    .read = zero_read,
    .close = zero_close,
};

static struct um_store zero_store = { .ops = &zero_ops, .name = "anonymous memory" };

struct um_store *um_store_zero(void)
{
    return &zero_store;
}
