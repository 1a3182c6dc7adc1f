#!/bin/sh
# SPDX-License-Identifier: MIT
# realprogs.sh TOOL CASE SIDE DIR [BUILT] - an unmodified Debian program against
# the kernel (issue 9, point 6).  CASE is lmdb, sqlite, sqlite_wal, python
# or git; SIDE is
#   kernel   runs CASE directly in DIR/kernel (the ctest fixture the
#            others need: inputs generated once, the kernel's outputs kept)
#   usermap  runs CASE under `usermap run --stats=FILE` in DIR/usermap
#   limit    the same with --memory-limit smaller than the program's data
#   redirect, redirect_limit
#            the same program built from Debian's source with
#            usermap_redirect.h (fromsource.sh, in BUILT/bin), run with
#            no interposer, the default pool unlimited or limited
#            (USERMAP_MEMORY_LIMIT); skipped when the build was (the reason
#            fromsource.sh left)
# and a usermap side compares its outputs (stdout and stderr of every
# program run) and the files it leaves with the kernel side's, byte for
# byte, or a canonical dump where a file legitimately differs from run to
# run (said where).  It also checks that usermap really served the
# program's mappings: the pages filled, from --stats, are not 0, and under
# the limit pages were evicted and no process held more than the limit.
# Every program runs under a watchdog.
#
# Sizes (the ctest defaults keep the suite within ~3 minutes on 2 cores):
#   REALPROGS_LMDB_RECORDS  (300000)   REALPROGS_SQLITE_MB  (50)
#   REALPROGS_GIT_COMMITS   (2000)     REALPROGS_PYTHON_MB  (4)
set -u
tool=$1 case=$2 side=$3 dir=$4 built=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3            # Debian's, whatever PATH says
records=${REALPROGS_LMDB_RECORDS:-300000}
sqlite_mb=${REALPROGS_SQLITE_MB:-50}
commits=${REALPROGS_GIT_COMMITS:-2000}
python_mb=${REALPROGS_PYTHON_MB:-4}
failed=0
bad() { failed=1; echo "FAIL: $case/$side: $*"; }
limit() { timeout -k 5 "${REALPROGS_TIMEOUT:-150}" "$@"; }

# The memory limit of the limit side: a quarter or less of the data.
case $case in
lmdb) budget=8M ;;
sqlite) budget=12M ;;
sqlite_wal) budget=4M ;;
python) budget=1M ;;
git) budget=256K ;;
*) echo "unknown case $case"; exit 2 ;;
esac

# A program that is not installed: skipped (ctest's SKIP_RETURN_CODE 77),
# with the package that has it.  .ci/run installs them all.
need() {
    command -v "$1" >/dev/null 2>&1 ||
        { echo "SKIP: $case: $1 is not installed (apt-get install $2)"; exit 77; }
}
case $case in
lmdb) need mdb_load lmdb-utils; need "$python" python3 ;;
sqlite|sqlite_wal) need sqlite3 sqlite3 ;;
python) need "$python" python3 ;;
git) need git git; need "$python" python3 ;;
esac

kdir=$dir/kernel
sdir=$dir/$side
stats=$sdir/stats
case $side in
kernel) U= ;;
usermap) U="$tool run --stats=$stats --" ;;
limit) U="$tool run --memory-limit $budget --stats=$stats --" ;;
redirect|redirect_limit)
    if [ ! -f "$built/bin/done" ]; then
        echo "SKIP: $case/$side: $(cat "$built/skipped" 2>/dev/null || echo "not built ($built)")"
        exit 77
    fi
    PATH=$built/bin:$PATH
    export PATH REALPROGS_STATS=$stats
    unset USERMAP_MEMORY_LIMIT
    U=
    [ "$side" = redirect_limit ] && U="env USERMAP_MEMORY_LIMIT=$budget" ;;
*) echo "unknown side $side"; exit 2 ;;
esac
if [ "$side" != kernel ] && [ ! -f "$kdir/done" ]; then
    echo "FAIL: $case: the kernel side ($kdir) did not run"; exit 1
fi
rm -rf "$sdir"
mkdir -p "$sdir" || exit 1
cd "$sdir" || exit 1

