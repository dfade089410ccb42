#!/usr/bin/env bash
# `make client`: the TypeScript client's committed types are what openapi-typescript generates
# from infra/openapi.yaml today (no drift), then its build and unit tests (node's test runner).
# `npm ci` runs only when package-lock.json is newer than the stamp it leaves in node_modules, as
# the Makefile does for tests/browser (BROWSER_STAMP), so a second run installs nothing.
# Prints the install and build times in seconds.
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.installed
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
seconds_since() { awk -v ms=$(( $(now_ms) - $1 )) 'BEGIN { printf "%.1f", ms / 1000 }'; }

install="skipped (node_modules up to date)"
if [[ ! -f $stamp || package-lock.json -nt $stamp ]]; then
  started=$(now_ms)
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
  install="$(seconds_since "$started") s"
fi

npm run --silent check-generated

# `npm test`'s steps one by one, so the build is timed on its own.
started=$(now_ms)
npm run --silent build
build_seconds=$(seconds_since "$started")

npm run --silent typecheck-usage
node --test test/*.test.mjs

echo "clients/typescript: install ${install}, build ${build_seconds} s"
