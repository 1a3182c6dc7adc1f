/* SPDX-License-Identifier: MIT */
/*
 * pool.c - pool configuration: defaults, validation, the environment.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "error.h"
#include "lifecycle.h"
#include "pool.h"
#include "size.h"

#define MIN_PAGE_SIZE 4096u
#define MAX_PAGE_SIZE (2u << 20)
#define DEFAULT_READAHEAD (1u << 20)
#define MAX_FILL_THREADS 64u

UM_API void um_pool_config_init(um_pool_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->page_size = um_system_page();
    cfg->policy = UM_POLICY_CLOCK;
    cfg->readahead = DEFAULT_READAHEAD;
    cfg->fill_threads = 1;
}

static bool power_of_two(size_t x)
{
    return x && !(x & (x - 1));
}

/* Checks cfg and fills in what 0 leaves to the defaults.  0 or -1. */
static int resolve_config(um_pool_config *cfg)
{
    if (cfg->page_size == 0)
        cfg->page_size = um_system_page();
    if (!power_of_two(cfg->page_size) || cfg->page_size < um_system_page() ||
        cfg->page_size < MIN_PAGE_SIZE || cfg->page_size > MAX_PAGE_SIZE)
        return um_fail(EINVAL, "page size %zu is not a power of two from %u to %u bytes",
                       cfg->page_size, MIN_PAGE_SIZE, MAX_PAGE_SIZE);
    if (cfg->memory_limit && cfg->memory_limit < 2 * cfg->page_size)
        return um_fail(EINVAL, "memory limit %llu is below two pages of %zu bytes",
                       (unsigned long long)cfg->memory_limit, cfg->page_size);
    if (cfg->policy != UM_POLICY_CLOCK && cfg->policy != UM_POLICY_FIFO &&
        cfg->policy != UM_POLICY_LRU)
        return um_fail(EINVAL, "policy %d is none of UM_POLICY_CLOCK, UM_POLICY_FIFO, "
                       "UM_POLICY_LRU", (int)cfg->policy);
    if (cfg->fill_threads == 0)
        cfg->fill_threads = 1;
    if (cfg->fill_threads > MAX_FILL_THREADS)
        return um_fail(EINVAL, "%u fill threads is more than the %u allowed",
                       cfg->fill_threads, MAX_FILL_THREADS);
    if (cfg->fault_mode != UM_FAULTS_HANDLER && cfg->fault_mode != UM_FAULTS_IN_THREAD)
        return um_fail(EINVAL, "fault mode %d is neither UM_FAULTS_HANDLER nor "
                       "UM_FAULTS_IN_THREAD", (int)cfg->fault_mode);
    return 0;
}

static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;
static struct um_pool *pools;

static struct um_pool *new_pool(const um_pool_config *cfg)
{
    struct um_pool *pool;
    um_pool_config resolved;

    if (cfg)
        resolved = *cfg;
    else
        um_pool_config_init(&resolved);
    if (resolve_config(&resolved) < 0)
        return NULL;
    pool = calloc(1, sizeof(*pool));
    if (!pool) {
        um_fail(ENOMEM, "out of memory for a pool");
        return NULL;
    }
    pool->cfg = resolved;
    if (frames_init(&pool->frames, resolved.memory_limit, resolved.page_size) < 0) {
        free(pool);
        um_fail(ENOMEM, "out of memory for the frames of a %llu-byte budget",
                (unsigned long long)resolved.memory_limit);
        return NULL;
    }
    prefetch_init(&pool->prefetch);
    pthread_mutex_lock(&pools_lock);
    pool->next = pools;
    pools = pool;
    pthread_mutex_unlock(&pools_lock);
    return pool;
}

void pool_reset_all_in_child(void)
{
    pthread_mutex_init(&pools_lock, NULL);
    for (struct um_pool *p = pools; p; p = p->next)
        prefetch_reset_in_child(p);
}

static void unlink_pool(struct um_pool *pool)
{
    pthread_mutex_lock(&pools_lock);
    for (struct um_pool **p = &pools; *p; p = &(*p)->next) {
        if (*p == pool) {
            *p = pool->next;
            break;
        }
    }
    pthread_mutex_unlock(&pools_lock);
}

static int env_size(const char *name, uint64_t *out)
{
    const char *v = getenv(name);

    if (!v || !*v)
        return 0;
    if (size_parse(v, out) < 0)
        return um_fail(EINVAL, "%s=\"%s\" is not a size (a number, optionally with K, M, G or T)",
                       name, v);
    return 0;
}

