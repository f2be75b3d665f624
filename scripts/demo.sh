#!/usr/bin/env bash
# demo.sh -- a synthetic Kanta-Häme with 90 days of history, served with a
# live feed. Called by `make demo` after deps and build.
#
# Two feeds (docs/SYNTHETIC.md): the hospitals' ADT and the health stations'
# appointment books (SIU). The history before today is imported; the ADT
# rest is replayed fast and retimed (--speed, --retime) so the bed board
# moves. The SIU rest is replayed in real time instead (today's messages
# up to now at once, then each at its own time): --retime shifts only the
# message times, not the slot and assessment times inside SIU, so a
# compressed clock would book slots out of step with the books' dates.
#
#   DEMO_DIR (demo-data)  DEMO_HTTP (127.0.0.1:8080)  DEMO_MLLP (127.0.0.1:2575)
#   DEMO_SPEED (60: one simulated hour per real minute)  DEMO_SEED (1)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TK_BIN:-build/tilannekuva}
DIR=${DEMO_DIR:-demo-data}
HTTP=${DEMO_HTTP:-127.0.0.1:8080}
MLLP=${DEMO_MLLP:-127.0.0.1:2575}
SPEED=${DEMO_SPEED:-60}
SEED=${DEMO_SEED:-1}
today=$(TZ=Europe/Helsinki date +%F)
from=$(TZ=Europe/Helsinki date -d "$today -90 days" +%F)

if [ ! -f "$DIR/data/tilannekuva.db" ]; then
  rm -rf "$DIR"
  mkdir -p "$DIR/feed" "$DIR/sched" "$DIR/history" "$DIR/live" "$DIR/live-sched"
  echo "demo: generating Kanta-Häme from $from: 90 days of history and 14 days of live feed"
  $BIN generate --region kanta-hame --from "$from" --days 104 --seed "$SEED" --out "$DIR/feed" \
    --scheduling-out "$DIR/sched"
  for f in "$DIR"/feed/adt-*.hl7; do
    day=$(basename "$f" .hl7); day=${day#adt-}
    if [[ "$day" < "$today" ]]; then mv "$f" "$DIR/history/"; else mv "$f" "$DIR/live/"; fi
  done
  for f in "$DIR"/sched/siu-*.hl7; do
    day=$(basename "$f" .hl7); day=${day#siu-}
    if [[ "$day" < "$today" ]]; then mv "$f" "$DIR/history/"; else mv "$f" "$DIR/live-sched/"; fi
  done
  $BIN init --data "$DIR/data" --region kanta-hame
  echo "demo: importing the history"
  $BIN import --data "$DIR/data" "$DIR/history"
  # Two demo accounts: a production-control coordinator who may open
  # person-level detail, and an analyst who sees aggregates only.
  root=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["units"][0]["id"])' "$DIR/data/org.json")
  umask 077
  : >"$DIR/accounts.txt"
  for acct in koordinaattori:coordinator analyytikko:analyst; do
    user=${acct%%:*}; role=${acct#*:}
    pw=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
    printf '%s\n' "$pw" | $BIN user add --data "$DIR/data" --user "$user" --role "$role" \
      --scope "$root" --password-stdin >/dev/null
    printf '%-16s %-12s %s\n' "$user" "$role" "$pw" >>"$DIR/accounts.txt"
  done
fi

$BIN serve --data "$DIR/data" --mllp "$MLLP" --http "$HTTP" &
server=$!
replay= sched=
trap 'kill $replay $sched $server 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 100); do
  curl -fsS "http://$HTTP/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
$BIN replay "$DIR/live" --to "$MLLP" --speed "$SPEED" --retime >"$DIR/replay.log" 2>&1 &
replay=$!
if ls "$DIR"/live-sched/siu-*.hl7 >/dev/null 2>&1; then
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  echo "demo: sending today's appointment-book changes up to now"
  $BIN replay "$DIR/live-sched" --to "$MLLP" --speed max --before "$now" >"$DIR/replay-sched.log" 2>&1 ||
    echo "demo: see $DIR/replay-sched.log"
  $BIN replay "$DIR/live-sched" --to "$MLLP" --speed 1 --after "$now" >>"$DIR/replay-sched.log" 2>&1 &
  sched=$!
fi
echo
echo "Tilannekuva is serving a synthetic Kanta-Häme: open http://$HTTP/"
echo "Sign in with one of these demo accounts (also in $DIR/accounts.txt):"
sed 's/^/  /' "$DIR/accounts.txt"
echo "(live ward feed at ${SPEED}x, appointment books in real time; Ctrl-C stops)"
wait $server