# run NAME CMD...: CMD (under usermap on its sides) in the side's
# directory, its stdout in NAME.out, stderr in NAME.err, status in
# NAME.status; NAME goes on the list of what is compared.
run() {
    name=$1; shift
    # shellcheck disable=SC2086  # $U is a command prefix, words on purpose
    limit $U "$@" >"$name.out" 2>"$name.err"
    echo $? >"$name.status"
    echo "$name.out $name.err $name.status" >>compared
}
# background NAME INPUT CMD...: the same with INPUT on standard input, in
# the background (wait for it).  The redirection is inside the subshell:
# an asynchronous list's standard input is /dev/null otherwise.
background() {
    name=$1 input=$2; shift 2
    # shellcheck disable=SC2086
    (limit $U "$@" <"$input" >"$name.out" 2>"$name.err"; echo $? >"$name.status") &
    echo "$name.out $name.err $name.status" >>compared
}
# same FILE...: files the side leaves, compared byte for byte.
same() { echo "$*" >>compared; }
: >compared

case $case in
lmdb)
    # mdb_load writes its pages with pwrite(2) and reads them back through
    # its map; 300,000 records commit in 3,000 transactions.  The data file
    # is compared byte for byte (LMDB zeroes the unused parts of pages);
    # lock.mdb holds process ids and is not.  mdb_stat without -e: the
    # environment's lines include the map's address.
    [ -f "$kdir/input.txt" ] || limit "$python" "$here/lmdb_gen.py" "$records" >"$kdir/input.txt" || exit 1
    mkdir db
    run load mdb_load -f "$kdir/input.txt" db
    run dump mdb_dump db
    run dumpp mdb_dump -p db
    run stat mdb_stat db
    run statf mdb_stat -f db
    run list mdb_dump -l db
    same db/data.mdb
    ;;
sqlite)
    # One sqlite3 process grows the database in steps (SQLite mremaps its
    # mapping as the file grows), another queries it: full scans, 200,000
    # point lookups, an index, updates, deletes and VACUUM (the file
    # shrinks), integrity_check.  In rollback-journal mode the file is the
    # same byte for byte.
    rows=$(( sqlite_mb * 4870 ))
    sh "$here/sqlite_gen.sh" grow $rows 8 >grow.sql &&
        sh "$here/sqlite_gen.sh" query $rows >query.sql || exit 1
    run grow sqlite3 db.sqlite <grow.sql
    run query sqlite3 db.sqlite <query.sql
    same db.sqlite
    grep -qx ok query.out || bad "integrity_check is not ok"
    ;;
sqlite_wal)
    # WAL mode: two writer processes and a reader at the same time, each
    # checking in its transactions that the totals the writers keep match
    # the rows (a stale page, a lost write or a torn index shows as a 0);
    # then a checkpoint, integrity_check and the content's digest.  The
    # interleaving of the writers is the scheduler's, so the file's pages
    # are laid out differently from run to run: the content is compared
    # (.sha3sum, the sums), not the file.
    sh "$here/sqlite_gen.sh" walsetup 50000 >setup.sql &&
        sh "$here/sqlite_gen.sh" writer 1 2000 >w1.sql &&
        sh "$here/sqlite_gen.sh" writer 2 2000 >w2.sql &&
        sh "$here/sqlite_gen.sh" reader 300 >reader.sql &&
        sh "$here/sqlite_gen.sh" walcheck >check.sql || exit 1
    run setup sqlite3 db.sqlite <setup.sql
    background writer1 w1.sql sqlite3 db.sqlite
    background writer2 w2.sql sqlite3 db.sqlite
    background reader reader.sql sqlite3 db.sqlite
    wait
    run check sqlite3 db.sqlite <check.sql
    # They did run their scripts to the end: every check printed.
    [ "$(grep -c '^check|1|' writer1.out)" = 40 ] || bad "writer 1 did not print its 40 checks"
    [ "$(grep -c '^check|2|' writer2.out)" = 40 ] || bad "writer 2 did not print its 40 checks"
    [ "$(grep -c '^read|' reader.out)" = 300 ] || bad "the reader did not print its 300 reads"
    [ "$(grep -c '^scan|1|1$' reader.out)" = 30 ] || bad "the reader's scans did not see the rows"
    grep -q '^1|1715|85643438$' check.out || bad "writer 1's totals are not the expected ones"
    for f in writer1 writer2 reader; do
        grep -Eq '\|0(\||$)|\|$' $f.out && bad "$f saw inconsistent totals: $(grep -E '\|0(\||$)|\|$' $f.out | head -3)"
    done
    grep -qx ok check.out || bad "integrity_check is not ok"
    ;;
