#!/bin/sh
# SPDX-License-Identifier: MIT
# install.sh SOURCE_DIR BUILD_DIR CC [CFLAGS] - installs the build into a
# temporary prefix (cmake --install --prefix), then, from that prefix only:
# runs the installed tool, builds the README's example program with
# pkg-config and with find_package(usermap), each linked with the shared
# and with the static library, runs the four, runs an unmodified mmap
# program under the installed `usermap run` (which must load the
# installed libusermap-preload.so), and uninstalls.
set -u
src=$1 build=$2 cc=$3 cflags=${4:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/usermap-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
failed=0
passed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
unset LD_LIBRARY_PATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH LD_PRELOAD USERMAP_PRELOAD

# cmake --install rewrites BUILD/install_manifest.txt: the one a real
# install left there (for the uninstall target) is put back afterwards.
manifest=$build/install_manifest.txt
[ -f "$manifest" ] && cp -p "$manifest" "$tmp/manifest.saved"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1
rc=$?
cp "$manifest" "$tmp/manifest" 2>/dev/null
if [ -f "$tmp/manifest.saved" ]; then mv "$tmp/manifest.saved" "$manifest"; else rm -f "$manifest"; fi
if [ $rc -ne 0 ]; then cat "$tmp/install.log"; bad "cmake --install"; exit 1; fi
ok "cmake --install --prefix"

pc=$(find "$prefix" -name usermap.pc)
libdir=$(dirname "$(dirname "$pc")")
tool=$prefix/bin/usermap
check "installed tool runs (RPATH)" "$tool" --version
check "installed tool's version" [ "$("$tool" --version)" = \
    "usermap $(sed -n 's/^Version: *//p' "$pc")" ]

# The README's program: the first ```c block of README.md.
awk '/^```c$/ { on = 1; next } /^```$/ { if (on) exit } on' "$src/README.md" >"$tmp/readme.c"
check "README has a program" grep -q 'int main' "$tmp/readme.c"

# run NAME BINARY: runs it on a fresh data.bin, which it must change.
run() {
    name=$1 bin=$2
    (cd "$tmp" && "$tool" gen data.bin 64K && "$bin") >"$tmp/out" 2>&1 ||
        { bad "$name runs"; cat "$tmp/out"; return; }
    check "$name wrote its byte" [ "$(head -c 1 "$tmp/data.bin")" = X ]
}
# dynamic NAME BINARY: whether it needs libusermap.so.
dynamic() { readelf -d "$2" | grep -q 'NEEDED.*libusermap'; }
static() { ! dynamic "$@"; }

# pkg-config, shared and static (README, "Using it").
export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046,SC2086
if $cc $cflags "$tmp/readme.c" -o "$tmp/pc_shared" $(pkg-config --cflags --libs usermap); then
    ok "pkg-config build, shared"
    check "pkg-config shared build uses libusermap.so" dynamic pc "$tmp/pc_shared"
    LD_LIBRARY_PATH=$libdir run "pkg-config shared" "$tmp/pc_shared"
else bad "pkg-config build, shared"; fi
# shellcheck disable=SC2046,SC2086
if $cc $cflags "$tmp/readme.c" -o "$tmp/pc_static" $(pkg-config --cflags usermap) \
        "$(pkg-config --variable=libdir usermap)/libusermap.a" -lpthread; then
    ok "pkg-config build, static"
    check "pkg-config static build needs no libusermap.so" static pc "$tmp/pc_static"
    run "pkg-config static" "$tmp/pc_static"
else bad "pkg-config build, static"; fi
unset PKG_CONFIG_PATH

# find_package(usermap), shared and static.
mkdir "$tmp/consumer"
cp "$tmp/readme.c" "$tmp/consumer/readme.c"
cat >"$tmp/consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(readme C)
find_package(usermap 0.1 REQUIRED)
add_executable(readme_shared readme.c)
target_link_libraries(readme_shared PRIVATE usermap::usermap)
add_executable(readme_static readme.c)
target_link_libraries(readme_static PRIVATE usermap::usermap_static)
CMAKE
if cmake -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$cflags" >"$tmp/cmake.log" 2>&1 &&
   cmake --build "$tmp/consumer/build" >>"$tmp/cmake.log" 2>&1; then
    ok "find_package build"
    check "find_package shared build uses libusermap.so" dynamic cm "$tmp/consumer/build/readme_shared"
    check "find_package static build needs no libusermap.so" static cm "$tmp/consumer/build/readme_static"
    run "find_package shared" "$tmp/consumer/build/readme_shared"
    run "find_package static" "$tmp/consumer/build/readme_static"
else bad "find_package build"; cat "$tmp/cmake.log"; fi

# `usermap run` (README, "Running an unmodified program"): the installed
# tool finds the installed interposer, and an ordinary mmap program, which
# never names usermap, is paged by it.
preload=$libdir/libusermap-preload.so
check "libusermap-preload.so installed" [ -f "$preload" ]
# Under AddressSanitizer its run-time must be preloaded first (tests/CMakeLists.txt).
asan=
case $cflags in *-fsanitize=address*) asan=${USERMAP_TEST_ASAN_RUNTIME:-} ;; esac
want=$(readlink -f "$preload")
[ -n "$asan" ] && want=$asan:$want
check "usermap run loads the installed interposer" \
    [ "$(LD_PRELOAD=$asan "$tool" run -- sh -c 'echo "$LD_PRELOAD"')" = "$want" ]
cat >"$tmp/plain.c" <<'C'
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void)
{
    int fd = open("data.bin", O_RDWR);
    char *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fd < 0 || p == MAP_FAILED)
        return 1;
    p[0] = 'R';
    return msync(p, 65536, MS_SYNC) != 0 || munmap(p, 65536) != 0 || close(fd) != 0;
}
C
if $cc "$tmp/plain.c" -o "$tmp/plain"; then
    (cd "$tmp" && "$tool" gen data.bin 64K >/dev/null &&
        LD_PRELOAD=$asan ASAN_OPTIONS=detect_leaks=0 timeout -k 5 60 "$tool" run --stats -- ./plain) \
        >"$tmp/out" 2>&1 || { bad "usermap run of an mmap program"; cat "$tmp/out"; }
    check "usermap run: the program's store reached the file" [ "$(head -c 1 "$tmp/data.bin")" = R ]
    check "usermap run: usermap filled its pages" grep -Eq '^  pages filled +[1-9]' "$tmp/out"
else bad "an mmap program builds"; fi

# The uninstall target's script, on this install's manifest.
if cmake -DMANIFEST="$tmp/manifest" -P "$build/cmake_uninstall.cmake" >"$tmp/uninstall.log" 2>&1; then
    left=$(find "$prefix" ! -type d)
    check "uninstall leaves no file" [ -z "$left" ]
    [ -z "$left" ] || echo "$left"
else bad "uninstall"; cat "$tmp/uninstall.log"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
