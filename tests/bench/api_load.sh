#!/usr/bin/env bash
# Load test of `hubsync serve` on loopback: 200 concurrent clients read group
# status and history for 30 s while the scheduler syncs 30 members every
# 2 s (each sync moving rows an application writes meanwhile). Prints wrk's
# latency for the API routes beside /healthz (no database, no token) as the
# baseline, and the errors.
#
#   tests/bench/api_load.sh [HUBSYNC_BIN]     (needs wrk, sqlite3, psql)
set -euo pipefail
bin=${1:-target/release/hubsync}
duration=${DURATION:-30s}
conns=${CONNS:-200}
work=$(mktemp -d)
db="hubsync_load_$$"
cleanup() {
    [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
    [ -n "${writer:-}" ] && kill "$writer" 2>/dev/null || true
    psql -X -q -d postgres://postgres@127.0.0.1:5432/postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
psql -X -q -d postgres://postgres@127.0.0.1:5432/postgres -c "CREATE DATABASE $db" >/dev/null
meta="postgres://postgres@127.0.0.1:5432/$db"
export HUBSYNC_SECRET_KEY=$(head -c32 /dev/urandom | base64)
sqlite3 "$work/hub.db" "CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO items SELECT i, 'v' || i FROM n;"
{
    echo '[[group]]'; echo 'name = "load"'; echo "hub = \"sqlite://$work/hub.db\""
    echo 'interval_seconds = 2'
    echo '[[group.table]]'; echo 'name = "items"'
    for i in $(seq -w 1 30); do
        echo '[[group.member]]'; echo "name = \"m$i\""; echo "url = \"sqlite://$work/m$i.db\""
    done
} > "$work/group.toml"
token=$("$bin" token create load --role reader --metadata "$meta")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HUBSYNC_LOG=warn "$bin" serve --metadata "$meta" --listen "127.0.0.1:$port" --config "$work/group.toml" \
    --concurrency 4 >/dev/null 2>"$work/serve.log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
# An application keeps changing hub rows, so every sync has work.
( while true; do sqlite3 -cmd '.timeout 5000' "$work/hub.db" \
    "UPDATE items SET v = v || 'x' WHERE id IN (SELECT abs(random()) % 2000 + 1 FROM items LIMIT 20);" 2>/dev/null; sleep 0.2; done ) &
writer=$!
sleep 5   # the first syncs (initial copies) run
# Both runs report the same way.
cat > "$work/health.lua" <<LUA
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT p50_ms=%.2f p99_ms=%.2f requests=%d errors=%d non2xx=%d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status))
end
LUA
{ cat "$work/health.lua"; cat <<LUA
local paths = { "/api/v1/groups/load/status", "/api/v1/history?group=load&limit=50" }
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % 2) + 1], { ["Authorization"] = "Bearer $token" })
end
LUA
} > "$work/api.lua"
ulimit -n 4096 || true
echo "== baseline: GET /healthz, $conns clients, $duration"
base=$(wrk -t2 -c"$conns" -d"$duration" -s "$work/health.lua" "http://127.0.0.1:$port/healthz" | grep RESULT)
echo "$base"
syncs_before=$(psql -X -A -t -d "$meta" -c "SELECT count(*) FROM sessions")
echo "== API: GET status + history (reader token), $conns clients, $duration, syncs running"
api=$(wrk -t2 -c"$conns" -d"$duration" -s "$work/api.lua" "http://127.0.0.1:$port" | grep RESULT)
echo "$api"
syncs_after=$(psql -X -A -t -d "$meta" -c "SELECT count(*) FROM sessions")
echo "table syncs recorded during the API run: $((syncs_after - syncs_before))"
b99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<<"$base"); a99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<<"$api")
python3 -c "print(f'p99 ratio API / baseline: {float($a99)/max(float($b99),0.01):.1f}')"
