#!/bin/sh
# SPDX-License-Identifier: MIT
# symbols.sh NM LIBUSERMAP.a LIBUSERMAP.so - the libraries define no global
# name but the um_* calls, and the shared library's are in a version node.
set -u
nm=$1 static=$2 shared=$3
failed=0

syms=$("$nm" -g --defined-only "$static") || { echo "FAIL: nm $static"; exit 1; }
leaks=$(printf '%s\n' "$syms" | awk 'NF == 3 && $3 !~ /^um_/ { print $3 }')
if [ -n "$leaks" ]; then
    echo "FAIL: $static defines names outside um_*:"; echo "$leaks"; failed=1
else
    echo "ok: $static defines um_* names only"
fi
syms=$("$nm" -D --defined-only "$shared") || { echo "FAIL: nm $shared"; exit 1; }
leaks=$(printf '%s\n' "$syms" |
        awk 'NF == 3 && $3 !~ /^um_[a-z_]*@@USERMAP_[0-9.]*$/ && $2 != "A" { print $3 }')
if [ -n "$leaks" ]; then
    echo "FAIL: $shared exports names outside um_*, or unversioned:"; echo "$leaks"; failed=1
else
    echo "ok: $shared exports um_* names only, each in a version node"
fi
printf '%s\n' "$syms" | grep -q ' um_version@@USERMAP_' ||
    { echo "FAIL: $shared has no um_version"; failed=1; }
exit $failed
