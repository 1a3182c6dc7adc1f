#!/bin/sh
# SPDX-License-Identifier: MIT
# preload.sh TOOL PROG CASE - `usermap run` (libusermap-preload.so) against
# the kernel: PROG (preload_prog.c, an ordinary mmap program) or python3
# runs once directly and once under `usermap run`, each on its own copy
# of the same file; standard output, exit status and the files must be
# byte for byte the same, and usermap must really serve the mapping
# (preload_prog's "served" lines, or --stats' counters).  Every run has a
# watchdog.
set -u
tool=$1 prog=$2 case=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/usermap-preload.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
bad() { failed=1; echo "FAIL: $*"; }
limit() { timeout -k 5 60 "$@"; }

# side NAME CMD...: runs CMD in $tmp/NAME on a fresh file.dat; keeps out, err, status.
side() {
    name=$1; shift
    mkdir -p "$tmp/$name"
    "$tool" gen "$tmp/$name/file.dat" 64K >/dev/null || exit 1
    (cd "$tmp/$name" && limit "$@" >out 2>err; echo $? >status)
}

# compare: the kernel's and usermap's runs gave the same.
compare() {
    for f in out status file.dat; do
        cmp -s "$tmp/kernel/$f" "$tmp/usermap/$f" || bad "$case: $f differs"
    done
}

# served SIDE WHO: every mapping of file.dat on that side was WHO's.
served() {
    grep -q "^served .*file.dat: " "$tmp/$1/err" || bad "$case: $1 side mapped nothing"
    if grep "^served .*file.dat: " "$tmp/$1/err" | grep -vq ": $2\$"; then
        bad "$case: $1 side: a mapping not served by $2"; cat "$tmp/$1/err"
    fi
}

# differential ARGS...: preload_prog ARGS directly and under usermap run.
differential() {
    side kernel "$prog" "$@"
    side usermap "$tool" run --stats -- "$prog" "$@"
    compare
    served kernel kernel
    served usermap usermap
    # fork: the child fills the page and leaves by _exit, with no report.
    [ "$case" = fork ] ||
        grep -Eq '^  pages filled +[1-9]' "$tmp/usermap/err" || bad "$case: --stats shows no page filled"
}

case $case in
map|coherent|threads|fork)
    differential "$case" file.dat ;;
budget)
    side kernel "$prog" map file.dat
    side usermap "$tool" run --memory-limit 8K --page-size 4K --policy fifo -- "$prog" map file.dat
    compare; served usermap usermap ;;
constructor)
    side kernel env PRELOAD_PROG_CTOR=file.dat "$prog" exit 0
    side usermap "$tool" run -- env PRELOAD_PROG_CTOR=file.dat "$prog" exit 0
    compare; served kernel kernel; served usermap usermap ;;
exec)
    # Kept: the child of an exec is interposed again; dropped: it is not.
    side kernel "$prog" exec file.dat 1
    side usermap "$tool" run -- "$prog" exec file.dat 1
    compare; served usermap usermap
    side usermap "$tool" run -- "$prog" exec file.dat 0
    compare; served usermap kernel ;;
devices)
    side kernel "$prog" devices
    side usermap "$tool" run -- env USERMAP_ANONYMOUS=1 "$prog" devices
    compare
    grep -q "^served /dev/zero: kernel" "$tmp/usermap/err" || bad "devices: /dev/zero not the kernel's" ;;
status)
    for n in 0 3 77; do
        side kernel "$prog" exit $n; side usermap "$tool" run -- "$prog" exit $n; compare
    done
    # A signal passes through: the tool dies of it as the program does.
    for sig in 6 11 15; do
        side kernel sh -c "exec '$prog' signal $sig"
        side usermap sh -c "exec '$tool' run -- '$prog' signal $sig"
        compare
        [ "$(cat "$tmp/usermap/status")" = $((128 + sig)) ] || bad "status: signal $sig not passed through"
    done ;;
python|python_resize)
    # python_resize: mmap.resize is mremap and ftruncate on a mapped file.
    resize=0; [ $case = python_resize ] && resize=1
    cat >"$tmp/script.py" <<PY
import mmap, os
with open("file.dat", "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    print(m.find(b"0000000000001000"), m[:16], m[-16:])
    m[0:5] = b"HELLO"
    m.seek(100); m.write(b"written-by-python")
    m.flush()
    if $resize:
        m.resize(100000)
        m[99990:100000] = b"grown-end!"
        m.flush()
    m.close()
print(os.path.getsize("file.dat"))
PY
    side kernel python3 "$tmp/script.py"
    side usermap "$tool" run --stats -- python3 "$tmp/script.py"
    compare
    grep -Eq '^  pages filled +[1-9]' "$tmp/usermap/err" || bad "python: --stats shows no page filled" ;;
*)
    echo "unknown case $case"; exit 2 ;;
esac
[ $failed -eq 0 ] && echo "ok: $case"
[ $failed -eq 0 ]
