#!/usr/bin/env bash
# `make test`'s steps, one `make <step>` after another, each timed: the table of times is printed
# at the end, or at the first failure (with the step that failed), so a slow step is named by the
# run itself. Usage (from the Makefile): MAKE=make scripts/test-steps.sh venv fmt lint ...
#
# `+step` starts `make step` in the background at the lowest CPU priority (nice 19), its output in
# target/test-steps/step.log; `=step` waits for it there (and fails the run if it failed, printing
# its log). So a CPU-bound build runs on the cores that steps waiting on servers leave idle, and
# those steps still get the CPU first whenever they want it.
set -uo pipefail
cd "$(dirname "$0")/.."

make_cmd=${MAKE:-make}
logs=target/test-steps
names=()
seconds=()
declare -A background_pid background_start
run_start=$(date +%s)

table() {
  echo
  echo "make test: step times"
  local i
  for i in "${!names[@]}"; do
    printf '  %-16s %s\n' "${names[$i]}" "${seconds[$i]}"
  done
  printf '  %-16s %5s s\n' total "$(($(date +%s) - run_start))"
}

stop_background() {
  local step
  for step in "${!background_pid[@]}"; do
    kill -TERM -- "-${background_pid[$step]}" 2>/dev/null || true
  done
}
trap stop_background EXIT

fail() {
  table
  echo "make test: FAILED at $1 (exit $2)"
  exit "$2"
}

mkdir -p "$logs"
for step in "$@"; do
  start=$(date +%s)
  case "$step" in
  +*)
    name=${step#+}
    echo "make test: $name started in the background (nice 19; log: $logs/$name.log)"
    # Its own process group (setsid), so a failure elsewhere stops all of it.
    setsid nice -n 19 $make_cmd --no-print-directory "$name" >"$logs/$name.log" 2>&1 &
    background_pid[$name]=$!
    background_start[$name]=$start
    continue
    ;;
  =*)
    name=${step#=}
    wait "${background_pid[$name]}"
    rc=$?
    unset "background_pid[$name]"
    took=$(($(date +%s) - background_start[$name]))
    names+=("$name")
    seconds+=("$(printf '%5s s in the background, %s s waited for' "$took" "$(($(date +%s) - start))")")
    if [ "$rc" -ne 0 ]; then
      tail -n 60 "$logs/$name.log"
      fail "$name" "$rc"
    fi
    echo "make test: $name done in the background in $took s"
    continue
    ;;
  esac
  $make_cmd --no-print-directory "$step"
  rc=$?
  names+=("$step")
  seconds+=("$(printf '%5s s' "$(($(date +%s) - start))")")
  [ "$rc" -eq 0 ] || fail "$step" "$rc"
done
table
