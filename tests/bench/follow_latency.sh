#!/usr/bin/env bash
# Change-to-visible latency: an application commits a row on one database,
# a probe polls another database every 5 ms until the row is there. Two
# paths (a PostgreSQL hub written by psycopg → a SQLite member; a SQLite
# member written by Python's sqlite3 → a PostgreSQL member, through the
# hub), and three ways of running `hubsync sync --watch`, side by side in
# one run: follow_changes with the default 250 ms poll, with a 50 ms poll,
# and today's interval polling at its shortest (interval_seconds = 1).
#
#   tests/bench/follow_latency.sh BIN   (needs psql, python3 with psycopg; N=60 changes per path)
set -euo pipefail
bin=$1
n=${N:-60}
P="psql -qAtX -h 127.0.0.1 -U postgres"
export HUBSYNC_SECRET_KEY=$(head -c32 /dev/urandom | base64)
for mode in "follow 250" "follow 50" "interval 1"; do
  set -- $mode
  w=$(mktemp -d)
  for db in hub pgm; do
    $P -c "DROP DATABASE IF EXISTS hubsync_follow_$db" postgres
    $P -c "CREATE DATABASE hubsync_follow_$db" postgres
  done
  $P -c "CREATE TABLE t (id bigint PRIMARY KEY, note text)" hubsync_follow_hub
  if [ "$1" = follow ]; then
    extra="interval_seconds = 3600
follow_changes = true
change_poll_milliseconds = $2"
  else
    extra="interval_seconds = $2"
  fi
  cat > $w/g.toml <<T
metadata = "sqlite://$w/meta.db"
[[group]]
name = "g"
hub = "postgres://postgres@127.0.0.1:5432/hubsync_follow_hub"
$extra
[[group.table]]
name = "t"
[[group.member]]
name = "lite"
url = "sqlite://$w/lite.db"
[[group.member]]
name = "pgm"
url = "postgres://postgres@127.0.0.1:5432/hubsync_follow_pgm"
T
  "$bin" sync --config $w/g.toml > /dev/null
  "$bin" sync --config $w/g.toml --watch > /dev/null 2> $w/watch.log &
  watch=$!
  sleep 2
  python3 - "$w" "$n" "$mode" <<'PY'
import random, sqlite3, sys, time
import psycopg
w, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
hub = psycopg.connect("host=127.0.0.1 user=postgres dbname=hubsync_follow_hub", autocommit=True)
pgm = psycopg.connect("host=127.0.0.1 user=postgres dbname=hubsync_follow_pgm", autocommit=True)
lite = sqlite3.connect(f"{w}/lite.db", timeout=30, isolation_level=None)
def visible(db, id, sqlite):
    q = "SELECT 1 FROM t WHERE id = " + ("?" if sqlite else "%s")
    return db.execute(q, (id,)).fetchone() is not None
def measure(write, read, read_sqlite, base):
    out = []
    for i in range(n):
        id = base + i
        t0 = time.monotonic()
        write(id)
        while not visible(read, id, read_sqlite):
            if time.monotonic() - t0 > 60:
                raise SystemExit(f"row {id} not visible after 60 s")
            time.sleep(0.005)
        out.append(time.monotonic() - t0)
        time.sleep(random.uniform(0.05, 1.3))  # out of step with any poll or interval
    return out
def report(path, xs):
    xs = sorted(xs)
    p = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
    print(f"{mode:>12} | {path:<32} | p50 {p(0.5)*1000:7.0f} ms | p99 {p(0.99)*1000:7.0f} ms | max {xs[-1]*1000:7.0f} ms")
report("psycopg hub -> sqlite member", measure(lambda id: hub.execute("INSERT INTO t VALUES (%s, 'hub')", (id,)), lite, True, 1_000_000))
report("sqlite3 member -> pg member", measure(lambda id: lite.execute("INSERT INTO t VALUES (?, 'lite')", (id,)), pgm, False, 2_000_000))
PY
  kill $watch; wait $watch 2>/dev/null || true
  rm -rf $w
done
for db in hub pgm; do $P -c "DROP DATABASE IF EXISTS hubsync_follow_$db" postgres; done
