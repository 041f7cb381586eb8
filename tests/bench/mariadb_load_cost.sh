#!/usr/bin/env bash
# What bounds an initial load into MariaDB: ROWS rows of the e2e bench's
# `orders` shape (10 columns) loaded into an empty table four ways, in the
# `mariadb` client, side by side, each ROUNDS times, alternating:
#   load_data - `LOAD DATA LOCAL INFILE` into an untracked table (the e2e
#               bench's raw baseline);
#   upsert    - multi-row `INSERT … ON DUPLICATE KEY UPDATE`, 2,000 rows a
#               statement, one transaction, untracked table (hubsync's
#               statement shape; sqlx's MySQL driver has no LOAD DATA LOCAL);
#   gated     - the same upserts into a table provisioned by hubsync (`hubsync
#               db provision`), with `@hubsync_loading` naming it, so each
#               row's tracking trigger fires and stands aside (a load);
#   recorded  - as gated, plus hubsync's set-wise statement recording the
#               entries after each upsert statement (what a load sends).
#
#   tests/bench/mariadb_load_cost.sh BIN   (needs mariadb, python3; ROWS=300000 ROUNDS=2)
set -euo pipefail
bin=$1
rows=${ROWS:-300000}
rounds=${ROUNDS:-2}
db=hubsync_load_cost
M="mariadb -h 127.0.0.1 -u root"
tmp=$(mktemp -d)
trap '$M -e "DROP DATABASE IF EXISTS $db"; rm -rf "$tmp"' EXIT
$M -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
cols="id BIGINT PRIMARY KEY, customer BIGINT, region VARCHAR(32), status VARCHAR(16), amount DECIMAL(12,2), \
qty INT, price DECIMAL(12,2), note VARCHAR(64), created DATETIME(6), flag BOOLEAN"
$M $db -e "CREATE TABLE orders ($cols); CREATE TABLE plain ($cols)"
"$bin" db provision "mysql://root@127.0.0.1:3306/$db" orders > /dev/null
id=$($M -N $db -e "SELECT id FROM hubsync_tables WHERE name = 'orders'")
ROWS=$rows ID=$id TMP=$tmp python3 - <<'PY'
import os
n, i_d, tmp = int(os.environ["ROWS"]), os.environ["ID"], os.environ["TMP"]
def row(i):
    return (i, i % 1000, f"region {i % 20}", "new", f"{i * 1.25:.2f}", i % 50, "9.99", f"note {i}",
            f"2026-01-01 00:00:{i % 60:02d}", i % 2)
with open(f"{tmp}/rows.tsv", "w") as f:
    for i in range(1, n + 1):
        f.write("\t".join(map(str, row(i))) + "\n")
def script(table, gate, record):
    out = [f"SET @hubsync_origin = 'bench', @hubsync_loading = {i_d if gate else 'NULL'};", "BEGIN;"]
    upd = ", ".join(f"{c} = VALUES({c})" for c in
                    ["customer", "region", "status", "amount", "qty", "price", "note", "created", "flag"])
    for lo in range(1, n + 1, 2000):
        ids = range(lo, min(n, lo + 1999) + 1)
        vals = ", ".join("({},{},'{}','{}',{},{},{},'{}','{}',{})".format(*row(i)) for i in ids)
        out.append(f"INSERT INTO {table} VALUES {vals} ON DUPLICATE KEY UPDATE {upd};")
        if record:
            out.append(
                f"INSERT INTO hubsync_track_{i_d} (id, hubsync_seq, hubsync_deleted, hubsync_origin, hubsync_changed_at) "
                f"SELECT id, {lo - 1} + ROW_NUMBER() OVER (), 0, 'bench', CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED) "
                f"FROM {table} WHERE (id) IN ({', '.join(str(i) for i in ids)}) ON DUPLICATE KEY UPDATE "
                "hubsync_seq = VALUES(hubsync_seq), hubsync_deleted = VALUES(hubsync_deleted), "
                "hubsync_origin = VALUES(hubsync_origin), hubsync_changed_at = VALUES(hubsync_changed_at);")
    out.append("COMMIT;")
    return "\n".join(out)
for name, args in {"upsert": ("plain", False, False), "gated": ("orders", True, False),
                   "recorded": ("orders", True, True)}.items():
    with open(f"{tmp}/{name}.sql", "w") as f:
        f.write(script(*args))
PY
empty() { $M $db -e "TRUNCATE plain; TRUNCATE orders; TRUNCATE hubsync_track_$id"; }
timed() { # $1: label; the rest: the command
  local label=$1; shift
  empty
  local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N)
  printf '%-10s %6.2f s\n' "$label" "$(echo "$e - $s" | bc)"
}
for r in $(seq "$rounds"); do
  echo "round $r ($rows rows)"
  timed load_data $M --local-infile=1 $db -e "LOAD DATA LOCAL INFILE '$tmp/rows.tsv' INTO TABLE plain"
  for k in upsert gated recorded; do timed $k sh -c "$M $db < $tmp/$k.sql"; done
done
