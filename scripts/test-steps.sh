#!/usr/bin/env bash
# `make test`'s steps, one `make <step>` after another, each timed: the table of times is printed
# at the end, or at the first failure (with the step that failed), so a slow step is named by the
# run itself. Usage (from the Makefile): MAKE=make scripts/test-steps.sh venv fmt test-build ...
#
# `bg:<step>` starts <step> in the background at the lowest CPU priority (nice 19), its output in
# target/test-steps/<step>.log, and goes on; `join:<step>` waits for it there and fails the run
# with the end of its log if it failed. A CPU-bound step (the release build) so takes mostly the
# CPU the steps in front leave idle: the gaps where a build waits on one crate, and the tests
# that wait on their servers; they still run slower beside it, not at full speed
# (docs/development.md#make-test-in-the-background).
set -uo pipefail
cd "$(dirname "$0")/.."

make_cmd=${MAKE:-make}
log_dir=target/test-steps
names=()
seconds=()
run_start=$(date +%s)
declare -A bg_pid bg_start

table() {
  echo
  echo "make test: step times"
  local i
  for i in "${!names[@]}"; do
    printf '  %-24s %5s s\n' "${names[$i]}" "${seconds[$i]}"
  done
  printf '  %-24s %5s s\n' total "$(($(date +%s) - run_start))"
}

record() { # name seconds
  names+=("$1")
  seconds+=("$2")
}

fail() { # step rc
  table
  echo "make test: FAILED at $1 (exit $2)"
  exit "$2"
}

# A background step runs in a process group of its own, so that stopping it stops its whole tree
# (make, cargo, rustc) and a Ctrl-C of make test reaches it only through this trap. Not a session
# of its own (setsid): Linux gives each session its own scheduling group (autogroup), and nice
# counts only inside the group, so the build took half the CPU from the steps in front.
stop_background() {
  local step
  for step in "${!bg_pid[@]}"; do
    kill -TERM -- "-${bg_pid[$step]}" 2>/dev/null
  done
}
trap stop_background EXIT
trap 'exit 130' INT TERM

for arg in "$@"; do
  case "$arg" in
  bg:*)
    step=${arg#bg:}
    mkdir -p "$log_dir"
    echo "make test: $step started in the background (nice 19), log in $log_dir/$step.log"
    bg_start[$step]=$(date +%s)
    python3 -c 'import os, sys; os.setpgid(0, 0); os.execvp(sys.argv[1], sys.argv[1:])' \
      nice -n 19 "$make_cmd" --no-print-directory "$step" >"$log_dir/$step.log" 2>&1 &
    bg_pid[$step]=$!
    ;;
  join:*)
    step=${arg#join:}
    start=$(date +%s)
    wait "${bg_pid[$step]}"
    rc=$?
    unset "bg_pid[$step]"
    record "$step (background)" "$(($(date +%s) - bg_start[$step]))"
    record "  waited for it" "$(($(date +%s) - start))"
    if [ "$rc" -ne 0 ]; then
      echo "make test: the end of $log_dir/$step.log:"
      tail -n 60 "$log_dir/$step.log"
      fail "$step" "$rc"
    fi
    ;;
  *)
    start=$(date +%s)
    $make_cmd --no-print-directory "$arg"
    rc=$?
    record "$arg" "$(($(date +%s) - start))"
    [ "$rc" -eq 0 ] || fail "$arg" "$rc"
    ;;
  esac
done
table
