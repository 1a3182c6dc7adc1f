#!/bin/sh
# SPDX-License-Identifier: MIT
# compare.sh BINDIR - run each example built against the kernel's mmap
# (NAME_kernel) and against usermap (NAME_usermap) on the same inputs, each
# in a fresh directory, and diff what they print, their exit status and the
# files they leave behind.  Prints "same: CASE" or the diff; exits 1 if any
# case differs.
set -u
bindir=$(cd "${1:?usage: compare.sh BINDIR}" && pwd) || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/usermap-examples.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# A library bug may hang a program; a hang should fail the case, not ctest.
limit=""
command -v timeout >/dev/null 2>&1 && limit="timeout 30"
same=0
differ=0

# The inputs every run starts from: a multi-page text file whose last page
# is partial, a one-line file, an empty file, a directory for log.txt.
make_inputs() {
    mkdir -p "$1/logs"
    seq 1 3000 >"$1/sample.txt"
    echo "hello, usermap" >"$1/small.txt"
    : >"$1/empty.txt"
}

# run_side SIDE CASE PROGRAM ARGS...: runs PROGRAM_SIDE in $tmp/SIDE/CASE
# and records exit status, stdout and stderr in $tmp/SIDE/CASE.out.
run_side() {
    side=$1 case=$2 prog=$3
    shift 3
    dir=$tmp/$side/$case
    make_inputs "$dir"
    (cd "$dir" && $limit "$bindir/${prog}_$side" "$@" \
        >"$dir.stdout" 2>"$dir.stderr"; echo "exit $?" >"$dir.status")
    # LeakSanitizer in a forked child still lists the parent's threads (here
    # usermap's fault handler), cannot suspend them and says so; that is
    # the sanitizer's view of fork, not output of the program.
    { cat "$dir.status"; echo "--- stdout"; cat "$dir.stdout"
      echo "--- stderr"
      grep -v '^==[0-9]*==Running thread [0-9]* was not suspended' \
          "$dir.stderr"; } >"$dir.out"
}

# compare CASE PROGRAM ARGS...
compare() {
    case=$1
    shift
    # A usermap build that does not call usermap would compare the kernel
    # with itself and pass for nothing.
    if ! grep -q um_mmap "$bindir/$1_usermap"; then
        echo "DIFFERENT: $* (${1}_usermap does not use usermap)"
        differ=$((differ + 1))
        return
    fi
    run_side kernel "$case" "$@"
    run_side usermap "$case" "$@"
    if diff -u "$tmp/kernel/$case.out" "$tmp/usermap/$case.out" &&
       diff -r "$tmp/kernel/$case" "$tmp/usermap/$case"; then
        echo "same: $*"
        same=$((same + 1))
    else
        echo "DIFFERENT: $*"
        differ=$((differ + 1))
    fi
}

compare print_sample   print_file sample.txt
compare print_small    print_file small.txt
compare print_empty    print_file empty.txt
compare print_missing  print_file missing.txt
compare shared_counter shared_counter
compare log_cwd        log_file
compare log_dir        log_file logs
compare private_sample private_write sample.txt
compare private_small  private_write small.txt

echo "$same passed, $differ failed"
[ "$differ" -eq 0 ]
