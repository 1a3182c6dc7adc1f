/* SPDX-License-Identifier: MIT */
/*
 * usermap_redirect.h - build an existing mmap program against usermap
 * unchanged:  cc -include usermap_redirect.h prog.c -lusermap
 *
 * <sys/mman.h> is included first so that its prototypes keep their own
 * names; every later use of mmap, munmap, msync, mprotect, madvise, mremap
 * and ftruncate in the program then calls the usermap function of the same
 * contract.
 */
#ifndef USERMAP_REDIRECT_H
#define USERMAP_REDIRECT_H

#include <sys/mman.h>
#include <unistd.h>
#include <usermap.h>

#define mmap um_mmap
#define munmap um_munmap
#define msync um_msync
#define mprotect um_mprotect
#define madvise um_madvise
#define mremap um_mremap
#define ftruncate um_ftruncate

#endif /* USERMAP_REDIRECT_H */
