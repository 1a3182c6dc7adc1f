#!/bin/sh
# SPDX-License-Identifier: MIT
# smoke.sh USERMAP - checks the usermap tool end to end: gen makes files,
# cat prints them byte for byte (through mappings, or with read(2) when the
# size is not known in advance), stat reads them and prints a table or
# JSON, help and --version go to stdout, progress bars appear when asked,
# and every error is one line with the exit status usermap(1) documents.
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

# cat of what has no size in advance: read as cat(1) reads it.
"$tool" cat /proc/self/status >"$dir/out" 2>"$dir/err"
check "cat /proc/self/status" grep -q '^Name:' "$dir/out"
printf 'through a pipe\n' | "$tool" cat - >"$dir/out"
check "cat - from a pipe" [ "$(cat "$dir/out")" = "through a pipe" ]
cat "$dir/odd" | "$tool" cat /dev/stdin >"$dir/out"
check "cat /dev/stdin from a pipe" cmp -s "$dir/odd" "$dir/out"
"$tool" cat "$dir/small" - "$dir/small" <"$dir/page" >"$dir/out"
cat "$dir/small" "$dir/page" "$dir/small" >"$dir/want"
check "cat files and -" cmp -s "$dir/want" "$dir/out"
(dd bs=10 count=1 of=/dev/null 2>/dev/null; "$tool" cat -) <"$dir/small" >"$dir/out"
tail -c +11 "$dir/small" >"$dir/want"
check "cat - from where standard input stands" cmp -s "$dir/want" "$dir/out"

# stat --json: the same figures as the table, for scripts.
status "stat --json" 0 "$tool" stat --json "$dir/odd"
check "json is one line" [ "$(wc -l <"$dir/out")" -eq 1 ]
check "json size" grep -q '"size": 1052673,' "$dir/out"
check "json pages filled" grep -q '"pages_filled": [0-9]' "$dir/out"
check "json checksum as in the table" grep -q "\"checksum\": \"$(sed -n 's/^checksum  *//p' "$dir/stat1")\"" "$dir/out"
if command -v python3 >/dev/null 2>&1; then
    check "json parses" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["size"] == 1052673' "$dir/out"
fi
"$tool" stat -j "$dir/odd" >"$dir/out" 2>&1
check "stat -j" grep -q '"file": ".*odd"' "$dir/out"

# Progress bars: on stderr when asked (or on a terminal), never on stdout.
status "gen --progress" 0 "$tool" gen --progress "$dir/prog" 3M
check "gen progress bar" grep -q '100% 3.0/3.0 MiB' "$dir/err"
check "gen progress, same file" cmp -s "$dir/big" "$dir/prog"
status "gen, not a terminal" 0 "$tool" gen "$dir/prog" 3M
check "no bar when stderr is not a terminal" [ ! -s "$dir/err" ]
status "stat --progress" 0 "$tool" stat --progress "$dir/big"
check "stat progress bar" grep -q '100% 3.0/3.0 MiB' "$dir/err"
check "stat progress, table on stdout" grep -q '^checksum' "$dir/out"
status "stat --no-progress" 0 "$tool" stat --no-progress "$dir/big"
check "stat --no-progress shows none" [ ! -s "$dir/err" ]

# help and version: stdout, exit 0.
for args in --help -h help "help help"; do
    # shellcheck disable=SC2086  # $args is words on purpose
    status "usermap $args" 0 "$tool" $args
    check "usermap $args: usage on stdout" grep -q '^usage: usermap' "$dir/out"
    check "usermap $args: nothing on stderr" [ ! -s "$dir/err" ]
done
for c in cat stat gen caches flush; do
    status "help $c" 0 "$tool" help "$c"
    check "help $c: its usage" grep -q "^usage: usermap $c" "$dir/out"
    status "$c --help" 0 "$tool" "$c" --help
    check "$c --help: its usage" grep -q "^usage: usermap $c" "$dir/out"
    status "$c -h" 0 "$tool" "$c" -h
done
status "--version" 0 "$tool" --version
check "version line" grep -qx 'usermap [0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*' "$dir/out"
status "-V" 0 "$tool" -V

