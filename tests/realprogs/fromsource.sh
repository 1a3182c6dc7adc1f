#!/bin/sh
# SPDX-License-Identifier: MIT
# fromsource.sh PROGRAM DIR INCLUDE LIBDIR CC - builds PROGRAM (lmdb or
# sqlite) from Debian's own source of the installed package, unmodified,
# with usermap's redirect header force-included (-include
# usermap_redirect.h, linked with -lusermap): the programs land in DIR/bin
# for realprogs.sh's redirect sides, which compare them with Debian's
# binaries run on the kernel.  The source is Debian's, fetched with
# `apt-get source --download-only` through a private sources list and
# state (nothing of the system's apt configuration is touched), or taken
# from $REALPROGS_SOURCES (a directory with the .orig tarballs).  When it
# cannot be had (no apt-get, no network, no tclsh for SQLite's
# amalgamation), it exits 77 (skip) with the reason, also left in
# DIR/skipped for the sides.
#   lmdb:   mdb.c, midl.c and mdb_{load,dump,stat}.c, as upstream's Makefile
#   sqlite: the amalgamation (./configure; make sqlite3.c shell.c) and the
#           shell, with Debian's -DSQLITE_* options from debian/rules
set -u
prog=$1 dir=$2 include=$3 libdir=$4 cc=$5
here=$(cd "$(dirname "$0")" && pwd)
limit() { timeout -k 5 "${REALPROGS_BUILD_TIMEOUT:-400}" "$@"; }
mkdir -p "$dir" || exit 1
dir=$(cd "$dir" && pwd)
rm -rf "${dir:?}/bin" "${dir:?}/skipped"
skip() { echo "SKIP: $prog from source: $*" | tee "$dir/skipped"; exit 77; }
fail() { echo "FAIL: $prog from source: $*"; exit 1; }

case $prog in
lmdb) package=lmdb binary=lmdb-utils tarball="lmdb_*.orig.tar.*" ;;
sqlite) package=sqlite3 binary=sqlite3 tarball="sqlite3_*.orig.tar.*" ;;
*) echo "unknown program $prog"; exit 2 ;;
esac

# The source: the same version as the installed binary package if apt can
# find it, else the newest in the archive.
src=$dir/src
mkdir -p "$src"
# shellcheck disable=SC2010,SC2086  # $tarball is a glob; orig-www is SQLite's docs
found() { ls $src/$tarball 2>/dev/null | grep -v orig-www | head -1; }
if [ -z "$(found)" ] && [ -n "${REALPROGS_SOURCES:-}" ]; then
    cp "$REALPROGS_SOURCES"/$tarball "$src/" 2>/dev/null
fi
if [ -z "$(found)" ]; then
    command -v apt-get >/dev/null || skip "no apt-get to fetch Debian's source (set REALPROGS_SOURCES)"
    apt=$dir/apt
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
    : >"$apt/sources.list"
    for suite in bookworm bookworm-updates; do
        echo "deb-src http://deb.debian.org/debian $suite main" >>"$apt/sources.list"
    done
    echo "deb-src http://deb.debian.org/debian-security bookworm-security main" >>"$apt/sources.list"
    set -- -o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o Debug::NoLocking=1 \
        -o Acquire::Retries=2 -q
    limit apt-get "$@" update >"$apt/update.log" 2>&1 ||
        skip "apt-get update of Debian's deb-src lists failed: $(tail -1 "$apt/update.log")"
    version=$(dpkg-query -W -f='${source:Version}' "$binary" 2>/dev/null)
    (cd "$src" && { [ -n "$version" ] && limit apt-get "$@" source --download-only "$package=$version" ||
        limit apt-get "$@" source --download-only "$package"; } >"$apt/source.log" 2>&1)
    [ -n "$(found)" ] || skip "apt-get source $package failed: $(tail -1 "$apt/source.log")"
fi
tar xf "$(found)" -C "$src" || fail "cannot unpack $(found)"

mkdir -p "$dir/bin"
flags="-include usermap_redirect.h -I$include"
libs="$dir/stats_at_exit.o -L$libdir -Wl,-rpath,$libdir -lusermap -lpthread"
$cc -O2 -I"$include" -c "$here/stats_at_exit.c" -o "$dir/stats_at_exit.o" || fail "stats_at_exit.c"
case $prog in
lmdb)
    s=$(ls -d "$src"/lmdb-*/libraries/liblmdb | head -1)
    for tool in mdb_load mdb_dump mdb_stat; do
        # shellcheck disable=SC2086  # flags and libs are lists of words
        limit $cc -O2 -pthread $flags -I"$s" "$s/$tool.c" "$s/mdb.c" "$s/midl.c" \
            -o "$dir/bin/$tool" $libs || fail "$tool does not build"
    done ;;
sqlite)
    command -v tclsh >/dev/null || skip "tclsh is needed to make SQLite's amalgamation (apt-get install tcl)"
    s=$(ls -d "$src"/sqlite3-* | head -1)
    if [ ! -f "$s/sqlite3.c" ]; then
        (cd "$s" && limit ./configure -q --disable-tcl && limit make -s sqlite3.c shell.c) \
            >"$dir/amalgamation.log" 2>&1 || fail "the amalgamation: $(tail -3 "$dir/amalgamation.log")"
    fi
    # Debian's options (debian/rules) that decide what the shell prints or
    # the file holds (SECURE_DELETE zeroes freed pages); -O1 keeps CI short.
    # shellcheck disable=SC2086
    limit $cc -O1 -fno-strict-aliasing $flags -DSQLITE_SECURE_DELETE -DSQLITE_ENABLE_COLUMN_METADATA \
        -DSQLITE_ENABLE_FTS3 -DSQLITE_ENABLE_FTS3_PARENTHESIS -DSQLITE_ENABLE_RTREE=1 \
        -DSQLITE_SOUNDEX=1 -DSQLITE_ENABLE_UNLOCK_NOTIFY -DSQLITE_OMIT_LOOKASIDE=1 \
        -DSQLITE_ENABLE_DBSTAT_VTAB -DSQLITE_ENABLE_UPDATE_DELETE_LIMIT=1 \
        -DSQLITE_ENABLE_LOAD_EXTENSION -DSQLITE_LIKE_DOESNT_MATCH_BLOBS -DSQLITE_THREADSAFE=1 \
        -DSQLITE_USE_URI=1 -DSQLITE_MAX_SCHEMA_RETRY=25 -DSQLITE_ENABLE_MATH_FUNCTIONS \
        -DSQLITE_MAX_VARIABLE_NUMBER=250000 -DSQLITE_DEFAULT_FILE_PERMISSIONS=0644 \
        -I"$s" "$s/sqlite3.c" "$s/shell.c" -o "$dir/bin/sqlite3" $libs -ldl -lm ||
        fail "sqlite3 does not build" ;;
esac
# The programs really are usermap's: their mmap calls go to um_mmap.
for b in "$dir"/bin/*; do
    nm -D "$b" 2>/dev/null | grep -Eq ' U um_mmap(@|$)' || fail "$b does not call um_mmap"
    nm -D "$b" 2>/dev/null | grep -Eq ' U mmap(64)?(@|$)' && fail "$b still calls the C library's mmap"
done
touch "$dir/bin/done"
echo "ok: $prog built from $(basename "$(found)") with usermap_redirect.h"
