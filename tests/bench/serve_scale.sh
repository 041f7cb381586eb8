#!/usr/bin/env bash
# One group of many SQLite members under `hubsync serve`, beside the same
# group through `hubsync sync --config` (the file CLI, one member at a time
# and with --concurrency like serve's), on loopback:
#  1. the initial sync (every member empty),
#  2. an idle round (nothing changed anywhere),
#  3. a round with one changed hub row per table,
# each as wall time, ms per member-table, and the ratio serve / file CLI;
# and serve's peak RSS.
#
#   tests/bench/serve_scale.sh [HUBSYNC_BIN]   (needs sqlite3, python3)
#   MEMBERS_N=200 TABLES_N=5 ROWS=200 CONCURRENCY=4
#   META=postgres: serve's metadata in a new database of the local
#   PostgreSQL (127.0.0.1:5432, user postgres; needs psql), dropped after
#   FOLLOW=1: serve's group has `follow_changes = true` (no file CLI runs); after the rounds,
#   serve's CPU use over IDLE_SECONDS=30 with nothing changing, and the
#   time from one changed hub row per table until every member synced it
#   (no sync asked for)
#   MEMBERS=postgres: the members are databases of a throwaway PostgreSQL
#   cluster started here (as root; port PORT=5441, max_connections 1000:
#   a member's pool holds up to 4 connections, more than the default 100
#   allows for 100 members); the hub stays SQLite
set -euo pipefail
bin=${1:-target/release/hubsync}
nm=${MEMBERS_N:-200}
nt=${TABLES_N:-5}
rows=${ROWS:-200}
conc=${CONCURRENCY:-4}
work=$(mktemp -d)
pid=
pgmeta=
pgdata=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    wait 2>/dev/null || true
    [ -n "$pgmeta" ] && psql -qX -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $pgmeta" postgres >/dev/null 2>&1 || true
    [ -n "$pgdata" ] && su postgres -c "$pgbin/pg_ctl -D $pgdata -m immediate -w stop" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
member_url() { echo "sqlite://$work/$1/m$2.db"; }
if [ "${MEMBERS:-sqlite}" = postgres ]; then
    pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    mport=${PORT:-5441}
    chown postgres "$work"
    su postgres -c "$pgbin/initdb -D $work/pg -A trust -U postgres" >/dev/null
    printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nmax_connections = 1000\n" \
        "$mport" "$work" >> "$work/pg/postgresql.conf"
    su postgres -c "$pgbin/pg_ctl -D $work/pg -l $work/pg.log -w start" >/dev/null
    pgdata=$work/pg
    for kind in cli clic srv; do
        for m in $(seq 1 "$nm"); do echo "CREATE DATABASE ${kind}_m$m;"; done
    done | psql -qX -h 127.0.0.1 -p "$mport" -U postgres postgres >/dev/null
    member_url() { echo "postgres://postgres@127.0.0.1:$mport/$1_m$2"; }
fi
export HUBSYNC_SECRET_KEY=$(head -c32 /dev/urandom | base64)
ulimit -n 8192 || true

for t in $(seq 1 "$nt"); do
    sqlite3 "$work/hub.db" "CREATE TABLE t$t (id INTEGER PRIMARY KEY, v TEXT, n INTEGER);
      WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $rows)
      INSERT INTO t$t SELECT i, 'value ' || i, i FROM s;"
done
# The same group twice: members under cli/ (file CLI) and srv/ (serve).
group() {
    echo "[[group]]"; echo "name = \"g\""; echo "hub = \"sqlite://$work/hub.db\""
    [ "$1" = srv ] && [ -n "${FOLLOW:-}" ] && echo "follow_changes = true"
    for t in $(seq 1 "$nt"); do echo "[[group.table]]"; echo "name = \"t$t\""; done
    for m in $(seq 1 "$nm"); do
        echo "[[group.member]]"; echo "name = \"m$m\""; echo "url = \"$(member_url "$1" "$m")\""
    done
}
mkdir -p "$work/cli" "$work/clic" "$work/srv"
{ echo "metadata = \"sqlite://$work/cli-meta.db\""; group cli; } > "$work/cli.toml"
{ echo "metadata = \"sqlite://$work/clic-meta.db\""; group clic; } > "$work/clic.toml"
group srv > "$work/srv.toml"
change() { for t in $(seq 1 "$nt"); do sqlite3 -cmd '.timeout 5000' "$work/hub.db" "UPDATE t$t SET n = n + 1 WHERE id = 1;"; done; }
now() { date +%s.%N; }

