#!/usr/bin/env bash
# The initial sync of a PostgreSQL hub table (ROWS rows, 8 columns) into
# an empty SQLite member and an empty PostgreSQL member, with each binary
# given, one after another, as wall time of `hubsync sync --config`: for
# comparing two builds side by side (the first run also provisions the
# hub, so give the first binary twice or read the second round).
#
#   tests/bench/initial_sync.sh BIN [BIN...]   (needs psql, python3; ROWS=300000)
set -euo pipefail
rows=${ROWS:-300000}
export HUBSYNC_SECRET_KEY=$(head -c32 /dev/urandom | base64)
P="psql -qAtX -h 127.0.0.1 -U postgres"
$P -c "DROP DATABASE IF EXISTS hubsync_initial_hub" postgres; $P -c "CREATE DATABASE hubsync_initial_hub" postgres
$P -c "CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int, price numeric(12,2), a text, b text, c int, d timestamptz); INSERT INTO items SELECT i, 'item ' || i, i % 1000, i / 100.0, md5(i::text), md5((i+1)::text), i, now() FROM generate_series(1, $rows) i" hubsync_initial_hub
for bin in "$@"; do
  for kind in sqlite pg; do
    w=$(mktemp -d)
    $P -c "DROP DATABASE IF EXISTS hubsync_initial_m" postgres; $P -c "CREATE DATABASE hubsync_initial_m" postgres
    if [ $kind = sqlite ]; then url="sqlite://$w/m.db"; else url="postgres://postgres@127.0.0.1:5432/hubsync_initial_m"; fi
    cat > $w/g.toml <<T
metadata = "sqlite://$w/meta.db"
[[group]]
name = "g"
hub = "postgres://postgres@127.0.0.1:5432/hubsync_initial_hub"
[[group.table]]
name = "items"
[[group.member]]
name = "m"
url = "$url"
T
    s=$(date +%s.%N)
    "$bin" sync --config $w/g.toml > /dev/null
    e=$(date +%s.%N)
    echo "$bin $kind $(python3 -c "print(round($e - $s, 2))") s"
    rm -rf $w
  done
done
$P -c "DROP DATABASE IF EXISTS hubsync_initial_hub" postgres; $P -c "DROP DATABASE IF EXISTS hubsync_initial_m" postgres
