/* SPDX-License-Identifier: MIT */
/*
 * mman_compat.h - mmap flags and protections newer than this machine's
 * headers (Linux 6.1), defined where missing; what the kernel accepts is
 * decided at run time, by the kernel.
 */
#ifndef USERMAP_MMAN_COMPAT_H
#define USERMAP_MMAN_COMPAT_H

#include <sys/mman.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif

/* The bits of flags that give the mapping's type. */
#define MAP_TYPE_BITS 0x0f

#endif
