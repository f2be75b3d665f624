#!/usr/bin/env bash
# format.sh -- apply (default) or check (--check) the repository's
# .clang-format on every C file we own.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files -co --exclude-standard -- 'src/*.c' 'src/*.h' 'tests/*.c' 'fuzz/*.c' 'bench/*.c' | sort -u)
files=$(for f in $files; do [ -f "$f" ] && echo "$f"; done)
if [ "${1:-}" = "--check" ]; then
  clang-format --dry-run --Werror $files
  echo "format: $(echo "$files" | wc -l) files clean"
else
  clang-format -i $files
fi
