#!/usr/bin/env bash
# hetu_cli.sh -- `tilannekuva hetu check` end to end: every DOMAIN.md §7.4
# example with its exact output line, the exit codes (0 all valid or
# temporary, 1 any invalid, 2 usage) and --today. Needs TK_BIN (set by meson).
set -euo pipefail

: "${TK_BIN:?TK_BIN must point at the tilannekuva binary}"
fails=0

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

expect_rc() {
  local want_rc=$1 rc=0
  shift
  "$@" >/dev/null 2>&1 || rc=$?
  if [[ $rc -ne $want_rc ]]; then
    echo "FAIL: $* -> rc=$rc, want $want_rc"
    fails=$((fails + 1))
  fi
}

hetu() { "$TK_BIN" hetu check "$@"; }

# DOMAIN.md §7.4, one code per run: CODE<TAB>exit code<TAB>verdict
while IFS=$'\t' read -r code rc verdict; do
  expect "$rc" "$code: $verdict" hetu --today 2026-01-15 "$code"
done <<'ROWS'
131052-308T	0	valid
131052Y308T	0	valid
131052A308T	1	invalid (birth date in the future)
131052-308U	1	invalid (checksum (expected T))
131052G308T	1	invalid (separator 'G')
131052-3O8T	1	invalid (letter 'O' in the individual number)
010594Y203F	0	valid
020202A002F	0	valid
020202B002F	0	valid
311299+011K	0	valid
290200A1239	0	valid
290201A123X	1	invalid (date 29.02.2001 does not exist)
150770U9877	0	temporary
131052-001W	1	invalid (individual number 001)
010190-999K	1	invalid (checksum (expected W))
010101-0101	0	valid
ROWS

# several codes: one line each, in order; exit 0 only if all are accepted
expect 0 $'131052-308T: valid\n150770U9877: temporary\n010101-0101: valid' \
  hetu 131052-308T 150770U9877 010101-0101
expect 1 $'131052-308T: valid\n131052-308t: invalid (lower case)\n0101010101: invalid (length 10, expected 11)\n150770U9877: temporary' \
  hetu 131052-308T 131052-308t 0101010101 150770U9877
# --today decides "future": born 2025-06-01 ('A' = 2000s)
code=010625A246V
expect 0 "$code: valid" hetu --today 2025-06-01 "$code"
expect 1 "$code: invalid (birth date in the future)" hetu --today 2025-05-31 "$code"
# without --today, today in Helsinki is used
expect 0 "131052-308T: valid" hetu 131052-308T
# the options may follow the codes; -- ends the options
expect 0 "131052-308T: valid" hetu 131052-308T --today 2026-01-15
expect 1 "-1: invalid (length 2, expected 11)" hetu -- -1

# help and usage errors
expect_rc 0 "$TK_BIN" hetu --help
expect_rc 0 hetu --help
if ! "$TK_BIN" hetu --help | grep -q '^usage: tilannekuva hetu check'; then
  echo "FAIL: --help does not print the usage"
  fails=$((fails + 1))
fi
expect_rc 2 "$TK_BIN" hetu
expect_rc 2 "$TK_BIN" hetu verify 131052-308T
expect_rc 2 hetu
expect_rc 2 hetu --today 2026-02-30 131052-308T
expect_rc 2 hetu --today
expect_rc 2 hetu --bogus 131052-308T

if [[ $fails -ne 0 ]]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "hetu_cli: all checks passed"
