#!/usr/bin/env bash
# check.sh -- everything `make check` runs, in order; stops at the first
# failure. Keep it under ~15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SAN_BUILD=${SAN_BUILD:-build-san}
export TK_ARTIFACTS=${TK_ARTIFACTS:-$PWD/$BUILD/artifacts}

step() { printf '\n== %s ==\n' "$*"; }
passed=0
# Adds the "Ok:" count of a meson test run whose output is in file $1.
count_ok() { passed=$((passed + $(awk '/^Ok:/{print $2}' "$1" | tail -1))); }
log=$(mktemp)
trap 'rm -f "$log"' EXIT

step "format"
scripts/format.sh --check

step "build"
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" --buildtype=debugoptimized
ninja -C "$BUILD"

step "unit tests, fuzz corpus replay, integration tests"
meson test -C "$BUILD" --print-errorlogs --num-processes 2 | tee "$log"
count_ok "$log"

step "unit tests under ASan+UBSan"
[ -f "$SAN_BUILD/build.ninja" ] || meson setup "$SAN_BUILD" --buildtype=debug \
  -Db_sanitize=address,undefined -Db_lundef=false -Dunit_only=true
ninja -C "$SAN_BUILD"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  meson test -C "$SAN_BUILD" --print-errorlogs --num-processes 2 --suite unit --suite fuzz | tee "$log"
count_ok "$log"

if [ -d tests/browser ] && ls tests/browser/*.test.mjs >/dev/null 2>&1; then
  step "browser tests (Playwright + Chromium)"
  TK_BIN="$PWD/$BUILD/tilannekuva" TK_SHARED="$(cd .. && pwd)/shared" \
    node --test tests/browser/ | tee "$log"
  passed=$((passed + $(awk '/^# pass/{print $3}' "$log" | tail -1)))
fi
step "all checks passed"
echo "check: $passed passed, 0 failed"
