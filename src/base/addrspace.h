/* SPDX-License-Identifier: MIT */
/*
 * addrspace.h - where the library's own mappings go.
 *
 * The program expects the address space to be its own: an address it just
 * unmapped, or one it names with MAP_FIXED_NOREPLACE, should be free.  So
 * the library's mappings (cache windows, buffers) are carved out of one
 * reservation made when the library starts, not placed by the kernel
 * wherever there is room.
 */
#ifndef USERMAP_ADDRSPACE_H
#define USERMAP_ADDRSPACE_H

#include <stddef.h>
#include <sys/types.h>

/* mmap() for the library's own use: same arguments but the address. */
void *um_private_mmap(size_t len, int prot, int flags, int fd);
void *um_private_mmap_at(size_t len, int prot, int flags, int fd, off_t offset);

/* Undoes um_private_mmap(); the space goes back to the reservation. */
void um_private_munmap(void *addr, size_t len);

#endif
