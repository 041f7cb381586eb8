#!/usr/bin/env bash
# What follow_changes costs the applications of a PostgreSQL database:
# pgbench's TPC-B-like transactions (4 clients, DURATION seconds each run)
# on a database without hubsync, with hubsync's tracking triggers, and
# with the tracking triggers plus the notify statement triggers a watch
# adds; hubsync itself is stopped while pgbench runs. Side by side in one
# run, each case twice, alternating.
#
#   tests/bench/notify_cost.sh BIN   (needs psql, pgbench; DURATION=20)
set -euo pipefail
bin=$1
duration=${DURATION:-20}
P="psql -qAtX -h 127.0.0.1 -U postgres"
export HUBSYNC_SECRET_KEY=$(head -c32 /dev/urandom | base64)
w=$(mktemp -d)
db=hubsync_notify_cost
tps() { pgbench -h 127.0.0.1 -U postgres -c 4 -j 2 -T "$duration" -n "$db" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
setup() {  # $1: none | tracking | notify
  $P -c "DROP DATABASE IF EXISTS $db" postgres; $P -c "CREATE DATABASE $db" postgres
  pgbench -h 127.0.0.1 -U postgres -i -s 10 -q "$db" 2>/dev/null
  [ "$1" = none ] && return
  rm -f $w/*.db
  cat > $w/g.toml <<T
metadata = "sqlite://$w/meta.db"
[[group]]
name = "g"
hub = "postgres://postgres@127.0.0.1:5432/$db"
follow_changes = true
[[group.member]]
name = "m"
url = "sqlite://$w/m.db"
[[group.table]]
name = "pgbench_accounts"
[[group.table]]
name = "pgbench_branches"
[[group.table]]
name = "pgbench_tellers"
T
  if [ "$1" = tracking ]; then
    "$bin" sync --config $w/g.toml > /dev/null
  else
    # A watch adds the notify triggers when it opens, then is stopped.
    HUBSYNC_LOG=info "$bin" sync --config $w/g.toml --watch > /dev/null 2> $w/watch.log &
    pid=$!
    for _ in $(seq 1 600); do grep -q "following changes.*the hub" $w/watch.log && break; sleep 0.1; done
    kill $pid; wait $pid 2>/dev/null || true
  fi
  $P -c "VACUUM ANALYZE" "$db"; $P -c "CHECKPOINT" "$db"
}
declare -A sum
for round in 1 2; do
  for case in none tracking notify; do
    setup $case
    t=$(tps)
    echo "round $round: $case: $t tps"
    sum[$case]=$(python3 -c "print(${sum[$case]:-0} + $t)")
  done
done
none=${sum[none]}
for case in tracking notify; do
  echo "$case / none: $(python3 -c "print(round(${sum[$case]} / $none, 2))")"
done
echo "notify / tracking: $(python3 -c "print(round(${sum[notify]} / ${sum[tracking]}, 2))")"
$P -c "DROP DATABASE IF EXISTS $db" postgres
rm -rf $w
