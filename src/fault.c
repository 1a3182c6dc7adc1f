/*
 * fault.c - what a fault means: find the region, fill the usermap page
 * that holds the address, wake the threads waiting on it.
 */
#include <stdint.h>

#include "cache.h"
#include "engine.h"
#include "lifecycle.h"
#include "pool.h"
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
    /* File pages are aligned in the file, anonymous ones in the region. */
    uint64_t base = r->cache ? region_offset_of(r, addr) : addr - r->start;
    uintptr_t start = addr - (uintptr_t)(base & (page - 1));
    struct span s = { start, start + page };

    if (s.start < r->start)
        s.start = r->start;
    if (s.end > r->end)
        s.end = r->end;
    return s;
}

static int fill(const struct um_region *r, struct span s)
{
    long placed;

    if (r->cache) {
        uint64_t off = region_offset_of(r, s.start);
        int rc = cache_fill(r->cache, off, s.end - s.start, false);
        if (rc >= 0)
            readahead_on_fault(r, off & ~(uint64_t)(r->pool->cfg.page_size - 1));
        return rc < 0 ? rc : 0;
    }
    placed = um_engine->place_zero((void *)s.start, s.end - s.start);
    if (placed > 0)
        stat_add_resident(&r->pool->counters, (uint64_t)placed);
    return placed < 0 ? (int)placed : 0;
}

void um_fault(uintptr_t addr)
{
    uintptr_t sys = um_system_page();
    struct span wake = { addr & ~(sys - 1), (addr & ~(sys - 1)) + sys };
    uint64_t started = stat_now_ns();
    struct um_pool *pool = NULL;
    struct um_region *r;

    um_lock_shared();
    r = region_find(addr);
    if (r) {
        pool = r->pool;
        struct span s = page_around(r, addr);
        /* A page that cannot be read must not leave its thread waiting:
         * make the access fail as the kernel's would, with SIGBUS. */
        if (fill(r, s) < 0)
            um_engine->place_error((void *)wake.start, sys);
        else
            wake = s;
    } else {
        /* Watched memory the table does not know (never the case unless
         * the program unmapped usermap memory behind its back): a wake
         * alone would make the thread fault here forever. */
        um_engine->place_error((void *)wake.start, sys);
    }
    /* Counted under the lock: the region keeps its pool alive. */
    if (pool) {
        stat_add(&pool->counters.faults, 1);
        stat_add_latency(&pool->counters, stat_now_ns() - started);
    }
    um_unlock();
    /* Always wake, even for an address no longer mapped: the thread then
     * retries and meets what is there now (SIGSEGV for an unmapped one). */
    um_engine->wake((void *)wake.start, wake.end - wake.start);
}
