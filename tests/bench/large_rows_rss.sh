#!/usr/bin/env bash
# Peak memory of `hubsync sync` against batch_bytes: a PostgreSQL hub synced
# to a MariaDB and a SQLite member, created fresh for each run: 150 rows of
# 2 MiB (300 MiB) and a 1,000-column table of 3,000 rows at three
# batch_bytes; one row of 24 MiB (MariaDB's default max_allowed_packet
# quarantines it there) and a one-row table (the baseline) at the default.
# Prints peak RSS, and peak RSS minus batch_bytes (the constant the README
# states). Needs GNU time (/usr/bin/time), psql, mariadb, and a built
# hubsync (HUBSYNC_BIN, default target/debug/hubsync).
set -euo pipefail
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
cd "$(dirname "$0")/../.."
bin=${HUBSYNC_BIN:-target/debug/hubsync}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pg() { psql -X -q -U postgres -h 127.0.0.1 "$@"; }
my() { mariadb -uroot -h127.0.0.1 "$@"; }
rss() { # group file → peak RSS in MiB
    /usr/bin/time -f "%M" -o "$work/rss" "$bin" sync --config "$1" >/dev/null 2>&1
    echo $(( $(cat "$work/rss") / 1024 ))
}
pg -c "DROP DATABASE IF EXISTS hubsync_rss" -c "CREATE DATABASE hubsync_rss"
pg -d hubsync_rss -c "CREATE TABLE blobs (id int PRIMARY KEY, data bytea);
  INSERT INTO blobs SELECT g, decode(repeat(md5(g::text), 65536), 'hex') || decode(repeat(md5((g + 1)::text), 65536), 'hex')
  FROM generate_series(1, 150) g;"
cols=$(seq 1 999 | sed 's/.*/c& int/' | paste -sd,)
vals=$(seq 1 999 | sed 's/.*/g * &/' | paste -sd,)
pg -d hubsync_rss -c "CREATE TABLE wide (id int PRIMARY KEY, $cols); INSERT INTO wide SELECT g, $vals FROM generate_series(1, 3000) g;"
pg -d hubsync_rss -c "CREATE TABLE big1 (id int PRIMARY KEY, data bytea);
  INSERT INTO big1 SELECT 1, decode(string_agg(md5(g::text), ''), 'hex') FROM generate_series(1, 1572864) g;"
pg -d hubsync_rss -c "CREATE TABLE tiny (id int PRIMARY KEY, note text); INSERT INTO tiny VALUES (1, 'a');"
printf "%-28s %12s %14s %20s\n" scenario batch_bytes "peak RSS" "RSS - batch_bytes"
for run in blobs:16 blobs:64 blobs:256 wide:16 wide:64 wide:256 big1:64 tiny:64; do
    table=${run%:*} mib=${run#*:}
    {
        pg -d hubsync_rss -c "DROP SCHEMA IF EXISTS hubsync CASCADE" 2>/dev/null
        my -e "DROP DATABASE IF EXISTS hubsync_rss; CREATE DATABASE hubsync_rss"
        rm -f "$work"/*.db
        cat > "$work/g.toml" <<TOML
metadata = "sqlite://$work/meta.db"
[[group]]
name = "g"
hub = "postgres://postgres@127.0.0.1:5432/hubsync_rss"
batch_bytes = $((mib << 20))
[[group.member]]
name = "maria"
url = "mysql://root@127.0.0.1:3306/hubsync_rss"
[[group.member]]
name = "lite"
url = "sqlite://$work/lite.db"
[[group.table]]
name = "$table"
TOML
        peak=$(rss "$work/g.toml")
        printf "%-28s %9s MiB %10s MiB %16s MiB\n" "$table" "$mib" "$peak" "$((peak - mib))"
    }
done
my -e "DROP DATABASE IF EXISTS hubsync_rss"
pg -c "DROP DATABASE hubsync_rss"
