# Sourced by the scripts that start `make dev`'s stack for a test (tests/e2e, tests/contract).
# wait_for_stack <dev.sh output file> <dev.sh pid> <label>: returns once dev.sh printed that the
# stack is up (up to 5 minutes: the first start builds every function), or prints its output and
# exits when it died or took too long.
wait_for_stack() {
  local out=$1 pid=$2 label=$3
  for _ in $(seq 1 600); do
    grep -q "Local stack is up" "$out" && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$out"; echo "$label: the local stack did not start"; exit 1; }
    sleep 0.5
  done
  cat "$out"
  echo "$label: the local stack did not start in time"
  exit 1
}
