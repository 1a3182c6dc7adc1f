#!/bin/sh
# SPDX-License-Identifier: MIT
# smoke.sh USERMAP - checks the usermap tool end to end: gen makes files,
# cat prints them byte for byte, stat reads them, errors exit as documented.
set -u
tool=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/usermap-tool.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
failed=0
passed=0

ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; }
check() { # check NAME COMMAND...: passes when COMMAND succeeds
    name=$1; shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}
# status NAME WANT COMMAND...: passes when COMMAND exits with WANT
status() {
    name=$1 want=$2; shift 2
    "$@" >"$dir/out" 2>"$dir/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok "$name"; else
        bad "$name (exit $got, want $want)"; cat "$dir/err"; fi
}
size_of() { wc -c <"$1" | tr -d ' '; }

# gen: sizes with and without suffixes, content that starts as documented.
status "gen 0" 0 "$tool" gen "$dir/empty" 0
status "gen 100" 0 "$tool" gen "$dir/small" 100
status "gen 4K" 0 "$tool" gen "$dir/page" 4K
status "gen 3M" 0 "$tool" gen "$dir/big" 3M
status "gen odd" 0 "$tool" gen "$dir/odd" 1052673   # 1 MiB + 4 KiB + 1
sizes=""
for f in empty small page big odd; do sizes="$sizes $(size_of "$dir/$f")"; done
check "gen sizes" [ "$sizes" = " 0 100 4096 3145728 1052673" ]
check "gen first line" [ "$(head -n 1 "$dir/page")" = \
    "0000000000000000 usermap sample data..........................." ]
check "gen line at 4032" [ "$(tail -n 1 "$dir/page")" = \
    "0000000000000fc0 usermap sample data..........................." ]
"$tool" gen "$dir/odd2" 1052673
check "gen is deterministic" cmp -s "$dir/odd" "$dir/odd2"

# cat: byte for byte, several files in order, empty files print nothing.
for f in empty small page big odd; do
    "$tool" cat "$dir/$f" >"$dir/out" 2>"$dir/err"
    check "cat $f" cmp -s "$dir/$f" "$dir/out"
done
"$tool" cat "$dir/small" "$dir/empty" "$dir/odd" >"$dir/out"
cat "$dir/small" "$dir/empty" "$dir/odd" >"$dir/want"
check "cat several" cmp -s "$dir/want" "$dir/out"
"$tool" cat "$dir/big" | head -c 100 >"$dir/out"
check "cat into a closed pipe" [ "$(size_of "$dir/out")" = 100 ]

# stat: runs, reports the size, and the same checksum twice.
status "stat" 0 "$tool" stat "$dir/odd"
cp "$dir/out" "$dir/stat1"
check "stat size" grep -q '^size  *1052673 bytes' "$dir/stat1"
check "stat pages filled" grep -q '^pages filled  *[0-9]' "$dir/stat1"
"$tool" stat "$dir/odd2" >"$dir/stat2"
check "stat checksum" [ "$(grep '^checksum' "$dir/stat1")" = \
    "$(grep '^checksum' "$dir/stat2")" ]
status "stat empty" 0 "$tool" stat "$dir/empty"
status "stat with 64K pages" 0 env USERMAP_PAGE_SIZE=64K "$tool" stat "$dir/odd"
check "stat page size" grep -q '^page size  *65536 bytes' "$dir/out"
check "stat same checksum with 64K pages" [ "$(grep '^checksum' "$dir/out")" = \
    "$(grep '^checksum' "$dir/stat1")" ]
status "stat in-thread" 0 env USERMAP_FAULT_MODE=in-thread "$tool" stat "$dir/odd"
check "stat same checksum in-thread" [ "$(grep '^checksum' "$dir/out")" = \
    "$(grep '^checksum' "$dir/stat1")" ]
status "stat with a budget" 0 env USERMAP_MEMORY_LIMIT=64K "$tool" stat "$dir/odd"
check "stat same checksum with a budget" [ "$(grep '^checksum' "$dir/out")" = \
    "$(grep '^checksum' "$dir/stat1")" ]
status "bad fault mode" 1 env USERMAP_FAULT_MODE=sometimes "$tool" stat "$dir/odd"
check "bad fault mode message" grep -q 'USERMAP_FAULT_MODE' "$dir/err"
status "stat with a bad pool" 1 env USERMAP_PAGE_SIZE=3K "$tool" stat "$dir/odd"
check "bad pool message" grep -q '^usermap: .*USERMAP' "$dir/err"

# errors and usage
status "no arguments" 2 "$tool"
check "usage on stderr" grep -q '^usage: usermap' "$dir/err"
status "help" 2 "$tool" help
status "unknown command" 2 "$tool" frobnicate
status "cat without files" 2 "$tool" cat
status "stat two files" 2 "$tool" stat "$dir/small" "$dir/small"
status "gen bad size" 2 "$tool" gen "$dir/x" 12X
status "gen no size" 2 "$tool" gen "$dir/x"
status "cat missing file" 1 "$tool" cat "$dir/missing"
check "error message" [ "$(cat "$dir/err")" = \
    "usermap: $dir/missing: No such file or directory" ]
status "cat directory" 1 "$tool" cat "$dir"
status "stat missing file" 1 "$tool" stat "$dir/missing"
status "cat goes on after an error" 1 "$tool" cat "$dir/missing" "$dir/small"
check "cat printed the good file" cmp -s "$dir/small" "$dir/out"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
