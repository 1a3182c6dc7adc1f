/* SPDX-License-Identifier: MIT */
/*
 * argcheck.h - the argument checks of the public calls, in the kernel's
 * own order (argcheck.c holds the tables).
 *
 * Each function runs its call's table from the top and stops at the first
 * check that fails: -1 with errno and um_error_message() set, as the
 * kernel would have failed the call.  None of them changes anything the
 * caller can see.
 */
#ifndef USERMAP_ARGCHECK_H
#define USERMAP_ARGCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* An um_mmap call, and what its checks learnt about it. */
struct mmap_call {
    void *addr;
    size_t len;
    int prot, flags, fd;
    off_t offset;
    bool anon;                  /* MAP_ANONYMOUS */
    /* Set by the checks of a file mapping: */
    int accmode;                /* O_RDONLY, O_WRONLY or O_RDWR */
    struct stat st;
    bool target_unmapped;       /* the kernel, failing, would have unmapped
                                 * the MAP_FIXED target range first */
};

enum { ARGCHECK_OK = 0, ARGCHECK_KERNEL = 1 };

/*
 * um_mmap: 0 (ARGCHECK_OK) when usermap is to map it; ARGCHECK_KERNEL when
 * the mapping is the kernel's own (not a regular file, huge pages,
 * droppable memory): the caller passes the call on unchanged; -1 with errno.
 */
int argcheck_mmap(struct mmap_call *c);

/* munmap, mprotect, msync, madvise: 0, the page-aligned range in
 * [*start, *end) (empty when the call has nothing to do: it returns 0),
 * or -1 with errno. */
int argcheck_munmap(void *addr, size_t len, uintptr_t *start, uintptr_t *end);
int argcheck_mprotect(void *addr, size_t len, int prot, uintptr_t *start, uintptr_t *end);
int argcheck_msync(void *addr, size_t len, int flags, uintptr_t *start, uintptr_t *end);
int argcheck_madvise(void *addr, size_t len, int advice, uintptr_t *start, uintptr_t *end);

/* An um_mremap call. */
struct mremap_call {
    uintptr_t addr;
    size_t old_len, new_len;
    int flags;
    uintptr_t new_addr;         /* read with MREMAP_FIXED or MREMAP_DONTUNMAP */
};

/* um_mremap: the checks of the arguments alone (EINVAL); what depends on
 * the address space is the kernel's mremap's to say.  0 or -1 with errno. */
int argcheck_mremap(const struct mremap_call *c);

#endif
