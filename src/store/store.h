/* SPDX-License-Identifier: MIT */
/*
 * store.h - where a cache's pages come from and go back to.
 *
 * A store reads and writes byte ranges at offsets; it knows nothing of
 * pages or mappings.  The file store is the common one; the zero store backs
 * anonymous shared memory.
 */
#ifndef USERMAP_STORE_H
#define USERMAP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct um_store;

struct um_store_ops {
    /*
     * Reads up to len bytes at off into buf.  Returns the number of bytes
     * read (fewer at the end of the data, 0 past it), or -errno.
     */
    ssize_t (*read)(struct um_store *s, void *buf, size_t len, uint64_t off);
    /* Writes all len bytes at off.  Returns 0 or -errno. */
    int (*write)(struct um_store *s, const void *buf, size_t len, uint64_t off);
    /* Makes written data durable.  Returns 0 or -errno. */
    int (*sync)(struct um_store *s);
    /* The store's size now, in bytes (write-back never writes past it:
     * someone may have truncated the file), and a stamp that changes
     * whenever its bytes do (a file's ctime, in ns).  0 or -errno. */
    int (*stat)(struct um_store *s, uint64_t *size, uint64_t *stamp);
    /* Reserves room for [off, off+len) without changing the size, so that
     * a later write of those bytes cannot fail for want of space.  0 or
     * -errno (-ENOSPC, -EDQUOT; -EOPNOTSUPP where the store cannot). */
    int (*reserve)(struct um_store *s, uint64_t off, uint64_t len);
    /* Releases the store and everything it holds. */
    void (*close)(struct um_store *s);
};

struct um_store {
    const struct um_store_ops *ops;
    const char *name;           /* for error messages: a path or "anonymous" */
    /* Writing the last page of the file back clears the bytes past its
     * end in memory, as the kernel does for block filesystems (ext4, xfs;
     * not tmpfs, whose pages are the file). */
    bool clears_past_end;
    /* Write-back may write to it: a file store once a writable mapping
     * gave it a writable descriptor (um_store_file_allow_write). */
    bool writable;
};

/*
 * A store over an open regular file.  Duplicates fd, so the store outlives
 * the caller's close(fd).  Returns NULL with errno set on failure.
 */
struct um_store *um_store_file_open(int fd);

/*
 * A store over fd itself, for the length of one file call: nothing is
 * duplicated (a duplicate would have to stay open, lest its close drop
 * the program's record locks), and closing the store leaves fd alone.
 * um_store_file_keep() turns it into one that duplicates fd after all
 * (a mapping took the cache up).  NULL with errno on failure.
 */
struct um_store *um_store_file_borrow(int fd);
int um_store_file_keep(struct um_store *s, int fd);

/*
 * Lets a file store write: duplicates fd, which must be open for writing.
 * Returns 0 or -errno.
 */
int um_store_file_allow_write(struct um_store *s, int fd);

struct stat;

/* Closes a descriptor usermap opened on a file, or keeps it open while
 * the program may hold fcntl(2) record locks on the file, which closing
 * it would drop: until um_store_close_parked() for the file. */
void um_store_close_fd(int fd);
/* The program closed a descriptor of the file st describes: usermap's
 * kept ones go too (the locks went with the program's close). */
void um_store_close_parked(const struct stat *st);
bool um_store_any_parked(void);

/* The stamp a file store's stat() gives for a file fstat described. */
uint64_t um_store_stamp(const struct stat *st);

/* The store of anonymous memory: reads zeros, accepts no writes. */
struct um_store *um_store_zero(void);

#endif
