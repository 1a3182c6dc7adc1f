/* SPDX-License-Identifier: MIT */
/*
 * sigbus.c - the SIGBUS handler of in-thread pools, and of pages that
 * could not be read.
 *
 * A missing page of an in-thread mapping raises SIGBUS in the thread that
 * touched it (UFFD_FEATURE_SIGBUS).  The handler fills the page and
 * returns, and the access runs again and finds it.  Every other SIGBUS
 * (past the end of a file, a failed read) goes to whatever handled SIGBUS
 * before usermap; if that was the default action, the handler restores it
 * and returns, so that the access faults again and the kernel delivers the
 * signal itself, with its own si_code and si_addr.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "engine.h"
#include "error.h"

static struct sigaction previous;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

static void pass_on(int sig, siginfo_t *info, void *context)
{
    if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction) {
        previous.sa_sigaction(sig, info, context);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
    } else {
        /* A fault's SIGBUS cannot be ignored: the kernel would kill. */
        signal(sig, SIG_DFL);
    }
}

static void on_sigbus(int sig, siginfo_t *info, void *context)
{
    int saved = errno;

    if (info->si_code == BUS_ADRERR && um_fault_in_thread((uintptr_t)info->si_addr)) {
        errno = saved;
        return;
    }
    /* A page usermap could not read is marked poisoned, so that the access
     * fails; the mark goes now, so that the next access reads again, as
     * the kernel's does after an I/O error, and the program sees the
     * kernel's si_code for a failed read. */
    if ((info->si_code == BUS_ADRERR || info->si_code == BUS_MCEERR_AR) &&
        um_fault_forget_error((uintptr_t)info->si_addr))
        info->si_code = BUS_ADRERR;
    pass_on(sig, info, context);
    errno = saved;
}

/* Installs on_sigbus unless it is the handler now.  A program may have
 * replaced it since (and put it back, or not): what it installed becomes
 * the handler to pass signals on to. */
int um_engine_catch_sigbus(void)
{
    struct sigaction sa, now;
    int rc = 0;

    pthread_mutex_lock(&install_lock);
    if (sigaction(SIGBUS, NULL, &now) == 0 && (now.sa_flags & SA_SIGINFO) &&
        now.sa_sigaction == on_sigbus) {
        pthread_mutex_unlock(&install_lock);
        return 0;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &previous) < 0)
        rc = um_fail(errno, "cannot install usermap's SIGBUS handler: %s", strerror(errno));
    pthread_mutex_unlock(&install_lock);
    return rc;
}
