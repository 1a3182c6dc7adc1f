#!/bin/sh
# SPDX-License-Identifier: MIT
# ipc.sh BINDIR - issue 8's table for the classic pair of processes that
# talk through a shared file mapping, ipc_writer and ipc_reader, built
# against the kernel (NAME_kernel) and against usermap (NAME_usermap).
# Each row runs the pair of one build in a fresh directory, the two taking
# turns through FIFOs (so the order of their steps is fixed, no sleeps),
# and records what each printed, how each ended and the file's first two
# bytes afterwards.  A row passes when each run's record holds the row's
# stated lines and the usermap run records exactly what the kernel run
# does.  SIDE (kernel or usermap) runs that build alone, against the
# stated lines only.  Prints "same: ROW" (or "ok: ROW" for one side) or
# what differs; exits 1 if any row fails.
#
#   ipc.sh BINDIR [SIDE]
set -u
bindir=$(cd "${1:?usage: ipc.sh BINDIR [kernel|usermap]}" && pwd) || exit 1
sides=${2:-kernel usermap}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/usermap-ipc.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
ulimit -c 0 # the abort row would leave a core file
# A library bug may hang a process; that should fail its row, not ctest.
limit=""
command -v timeout >/dev/null 2>&1 && limit="timeout -s KILL 20"
same=0
differ=0

# pair SIDE DIR WMODE RMODE: the writer in WMODE and the reader in RMODE at
# once, taking turns through two FIFOs.
pair() {
    mkfifo "$2/to_reader" "$2/to_writer" || return
    (cd "$2" && $limit "$bindir/ipc_writer_$1" data "$3" to_reader to_writer \
        >writer.out 2>&1; echo "writer: exit $?" >>writer.out) &
    (cd "$2" && $limit "$bindir/ipc_reader_$1" data "$4" to_reader to_writer \
        >reader.out 2>&1; echo "reader: exit $?" >>reader.out)
    wait
}

# alone SIDE DIR WMODE: the writer alone (it dies after its store), then
# a later reader maps the file and looks.
alone() {
    (cd "$2" && $limit "$bindir/ipc_writer_$1" data "$3" >writer.out 2>&1
     echo "writer: exit $?" >>writer.out)
    (cd "$2" && $limit "$bindir/ipc_reader_$1" data check >reader.out 2>&1
     echo "reader: exit $?" >>reader.out)
}

# run_side SIDE ROW WMODE RMODE: run the row and gather its record.
run_side() {
    dir=$tmp/$1/$2
    mkdir -p "$dir"
    if [ "$4" = check ]; then alone "$1" "$dir" "$3"
    else pair "$1" "$dir" "$3" "$4"; fi
    { cat "$dir/writer.out" "$dir/reader.out"
      printf 'file:'; od -An -c -N2 "$dir/data" | tr -s ' '; } >"$dir.out"
}

# stated ROW SIDE LINE...: whether SIDE's record of ROW holds every LINE.
stated() {
    st_row=$1 st_side=$2 out=$tmp/$2/$1.out
    shift 2
    for line in "$@"; do
        grep -Fqx -- "$line" "$out" && continue
        printf '%s run of %s: no line "%s"; it has:\n' "$st_side" "$st_row" "$line"
        sed 's/^/    /' "$out"
        return 1
    done
}

# row ROW WMODE RMODE LINE...: the lines each run's record must hold (the
# file's bytes as od -c prints them).
row() {
    r=$1 w=$2 rd=$3
    shift 3
    ok=1
    for side in $sides; do
        run_side "$side" "$r" "$w" "$rd"
        stated "$r" "$side" "$@" || ok=0
    done
    if [ "$sides" = "kernel usermap" ]; then
        diff -u "$tmp/kernel/$r.out" "$tmp/usermap/$r.out" || ok=0
    fi
    if [ $ok = 1 ]; then
        [ "$sides" = "kernel usermap" ] && echo "same: $r" || echo "ok: $r ($sides)"
        same=$((same + 1))
    else
        echo "DIFFERENT: $r (writer $w, reader $rd)"
        differ=$((differ + 1))
    fi
}

for side in $sides; do
    # A usermap build that does not call usermap would pass for nothing.
    for prog in ipc_writer ipc_reader; do
        if [ $side = usermap ] && ! grep -q um_mmap "$bindir/${prog}_$side"; then
            echo "${prog}_usermap does not use usermap"
            exit 1
        fi
    done
done

# Each sees the other's store while both hold the mapping; "WR" stays.
row talk talk talk 'reader: byte 0 is W' 'writer: byte 1 is R' 'file: W R'
# The writer dies after its store; a later process finds it in the file.
row kill kill check 'reader: mapped bytes 0 and 1: W NUL' 'file: W \0'
row abort abort check 'reader: mapped bytes 0 and 1: W NUL' 'file: W \0'
row _exit _exit check 'reader: mapped bytes 0 and 1: W NUL' 'file: W \0'
row fork fork check 'reader: mapped bytes 0 and 1: W NUL' 'file: W \0'
# read(2) by another process that maps nothing sees the store before any
# msync: on usermap's side the reader's um_read goes through the shared
# cache (issue 9).
row read hold read 'reader: read(2) sees bytes 0 and 1: W NUL'

echo "$same passed, $differ failed"
[ "$differ" -eq 0 ]
