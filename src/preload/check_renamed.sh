#!/bin/sh
# SPDX-License-Identifier: MIT
# check_renamed.sh NM READELF PRELOAD.MAP REAL.SYMS OBJECT [LIBRARY.so]
#
# The interposer must never call one of the names it interposes: such a
# call binds to its own definition and comes straight back (recursion, or
# usermap re-entered with its locks held).  Fails, naming the culprits, if
#  - an interposed name (preload.map's global list) has no renaming in
#    real.syms, or real.syms renames a name that is not interposed;
#  - OBJECT (the library's objects, pre-linked and renamed) still refers to
#    an interposed name: a library change added a call that real.syms
#    does not rename;
#  - LIBRARY.so has a relocation against an interposed name: one of the
#    interposer's own files calls it instead of um_real_NAME.
# Run at build time on the renamed object, and by the preload_renamed test.
set -u
nm=$1 readelf=$2 map=$3 syms=$4 object=$5 library=${6:-}
failed=0
bad() { failed=1; echo "check_renamed: $*" >&2; }

# The names between "global:" and "local:", one a line.
interposed=$(sed -n '/global:/,/local:/p' "$map" | sed 's/global://; s/local:.*//' |
             tr ';' '\n' | tr -d ' \t' | grep -v '^$' | sort -u)
[ -n "$interposed" ] || { bad "no interposed names in $map"; exit 1; }
renamed=$(awk 'NF == 2 { print $1 }' "$syms" | sort -u)

# only_in A B: the lines of A that are not in B.
only_in() { printf '%s\n' "$1" | grep -vxF "$2" | grep -v '^$'; }
missing=$(only_in "$interposed" "$renamed") &&
    bad "interposed but not renamed in $syms:" $missing
extra=$(only_in "$renamed" "$interposed") &&
    bad "renamed in $syms but not interposed in $map:" $extra

undefined=$("$nm" -u "$object" | awk '{ print $NF }' | sort -u) ||
    { bad "nm -u $object failed"; exit 1; }
calls=$(printf '%s\n' "$undefined" | grep -xF "$interposed") &&
    bad "$object still calls interposed names (add them to $syms):" $calls

if [ -n "$library" ]; then
    # Relocation symbols, versions stripped (mmap@GLIBC_2.2.5 is mmap).
    relocs=$("$readelf" -rW "$library" | awk '$3 ~ /^R_/ && NF >= 5 { print $5 }' |
             sed 's/@.*//' | sort -u) || { bad "readelf -r $library failed"; exit 1; }
    calls=$(printf '%s\n' "$relocs" | grep -xF "$interposed") &&
        bad "$library calls interposed names itself (use um_real_*):" $calls
fi
exit $failed
