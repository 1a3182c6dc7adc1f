/* SPDX-License-Identifier: MIT */
/*
 * fault.c - what a fault means: find the region, fill the usermap page
 * that holds the address, wake the threads waiting on it.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include "cache.h"
#include "engine.h"
#include "evict.h"
#include "lifecycle.h"
#include "pagemap.h"
#include "pool.h"
#include "private.h"
#include "readahead.h"
#include "region.h"
#include "stats.h"

struct span {
    uintptr_t start, end;
};

/* The usermap page holding addr, in r's addresses, cut to r. */
static struct span page_around(const struct um_region *r, uintptr_t addr)
{
    uintptr_t page = r->pool->cfg.page_size;
    /* File pages are aligned in the file, anonymous ones in the mapping
     * as first made (its offsets start at 0). */
    uint64_t base = region_offset_of(r, addr);
    uintptr_t start = addr - (uintptr_t)(base & (page - 1));
    struct span s = { start, start + page };

    if (s.start < r->start)
        s.start = r->start;
    if (s.end > r->end)
        s.end = r->end;
    return s;
}

static int fill(const struct um_region *r, struct span s, bool write)
{
    long placed;

    if (r->cache) {
        uint64_t off = region_offset_of(r, s.start);
        int rc = cache_fill_for(r->cache, r, off, s.end - s.start, write);
        if (rc >= 0)
            readahead_on_fault(r, off & ~(uint64_t)(r->pool->cfg.page_size - 1));
        return rc < 0 ? rc : 0;
    }
    evict_reserve(r->pool, s.end - s.start);
    placed = um_engine->place_zero((void *)s.start, s.end - s.start);
    if (placed < (long)(s.end - s.start))
        evict_unreserve(r->pool, s.end - s.start - (placed > 0 ? (uint64_t)placed : 0));
    return placed < 0 ? (int)placed : 0;
}

static bool within_file(const struct um_region *r, uintptr_t addr);

/* The usermap page around a fault may span mappings the kernel keeps
 * apart (an mprotect of part of a region splits its VMA), and installing
 * refuses to cross them: then the faulting system page alone is filled. */
static int fill_around(const struct um_region *r, uintptr_t addr, struct span *s, bool write)
{
    uintptr_t sys = um_system_page();
    int rc;

    *s = page_around(r, addr);
    rc = fill(r, *s, write);
    if (rc == -ENOENT && s->end - s->start > sys) {
        s->start = addr & ~(sys - 1);
        s->end = s->start + sys;
        rc = fill(r, *s, write);
    }
    return rc;
}

/*
 * Pages marked failed (place_error), so that the SIGBUS handler knows
 * which marks are usermap's to clear.  A fixed set of slots, changed with
 * atomics: the handler may run in any thread at any time.  When full, the
 * oldest mark simply stays until the handler meets it.
 */
#define ERROR_SLOTS 64
static uintptr_t error_pages[ERROR_SLOTS];

