/* SPDX-License-Identifier: MIT */
/*
 * dirty.c - see dirty.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addrspace.h"
#include "dirty.h"

uint64_t dirty_map_bytes(uint64_t page_size)
{
    return (UM_DIRTY_MAX_BYTES / page_size) / 64 * 2 * sizeof(uint64_t);
}

int dirty_init(struct um_dirty *d, uint64_t page_size, int fd, uint64_t offset)
{
    void *p;

    d->page_shift = (unsigned)__builtin_ctzll(page_size);
    d->pages = UM_DIRTY_MAX_BYTES >> d->page_shift;
    d->map_len = dirty_map_bytes(page_size);
    p = um_private_mmap_at(d->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd,
                           (off_t)offset);
    if (p == MAP_FAILED)
        return -errno;
    d->words = p;
    return 0;
}

void dirty_destroy(struct um_dirty *d)
{
    if (d->words)
        um_private_munmap(d->words, d->map_len);
    d->words = NULL;
}

/* The word pair of page p: dirty bits first, writeback bits second. */
static uint64_t *dirty_word(const struct um_dirty *d, uint64_t p)
{
    return &d->words[(p / 64) * 2];
}

/* Calls fn once per word pair with the mask of the pages of [lo, hi)
 * (bytes) it holds; stops when fn returns true. */
static bool for_each_word(const struct um_dirty *d, uint64_t lo, uint64_t hi,
                          bool (*fn)(uint64_t *pair, uint64_t mask, uint64_t first, void *arg),
                          void *arg)
{
    uint64_t p = lo >> d->page_shift;
    uint64_t end = (hi + (((uint64_t)1 << d->page_shift) - 1)) >> d->page_shift;

    if (end > d->pages)
        end = d->pages;
    while (p < end) {
        uint64_t first = p & ~(uint64_t)63;
        uint64_t stop = first + 64 < end ? first + 64 : end;
        uint64_t mask = (stop - first == 64 ? ~(uint64_t)0 : (((uint64_t)1 << (stop - first)) - 1)) &
                        ~(((uint64_t)1 << (p - first)) - 1);

        if (fn(dirty_word(d, p), mask, first, arg))
            return true;
        p = stop;
    }
    return false;
}

static bool mark_word(uint64_t *pair, uint64_t mask, uint64_t first, void *arg)
{
    (void)first;
    (void)arg;
    if ((__atomic_load_n(&pair[0], __ATOMIC_RELAXED) & mask) != mask)
        __atomic_fetch_or(&pair[0], mask, __ATOMIC_SEQ_CST);
    return false;
}

void dirty_mark(struct um_dirty *d, uint64_t lo, uint64_t hi)
{
    if (lo < hi)
        for_each_word(d, lo, hi, mark_word, NULL);
}

static bool busy_word(uint64_t *pair, uint64_t mask, uint64_t first, void *arg)
{
    (void)first;
    (void)arg;
    return ((__atomic_load_n(&pair[0], __ATOMIC_SEQ_CST) |
             __atomic_load_n(&pair[1], __ATOMIC_SEQ_CST)) & mask) != 0;
}

bool dirty_busy(const struct um_dirty *d, uint64_t lo, uint64_t hi)
{
    return lo < hi && for_each_word(d, lo, hi, busy_word, NULL);
}

/* Adds the byte ranges of the pages set in bits (of the word pair
 * starting at page first) to a list. */
struct collect {
    const struct um_dirty *d;
    struct um_ranges *out;
    void (*fn)(void *arg, uint64_t lo, uint64_t hi);
    void *arg;
};

static void report_bits(const struct collect *c, uint64_t bits, uint64_t first)
{
    unsigned shift = c->d->page_shift, at = 0;

    while (at < 64 && (bits >> at)) {
        unsigned from;

        at += (unsigned)__builtin_ctzll(bits >> at);
        from = at;
        while (at < 64 && ((bits >> at) & 1))
            at++;
        if (c->out)
            ranges_add(c->out, (first + from) << shift, (first + at) << shift);
        else
            c->fn(c->arg, (first + from) << shift, (first + at) << shift);
    }
}

static bool take_word(uint64_t *pair, uint64_t mask, uint64_t first, void *arg)
{
    uint64_t taken = __atomic_load_n(&pair[0], __ATOMIC_SEQ_CST) & mask;

    if (taken) {
        /* Writeback first: a page is never seen with neither bit set
         * while its bytes are not in the store. */
        __atomic_fetch_or(&pair[1], taken, __ATOMIC_SEQ_CST);
        __atomic_fetch_and(&pair[0], ~taken, __ATOMIC_SEQ_CST);
        report_bits(arg, taken, first);
    }
    return false;
}

void dirty_take(struct um_dirty *d, uint64_t lo, uint64_t hi, struct um_ranges *out)
{
    struct collect c = { d, out, NULL, NULL };

    if (lo < hi)
        for_each_word(d, lo, hi, take_word, &c);
    ranges_merge(out);
}

static bool done_word(uint64_t *pair, uint64_t mask, uint64_t first, void *arg)
{
    (void)first;
    if (*(bool *)arg)
        __atomic_fetch_or(&pair[0], __atomic_load_n(&pair[1], __ATOMIC_SEQ_CST) & mask,
                          __ATOMIC_SEQ_CST);
    __atomic_fetch_and(&pair[1], ~mask, __ATOMIC_SEQ_CST);
    return false;
}

void dirty_done(struct um_dirty *d, uint64_t lo, uint64_t hi, bool failed)
{
    if (lo < hi)
        for_each_word(d, lo, hi, done_word, &failed);
}

static bool forget_word(uint64_t *pair, uint64_t mask, uint64_t first, void *arg)
{
    (void)first;
    (void)arg;
    __atomic_fetch_and(&pair[0], ~mask, __ATOMIC_SEQ_CST);
    return false;
}

void dirty_forget_from(struct um_dirty *d, uint64_t from, uint64_t hi)
{
    uint64_t page = (uint64_t)1 << d->page_shift;

    from = (from + page - 1) & ~(page - 1);
    if (from < hi)
        for_each_word(d, from, hi, forget_word, NULL);
}

bool dirty_any(const struct um_dirty *d, uint64_t hi)
{
    return dirty_busy(d, 0, hi);
}

static bool report_word(uint64_t *pair, uint64_t mask, uint64_t first, void *arg)
{
    uint64_t bits = (__atomic_load_n(&pair[0], __ATOMIC_SEQ_CST) |
                     __atomic_load_n(&pair[1], __ATOMIC_SEQ_CST)) & mask;

    if (bits)
        report_bits(arg, bits, first);
    return false;
}

void dirty_for_each(const struct um_dirty *d, uint64_t hi,
                    void (*fn)(void *arg, uint64_t lo, uint64_t hi), void *arg)
{
    struct collect c = { d, NULL, fn, arg };

    for_each_word(d, 0, hi, report_word, &c);
}
