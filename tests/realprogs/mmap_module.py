# SPDX-License-Identifier: MIT
# mmap_module.py FILE SIZE: python3's mmap module on FILE, as a program
# would use it; prints what it finds and reads, leaves FILE changed.  Run
# directly and under `usermap run`, the output and FILE must be the same.
# Covers: find/rfind, slices, item and slice writes, move, seek/read/
# write/readline, flush (msync), resize up and down (mremap + ftruncate),
# a read-only and a copy-on-write mapping of the same file, os.pread of
# what was stored through the map and the map's view of an os.pwrite
# (one page cache), and a forked child writing through the shared map.
import hashlib
import mmap
import os
import sys

path, size = sys.argv[1], int(sys.argv[2])

def digest(b):
    return hashlib.sha256(b).hexdigest()[:16]

# The file: numbered 64-byte records, written with write(2), not the map.
with open(path, "wb") as f:
    for i in range(size // 64):
        f.write(b"record %010d " % i + bytes((i * 7 + j) % 26 + 97 for j in range(45)) + b"\n")

with open(path, "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    n = len(m)
    print("len", n, "digest", digest(m[:]))
    for i in (0, 1, 4095, size // 64 - 1, size // 128):
        key = b"record %010d " % i
        print("find", i, m.find(key), m.rfind(key), m.find(key, m.find(key) + 1))
    print("slices", m[:18], m[4090:4110], m[-20:], m[n // 2:n // 2 + 30:3])
    print("bytes", m[0], m[4096], m[n - 1])
    # Stores: a byte, a slice across a page boundary, a move.
    m[10] = ord("X")
    m[4090:4110] = b"<across-a-page-edge>"
    m.move(8192, 0, 100)
    m.seek(n // 3)
    m.write(b"written-with-m.write")
    m.seek(n // 3)
    print("readline", m.readline())
    m.flush()
    # One page cache: the file's reads see the map's stores ...
    print("pread", os.pread(f.fileno(), 20, n // 3), os.pread(f.fileno(), 20, 4090))
    # ... and the map sees the file's writes.
    os.pwrite(f.fileno(), b"PWRITE-SEEN-BY-MAP", 12288 + 5)
    print("map after pwrite", m[12288:12288 + 30])
    # A read-only and a copy-on-write mapping of the same file.
    r = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    c = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    c[0:7] = b"private"
    print("readonly", r[0:18], "copy", c[0:18], "shared", m[0:18])
    try:
        r[0] = 1
    except TypeError as e:
        print("readonly write refused:", e)
    # A forked child stores through the shared map; the parent sees it.
    pid = os.fork()
    if pid == 0:
        m[20000:20011] = b"from-child!"
        os._exit(0)
    os.waitpid(pid, 0)
    print("child store", m[20000:20011], "seen by read-only map", r[20000:20011])
    r.close()
    c.close()
    # Resize: grow (mremap + ftruncate), store at the new end, shrink.
    m.resize(n + 3 * 4096 + 100)
    print("grown", len(m), os.fstat(f.fileno()).st_size, m[n:n + 8])
    m[-10:] = b"grown-end!"
    m.flush()
    print("file end", os.pread(f.fileno(), 10, n + 3 * 4096 + 90))
    m.resize(n - 5000)
    print("shrunk", len(m), os.fstat(f.fileno()).st_size, m[-16:])
    m.flush()
    print("final digest", digest(m[:]))
    m.close()
print("file size", os.path.getsize(path))