static void note_error(uintptr_t page)
{
    for (int i = 0; i < ERROR_SLOTS; i++) {
        uintptr_t none = 0;
        if (__atomic_load_n(&error_pages[i], __ATOMIC_ACQUIRE) == page ||
            __atomic_compare_exchange_n(&error_pages[i], &none, page, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return;
    }
}

static bool take_error(uintptr_t page)
{
    for (int i = 0; i < ERROR_SLOTS; i++) {
        uintptr_t want = page;
        if (__atomic_compare_exchange_n(&error_pages[i], &want, 0, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return true;
    }
    return false;
}

/* Marks the page failed: the access that faulted gets SIGBUS (as the
 * kernel's after a read error), and usermap's handler is there to clear
 * the mark then, so that the next access reads again. */
static void fail_page(uintptr_t page)
{
    um_engine_catch_sigbus();
    note_error(page);
    um_engine->place_error((void *)page, um_system_page());
}

/*
 * A first write to a page whose writes are tracked synchronously: let it
 * through, unless an eviction of the page is under way (see cache_evict).
 * Only a mapped system page is let through: lifting the protection where
 * the page-table entry is a marker (a page not mapped yet, or evicted
 * since the fault) would drop the marker, and writes after the refault
 * would go unseen.  The claim keeps evictions out between look and lift.
 */
static void note_mapped(void *arg, uintptr_t start, uintptr_t end)
{
    (void)start;
    (void)end;
    *(bool *)arg = true;
}

static bool page_mapped(uintptr_t page, size_t len)
{
    struct pagemap_query q = { .all = PAGE_IS_PRESENT };
    bool mapped = false;

    return pagemap_scan((void *)page, len, &q, note_mapped, &mapped) == 0 && mapped;
}

/* Under the shared lock; r is the region holding addr, or NULL.  Returns
 * whether the write was let through (which also wakes the writer). */
static bool serve_write(const struct um_region *r, uintptr_t addr)
{
    uintptr_t sys = um_system_page();
    struct span s = { addr & ~(sys - 1), (addr & ~(sys - 1)) + sys };
    bool let_through = false;
    int slot = -1;

    if (r && r->cache) {
        uint64_t off = region_offset_of(r, s.start);

        let_through = cache_begin_write(r->cache, off, sys, &slot) && page_mapped(s.start, sys);
        if (let_through && cache_reserve(r->cache, off, off + sys) < 0) {
            /* No room for the page: the write fails as the kernel's
             * does, with SIGBUS.  The page leaves this mapping (the
             * memfd keeps it) so that the failure mark can go in. */
            madvise((void *)s.start, sys, MADV_DONTNEED);
            fail_page(s.start);
            let_through = false;
        }
        if (let_through) {
            cache_mark_written(r->cache, off, sys);
            um_engine->unprotect((void *)s.start, sys);
        }
        cache_end_write(r->cache, off, sys, slot);
    }
    return let_through;
}

/* Counted under the lock: the region keeps its pool and mapping alive. */
static void count_fault(const struct um_region *r, uint64_t started)
{
    uint64_t took = stat_now_ns() - started;

    STAT_ADD(&r->pool->counters, faults, 1);
    stat_add_latency(&r->pool->counters, took);
    stat_add_latency(&r->mapping->counters, took);
}

/* A fault past the end this process knows: the cache takes its memfd's
 * size.  The retry then meets the page, or the kernel's SIGBUS if the
 * memfd is that short after all (a cut meanwhile). */
static void follow_memfd_at(uintptr_t addr)
{
    struct um_region *r;

    um_lock_exclusive();
    r = region_find(addr);
    if (r && r->cache)
        cache_follow_memfd(r->cache);
    um_unlock();
}

void um_fault(uintptr_t addr, enum um_fault_kind kind, bool write)
{
    uintptr_t sys = um_system_page();
    struct span wake = { addr & ~(sys - 1), (addr & ~(sys - 1)) + sys };
    uint64_t started = stat_now_ns();
    struct um_region *r;

    um_lock_shared();
    r = region_find(addr);
    /* The kernel let the access through, so the memfd reaches it: another
     * process sharing the cache made the file longer. */
    if (r && !within_file(r, addr)) {
        um_unlock();
        follow_memfd_at(addr);
        um_engine->wake((void *)wake.start, wake.end - wake.start);
        return;
    }
    if (kind == UM_FAULT_WRITE && !(r && r->priv)) {
        bool let_through = serve_write(r, addr);

        um_unlock();
        if (!let_through)
            um_engine->wake((void *)wake.start, wake.end - wake.start);
        return;
    }
    if (r) {
        struct um_mapping *outer = stat_attribute(r->mapping);
        struct span s = page_around(r, addr);
        int rc = r->priv ? private_fault(r, s.start, s.end, kind) : fill_around(r, addr, &s, write);
        /* A page that cannot be read must not leave its thread waiting:
         * make the access fail as the kernel's would, with SIGBUS, this
         * once (the SIGBUS handler clears the mark). */
        if (rc < 0)
            fail_page(wake.start);
        else
            wake = s;
        count_fault(r, started);
        stat_attribute(outer);
    } else {
        /* Watched memory the table does not know (never the case unless
         * the program unmapped usermap memory behind its back): a wake
         * alone would make the thread fault here forever. */
        um_engine->place_error((void *)wake.start, sys);
    }
    um_unlock();
    /* Always wake, even for an address no longer mapped: the thread then
     * retries and meets what is there now (SIGSEGV for an unmapped one). */
    um_engine->wake((void *)wake.start, wake.end - wake.start);
}

int um_fault_populate(const struct um_region *r, uintptr_t start, uintptr_t end)
{
    for (uintptr_t a = start; a < end;) {
        struct span s;
        int rc;

        if (!within_file(r, a))
            return 0;
        rc = fill_around(r, a, &s, false);
        if (rc < 0)
            return rc;
        a = s.end > a ? s.end : a + um_system_page();
    }
    return 0;
}

bool um_fault_forget_error(uintptr_t addr)
{
    uintptr_t page = addr & ~(uintptr_t)(um_system_page() - 1);
    struct um_region *r;

    if (!take_error(page))
        return false;
    um_lock_shared();
    r = region_find(addr);
    /* Dropping the entry drops the mark; the memfd keeps its pages.  A
     * tracked page is protected again, so that its first write after
     * the refill is seen. */
    if (r && madvise((void *)page, um_system_page(), MADV_DONTNEED) == 0 &&
        region_tracking(r) != UM_TRACK_NONE)
        um_engine->protect((void *)page, um_system_page());
    um_unlock();
    return true;
}

/* Whether addr lies before the end of its file, rounded to a page: past
 * that, SIGBUS is the kernel's answer, and the program's. */
static bool within_file(const struct um_region *r, uintptr_t addr)
{
    return !r->cache || region_offset_of(r, addr) < cache_end(r->cache);
}

bool um_fault_in_thread(uintptr_t addr)
{
    uint64_t started = stat_now_ns();
    struct um_region *r;
    bool served = false;

    um_lock_shared();
    r = region_find(addr);
    if (r && region_in_thread(r) && within_file(r, addr)) {
        struct um_mapping *outer = stat_attribute(r->mapping);
        struct span s;
        served = fill_around(r, addr, &s, false) == 0;
        if (served)
            count_fault(r, started);
        stat_attribute(outer);
    }
    um_unlock();
    return served;
}
