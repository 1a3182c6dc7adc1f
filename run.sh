#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - build usermap and show it working, from a fresh Debian 12 machine.
#
#   ./run.sh demo   build, make a 256 MiB sample file, run `usermap stat` on it
#   ./run.sh test   build and run every test (ctest)
#
# Installs cmake, gcc, make and pkg-config with apt-get when they are
# missing.  BUILD_DIR (default build) and CMAKE_ARGS can be set to taste.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD_DIR:-$here/build}
packages=(cmake gcc make pkg-config libc6-dev)
jobs=$(nproc 2>/dev/null || echo 2)

# Root needs no sudo; anyone else does.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

have_tools() {
    command -v cmake && command -v gcc && command -v make &&
        command -v pkg-config && [ -e /usr/include/stdio.h ]
} >/dev/null 2>&1

# A fresh image may have no package lists yet: update only if that bites.
install_tools() {
    have_tools && return 0
    echo "run.sh: installing ${packages[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y --no-install-recommends "${packages[@]}" ||
        { as_root apt-get update && \
          as_root apt-get install -y --no-install-recommends "${packages[@]}"; }
}

build() {
    # shellcheck disable=SC2086  # CMAKE_ARGS is a list of words on purpose
    cmake -S "$here" -B "$build" -DUSERMAP_WERROR=ON ${CMAKE_ARGS:-}
    cmake --build "$build" -j "$jobs"
}

demo() {
    local sample=$build/sample.dat
    [ -f "$sample" ] || "$build/tools/usermap" gen "$sample" 256M
    "$build/tools/usermap" stat "$sample"
}

run_tests() {
    cd "$build" && ctest --output-on-failure --timeout 600 -j "$(nproc)"
}

case ${1:-} in
    demo) install_tools; build; demo ;;
    test) install_tools; build; run_tests ;;
    *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac
