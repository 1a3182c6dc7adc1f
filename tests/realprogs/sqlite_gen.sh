#!/bin/sh
# SPDX-License-Identifier: MIT
# sqlite_gen.sh KIND ARGS...: the SQL scripts the sqlite cases feed to the
# sqlite3 shell, on standard output.  Deterministic: no random(), no
# randomblob(), no time, so that two runs leave the same database file.
#   grow ROWS STEPS   a table of ROWS rows of ~205 bytes, inserted in STEPS
#                     transactions with a query between them: the file
#                     grows and SQLite mremaps its mapping each time
#   query ROWS        full scans, 200,000 point lookups, an index and its
#                     range scans, updates, deletes and VACUUM (the file
#                     shrinks: ftruncate and a smaller mapping), then
#                     integrity_check
#   bench ROWS        the timed queries of bench/realprogs.sh
#   walsetup ROWS     a WAL database with ROWS rows of padding and the
#                     tables the writers keep in step
#   writer W TXNS     writer W (1 or 2): TXNS transactions, each an insert,
#                     sometimes a delete, and the totals they change; every
#                     50th checks the totals against the rows
#   reader LOOPS      read transactions checking the same invariants
#   walcheck          the final state: checkpoint, integrity, sums, digest
set -eu
mmap="PRAGMA mmap_size=1073741824;"
row="printf('%08d-%.180c', i, char(65 + i % 26))"
case $1 in
grow)
    rows=$2 steps=$3 step=$(( $2 / $3 ))
    echo "$mmap"
    echo "PRAGMA page_size=4096;"
    echo "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);"
    echo "CREATE TABLE g(step INTEGER, nrows INTEGER, sumk INTEGER, pages INTEGER);"
    s=1
    while [ $s -le "$steps" ]; do
        hi=$(( s * step )); [ $s -eq "$steps" ] && hi=$rows
        echo "WITH RECURSIVE n(i) AS (SELECT $(( (s - 1) * step + 1 )) UNION ALL SELECT i + 1 FROM n WHERE i < $hi)"
        echo "  INSERT INTO t SELECT i, (i * 2654435761) % 1000003, $row FROM n;"
        echo "INSERT INTO g SELECT $s, count(*), sum(k), (SELECT page_count FROM pragma_page_count) FROM t;"
        echo "SELECT * FROM g WHERE step = $s;"
        s=$(( s + 1 ))
    done ;;
query)
    rows=$2
    echo "$mmap"
    echo ".print full scan"
    echo "SELECT count(*), sum(k), sum(length(v)), sum(unicode(substr(v, 10, 1))) FROM t;"
    echo ".print 200000 point lookups"
    echo "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)"
    echo "  SELECT count(*), sum(t.k), sum(length(t.v)) FROM n JOIN t ON t.id = (n.i * 7919) % $rows + 1;"
    echo "SELECT id, k, substr(v, 1, 12) FROM t WHERE id IN (1, 2, $(( rows / 2 )), $rows) ORDER BY id;"
    echo ".print index"
    echo "CREATE INDEX tk ON t(k);"
    echo "EXPLAIN QUERY PLAN SELECT count(*), sum(id) FROM t WHERE k BETWEEN 1000 AND 50000;"
    echo "SELECT count(*), sum(id) FROM t WHERE k BETWEEN 1000 AND 50000;"
    echo "SELECT k, id FROM t WHERE k IN (7, 77, 777, 7777, 77777) ORDER BY k, id;"
    echo ".print update, delete, vacuum"
    echo "UPDATE t SET k = k + 1, v = upper(v) WHERE id % 10 = 0;"
    echo "DELETE FROM t WHERE id % 3 = 0;"
    echo "SELECT count(*), sum(k) FROM t;"
    echo "PRAGMA page_count;"
    echo "VACUUM;"
    echo "PRAGMA page_count;"
    echo "SELECT count(*), sum(k), sum(length(v)) FROM t;"
    echo "SELECT count(*), sum(id) FROM t WHERE k BETWEEN 1000 AND 50000;"
    echo "PRAGMA integrity_check;" ;;
