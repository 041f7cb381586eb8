#!/usr/bin/env bash
# What recording a write's tracking entry costs on PostgreSQL, statement
# by statement, in psql: ROWS upserts of changed rows into a table of
# TABLE_ROWS rows and 10 columns (the e2e bench's `orders` shape), made
# three ways, side by side, each ROUNDS times, alternating:
#   trigger - the upsert alone; hubsync's per-row tracking trigger records
#             each entry (how applications' writes, and hubsync's before
#             the set-wise apply, are recorded);
#   cte     - the trigger stands aside (`hubsync.loading`) and one
#             data-modifying CTE over the upsert's RETURNING records the
#             entries (how hubsync's own apply records them now);
#   none    - the same upsert into an untracked copy of the table.
# The tracked table is provisioned by hubsync itself (`hubsync db
# provision`), so the trigger and the tracking table are the real ones.
#
#   tests/bench/write_cost.sh BIN   (needs psql; ROWS=100000 TABLE_ROWS=1000000 ROUNDS=3)
set -euo pipefail
bin=$1
rows=${ROWS:-100000}
table_rows=${TABLE_ROWS:-1000000}
rounds=${ROUNDS:-3}
P="psql -qAtX -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1"
export PGOPTIONS="-c client_min_messages=warning"
db=hubsync_write_cost
trap '$P -c "DROP DATABASE IF EXISTS $db" postgres >/dev/null' EXIT
$P -c "DROP DATABASE IF EXISTS $db" postgres
$P -c "CREATE DATABASE $db" postgres
cols="id bigint PRIMARY KEY, customer bigint, region text, status text, amount numeric(12,2), qty int, \
price numeric(12,2), note text, created timestamptz, flag boolean"
fill="SELECT i, i % 1000, 'region ' || (i % 20), 'new', i * 1.25, i % 50, 9.99, 'note ' || i, \
'2026-01-01'::timestamptz + i * interval '1 second', i % 2 = 0 FROM generate_series(1, $table_rows) i"
$P -d $db -c "CREATE TABLE orders ($cols); INSERT INTO orders $fill; CREATE TABLE plain ($cols); INSERT INTO plain $fill"
"$bin" db provision "postgres://postgres@127.0.0.1:5432/$db" orders > /dev/null
id=$($P -d $db -c "SELECT id FROM hubsync.tables WHERE name = 'orders'")
$P -d $db -c "VACUUM ANALYZE"
# Every run changes the same keys to a value it has not held before.
changed() { # $1: table, $2: run number
  echo "INSERT INTO $1 SELECT id, customer, region, 'run $2', amount, qty, price, note, created, flag \
FROM $1 WHERE id <= $rows ON CONFLICT (id) DO UPDATE SET status = excluded.status"
}
statement() { # $1: case, $2: run number
  case $1 in
    trigger) echo "BEGIN; SELECT set_config('hubsync.origin', 'bench', true); $(changed orders $2); COMMIT;" ;;
    cte) echo "BEGIN; SELECT set_config('hubsync.origin', 'bench', true), set_config('hubsync.loading', '$id', true);
WITH w AS ($(changed orders $2) RETURNING id)
INSERT INTO hubsync.track_$id (id, xid, seq, deleted, origin, changed_at)
SELECT id, pg_current_xact_id(), nextval('hubsync.seq'), false, 'bench', clock_timestamp() FROM w
ON CONFLICT (id) DO UPDATE SET xid = excluded.xid, seq = excluded.seq, deleted = excluded.deleted,
origin = excluded.origin, changed_at = excluded.changed_at; COMMIT;" ;;
    none) echo "$(changed plain $2);" ;;
  esac
}
declare -A times
run=0
for round in $(seq 1 "$rounds"); do
  for case in trigger cte none; do
    run=$((run + 1))
    $P -d $db -c "CHECKPOINT" > /dev/null
    start=$(date +%s.%N)
    statement $case $run | $P -d $db > /dev/null
    s=$(python3 -c "print(f'{$(date +%s.%N) - $start:.2f}')")
    echo "round $round: $case: $s s"
    times[$case]="${times[$case]:-}${times[$case]:+, }$s"
  done
done
# The entries are there: every written key is marked as written by 'bench'.
marked=$($P -d $db -c "SELECT count(*) FROM hubsync.track_$id WHERE id <= $rows AND origin = 'bench'")
[ "$marked" = "$rows" ] || { echo "expected $rows entries marked 'bench', found $marked" >&2; exit 1; }
echo
echo "| statement ($rows upserts into $table_rows rows) | time (runs) |"
echo "|---|---|"
echo "| upsert through the per-row trigger | ${times[trigger]} s |"
echo "| upsert + its entries in a CTE over RETURNING | ${times[cte]} s |"
echo "| upsert, no tracking at all | ${times[none]} s |"
