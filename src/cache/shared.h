/* SPDX-License-Identifier: MIT */
/*
 * shared.h - the named objects that make one file's page cache shared by
 * every usermap process of a user that maps the file.
 *
 * In the cache directory ($USERMAP_CACHE_DIR, by default
 * /dev/shm/usermap-UID: mode 0700, owned by the user, not a link) each
 * file mapped has two objects, named after its device and inode:
 *
 *   DEV-INO.pages   the pages, which every process's mappings map;
 *   DEV-INO.state   a header (the file's identity, its size and stamp,
 *                   who is attached), then the dirty map (dirty.h).
 *
 * Coordination uses open-file-description locks on bytes of the state
 * object, which the kernel drops when their holder dies, so that a
 * process killed in any state leaves no lock held:
 *
 *   SHARED_LOCK_GATE        attach and leave, one process at a time;
 *   SHARED_LOCK_WRITEBACK   one write-back of the file at a time;
 *   SHARED_LOCK_SLOT + i    held by the process attached in slot i;
 *   SHARED_LOCK_PAGES + off a fill holds its pages exclusively (the
 *                           others wait, then find them present), an
 *                           eviction tries to, and a first write holds
 *                           its page shared while it lets the write in.
 *
 * The locks of one process are one owner: threads of a process keep out
 * of each other's way with claims (claims.h) before they take a lock.
 */
#ifndef USERMAP_SHARED_H
#define USERMAP_SHARED_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define SHARED_SLOTS 256
#define SHARED_MAGIC 0x75736d6170636163ULL   /* "usmapcac" */
#define SHARED_VERSION 3

/* Where the dirty map starts in the state object; the enabler map
 * follows it: for each system page of the first SHARED_ENABLER_BYTES of
 * the file, one bit per slot, set while that process may write the page
 * without a fault (32 bytes a page, taken only for pages written). */
#define SHARED_DIRTY_OFFSET ((uint64_t)64 << 10)
#define SHARED_ENABLER_BYTES ((uint64_t)16 << 30)
#define SHARED_MASK_WORDS (SHARED_SLOTS / 64)

#define SHARED_LOCK_GATE 0
#define SHARED_LOCK_WRITEBACK 1
#define SHARED_LOCK_SLOT 64
#define SHARED_LOCK_PAGES ((off_t)1 << 40)

/* The state object's header.  Fields other processes change are read and
 * written with atomics. */
struct shared_header {
    uint64_t magic;
    uint32_t version;
    uint32_t header_size;
    uint64_t dev, ino;          /* the file's identity ... */
    uint64_t birth_ns;          /* ... its birth time (0: unknown) */
    uint64_t generation;        /* ... and inode generation (0: unknown) */
    uint64_t stamp;             /* the file's stamp when the cache last agreed */
    uint32_t wb_active;         /* a write-back holds pages in writeback */
    uint32_t pad;
    uint8_t writing[SHARED_SLOTS];  /* slot i may write pages without a fault */
    int32_t pid[SHARED_SLOTS];      /* who holds slot i (for listings) */
    /* The pages [named_lo, named_hi) hold every enabler bit slot i set:
     * what the slot's next owner clears. */
    uint64_t named_lo[SHARED_SLOTS], named_hi[SHARED_SLOTS];
    /* Work slot i does without page locks while it is alone (fills,
     * evictions, file I/O: shared_lone_begin); a newcomer waits for it
     * to end. */
    uint16_t lone_work[SHARED_SLOTS];
    char path[4096];                /* the file, as its first mapper named it */
};

struct um_shared {
    int dir_fd;
    int state_fd;               /* this process's own open description */
    int pages_fd;
    int slot;
    int child_fd, child_slot;   /* fork: the child's slot, taken before */
    struct shared_header *hdr;
    uint64_t *enabler;          /* mapped enabler map (NULL: none) */
    uint64_t enabler_pages;
    unsigned page_shift;
    char name[64];              /* DEV-INO */
    dev_t state_dev;            /* the state object, to unlink only it */
    ino_t state_ino;
};

/* The cache directory, made (if create) and checked: a descriptor
 * (close-on-exec), or -1 with errno and a message naming the path
 * (ENOENT when it does not exist and create is false). */
int shared_open_dir(char *path, size_t path_len, bool create);

/*
 * Attaches this process to the shared cache of the file open at fd (st
 * its fstat), creating the objects if none exist and replacing objects
 * of a deleted file that had the same device and inode.  *alone says no
 * other live process is attached (a dead one's dirty pages are then the
 * caller's to write back).  0, or -1 with errno and a message.
 */
int shared_attach(struct um_shared *s, int fd, const struct stat *st, bool *alone);

/* Whether some process keeps a shared cache of the file st describes
 * (its objects exist; one system call). */
bool shared_exists(const struct stat *st);

/* The objects' name for the file st describes: DEV-INO. */
void shared_name_of(const struct stat *st, char *name, size_t len);

