#!/usr/bin/env bash
# bench.sh -- `make bench`: every benchmark, printed with its baseline beside
# it. Results go into docs/PERFORMANCE.md by hand, with this command.
#
#   BENCH_SECONDS (10)  per configuration
#
# Then scripts/bench-*.sh: bench-access.sh (issue 5: the national
# health-station dashboard against DuckDB and SQLite, FHIR ingest; a quick
# run with TK_BENCH_SCALE=0.05) and bench-board.sh (the bed board).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$BUILD/tilannekuva
SECS=${BENCH_SECONDS:-10}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== machine"
echo "$(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r), disk for $tmp: $(df -h "$tmp" | awk 'NR==2{print $1}')"

echo
echo "== bench/mllp_ingest: senders waiting for each ACK, durable ACKs"
$BIN init --data "$tmp/data" --org tests/fixtures/org-testdata.json >/dev/null
mport=$(free_port); hport=$(free_port); nport=$(free_port)
$BIN serve --data "$tmp/data" --mllp 127.0.0.1:$mport --http 127.0.0.1:$hport 2>"$tmp/serve.log" &
srv=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$hport/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
$BUILD/bench_mllp_null $nport &
null=$!
sleep 0.3
printf '%-8s | %-36s | %-36s | %s\n' senders "tilannekuva (msg/s, p50/p99 us)" "null MLLP server (msg/s, p50/p99 us)" "ratio"
for n in 1 8 64; do
  t=$($BUILD/bench_mllp_ingest 127.0.0.1 $mport $n "$SECS" 2)
  b=$($BUILD/bench_mllp_ingest 127.0.0.1 $nport $n "$SECS" 2)
  tr=$(sed 's/.*rate=\([0-9]*\).*/\1/' <<<"$t"); br=$(sed 's/.*rate=\([0-9]*\).*/\1/' <<<"$b")
  tl=$(sed 's/.*p50_us=\([0-9]*\) p99_us=\([0-9]*\).*/\1\/\2/' <<<"$t")
  bl=$(sed 's/.*p50_us=\([0-9]*\) p99_us=\([0-9]*\).*/\1\/\2/' <<<"$b")
  grep -q 'non_aa=0' <<<"$t" || { echo "tilannekuva answered non-AA: $t"; exit 1; }
  printf '%-8s | %-36s | %-36s | %s\n' "$n" "$tr ($tl)" "$br ($bl)" \
    "$(python3 -c "print(f'{$tr/$br*100:.0f} %')")"
done
kill $null; wait $null 2>/dev/null || true
$BIN status --data "$tmp/data" | head -2
kill -TERM $srv; wait $srv || true

for extra in scripts/bench-*.sh; do
  [ -x "$extra" ] && "$extra"
done
