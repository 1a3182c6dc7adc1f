#!/bin/sh
# SPDX-License-Identifier: MIT
# redirect.sh SOURCE_DIR LIBUSERMAP.so CC NM [EXTRA_FLAGS] - the
# -include usermap_redirect.h matrix.  tests/redirect_prog.c is built as C
# and as C++ by every compiler at hand (CC, gcc, clang, g++, clang++), with
# the feature macros and fortification a program may use, with -Wall
# -Wextra -Werror.  Each object must call usermap for every redirected
# call and never the C library's (nm: no mmap, pread64, __read_chk ...);
# each program must run and say "ok" (its file calls and its mapping see
# each other, the mapping is usermap's), and leave the file as expected.
# The same program built with macros instead of the header checks that
# usermap.h agrees with glibc's declarations (C++ exception specifications).
# EXTRA_FLAGS (a sanitizer's) restricts the compilers to CC's family,
# whose run-time library the library was built with.
set -u
src=$1 lib=$2 cc=$3 nm=$4 extra=${5:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/usermap-redirect.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0 built=0
bad() { failed=1; echo "FAIL: $*"; }

# The calls the header redirects, as a program's object may name them
# (the *64 names, and the fortified __NAME_chk).
redirected='mmap|munmap|msync|mprotect|madvise|mremap|ftruncate|truncate|read|write|pread|pwrite'
redirected="$redirected|readv|writev|preadv|pwritev|fsync|fdatasync|sync_file_range|fallocate"
redirected="$redirected|copy_file_range|sendfile|close"
# The um_* calls redirect_prog makes in every build, and with _GNU_SOURCE.
calls='mmap munmap msync mprotect madvise ftruncate truncate read write pread pwrite readv writev
preadv pwritev fsync fdatasync sendfile close'
gnu_calls='mremap fallocate sync_file_range copy_file_range'

# check_object NAME OBJECT GNU: OBJECT calls um_* for each call, never the C library's.
check_object() {
    undefined=$("$nm" -u "$2" | awk '{ print $NF }') || { bad "$1: nm"; return; }
    direct=$(printf '%s\n' "$undefined" | grep -Ex "(__)?($redirected)(64)?(v2)?(_chk)?")
    [ -z "$direct" ] || bad "$1: calls the C library's" $direct
    want=$calls; [ "$3" = 1 ] && want="$want $gnu_calls"
    for call in $want; do
        printf '%s\n' "$undefined" | grep -qx "um_$call" || bad "$1: does not call um_$call"
    done
}

# at FILE OFF TEXT: the file (read by the kernel, not by usermap) holds TEXT at OFF.
at() {
    got=$(dd if="$1" bs=1 skip="$2" count=${#3} 2>/dev/null)
    [ "$got" = "$3" ] || bad "$name: the file holds '$got' at $2, not '$3'"
}

# check_file GNU: what redirect_prog wrote reached the file.
check_file() {
    f=$tmp/file.dat
    at "$f" 100 hello; at "$f" 200 world; at "$f" 300 abc; at "$f" 400 abcd
    at "$f" 500 vect; at "$f" 600 abcd; at "$f" 700 more; at "$f" 800 sent
    size=8192
    [ "$1" = 1 ] && { size=16384; at "$f" 900 hello; at "$f" 8292 grown; }
    [ "$(wc -c <"$f")" -eq $size ] || bad "$name: the file is $(wc -c <"$f") bytes, not $size"
    [ "$(cat "$f.copy")" = se ] || bad "$name: the copy holds '$(cat "$f.copy")', not 'se'"
}

# build NAME COMPILER LANG FORCED FLAGS...: compile, check, link, run.
build() {
    name=$1 comp=$2 lang=$3 forced=$4; shift 4
    gnu=0
    case " $* " in *" -DREDIRECT_GNU "*) gnu=1 ;; esac
    [ "$lang" = c++ ] && gnu=1   # g++ and clang++ define _GNU_SOURCE
    include=; [ "$forced" = 1 ] && include="-include usermap_redirect.h"
    # shellcheck disable=SC2086  # flag lists on purpose
    if ! timeout 120 $comp -Wall -Wextra -Werror $extra $include -I"$src/include" \
            -I"$src/tests" "$@" -x "$lang" -c "$src/tests/redirect_prog.c" \
            -o "$tmp/prog.o" 2>"$tmp/cc.err"; then
        bad "$name: does not compile"; cat "$tmp/cc.err"; return
    fi
    [ "$forced" = 1 ] && check_object "$name" "$tmp/prog.o" $gnu
    # shellcheck disable=SC2086
    timeout 120 $comp $extra "$tmp/prog.o" -o "$tmp/prog" "$lib" -Wl,-rpath,"$(dirname "$lib")" ||
        { bad "$name: does not link"; return; }
    rm -f "$tmp/file.dat" "$tmp/file.dat.copy"
    out=$(timeout -k 5 60 "$tmp/prog" "$tmp/file.dat" 2>&1)
    [ "$out" = ok ] || { bad "$name: $out"; return; }
    check_file $gnu
    built=$((built + 1))
}

# variants COMPILER LANG: the matrix for one compiler and language.
variants() {
    label="$1 ($2)"
    build "$label" "$1" "$2" 1
    build "$label -D_FILE_OFFSET_BITS=64" "$1" "$2" 1 -D_FILE_OFFSET_BITS=64
    build "$label -O2 -D_FORTIFY_SOURCE=2" "$1" "$2" 1 -O2 -D_FORTIFY_SOURCE=2
    build "$label usermap.h" "$1" "$2" 1 -DREDIRECT_USERMAP_H
    build "$label _GNU_SOURCE" "$1" "$2" 1 -DREDIRECT_GNU
    build "$label _GNU_SOURCE, all" "$1" "$2" 1 -DREDIRECT_GNU -DREDIRECT_USERMAP_H \
        -D_FILE_OFFSET_BITS=64 -O2 -D_FORTIFY_SOURCE=2
    build "$label macros" "$1" "$2" 0 -DREDIRECT_MACROS
    build "$label macros, _GNU_SOURCE" "$1" "$2" 0 -DREDIRECT_MACROS -DREDIRECT_GNU
    if [ "$2" = c++ ]; then
        build "$label -std=c++98" "$1" "$2" 1 -std=c++98 -DREDIRECT_USERMAP_H
        build "$label -std=c++98 macros" "$1" "$2" 0 -std=c++98 -DREDIRECT_MACROS
    fi
}

# The compilers: CC always; the others when installed (and, under a
# sanitizer, of CC's family only).
family=gcc
"$cc" --version 2>/dev/null | grep -q clang && family=clang
c_compilers=$cc cxx_compilers=
real_cc=$(readlink -f "$(command -v "$cc")")
for other in gcc clang; do
    [ -n "$extra" ] && [ $other != $family ] && continue
    command -v $other >/dev/null && [ "$(readlink -f "$(command -v $other)")" != "$real_cc" ] &&
        c_compilers="$c_compilers $other"
done
for cxx in g++ clang++; do
    [ -n "$extra" ] && [ $cxx != "${family%cc}++" ] && continue
    if command -v $cxx >/dev/null; then cxx_compilers="$cxx_compilers $cxx"
    else echo "note: $cxx not installed, its builds left out"; fi
done
for comp in $c_compilers; do variants "$comp" c; done
for comp in $cxx_compilers; do variants "$comp" c++; done
echo "$built builds ran (C: $c_compilers; C++:$cxx_compilers)"
[ $failed -eq 0 ] && [ $built -gt 0 ]
