#!/usr/bin/env bash
# calendar_cli.sh -- `tilannekuva calendar` end to end: the DOMAIN.md §3.4
# worked examples (7th arkipäivä, 3-month deadline with and without the
# määräaikalaki 5 § extension), the 2026 holiday list with names, usage
# errors and exit codes. Needs TK_BIN (set by meson).
set -euo pipefail

: "${TK_BIN:?TK_BIN must point at the tilannekuva binary}"
fails=0

# expect WANT_RC WANT_STDOUT CMD... : run CMD, compare exit code and stdout.
expect() {
  local want_rc=$1 want_out=$2 rc=0 out
  shift 2
  out=$("$@" 2>/dev/null) || rc=$?
  if [[ $rc -ne $want_rc || "$out" != "$want_out" ]]; then
    echo "FAIL: $*"
    echo "  want rc=$want_rc stdout: $(printf '%q' "$want_out")"
    echo "  got  rc=$rc stdout: $(printf '%q' "$out")"
    fails=$((fails + 1))
  fi
}

# expect_rc WANT_RC CMD... : exit code only (usage errors print to stderr).
expect_rc() {
  local want_rc=$1 rc=0
  shift
  "$@" >/dev/null 2>&1 || rc=$?
  if [[ $rc -ne $want_rc ]]; then
    echo "FAIL: $* -> rc=$rc, want $want_rc"
    fails=$((fails + 1))
  fi
}

cal() { "$TK_BIN" calendar "$@"; }

# DOMAIN.md §3.4: vireilletulo | 7th arkipäivä | 3 months | 3 months + 5 §
while read -r from day7 m3 m3ext; do
  expect 0 "$day7" cal deadline --from "$from" --workdays 7
  expect 0 "$m3" cal deadline --from "$from" --months 3
  expect 0 "$m3ext" cal deadline --from "$from" --months 3 --extend
done <<'ROWS'
2024-10-29 2024-11-07 2025-01-29 2025-01-29
2024-11-30 2024-12-11 2025-02-28 2025-02-28
2024-12-20 2025-01-07 2025-03-20 2025-03-20
2025-04-17 2025-04-30 2025-07-17 2025-07-17
2025-06-18 2025-06-30 2025-09-18 2025-09-18
2025-12-31 2026-01-13 2026-03-31 2026-03-31
2025-11-30 2025-12-09 2026-02-28 2026-03-02
ROWS

# option order does not matter; 0 workdays is the day itself
expect 0 2025-12-09 cal deadline --workdays 7 --from 2025-11-30
expect 0 2025-11-30 cal deadline --from 2025-11-30 --workdays 0
expect 0 2025-12-01 cal deadline --from 2025-11-30 --workdays 0 --extend
expect 0 2024-02-29 cal deadline --from 2024-01-31 --months 1
expect 0 2025-02-28 cal deadline --from 2025-01-31 --months 1

want_2026=$(printf '%s\n' \
  $'2026-01-01\tUudenvuodenpäivä\tNyårsdagen\tNew Year\'s Day' \
  $'2026-01-06\tLoppiainen\tTrettondedag jul\tEpiphany' \
  $'2026-04-03\tPitkäperjantai\tLångfredagen\tGood Friday' \
  $'2026-04-05\tPääsiäispäivä\tPåskdagen\tEaster Sunday' \
  $'2026-04-06\t2. pääsiäispäivä\tAnnandag påsk\tEaster Monday' \
  $'2026-05-01\tVappu\tFörsta maj\tMay Day' \
  $'2026-05-14\tHelatorstai\tKristi himmelsfärdsdag\tAscension Day' \
  $'2026-05-24\tHelluntaipäivä\tPingstdagen\tWhit Sunday' \
  $'2026-06-19\tJuhannusaatto\tMidsommarafton\tMidsummer Eve' \
  $'2026-06-20\tJuhannuspäivä\tMidsommardagen\tMidsummer Day' \
  $'2026-10-31\tPyhäinpäivä\tAlla helgons dag\tAll Saints\' Day' \
  $'2026-12-06\tItsenäisyyspäivä\tSjälvständighetsdagen\tIndependence Day' \
  $'2026-12-24\tJouluaatto\tJulafton\tChristmas Eve' \
  $'2026-12-25\tJoulupäivä\tJuldagen\tChristmas Day' \
  $'2026-12-26\tTapaninpäivä\tAnnandag jul\tSt Stephen\'s Day')
expect 0 "$want_2026" cal holidays 2026
# 2008: May Day and Ascension Day coincide; both are listed
expect 0 $'2008-05-01\tVappu\tFörsta maj\tMay Day\n2008-05-01\tHelatorstai\tKristi himmelsfärdsdag\tAscension Day' \
  bash -c '"$TK_BIN" calendar holidays 2008 | grep "^2008-05-01"'

# help and usage errors
expect_rc 0 cal --help
expect_rc 0 cal deadline --help
expect_rc 0 cal holidays --help
if ! cal --help | grep -q '^usage: tilannekuva calendar deadline'; then
  echo "FAIL: --help does not print the usage"
  fails=$((fails + 1))
fi
expect_rc 2 cal
expect_rc 2 cal nonsense
expect_rc 2 cal deadline
expect_rc 2 cal deadline --workdays 7
expect_rc 2 cal deadline --from 2025-01-01
expect_rc 2 cal deadline --from 2025-01-01 --workdays 7 --months 3
expect_rc 2 cal deadline --from 2025-02-29 --workdays 7
expect_rc 2 cal deadline --from 2025-1-1 --workdays 7
expect_rc 2 cal deadline --from 2025-01-01 --workdays -1
expect_rc 2 cal deadline --from 2025-01-01 --workdays 7x
expect_rc 2 cal deadline --from 2025-01-01 --months 99999999999999999999
expect_rc 2 cal deadline --from 2025-01-01 --workdays 7 extra
expect_rc 2 cal deadline --from 2025-01-01 --workdays 7 --bogus
expect_rc 2 cal deadline --from
expect_rc 2 cal holidays
expect_rc 2 cal holidays 1500
expect_rc 2 cal holidays 20x6
expect_rc 2 cal holidays 2026 2027
# a closed stdout is a failure, not a silent success
if [[ -w /dev/full ]]; then
  expect_rc 1 bash -c '"$TK_BIN" calendar holidays 2026 >/dev/full'
fi

if [[ $fails -ne 0 ]]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "calendar_cli: all checks passed"
