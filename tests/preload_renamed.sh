#!/bin/sh
# SPDX-License-Identifier: MIT
# preload_renamed.sh CHECK NM READELF MAP SYMS RENAMED.o UNRENAMED.o PRELOAD.so LIBUSERMAP.so
#
# check_renamed.sh (run at build time) passes on what the build made, and
# fails where it must: on the library's objects before renaming (they call
# mmap, pread, close ...), on a shared library that calls the interposed
# names (libusermap.so does), and on a renaming list one name short.
set -u
check=$1 nm=$2 readelf=$3 map=$4 syms=$5 renamed=$6 raw=$7 preload=$8 plain=$9
tmp=$(mktemp -d "${TMPDIR:-/tmp}/usermap-renamed.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0

# expect STATUS NAME...: the last check exited STATUS and named each NAME.
expect() {
    want=$1 this=0; shift
    [ "$status" -eq "$want" ] || { echo "FAIL: $what: status $status, expected $want"; this=1; }
    for name in "$@"; do
        grep -qw -- "$name" "$tmp/err" || { echo "FAIL: $what: $name not named"; this=1; }
    done
    if [ $this -eq 0 ]; then echo "ok: $what"; else failed=1; cat "$tmp/err"; fi
}
run() { what=$1; shift; timeout 60 sh "$check" "$nm" "$readelf" "$@" 2>"$tmp/err"; status=$?; }

run "the build's objects" "$map" "$syms" "$renamed" "$preload"; expect 0
run "objects not renamed" "$map" "$syms" "$raw"; expect 1 mmap pread close
run "a library calling interposed names" "$map" "$syms" "$renamed" "$plain"; expect 1 mmap
grep -v '^pwritev ' "$syms" >"$tmp/short.syms"
run "a renaming list without pwritev" "$map" "$tmp/short.syms" "$renamed"; expect 1 pwritev
exit $failed