python)
    # python3's mmap module: find, slices, stores, move, flush, resize
    # (mremap and ftruncate), read-only and copy-on-write maps, pread and
    # pwrite against the map, a forked child's stores.
    run script "$python" "$here/mmap_module.py" file.dat $(( python_mb * 1048576 ))
    same file.dat
    ;;
git)
    # A generated repository (fixed dates and names: the same object ids
    # everywhere), packed by git gc: git maps its pack files and indexes.
    # fsck, log -p, the object list, then a repack with one thread (the
    # same pack, byte for byte) and a checkout.  The index file holds stat
    # data (times, inodes), so it is compared through `git ls-files -s`.
    export GIT_CONFIG_NOSYSTEM=1 HOME=$kdir/gen/.home LC_ALL=C TZ=UTC
    if [ ! -d "$kdir/gen/repo" ]; then
        limit sh "$here/git_gen.sh" "$kdir/gen" "$commits" || exit 1
    fi
    cp -a "$kdir/gen/repo" repo || exit 1
    cd repo || exit 1
    run ../fsck git fsck --full --strict
    run ../log git log -p --stat
    run ../objects git cat-file --batch-all-objects --batch-check
    run ../blame git blame -s dir3/file010.txt
    run ../repack git repack -adf -q --threads=1
    run ../count git count-objects -v
    run ../checkout git checkout -q HEAD~300
    run ../files git ls-files -s
    run ../status git status --porcelain
    run ../back git checkout -q main
    run ../diff git diff --stat HEAD~300 HEAD
    run ../fsck2 git fsck --full --strict
    cd ..
    for f in repo/.git/objects/pack/*; do same "$f"; done
    ;;
esac

if [ "$side" = kernel ]; then
    # The kernel's own run must be sane too, or the comparison proves nothing.
    for f in *.status; do
        [ "$(cat "$f")" = 0 ] || bad "$f: $(cat "$f") ($(head -3 "${f%.status}.err"))"
    done
    [ $failed -eq 0 ] && touch ./done && echo "ok: $case/kernel"
    [ $failed -eq 0 ]; exit
fi

# Everything on the list, against the kernel side's.
for f in $(cat compared); do
    if ! cmp -s "$kdir/$f" "$f"; then
        bad "$f differs from the kernel's"
        case $f in
        *.out|*.err|*.status) diff "$kdir/$f" "$f" | head -10 ;;
        *) cmp "$kdir/$f" "$f" | head -3 ;;
        esac
    fi
done

# usermap served the mappings: pages filled (every process that mapped
# something reports); under the limit, evictions and the peak.
if [ ! -s "$stats" ]; then
    bad "no --stats report: no process mapped anything through usermap"
else
    filled=$(awk '/pages filled/ { n += $3 } END { print n + 0 }' "$stats")
    [ "$filled" -gt 0 ] || bad "--stats: no page filled by usermap"
    if [ "$side" = limit ] || [ "$side" = redirect_limit ]; then
        evicted=$(awk '/evictions/ { n += $2 } END { print n + 0 }' "$stats")
        [ "$evicted" -gt 0 ] || bad "--stats: no eviction under --memory-limit $budget"
        # The limit, with the tolerance tests/pager.c allows (two pages:
        # a page being filled while another is evicted).
        over=$(awk -v l="$(awk '/memory limit/ { print $3; exit }' "$stats")" \
            '/peak resident/ && $3 > l + 2 * 4096 { print }' "$stats")
        [ -z "$over" ] || bad "--stats: peak resident over the limit + 2 pages: $over"
    fi
    echo "$case/$side: $(grep -c '^usermap: pid' "$stats") processes reported, $filled pages filled"
fi
[ $failed -eq 0 ] && echo "ok: $case/$side"
[ $failed -eq 0 ]
