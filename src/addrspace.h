/*
 * addrspace.h - where the library's own mappings go.
 *
 * The program expects the address space to be its own: an address it just
 * unmapped, or one it probes with MAP_FIXED_NOREPLACE, should be free.  So
 * the library's mappings (cache windows, buffers) are placed by hint in an
 * area programs do not normally use, well below the kernel's mmap base.
 */
#ifndef USERMAP_ADDRSPACE_H
#define USERMAP_ADDRSPACE_H

#include <stddef.h>

/* mmap() for the library's own use: same arguments but the address, which
 * is chosen in the library's area (the kernel may still place it
 * elsewhere if that is taken). */
void *um_private_mmap(size_t len, int prot, int flags, int fd);

#endif
