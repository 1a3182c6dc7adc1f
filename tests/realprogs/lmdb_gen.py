#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# lmdb_gen.py N: N records in mdb_dump's text format (bytevalue), on
# standard output, for mdb_load.  Keys are "key%09d" (in order), values a
# deterministic pseudo-random length (20 to 300 bytes) of pseudo-random
# printable text, so that the tree has leaves, branches and overflow-free
# pages of varied fill.  Same N, same output, on every machine.
import sys

n = int(sys.argv[1])
out = sys.stdout
out.write("VERSION=3\nformat=bytevalue\ntype=btree\nmapsize=1073741824\n"
          "maxreaders=126\nHEADER=END\n")
x = 2463534242
alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
# A pool of text the values are cut from (cheaper than a byte at a time).
pool = bytes(alphabet[(j * 7919 + (j >> 6) * 104729) % 4099 & 63] for j in range(1 << 16)).hex()
chunks = []
for i in range(n):
    # xorshift32: deterministic, independent of Python's random module
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    length = 20 + x % 281
    start = (x >> 8) % ((1 << 16) - 300)
    chunks.append(" " + (b"key%09d" % i).hex() + "\n " + pool[2 * start:2 * (start + length)] + "\n")
    if len(chunks) >= 10000:
        out.write("".join(chunks))
        chunks = []
out.write("".join(chunks))
out.write("DATA=END\n")
