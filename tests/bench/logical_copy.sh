#!/usr/bin/env bash
# A PostgreSQL → PostgreSQL initial sync beside PostgreSQL's own logical
# replication initial copy (`CREATE SUBSCRIPTION … copy_data`), of the same
# 10-column table (the e2e bench's `orders`, ROWS rows), between databases
# of one throwaway cluster started here with `wal_level = logical` (the
# README's server keeps its own settings). Its other settings are initdb's
# defaults, like the README's server.
#
# Printed: the subscription's copy until every table is ready; hubsync's
# first sync of the group (it provisions the hub: records every hub row
# in the tracking table), and a second member's initial sync (the hub
# already provisioned: what each further member costs), with the ratios
# hubsync rows/s ÷ subscription rows/s.
#
#   tests/bench/logical_copy.sh BIN   (as root; ROWS=1000000; PostgreSQL 15's initdb and pg_ctl)
set -euo pipefail
rows=${ROWS:-1000000}
bin=$(realpath "$1")
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
port=${PORT:-5439}
dir=$(mktemp -d)
chown postgres "$dir"
su postgres -c "$pgbin/initdb -D $dir/data -A trust -U postgres" > /dev/null
cat >> "$dir/data/postgresql.conf" <<C
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
wal_level = logical
C
su postgres -c "$pgbin/pg_ctl -D $dir/data -l $dir/log -w start" > /dev/null
trap 'su postgres -c "$pgbin/pg_ctl -D $dir/data -m fast -w stop" > /dev/null; rm -rf "$dir"' EXIT
P="psql -qAtX -h 127.0.0.1 -p $port -U postgres"
for d in src logical m1 m2; do $P -c "CREATE DATABASE $d" postgres; done
ddl="CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, status text, amount numeric(12,2), note text, created_at timestamp, updated_at timestamp, quantity bigint, region text, paid boolean)"
$P -c "$ddl" src
$P -c "INSERT INTO orders SELECT i, i * 7 % 100000, (ARRAY['new','paid','shipped','returned'])[i % 4 + 1], (i % 100000) + (i % 100) / 100.0, 'order ' || i || ': ' || repeat('lorem ipsum dolor sit amet, ', 3), TIMESTAMP '2026-01-01' + i * INTERVAL '1 millisecond', TIMESTAMP '2026-01-01' + i * INTERVAL '2 millisecond', i % 50, (ARRAY['EU','US','APAC'])[i % 3 + 1], i % 2 = 0 FROM generate_series(1, $rows) i" src
$P -c "VACUUM ANALYZE orders" src
now() { date +%s.%N; }
secs() { python3 -c "print(round($2 - $1, 2))"; }

# 1. PostgreSQL's logical replication initial copy.
$P -c "CREATE PUBLICATION p FOR TABLE orders" src
$P -c "$ddl" logical
# Publisher and subscriber share a cluster: the slot is made beforehand
# (made by CREATE SUBSCRIPTION, it would wait for that very transaction).
$P -c "SELECT pg_create_logical_replication_slot('s', 'pgoutput')" src > /dev/null
s=$(now)
$P -c "CREATE SUBSCRIPTION s CONNECTION 'host=127.0.0.1 port=$port user=postgres dbname=src' PUBLICATION p WITH (create_slot = false)" logical
until [ "$($P -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'" logical)" = 0 ]; do sleep 0.05; done
logical=$(secs "$s" "$(now)")
copied=$($P -c "SELECT count(*) FROM orders" logical)
$P -c "DROP SUBSCRIPTION s" logical

# 2. hubsync: the group's first sync (member m1), then a second member (m2).
w=$(mktemp -d)
export HUBSYNC_SECRET_KEY=$(head -c32 /dev/urandom | base64)
cat > "$w/g.toml" <<T
metadata = "sqlite://$w/meta.db"
[[group]]
name = "g"
hub = "postgres://postgres@127.0.0.1:$port/src"
batch_rows = 20000
[[group.table]]
name = "orders"
[[group.member]]
name = "m1"
url = "postgres://postgres@127.0.0.1:$port/m1"
[[group.member]]
name = "m2"
url = "postgres://postgres@127.0.0.1:$port/m2"
T
s=$(now); "$bin" sync --config "$w/g.toml" --member m1 > /dev/null; first=$(secs "$s" "$(now)")
s=$(now); "$bin" sync --config "$w/g.toml" --member m2 > /dev/null; second=$(secs "$s" "$(now)")
for d in m1 m2; do
  n=$($P -c "SELECT count(*) FROM orders" $d)
  [ "$n" = "$rows" ] || { echo "member $d holds $n rows, not $rows" >&2; exit 1; }
done
rm -rf "$w"
[ "$copied" = "$rows" ] || { echo "the subscription copied $copied rows, not $rows" >&2; exit 1; }
ratio() { python3 -c "print(round($logical / $1, 2))"; }
rate() { python3 -c "print(f'{$rows / $1:,.0f}')"; }
echo "| what | time | rows/s | ratio to the subscription |"
echo "|---|---|---|---|"
echo "| logical replication initial copy | $logical s | $(rate $logical) | 1 |"
echo "| hubsync, first sync (provisions the hub) | $first s | $(rate $first) | $(ratio $first) |"
echo "| hubsync, a further member's initial sync | $second s | $(rate $second) | $(ratio $second) |"
