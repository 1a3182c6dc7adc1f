/* SPDX-License-Identifier: MIT */
/*
 * error.h - errno plus a sentence: how every usermap call reports failure.
 */
#ifndef USERMAP_ERROR_H
#define USERMAP_ERROR_H

/*
 * Sets errno to err and this thread's um_error_message() to the formatted
 * sentence.  Returns -1 so that callers can write "return um_fail(...)".
 */
int um_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