# errors: one line each, naming no internal call.
one_line() { # one_line NAME WANT-LINE-PATTERN: stderr is that one line
    if [ "$(wc -l <"$dir/err")" -eq 1 ] && grep -q "$2" "$dir/err" &&
       ! grep -q 'size_parse\|um_[a-z_]*(\|usermap: stats:' "$dir/err"; then
        ok "$1: one line"
    else bad "$1: one line matching $2"; cat "$dir/err"; fi
}
# caches and flush in a cache directory of their own (the leftover test
# checks them with caches in it): none there yet, nothing to do.
status "caches, no directory" 0 env USERMAP_CACHE_DIR="$dir/caches" "$tool" caches
check "caches, no directory: nothing listed" [ ! -s "$dir/out" ]
status "flush, no directory" 0 env USERMAP_CACHE_DIR="$dir/caches" "$tool" flush
status "caches with an argument" 2 "$tool" caches extra
one_line "caches with an argument" "^usermap: caches: takes no argument"
status "flush of no file" 1 env USERMAP_CACHE_DIR="$dir/caches" "$tool" flush "$dir/none"
one_line "flush of no file" "^usermap: flush: .*none: No such file"
mkdir -m 0755 "$dir/open"
status "flush, a directory others can read" 1 env USERMAP_CACHE_DIR="$dir/open" "$tool" flush
one_line "flush, a directory others can read" "^usermap: flush: .*mode 0700"
status "no arguments" 2 "$tool"
check "usage on stderr" grep -q '^usage: usermap' "$dir/err"
status "unknown command" 2 "$tool" frobnicate
one_line "unknown command" "^usermap: no command 'frobnicate'"
status "unknown option" 2 "$tool" --frobnicate
one_line "unknown option" "^usermap: unknown option '--frobnicate'"
status "help for no command" 2 "$tool" help frobnicate
one_line "help for no command" "^usermap: help: no command 'frobnicate'"
status "cat without files" 2 "$tool" cat
one_line "cat without files" '^usermap: cat: no FILE'
status "stat two files" 2 "$tool" stat "$dir/small" "$dir/small"
one_line "stat two files" '^usermap: stat: one FILE at a time'
status "stat unknown option" 2 "$tool" stat --frob "$dir/small"
one_line "stat unknown option" "^usermap: stat: unknown option '--frob'"
status "stat --json=yes" 2 "$tool" stat --json=yes "$dir/small"
one_line "stat --json=yes" "^usermap: stat: option '--json' takes no argument"
status "gen unknown short option" 2 "$tool" gen -q "$dir/x" 1K
one_line "gen unknown short option" "^usermap: gen: unknown option '-q'"
status "gen bad size" 2 "$tool" gen "$dir/x" 12Q
one_line "gen bad size" "^usermap: gen: invalid size '12Q': "
status "gen negative size" 2 "$tool" gen "$dir/x" -5
status "gen no size" 2 "$tool" gen "$dir/x"
one_line "gen no size" '^usermap: gen: takes FILE and SIZE'
status "cat missing file" 1 "$tool" cat "$dir/missing"
check "error message" [ "$(cat "$dir/err")" = \
    "usermap: cat: $dir/missing: No such file or directory" ]
status "cat directory" 1 "$tool" cat "$dir"
one_line "cat directory" 'Is a directory$'
status "stat missing file" 1 "$tool" stat "$dir/missing"
one_line "stat missing file" "^usermap: stat: $dir/missing: No such file"
status "stat /proc file" 1 "$tool" stat /proc/self/status
one_line "stat /proc file" '^usermap: stat: /proc/self/status: size not known in advance'
printf 'x\n' | { "$tool" stat /dev/stdin >"$dir/out" 2>"$dir/err"; echo $? >"$dir/rc"; }
check "stat of a pipe fails" [ "$(cat "$dir/rc")" -eq 1 ]
one_line "stat of a pipe" 'size not known in advance (not a regular file)'
status "cat goes on after an error" 1 "$tool" cat "$dir/missing" "$dir/small"
check "cat printed the good file" cmp -s "$dir/small" "$dir/out"
status "bad pool, one line" 1 env USERMAP_PAGE_SIZE=3K "$tool" cat "$dir/small"
one_line "bad pool" '^usermap: cat: .*USERMAP'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