declare -A cli clic
run_cli() {
    local s; s=$(now)
    "$bin" sync --config "$work/cli.toml" >/dev/null
    cli[$1]=$(python3 -c "print($(now) - $s)")
    s=$(now)
    "$bin" sync --config "$work/clic.toml" --concurrency "$conc" >/dev/null
    clic[$1]=$(python3 -c "print($(now) - $s)")
}
# With FOLLOW the rounds are serve's only (the file CLI does not follow).
if [ -z "${FOLLOW:-}" ]; then
    run_cli initial
    run_cli idle
    change
    run_cli change
fi

meta="sqlite://$work/srv-meta.db"
sessions() { sqlite3 -cmd '.timeout 5000' "$work/srv-meta.db" "SELECT count(*) FROM sessions" 2>/dev/null || echo 0; }
if [ "${META:-sqlite}" = postgres ]; then
    pgmeta="hubsync_scale_meta_$$"
    psql -qX -h 127.0.0.1 -U postgres -c "CREATE DATABASE $pgmeta" postgres >/dev/null
    meta="postgres://postgres@127.0.0.1:5432/$pgmeta"
    sessions() { psql -qAtX -h 127.0.0.1 -U postgres -c "SELECT count(*) FROM sessions" "$pgmeta" 2>/dev/null || echo 0; }
fi
token=$("$bin" token create bench --role admin --metadata "$meta" 2>/dev/null)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
HUBSYNC_LOG=warn "$bin" serve --metadata "$meta" --listen "127.0.0.1:$port" --config "$work/srv.toml" \
    --concurrency "$conc" >/dev/null 2>"$work/serve.log" &
pid=$!
for _ in $(seq 300); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.2; done
curl -sf "$url/healthz" >/dev/null || { echo "serve did not answer; its log ends:" >&2; tail -20 "$work/serve.log" >&2; exit 1; }
declare -A srv
# A round: ask for a sync of every member, wait for one session per member-table.
run_srv() {
    local before s want
    before=$(sessions)
    want=$((before + nm * nt))
    s=$(now)
    curl -sf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{}' "$url/api/v1/groups/g/sync" >/dev/null
    while [ "$(sessions)" -lt "$want" ]; do sleep 0.2; done
    srv[$1]=$(python3 -c "print($(now) - $s)")
}
run_srv initial
run_srv idle
change
run_srv change
if [ -n "${FOLLOW:-}" ]; then
    # utime + stime of serve, in clock ticks.
    cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
    idle=${IDLE_SECONDS:-30}
    sleep 5
    c0=$(cpu); sleep "$idle"; c1=$(cpu)
    follow_cpu=$(python3 -c "print(round(($c1 - $c0) / $(getconf CLK_TCK) / $idle * 100, 1))")
    before=$(sessions); want=$((before + nm * nt)); s=$(now)
    change
    while [ "$(sessions)" -lt "$want" ]; do sleep 0.05; done
    follow_round=$(python3 -c "print(round($(now) - $s, 2))")
fi
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
threads=$(awk '/Threads/ { print $2 }' "/proc/$pid/status")
rss_now=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")

echo "== $nm ${MEMBERS:-sqlite} members x $nt tables ($rows rows each), serve's metadata on ${META:-sqlite}; ms per member-table; ratios to the file CLI one member at a time"
for r in initial idle change; do
    [ -n "${FOLLOW:-}" ] && { echo "$r serve --concurrency $conc ${srv[$r]} s (rounds also include the followers' own syncs)"; continue; }
    python3 - "$r" "${cli[$r]}" "${clic[$r]}" "${srv[$r]}" "$nm" "$nt" "$conc" <<'PY'
import sys
r, c, cc, s, nm, nt, n = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
mt = nm * nt / 1000
print(f"{r:8} file CLI {c:6.1f} s ({c / mt:5.1f} ms) | file CLI --concurrency {n} {cc:6.1f} s ({cc / mt:5.1f} ms, {cc / c:4.2f}) | serve --concurrency {n} {s:6.1f} s ({s / mt:5.1f} ms, {s / c:4.2f})")
PY
done
echo "serve peak RSS: $((rss / 1024)) MiB, after the rounds: $((rss_now / 1024)) MiB, $threads threads"
if [ -n "${FOLLOW:-}" ]; then
    echo "follow_changes: serve used ${follow_cpu}% of a core over ${idle} s with nothing changing;" \
        "one changed hub row per table reached every member in ${follow_round} s (no sync asked for)"
fi