bench)
    rows=$2
    echo "$mmap"
    echo "SELECT count(*), sum(k), sum(length(v)) FROM t;"
    echo "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)"
    echo "  SELECT count(*), sum(t.k) FROM n JOIN t ON t.id = (n.i * 7919) % $rows + 1;" ;;
walsetup)
    rows=$2
    echo "PRAGMA journal_mode=WAL;"
    echo "$mmap"
    echo "CREATE TABLE t(id INTEGER PRIMARY KEY, w INTEGER, x INTEGER, v TEXT);"
    echo "CREATE INDEX tx ON t(x);"
    echo "CREATE INDEX tw ON t(w, x);"
    echo "CREATE TABLE c(w INTEGER PRIMARY KEY, n INTEGER, s INTEGER);"
    echo "INSERT INTO c VALUES (1, 0, 0), (2, 0, 0);"
    echo "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)"
    echo "  INSERT INTO t SELECT i, 0, (i * 2654435761) % 100003, $row FROM n;" ;;
writer)
    w=$2 txns=$3 i=1
    echo ".timeout 60000"
    echo "$mmap"
    echo "PRAGMA synchronous=NORMAL;"
    while [ $i -le "$txns" ]; do
        id=$(( w * 1000000 + i )) x=$(( (w * 7919 + i * 104729) % 100003 ))
        echo "BEGIN IMMEDIATE;"
        echo "INSERT INTO t VALUES ($id, $w, $x, printf('%08d-%.100c', $id, char(65 + $i % 26)));"
        echo "UPDATE c SET n = n + 1, s = s + $x WHERE w = $w;"
        if [ $(( i % 7 )) -eq 0 ]; then
            # Delete one of this writer's earlier rows, through the index.
            old=$(( id - 5 ))
            echo "UPDATE c SET n = n - 1, s = s - (SELECT x FROM t WHERE id = $old) WHERE w = $w;"
            echo "DELETE FROM t WHERE id = $old;"
        fi
        echo "COMMIT;"
        if [ $(( i % 50 )) -eq 0 ]; then
            echo "SELECT 'check', $w, $i, (SELECT n FROM c WHERE w = $w) = count(*), (SELECT s FROM c WHERE w = $w) = sum(x) FROM t WHERE w = $w;"
        fi
        i=$(( i + 1 ))
    done ;;
reader)
    loops=$2 i=1
    echo ".timeout 60000"
    echo "$mmap"
    while [ $i -le "$loops" ]; do
        echo "BEGIN;"
        echo "SELECT 'read', (SELECT sum(n) FROM c) = count(*), (SELECT sum(s) FROM c) = total(x) FROM t WHERE w > 0;"
        echo "SELECT 'index', (SELECT sum(s) FROM c) = (SELECT total(x) FROM t INDEXED BY tw WHERE w > 0);"
        echo "COMMIT;"
        if [ $(( i % 10 )) -eq 0 ]; then
            # A full scan through the map, while the writers checkpoint.
            echo "SELECT 'scan', count(*) >= 50000, total(length(v)) >= 50000 * 189 FROM t;"
        fi
        i=$(( i + 1 ))
    done ;;
walcheck)
    echo ".timeout 60000"
    echo "$mmap"
    echo "PRAGMA wal_checkpoint(TRUNCATE);"
    echo "SELECT * FROM c ORDER BY w;"
    echo "SELECT w, count(*), sum(x), sum(length(v)) FROM t GROUP BY w ORDER BY w;"
    echo "SELECT count(*) FROM t INDEXED BY tx WHERE x >= 0;"
    echo "PRAGMA integrity_check;"
    echo ".sha3sum" ;;
*)
    echo "sqlite_gen.sh: unknown kind $1" >&2; exit 2 ;;
esac