/* A variable naming one of n choices; *out is the index of the match. */
static int env_choice(const char *name, const char *const *names, unsigned n,
                      const char *listed, int *out)
{
    const char *v = getenv(name);

    if (!v || !*v)
        return 0;
    for (unsigned i = 0; i < n; i++) {
        if (strcasecmp(v, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    return um_fail(EINVAL, "%s=\"%s\" is none of %s", name, v, listed);
}

static int env_policy(enum um_policy *out)
{
    static const char *const names[] = { "clock", "fifo", "lru" };
    int i = (int)*out;
    int rc = env_choice("USERMAP_POLICY", names, 3, "clock, fifo, lru", &i);

    *out = (enum um_policy)i;
    return rc;
}

static int env_fault_mode(enum um_fault_mode *out)
{
    static const char *const names[] = { "handler", "in-thread" };
    int i = (int)*out;
    int rc = env_choice("USERMAP_FAULT_MODE", names, 2, "handler, in-thread", &i);

    *out = (enum um_fault_mode)i;
    return rc;
}

/* The default pool's configuration: defaults, overridden by the
 * environment; a bad variable is an error named in the message. */
static int config_from_env(um_pool_config *cfg)
{
    uint64_t page = cfg->page_size, limit = 0, readahead = cfg->readahead;
    uint64_t threads = cfg->fill_threads;

    if (env_size("USERMAP_PAGE_SIZE", &page) < 0 ||
        env_size("USERMAP_MEMORY_LIMIT", &limit) < 0 ||
        env_size("USERMAP_READAHEAD", &readahead) < 0 ||
        env_size("USERMAP_FILL_THREADS", &threads) < 0 || env_policy(&cfg->policy) < 0 ||
        env_fault_mode(&cfg->fault_mode) < 0)
        return -1;
    /* In the struct 0 means "the default"; in the environment, leaving the
     * variable unset does, and an explicit 0 page or 0 threads is a mistake. */
    if (page == 0)
        return um_fail(EINVAL, "USERMAP_PAGE_SIZE=0: a page size is 4K to 2M, a power of two");
    if (threads == 0 || threads > MAX_FILL_THREADS)
        return um_fail(EINVAL, "USERMAP_FILL_THREADS=%llu: from 1 to %u threads",
                       (unsigned long long)threads, MAX_FILL_THREADS);
    cfg->page_size = (size_t)page;
    cfg->memory_limit = limit;
    cfg->readahead = (size_t)readahead;
    cfg->fill_threads = (unsigned)threads;
    return 0;
}

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static struct um_pool *default_pool;

/* Made on first use; until the environment is right, every call fails
 * with the message that says which variable is wrong. */
struct um_pool *pool_default(void)
{
    struct um_pool *pool = __atomic_load_n(&default_pool, __ATOMIC_ACQUIRE);
    um_pool_config cfg;
    char why[200];

    if (pool)
        return pool;
    pthread_mutex_lock(&default_lock);
    pool = default_pool;
    if (!pool) {
        um_pool_config_init(&cfg);
        if (config_from_env(&cfg) == 0) {
            pool = new_pool(&cfg);
            if (!pool) {
                snprintf(why, sizeof(why), "%s", um_error_message());
                um_fail(EINVAL, "the USERMAP_* environment gives an invalid default pool: %s",
                        why);
            }
        }
        if (pool) {
            pool->is_default = true;
            __atomic_store_n(&default_pool, pool, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&default_lock);
    return pool;
}

struct um_pool *pool_or_default(struct um_pool *pool)
{
    return pool ? pool : pool_default();
}

UM_API um_pool *um_pool_create(const um_pool_config *cfg)
{
    return new_pool(cfg);
}

UM_API int um_pool_destroy(um_pool *pool)
{
    if (!pool)
        return um_fail(EINVAL, "um_pool_destroy: the pool is NULL");
    if (pool->is_default)
        return um_fail(EINVAL, "um_pool_destroy: the default pool lives as long as the process");
    if (__atomic_load_n(&pool->counters.mappings, __ATOMIC_RELAXED))
        return um_fail(EBUSY, "um_pool_destroy: %llu mappings still use the pool",
                       (unsigned long long)pool->counters.mappings);
    prefetch_stop(pool);
    frames_destroy(&pool->frames);
    unlink_pool(pool);
    free(pool);
    return 0;
}
