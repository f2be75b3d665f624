#!/usr/bin/env bash
# bench-board.sh -- the live bed board: freshness of the stream and the
# whole-county board under load. Called by scripts/bench.sh.
#
#   BENCH_FRESH_EVENTS (10000) at BENCH_FRESH_RATE (1000) events/s
#   BENCH_WRK_SECONDS (10), BENCH_WRK_CONNS (32), BENCH_WRK_THREADS (2)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$BUILD/tilannekuva
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A signed-in client: a token for a role that sees the whole county.
token_for() { # DATA USER ROLE SCOPE
  printf 'bench-password-%s\n' "$2" | $BIN user add --data "$1" --user "$2" --role "$3" --scope "$4" --password-stdin >/dev/null
  $BIN token create --data "$1" --user "$2" | tail -1
}

echo
echo "== live stream freshness: ACK received -> bed-board event received by an SSE client"
$BIN init --data "$tmp/f" --org tests/fixtures/org-testdata.json >/dev/null
tok=$(token_for "$tmp/f" bench-fresh coordinator td)
mport=$(free_port); hport=$(free_port)
$BIN serve --data "$tmp/f" --mllp 127.0.0.1:$mport --http 127.0.0.1:$hport 2>"$tmp/f.log" &
srv=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$hport/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
n=${BENCH_FRESH_EVENTS:-10000}; rate=${BENCH_FRESH_RATE:-1000}
r=$($BUILD/bench_freshness 127.0.0.1 $mport $hport "$n" "$rate" "$tok")
echo "$r"
echo "goal: p99 under 100 ms (100000 us)"
kill -TERM $srv; wait $srv || true

echo
echo "== GET /api/v1/bedboard, whole Kanta-Häme county (90 days of history), under wrk load"
today=$(TZ=Europe/Helsinki date +%F)
from=$(TZ=Europe/Helsinki date -d "$today -90 days" +%F)
$BIN generate --region kanta-hame --from "$from" --days 90 --seed 1 --out "$tmp/feed" >/dev/null
$BIN init --data "$tmp/kh" --region kanta-hame >/dev/null
$BIN import --data "$tmp/kh" "$tmp/feed" | tail -1
root=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["units"][0]["id"])' "$tmp/kh/org.json")
tok=$(token_for "$tmp/kh" bench-leader leader "$root")
mport=$(free_port); hport=$(free_port)
$BIN serve --data "$tmp/kh" --mllp 127.0.0.1:$mport --http 127.0.0.1:$hport 2>"$tmp/kh.log" &
srv=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$hport/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
size=$(curl -fsS -H "Authorization: Bearer $tok" "http://127.0.0.1:$hport/api/v1/bedboard" | wc -c)
echo "response: $size bytes"
secs=${BENCH_WRK_SECONDS:-10}; conns=${BENCH_WRK_CONNS:-32}; threads=${BENCH_WRK_THREADS:-2}
wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $tok" \
  "http://127.0.0.1:$hport/api/v1/bedboard" | grep -E "Requests/sec|50%|75%|90%|99%"
echo "baseline, same server and client: GET /healthz (no work)"
wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$hport/healthz" | grep -E "Requests/sec|50%|99%"
echo "goal: p99 under 5 ms"
kill -TERM $srv; wait $srv || true
