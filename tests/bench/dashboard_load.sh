#!/usr/bin/env bash
# The dashboard under load, on loopback: one `hubsync serve` on a PostgreSQL
# metadata database with 100 groups of 10 SQLite members (each synced once
# first, so every page has history to show).
#  1. The overview page (`/`, signed in): time to first byte and size, 20
#     requests, beside the API call it starts with (`GET /api/v1/groups`)
#     and a group page.
#  2. 200 browsers on the events stream (`curl -N` with the session cookie)
#     while every group syncs every few seconds: the API's status and
#     history latency with wrk (50 clients), without and with the 200
#     listeners, and how many events the listeners received.
#
#   tests/bench/dashboard_load.sh [HUBSYNC_BIN]   (needs wrk, sqlite3, psql, curl)
set -euo pipefail
bin=${1:-target/release/hubsync}
ngroups=${GROUPS_N:-100}
nmembers=${MEMBERS_N:-10}
browsers=${BROWSERS:-200}
duration=${DURATION:-20s}
work=$(mktemp -d)
db="hubsync_dash_$$"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
    wait 2>/dev/null || true
    psql -X -q -d postgres://postgres@127.0.0.1:5432/postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
psql -X -q -d postgres://postgres@127.0.0.1:5432/postgres -c "CREATE DATABASE $db" >/dev/null
meta="postgres://postgres@127.0.0.1:5432/$db"
export HUBSYNC_SECRET_KEY=$(head -c32 /dev/urandom | base64)
ulimit -n 8192 || true

for g in $(seq 1 "$ngroups"); do
    sqlite3 "$work/h$g.db" "CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT);
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) INSERT INTO items SELECT i, 'v' || i FROM n;"
    {
        echo '[[group]]'; echo "name = \"g$g\""; echo "hub = \"sqlite://$work/h$g.db\""
        echo '[[group.table]]'; echo 'name = "items"'
        for m in $(seq 1 "$nmembers"); do
            echo '[[group.member]]'; echo "name = \"m$m\""; echo "url = \"sqlite://$work/g$g-m$m.db\""
        done
    } >> "$work/groups.toml"
done
token=$("$bin" token create bench --role admin --metadata "$meta")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
HUBSYNC_LOG=warn "$bin" serve --metadata "$meta" --listen "127.0.0.1:$port" --config "$work/groups.toml" \
    --concurrency 4 >/dev/null 2>"$work/serve.log" &
pid=$!
for _ in $(seq 300); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.2; done

echo "== first sync of $ngroups groups x $nmembers members"
start=$(date +%s)
for g in $(seq 1 "$ngroups"); do
    curl -sf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{}' "$url/api/v1/groups/g$g/sync" >/dev/null
done
want=$((ngroups * nmembers))
while true; do
    done_n=$(psql -X -A -t -d "$meta" -c "SELECT count(DISTINCT group_name || '/' || member) FROM sessions")
    [ "$done_n" -ge "$want" ] && break
    sleep 2
done
echo "synced $want members in $(( $(date +%s) - start )) s"

cookie=$(curl -s -D - -o /dev/null -d "token=$token&next=/" "$url/sign-in" | tr -d '\r' \
    | sed -n 's/^[Ss]et-[Cc]ookie: \(hubsync_session=[^;]*\).*/\1/p')
[ -n "$cookie" ] || { echo "sign-in failed"; exit 1; }

# 20 requests: p50 and p95 time to first byte, the size.
measure() {
    for _ in $(seq 20); do
        curl -s -o /dev/null -w '%{time_starttransfer} %{size_download}\n' -H "$1" "$2"
    done | sort -n | awk '{ t[NR] = $1; s = $2 } END { printf "TTFB p50 %.1f ms, p95 %.1f ms, %d bytes\n", t[int(NR / 2) + 1] * 1000, t[int(NR * 0.95)] * 1000, s }'
}
echo "== pages ($ngroups groups x $nmembers members, idle)"
echo "overview /:                $(measure "Cookie: $cookie" "$url/")"
echo "API GET /api/v1/groups:    $(measure "Authorization: Bearer $token" "$url/api/v1/groups")"
echo "group page /groups/g1:     $(measure "Cookie: $cookie" "$url/groups/g1")"

# Every group syncs again and again (an application keeps changing its hub).
(
    while true; do
        for g in $(seq 1 "$ngroups"); do
            sqlite3 -cmd '.timeout 5000' "$work/h$g.db" "UPDATE items SET v = v || 'x' WHERE id = abs(random()) % 100 + 1;" 2>/dev/null || true
            curl -s -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{}' \
                "$url/api/v1/groups/g$g/sync" >/dev/null || true
        done
        sleep 1
    done
) &
pids+=($!)

cat > "$work/api.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  local g = (n % $ngroups) + 1
  if n % 2 == 0 then
    return wrk.format("GET", "/api/v1/groups/g" .. g .. "/status", { ["Authorization"] = "Bearer $token" })
  end
  return wrk.format("GET", "/api/v1/history?group=g" .. g .. "&limit=50", { ["Authorization"] = "Bearer $token" })
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT p50_ms=%.2f p99_ms=%.2f requests=%d errors=%d non2xx=%d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status))
end
LUA
sleep 3
syncs() { psql -X -A -t -d "$meta" -c "SELECT count(*) FROM sessions"; }
echo "== API status + history, 50 clients, $duration, syncs running, no event listeners"
before=$(syncs)
base=$(wrk -t2 -c50 -d"$duration" -s "$work/api.lua" "$url" | grep RESULT)
echo "$base (table syncs meanwhile: $(( $(syncs) - before )))"

echo "== the same with $browsers browsers on /api/v1/events"
for i in $(seq 1 "$browsers"); do
    curl -sN -H "Cookie: $cookie" "$url/api/v1/events" > "$work/events-$i.txt" 2>/dev/null &
    pids+=($!)
done
sleep 3
before=$(syncs)
with=$(wrk -t2 -c50 -d"$duration" -s "$work/api.lua" "$url" | grep RESULT)
echo "$with (table syncs meanwhile: $(( $(syncs) - before )))"
received=$(for i in $(seq 1 "$browsers"); do grep -c '^event:' "$work/events-$i.txt" || true; done | sort -n)
echo "events per listener: min $(head -n1 <<<"$received"), median $(sed -n "$((browsers / 2))p" <<<"$received"), max $(tail -n1 <<<"$received")"
b99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<<"$base"); w99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<<"$with")
python3 -c "print(f'p99 ratio with / without {$browsers} listeners: {float($w99)/max(float($b99),0.01):.2f} (target: p99 under 50 ms)')"
