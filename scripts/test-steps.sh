#!/usr/bin/env bash
# `make test`'s steps, one `make <step>` after another, each timed: the table of times is printed
# at the end, or at the first failure (with the step that failed), so a slow step is named by the
# run itself. Usage (from the Makefile): MAKE=make scripts/test-steps.sh venv fmt lint ...
set -uo pipefail
cd "$(dirname "$0")/.."

make_cmd=${MAKE:-make}
names=()
seconds=()
run_start=$(date +%s)

table() {
  echo
  echo "make test: step times"
  local i
  for i in "${!names[@]}"; do
    printf '  %-16s %5s s\n' "${names[$i]}" "${seconds[$i]}"
  done
  printf '  %-16s %5s s\n' total "$(($(date +%s) - run_start))"
}

for step in "$@"; do
  start=$(date +%s)
  $make_cmd --no-print-directory "$step"
  rc=$?
  names+=("$step")
  seconds+=("$(($(date +%s) - start))")
  if [ "$rc" -ne 0 ]; then
    table
    echo "make test: FAILED at $step (exit $rc)"
    exit "$rc"
  fi
done
table
