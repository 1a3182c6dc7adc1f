#!/bin/sh
# SPDX-License-Identifier: MIT
# manpages.sh SOURCE_DIR - every function of include/usermap.h has a man
# page in docs/man (a page, or a link to the page that documents it, which
# names it under NAME), and every page documents a function of the header.
set -u
src=$1
failed=0
passed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; }

funcs=$(sed -n 's/^UM_API[^(]*[ *]\(um_[a-z_]*\)(.*/\1/p' "$src/include/usermap.h" | sort -u)
[ -n "$funcs" ] || { echo "FAIL: no UM_API function found in usermap.h"; exit 1; }
for f in $funcs; do
    page=$src/docs/man/$f.3
    if [ ! -e "$page" ]; then bad "$f has no docs/man/$f.3"; continue; fi
    # The NAME line of the page (through a link, the page it points to).
    name=$(sed -n '/^\.SH NAME/{n;p;q}' "$page")
    case ", ${name%% \\-*}," in
        *", $f,"*) ok ;;
        *) bad "docs/man/$f.3 does not name $f under NAME ($name)" ;;
    esac
done
for page in "$src"/docs/man/*.3; do
    f=$(basename "$page" .3)
    if printf '%s\n' "$funcs" | grep -qx "$f"; then ok; else
        bad "docs/man/$f.3 documents no function of usermap.h"; fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
