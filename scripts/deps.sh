#!/usr/bin/env bash
# deps.sh -- install what Tilannekuva needs to build, test and run, and nothing
# that is already there. Idempotent: a second run installs nothing.
#
#   scripts/deps.sh            everything (build, tests, browser tests, demo)
#   DEPS_SKIP_NPM=1 ...        skip the front-end packages
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages, one per line, grouped by why we need them.
PKGS=(
  # build
  build-essential meson ninja-build pkg-config clang clang-format
  # libraries (DESIGN.md, "use the right library")
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev libsodium-dev
  libldap2-dev libinih-dev libxlsxwriter-dev libcmocka-dev libgnutls28-dev
  # sanitizers and libFuzzer runtimes for clang
  libclang-rt-14-dev
  # run time: time zones, sqlite shell for tests and operators
  tzdata sqlite3 curl
  # real peers in tests
  python3 python3-hl7 postgresql slapd ldap-utils openssl chromium wrk
  # node for the front-end packages and browser tests
  nodejs npm
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# Node may come from outside Debian on some machines; accept a working one.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do
    case "$p" in nodejs|npm) ;; *) filtered+=("$p") ;; esac
  done
  missing=("${filtered[@]}")
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  # slapd asks questions on install; preseed a throwaway answer (tests run
  # their own slapd with their own configuration on loopback).
  echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections 2>/dev/null || true
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
    $SUDO apt-get update -q
  fi
  if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  # Packages that start daemons on install: the tests start their own.
  for svc in postgresql slapd; do
    if command -v service >/dev/null 2>&1; then $SUDO service "$svc" stop >/dev/null 2>&1 || true; fi
  done
else
  echo "deps: Debian packages present"
fi

if [ -z "${DEPS_SKIP_NPM:-}" ] && [ -f package-lock.json ]; then
  stamp=node_modules/.deps-stamp
  if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    echo "deps: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    touch "$stamp"
  else
    echo "deps: node_modules up to date"
  fi
fi