/*
 * fork.  The child is one more process on the same cache, with a lock
 * description and a slot of its own, attached from its first instant (a
 * parent that leaves at once must not find it missing and remove the
 * objects): before fork the parent takes the child's slot through a new
 * description, which the child inherits and adopts, and the parent then
 * closes.  Where that failed, the child takes a slot itself
 * (shared_attach_child).  0 or -1 with errno.
 */
int shared_before_fork(struct um_shared *s);
int shared_after_fork(struct um_shared *s, bool in_child);
int shared_attach_child(struct um_shared *s);

/*
 * Detaches: the slot goes.  If no other live process is attached and
 * clean (if given) says nothing unsaved is left, the objects are removed.
 * The header and the pages stay mapped and open (the process's mappings
 * may still use them) until shared_forget(); locks are no longer taken.
 */
void shared_leave(struct um_shared *s, bool (*clean)(void *arg), void *arg);

/* Leaves if not done yet, then unmaps the header and closes what is
 * still open (the pages descriptor, unless its owner took it). */
void shared_forget(struct um_shared *s);


/* Raises or lowers this process's writing flag. */
void shared_set_writing(struct um_shared *s, bool on);

/*
 * Which process may write which page without a fault.  A first write let
 * into [off, off+len) sets this process's bit in the pages' enabler
 * words; protecting them again clears it.  A write-back
 * keeps a page dirty only if another live process with its writing flag
 * up may still write it (shared_keeps).
 */
void shared_note_enabled(struct um_shared *s, uint64_t off, uint64_t len);
void shared_note_protected(struct um_shared *s, uint64_t off, uint64_t len);

/* The other live processes with their writing flag up, taken once per
 * write-back, after its pages were taken. */
struct shared_writers {
    bool any;
    uint64_t mask[SHARED_MASK_WORDS];
};
void shared_writers_now(const struct um_shared *s, struct shared_writers *w);

/* Whether the written-back page at off must stay dirty. */
bool shared_keeps(const struct um_shared *s, const struct shared_writers *w, uint64_t off);

/* Whether another live process is attached. */
bool shared_others_attached(const struct um_shared *s);

/* Whether a slot still names a process that died attached (its dirty
 * pages are for someone to recover). */
bool shared_others_died(const struct um_shared *s);

/* Whether another process may be attached, from the header alone (no
 * system call): a slot other than ours names a process, live or not. */
bool shared_maybe_others(const struct um_shared *s);

/* Page locks on the cache bytes [off, off+len).  exclusive or shared;
 * wait: block until granted.  true if held. */
bool shared_lock_pages(const struct um_shared *s, uint64_t off, uint64_t len, bool exclusive,
                       bool wait);
void shared_unlock_pages(const struct um_shared *s, uint64_t off, uint64_t len);

/*
 * Work on pages (a fill, an eviction, file I/O) that no other process can
 * meet: true when this process is alone on the cache, and then a process
 * that attaches meanwhile waits until shared_lone_end() before it touches
 * a page, so the work needs no page lock (two system calls).  False: take
 * the page lock.  The pair is Dekker's: we raise our count, then look for
 * others; a newcomer shows its pid, then looks at our count.
 */
bool shared_lone_begin(struct um_shared *s);
void shared_lone_end(struct um_shared *s);

/* Holds the file's write-back lock.  Returns true when the previous
 * holder died in the middle of a write-back: its pages in writeback
 * must become dirty again. */
bool shared_writeback_begin(struct um_shared *s);
void shared_writeback_end(struct um_shared *s);

/* Objects by name, for listing and recovery (shared_recover.c). */
int shared_slot_live(int state_fd, int slot);
bool shared_header_valid(const struct shared_header *h);
bool shared_lock_byte(int fd, off_t at, bool exclusive, bool wait);
void shared_unlock_byte(int fd, off_t at);

/* The state object's length: header, then the dirty map. */
uint64_t shared_state_length(void);

/* Opens the object name.suffix in the directory (making it first if
 * create): never through a link, and only if it is the user's own,
 * mode 0600.  A descriptor, or -1 with errno and a message. */
int shared_open_object(int dir_fd, const char *name, const char *suffix, bool create);

/* The identity of the file open at fd (st its fstat) in a zeroed
 * header: dev, ino, birth time and generation where known. */
void shared_identify(int fd, const struct stat *st, struct shared_header *id);

/* Whether header h is valid and describes the file whose identity is id. */
bool shared_same_file(const struct shared_header *h, const struct shared_header *id);

/* Whether name.suffix in the directory is still the object open at fd
 * (a leaving process may have removed it since it was opened). */
bool shared_still_named(int dir_fd, const char *name, const char *suffix, int fd);

/* Unlinks name.pages and name.state (under the gate). */
void shared_remove_objects(int dir_fd, const char *name);

#endif
