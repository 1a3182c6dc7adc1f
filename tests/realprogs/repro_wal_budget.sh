#!/bin/sh
# SPDX-License-Identifier: MIT
# repro_wal_budget.sh TOOL - a reader under `usermap run --memory-limit 4M`
# goes over its budget by 5 to 26 pages (peak resident 4,214,784 to
# 4,300,800 bytes, tests/pager.c allows 2 pages) while two sqlite3 writer
# processes, under `usermap run` without a limit, commit to the same WAL
# database (5 runs in 6 on a 2-core VM; with one writer, or with the
# writers outside usermap, 0 in 6).  Exit 1 when the peak is over.
set -u
tool=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/repro-wal-budget.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 2
g=$here/sqlite_gen.sh
sh "$g" walsetup 50000 | sqlite3 db.sqlite >/dev/null
sh "$g" writer 1 2000 >w1.sql; sh "$g" writer 2 2000 >w2.sql; sh "$g" reader 300 >r.sql
timeout 120 "$tool" run -- sqlite3 db.sqlite <w1.sql >/dev/null &
timeout 120 "$tool" run -- sqlite3 db.sqlite <w2.sql >/dev/null &
timeout 120 "$tool" run --memory-limit 4M --stats=stats -- sqlite3 db.sqlite <r.sql >/dev/null &
wait
peak=$(awk '/peak resident/ { print $3 }' stats)
echo "limit 4194304 peak $peak ($(( peak - 4194304 )) bytes over)"
[ "$peak" -le $(( 4194304 + 2 * 4096 )) ]
