/* SPDX-License-Identifier: MIT */
/*
 * addrspace.c - see addrspace.h.
 *
 * One PROT_NONE reservation, never backed, is carved in 2 MiB-aligned
 * spans; a freed span is reserved again (not unmapped) and kept for reuse
 * by a mapping of the same size.  When the reservation is full, mappings
 * fall back to wherever the kernel puts them.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "addrspace.h"

#define RESERVATION ((size_t)256 << 30)
#define ALIGN ((size_t)2 << 20)
#define FREE_SPANS 64

struct span {
    uintptr_t start;
    size_t len;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t base, cursor, end;     /* base 0: not reserved (yet) */
static struct span free_spans[FREE_SPANS];

static size_t span_of(size_t len)
{
    return (len + ALIGN - 1) & ~(ALIGN - 1);
}

static void reserve(void)
{
    void *p = mmap(NULL, RESERVATION + ALIGN, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (p == MAP_FAILED) {
        end = 1;    /* tried: do not try again */
        return;
    }
    base = ((uintptr_t)p + ALIGN - 1) & ~(ALIGN - 1);
    cursor = base;
    end = base + RESERVATION;
}

/* A span of the reservation, or 0.  With the lock held. */
static uintptr_t take(size_t span)
{
    uintptr_t at;

    if (!end)
        reserve();
    for (int i = 0; i < FREE_SPANS; i++) {
        if (free_spans[i].len == span) {
            at = free_spans[i].start;
            free_spans[i].len = 0;
            return at;
        }
    }
    if (!base || end - cursor < span)
        return 0;
    at = cursor;
    cursor += span;
    return at;
}

static void give_back(uintptr_t at, size_t span)
{
    for (int i = 0; i < FREE_SPANS; i++) {
        if (!free_spans[i].len) {
            free_spans[i] = (struct span){ at, span };
            return;
        }
    }
    /* No room to remember it: the span is lost to reuse, not to safety. */
}

static int inside(uintptr_t at)
{
    return base && at >= base && at < end;
}

void *um_private_mmap(size_t len, int prot, int flags, int fd)
{
    return um_private_mmap_at(len, prot, flags, fd, 0);
}

void *um_private_mmap_at(size_t len, int prot, int flags, int fd, off_t offset)
{
    size_t span = span_of(len);
    uintptr_t at;
    void *p;

    pthread_mutex_lock(&lock);
    at = take(span);
    pthread_mutex_unlock(&lock);
    if (!at)
        return mmap(NULL, len, prot, flags, fd, offset);
    p = mmap((void *)at, len, prot, flags | MAP_FIXED, fd, offset);
    if (p == MAP_FAILED)
        um_private_munmap((void *)at, len);
    return p;
}

void um_private_munmap(void *addr, size_t len)
{
    uintptr_t at = (uintptr_t)addr;
    size_t span = span_of(len);

    if (!inside(at)) {
        munmap(addr, len);
        return;
    }
    mmap(addr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    pthread_mutex_lock(&lock);
    give_back(at, span);
    pthread_mutex_unlock(&lock);
}
