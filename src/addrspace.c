/*
 * addrspace.c - see addrspace.h.
 */
#include <stdint.h>
#include <sys/mman.h>

#include "addrspace.h"

/* 16 TiB up: far below the mmap base of a 47-bit address space (near
 * 128 TiB) and far above any heap. */
#define LIBRARY_AREA_START ((uintptr_t)1 << 44)
#define LIBRARY_AREA_END ((uintptr_t)1 << 46)
#define ALIGN ((uintptr_t)1 << 21)

static uintptr_t cursor = LIBRARY_AREA_START;

void *um_private_mmap(size_t len, int prot, int flags, int fd)
{
    uintptr_t span = ((uintptr_t)len + ALIGN - 1) & ~(ALIGN - 1);
    uintptr_t hint = __atomic_fetch_add(&cursor, span, __ATOMIC_RELAXED);

    if (hint + span > LIBRARY_AREA_END || hint + span < hint)
        hint = 0;
    return mmap((void *)hint, len, prot, flags, fd, 0);
}
