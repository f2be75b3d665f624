#!/usr/bin/env bash
# bench-access.sh -- access to care (issue 5): the health-station dashboard
# at national scale, the cube beside DuckDB and SQLite over the same raw
# events (bench/dashboard_national.c, bench/dashboard_duckdb.mjs), and FHIR
# ingest in resources/s (bench/fhir_ingest.c) against the real server.
# Called by scripts/bench.sh.
#
#   TK_BENCH_SCALE (1.0: 528 stations, about 30 million visits; 0.05 for a
#     quick run), TK_BENCH_REPS (cube, 2000), TK_BENCH_DUCKDB_REPS (5),
#     TK_BENCH_SQLITE_REPS (1; 0 skips SQLite; the station gets 10x),
#     TK_BENCH_VIEW_SCALE (0.25: dashboard_view_json over the product's own
#     event path; 0 skips it; scale 1 needs about 20 GiB)
#   BENCH_FHIR_SECONDS (10), BENCH_FHIR_CONNS ("8 32"), BENCH_FHIR_BUNDLE (100)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$BUILD/tilannekuva
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo
echo "== health-station dashboard, national scale (TK_BENCH_SCALE=${TK_BENCH_SCALE:-1}): cube vs DuckDB vs SQLite, one month"
$BUILD/bench_dashboard_national "$tmp/dash" bench/dashboard_duckdb.mjs
rm -rf "$tmp/dash"

echo
echo "== FHIR ingest: Bundles of Slots over HTTP, durable (each response after commit and fsync)"
cat >"$tmp/org.json" <<'JSON'
{"id": "bench", "name": {"fi": "FHIR-mittaus", "sv": "FHIR-mätning", "en": "FHIR benchmark"},
 "units": [
  {"id": "hva", "type": "county", "name": {"fi": "Alue", "sv": "Område", "en": "County"}},
  {"id": "tx", "type": "health_station", "parent": "hva", "name": {"fi": "Terveysasema X", "sv": "Hälsostation X", "en": "Health station X"}}],
 "channels": [{"id": "fh", "type": "fhir", "locations": {"Location/X": "tx"}}]}
JSON
$BIN init --data "$tmp/f" --org "$tmp/org.json" >/dev/null
$BIN user add --data "$tmp/f" --user bench-feed --role integration_admin --scope hva --no-password >/dev/null
tok=$($BIN token create --data "$tmp/f" --user bench-feed | head -1)
mport=$(free_port); hport=$(free_port)
$BIN serve --data "$tmp/f" --mllp 127.0.0.1:$mport --http 127.0.0.1:$hport 2>"$tmp/f.log" &
srv=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$hport/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
secs=${BENCH_FHIR_SECONDS:-10}; bundle=${BENCH_FHIR_BUNDLE:-100}
printf '%-12s | %-11s | %-7s | %-14s | %s\n' type connections bundle "resources/s" "Bundle p50 / p99"
for type in transaction batch; do
  for n in ${BENCH_FHIR_CONNS:-8 32}; do
    r=$($BUILD/bench_fhir_ingest 127.0.0.1 "$hport" "$tok" "$n" "$secs" "$bundle" "$type" 2)
    grep -q 'errors=0' <<<"$r" || { echo "FHIR ingest errors: $r"; exit 1; }
    rate=$(sed 's/.*rate=\([0-9]*\).*/\1/' <<<"$r")
    lat=$(sed 's/.*p50_ms=\([0-9.]*\) p99_ms=\([0-9.]*\).*/\1 \/ \2 ms/' <<<"$r")
    printf '%-12s | %-11s | %-7s | %-14s | %s\n' "$type" "$n" "$bundle" "$rate" "$lat"
  done
done
echo "goal: at least 20,000 resources/s on 2 cores; anchor: the fastest open FHIR server loads 1,800-7,700 resources/s on 8-24 cores"
$BIN status --data "$tmp/f" | head -2
kill -TERM $srv; wait $srv || true
