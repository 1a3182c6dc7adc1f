/* SPDX-License-Identifier: MIT */
/*
 * thread.c - see thread.h.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addrspace.h"
#include "thread.h"

/* Fault handlers and fill threads call no deep code; sanitizers need room. */
#define STACK_SIZE ((size_t)1 << 20)

void (*um_thread_hook)(void);

struct start {
    void *(*fn)(void *);
    void *arg;
    sem_t running;
};

static void *trampoline(void *p)
{
    struct start *s = p;
    void *(*fn)(void *) = s->fn;
    void *arg = s->arg;

    if (um_thread_hook)
        um_thread_hook();
    sem_post(&s->running);      /* s lives on the starter's stack: done with it */
    return fn(arg);
}

/* A stack with a guard page below it. */
static int make_stack(struct um_thread *t, pthread_attr_t *attr)
{
    size_t guard = (size_t)sysconf(_SC_PAGESIZE);

    t->stack_len = STACK_SIZE + guard;
    t->stack = um_private_mmap(t->stack_len, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1);
    if (t->stack == MAP_FAILED)
        return errno;
    mprotect(t->stack, guard, PROT_NONE);
    return pthread_attr_setstack(attr, (char *)t->stack + guard, STACK_SIZE);
}

int um_thread_start(struct um_thread *t, void *(*fn)(void *), void *arg)
{
    struct start s = { .fn = fn, .arg = arg };
    pthread_attr_t attr;
    sigset_t all, old;
    int err;

    pthread_attr_init(&attr);
    err = make_stack(t, &attr);
    if (!err) {
        sem_init(&s.running, 0, 0);
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        err = pthread_create(&t->id, &attr, trampoline, &s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        while (!err && sem_wait(&s.running) < 0 && errno == EINTR)
            ;
        sem_destroy(&s.running);
    }
    pthread_attr_destroy(&attr);
    if (err && t->stack != MAP_FAILED)
        um_private_munmap(t->stack, t->stack_len);
    return err;
}

void um_thread_join(struct um_thread *t)
{
    pthread_join(t->id, NULL);
    um_private_munmap(t->stack, t->stack_len);
}
