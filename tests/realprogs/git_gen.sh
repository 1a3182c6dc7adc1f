#!/bin/sh
# SPDX-License-Identifier: MIT
# git_gen.sh DIR COMMITS: a git repository in DIR with COMMITS commits
# (files added, edited and removed, in a few directories, one branch
# merged), fixed authors and dates so that every object id is the same on
# every machine, then `git gc` so that the objects are in a pack (git maps
# pack files and their indexes).  Uses git fast-import: one process, fast.
set -eu
dir=$1 commits=$2
export GIT_CONFIG_NOSYSTEM=1 HOME=$dir/.home LC_ALL=C TZ=UTC
mkdir -p "$dir/.home"
git init -q -b main "$dir/repo"
/usr/bin/python3 - "$commits" <<'PY' | git -C "$dir/repo" fast-import --quiet
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
x = 88172645463325252
def rnd():
    global x
    x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 7
    x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
    return x
words = [b"alpha", b"beta", b"gamma", b"delta", b"map", b"page", b"fault",
         b"cache", b"evict", b"write", b"back", b"mremap", b"sqlite", b"lmdb"]
files = {}
mark = 0
for i in range(n):
    path = b"dir%d/file%03d.txt" % (rnd() % 7, rnd() % 60)
    lines = files.get(path, [])
    # Edit a few lines, append some: diffs of a few hunks.
    for _ in range(rnd() % 4):
        if lines:
            lines[rnd() % len(lines)] = b" ".join(words[rnd() % len(words)] for _ in range(6))
    for _ in range(1 + rnd() % 30):
        lines.append(b"%d %s" % (i, b" ".join(words[rnd() % len(words)] for _ in range(8))))
    files[path] = lines
    data = b"\n".join(lines) + b"\n"
    msg = b"commit %d: edit %s\n" % (i, path)
    when = 1700000000 + i * 3600
    out.write(b"commit refs/heads/main\n")
    out.write(b"committer Real Progs <real@progs.example> %d +0000\n" % when)
    out.write(b"data %d\n%s" % (len(msg), msg))
    out.write(b"M 100644 inline %s\ndata %d\n%s\n" % (path, len(data), data))
    if i % 50 == 49:
        victim = sorted(files)[rnd() % len(files)]
        del files[victim]
        out.write(b"D %s\n" % victim)
    out.write(b"\n")
PY
git -C "$dir/repo" checkout -q main
git -C "$dir/repo" gc -q --aggressive
