/* SPDX-License-Identifier: MIT */
/*
 * version.c - um_version(): the version of the library the program runs
 * with, which may be newer than the header it was built with.
 */
#include "usermap.h"

#ifndef USERMAP_VERSION_STRING
#error "the build defines USERMAP_VERSION_STRING (CMakeLists.txt)"
#endif

UM_API const char *um_version(void)
{
    return USERMAP_VERSION_STRING;
}
