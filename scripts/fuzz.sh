#!/usr/bin/env bash
# fuzz.sh -- build the fuzz targets with clang + libFuzzer + ASan/UBSan and
# run each for a while.
#
#   scripts/fuzz.sh                 every fuzz target, FUZZ_SECONDS (60) each
#   scripts/fuzz.sh hl7 mllp        only fuzz_hl7 and fuzz_mllp
#   FUZZ_SECONDS=600 scripts/fuzz.sh
#
# Build: a separate build dir (FUZZ_BUILD, default build-fuzz) configured with
# CC=clang -Dlibfuzzer=true -Db_sanitize=address,undefined -Db_lundef=false;
# the whole tree is compiled with -fsanitize=fuzzer-no-link so the library
# code (not just the harness) is coverage-instrumented, and meson.build links
# each fuzz_<name> with -fsanitize=fuzzer. Only the fuzz targets are built.
#
# Corpus: fuzz/corpus/<name> is copied to FUZZ_BUILD/corpus/<name>, which
# libFuzzer may grow (the checked-in seeds are never modified). When the
# target's fuzz_shared_seed_dir() names a directory, $TK_SHARED/testdata/<dir>
# is passed as a second, read-only corpus (read in place, never copied).
# Crashes go to FUZZ_BUILD/artifacts/<name>/. Exits 1 if any target failed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
build="${FUZZ_BUILD:-build-fuzz}"
shared="${TK_SHARED:-$(cd .. && pwd)/shared}"

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dlibfuzzer=true \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fsanitize=fuzzer-no-link -Dbuildtype=debugoptimized
else
  # meson.build skips sources that do not exist yet: pick up new ones.
  meson setup --reconfigure "$build" >/dev/null
fi

# Fuzz targets as meson knows them (fuzz_<name> executables).
mapfile -t all < <(meson introspect "$build" --targets |
  python3 -c 'import json,sys
for t in json.load(sys.stdin):
    if t["type"] == "executable" and t["name"].startswith("fuzz_"):
        print(t["name"][5:])')
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=("${all[@]}")
fi
if [ "${#targets[@]}" -eq 0 ]; then
  echo "fuzz.sh: no fuzz targets found" >&2
  exit 1
fi
ninja -C "$build" "${targets[@]/#/fuzz_}"

# UBSan findings must stop the run like a crash.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

failed=()
for name in "${targets[@]}"; do
  exe="$build/fuzz_$name"
  corpus="$build/corpus/$name"
  artifacts="$build/artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  if [ -d "fuzz/corpus/$name" ]; then
    cp -n fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null || true
  fi
  extra=()
  # fuzz_shared_seed_dir(void) { return "hl7v2"; } -> hl7v2; NULL -> none.
  seed=$(tr '\n' ' ' <"fuzz/fuzz_$name.c" |
    grep -o 'fuzz_shared_seed_dir(void) *{ *return *"[^"]*"' |
    sed 's/.*"\(.*\)"$/\1/' || true)
  if [ -n "$seed" ]; then
    if [ -d "$shared/testdata/$seed" ]; then
      extra+=("$shared/testdata/$seed")
    else
      echo "fuzz.sh: warning: '$shared/testdata/$seed' not found" >&2
    fi
  fi
  echo "== fuzz_$name for ${seconds}s (corpus $corpus ${extra[*]:-})"
  if ! "$exe" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" "${extra[@]}"; then
    echo "fuzz.sh: fuzz_$name FAILED; reproducer(s) in $artifacts" >&2
    failed+=("$name")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: all targets ran ${seconds}s without a finding"
