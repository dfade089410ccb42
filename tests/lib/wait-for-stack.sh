# Sourced by the scripts that start `make dev`'s stack for a test (tests/e2e, tests/contract).
# wait_for_stack <dev.sh output file> <dev.sh pid> <label>: returns once dev.sh printed that the
# stack is up (up to 5 minutes: the first start builds every function), or prints its output and
# exits when it died or took too long.
# shellcheck source=scripts/lib/ports.sh
. scripts/lib/ports.sh

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

# stop_stack <dev.sh pid> <label>: stops the stack (dev.sh stops every process it started, with
# their children) and checks that none of its four ports is still listening, on success and on
# failure alike; names whoever still holds one. For the scripts' EXIT traps.
stop_stack() {
  local pid=$1 label=$2 port held=
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for port in "$DEV_MOTO_PORT" "$DEV_TIKTOK_PORT" "$DEV_FUNCTIONS_PORT" "$DEV_GATEWAY_PORT"; do
    for _ in $(seq 1 50); do
      port_listening "$port" || continue 2
      sleep 0.1
    done
    held="$held $port $(port_owner "$port")"
  done
  if [ -n "$held" ]; then
    echo "$label: still listening after the stack stopped:$held" >&2
    return 1
  fi
}
