#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/realprogs.sh [BUILD] - unmodified Debian programs, directly (the
# kernel's mmap) and under `usermap run` (libusermap-preload.so), in the
# same run, each timing the median of RUNS runs (issue 9, point 7;
# docs/PERFORMANCE.md).  Hot page cache: each command runs once untimed
# first, then the sides alternate run by run.
#   sqlite full scan       SELECT count(*), sum(k), sum(length(v)) FROM t
#   sqlite point lookups   200,000 lookups by primary key, one statement
#                          (both on a ~SQLITE_MB database, mmap_size=1G)
#   mdb_dump               of LMDB_RECORDS records (tests/realprogs)
#   git log -p             of a GIT_COMMITS-commit packed repository
# A third column runs usermap with --memory-limit LIMIT (default: a
# quarter of the data).  Environment: RUNS (5), SQLITE_MB (300),
# LMDB_RECORDS (300000), GIT_COMMITS (10000), BENCH_DIR (a temporary
# directory, removed at the end unless KEEP=1), PAGE_SIZE (usermap's,
# default the system's).  Every command has a watchdog (timeout 600).
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
tool=$(cd "$build/tools" && pwd)/usermap
[ -x "$tool" ] || { echo "no $tool: build first (cmake --build $build)"; exit 2; }
tests=$here/../tests/realprogs
runs=${RUNS:-5} sqlite_mb=${SQLITE_MB:-300} records=${LMDB_RECORDS:-300000}
commits=${GIT_COMMITS:-10000}
dir=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/usermap-realprogs.XXXXXX")}
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"
cd "$dir" || exit 2
page=${PAGE_SIZE:+--page-size $PAGE_SIZE}
w() { timeout -k 5 600 "$@"; }

echo "preparing in $dir: sqlite $sqlite_mb MB, lmdb $records records, git $commits commits"
rows=$(( sqlite_mb * 4870 ))
if [ ! -f db.sqlite ]; then
    sh "$tests/sqlite_gen.sh" grow $rows 4 | w sqlite3 db.sqlite >/dev/null || exit 1
fi
if [ ! -f lmdb/data.mdb ]; then
    mkdir -p lmdb
    w /usr/bin/python3 "$tests/lmdb_gen.py" "$records" | w mdb_load lmdb || exit 1
fi
export GIT_CONFIG_NOSYSTEM=1 HOME=$dir/git/.home LC_ALL=C TZ=UTC
[ -d git/repo ] || w sh "$tests/git_gen.sh" "$dir/git" "$commits" || exit 1
ls -l db.sqlite lmdb/data.mdb git/repo/.git/objects/pack/*.pack | awk '{ print "  " $5, $9 }'

mmap="PRAGMA mmap_size=1073741824;"
scan="$mmap SELECT count(*), sum(k), sum(length(v)) FROM t;"
lookups="$mmap WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) SELECT count(*), sum(t.k) FROM n JOIN t ON t.id = (n.i * 7919) % $rows + 1;"

now() { date +%s%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# measure NAME LIMIT CMD...: kernel, usermap and usermap with LIMIT, RUNS
# times each, alternating; prints the medians and the ratios.  The outputs
# of the three must be the same (checked on every run).
measure() {
    name=$1 lim=$2; shift 2
    w "$@" >ref.out 2>&1 || { echo "$name: the command failed: $(head -3 ref.out)"; exit 1; }
    # shellcheck disable=SC2086  # $page is an option and its value
    w "$tool" run $page -- "$@" >/dev/null 2>&1
    : >k.times; : >u.times; : >l.times
    i=0
    while [ $i -lt "$runs" ]; do
        for side in k u l; do
            t0=$(now)
            # shellcheck disable=SC2086  # $page is an option and its value
            case $side in
            k) w "$@" >run.out 2>&1 ;;
            u) w "$tool" run $page --stats=stats.$side -- "$@" >run.out 2>&1 ;;
            l) w "$tool" run $page --memory-limit "$lim" --stats=stats.$side -- "$@" >run.out 2>&1 ;;
            esac
            t1=$(now)
            echo $(( (t1 - t0) / 1000 )) >>$side.times
            cmp -s ref.out run.out || { echo "$name: $side's output differs from the kernel's"; exit 1; }
        done
        i=$(( i + 1 ))
    done
    filled=$(awk '/pages filled/ { n += $3 } END { print n + 0 }' stats.u)
    [ "$filled" -gt 0 ] || { echo "$name: usermap filled no page: not served by usermap?"; exit 1; }
    rm -f stats.u stats.l
    k=$(median <k.times) u=$(median <u.times) l=$(median <l.times)
    awk -v n="$name" -v k="$k" -v u="$u" -v l="$l" -v lim="$lim" 'BEGIN {
        printf "  %-22s %9.3f s %9.3f s %6.2fx %9.3f s %6.2fx  (limit %s)\n",
            n, k / 1e6, u / 1e6, u / k, l / 1e6, l / k, lim }'
}

echo "medians of $runs runs, hot page cache${PAGE_SIZE:+, usermap page $PAGE_SIZE}"
echo "  workload                  kernel      usermap  ratio     limited  ratio"
# A quarter of each program's data, in KiB (never 0: that is no limit).
quarter() { echo $(( $(cat "$@" | wc -c) / 4096 + 1 ))K; }
measure "sqlite full scan" "$(quarter db.sqlite)" sqlite3 db.sqlite "$scan"
measure "sqlite 200k lookups" "$(quarter db.sqlite)" sqlite3 db.sqlite "$lookups"
measure "mdb_dump" "$(quarter lmdb/data.mdb)" mdb_dump lmdb
lim=$(quarter git/repo/.git/objects/pack/*.pack)
cd git/repo || exit 2
measure "git log -p" "$lim" git log -p
