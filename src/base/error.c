/* SPDX-License-Identifier: MIT */
/*
 * error.c - the thread-local explanation behind um_error_message().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "usermap.h"
#include "error.h"

static __thread char last_message[256];

int um_fail(int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(last_message, sizeof(last_message), fmt, ap);
    va_end(ap);
    errno = err;
    return -1;
}

UM_API const char *um_error_message(void)
{
    return last_message;
}
