#!/usr/bin/env bash
# The local stack behind `make dev` (docs/development.md#the-local-stack): moto server, the fake
# TikTok, every function under `cargo lambda watch`, a stand-in for API Gateway in front of them
# (the deployed /tiktok/... routes, the settings page, and the page's dev-only sign-in), a runner
# firing scheduled posts and collecting the event bus's events (scripts/local_aws.py), resources
# bootstrapped, an app JWT printed. Ctrl-C stops everything.
#
# Any variable of docs/deploy.md#configuration already set in the environment wins over the
# defaults below. With AWS_ENDPOINT_URL set no moto is started; with TIKTOK_API_URL set no fake
# TikTok is started.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE_DIR=${DEV_STATE_DIR:-.dev}
# Ports of the four local servers (another set lets the end-to-end test run beside `make dev`).
MOTO_PORT=${DEV_MOTO_PORT:-5000}
TIKTOK_PORT=${DEV_TIKTOK_PORT:-9100}
FUNCTIONS_PORT=${DEV_FUNCTIONS_PORT:-9000}
GATEWAY_PORT=${DEV_GATEWAY_PORT:-9200}
# The settings page, through the gateway; TikTok's consent window comes back to it.
CONSOLE_URL=http://127.0.0.1:$GATEWAY_PORT/tiktok/console
mkdir -p "$STATE_DIR"
pids=()
# A server's whole process tree: cargo lambda watch runs each function as a child process, which
# must not outlive it (a function left behind keeps its runtime connection, a moto its port).
tree() { # pid: the pid and all its descendants
  local child
  echo "$1"
  for child in $(cat /proc/"$1"/task/*/children 2>/dev/null || pgrep -P "$1" 2>/dev/null); do
    tree "$child"
  done
}
cleanup() {
  trap - INT TERM EXIT
  local all=() pid
  for pid in "${pids[@]}"; do all+=($(tree "$pid")); done
  # Collected before any is killed: a killed parent's children would be re-parented out of reach.
  [ "${#all[@]}" = 0 ] || kill "${all[@]}" 2>/dev/null || true
  # A graceful exit gets 5 s: `cargo lambda watch` now and then stays after its "Shutdown
  # finished" (a waitpid of its own goes wrong), and a wait for it would never return.
  local left=() _
  for _ in $(seq 1 50); do
    left=()
    for pid in "${all[@]}"; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
    [ "${#left[@]}" = 0 ] && break
    sleep 0.1
  done
  if [ "${#left[@]}" != 0 ]; then
    echo "still running 5 s after the stop, killed: $(ps -o comm= -p "$(IFS=,; echo "${left[*]}")" | sort -u | xargs)"
    kill -KILL "${left[@]}" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  echo "local stack stopped"
}
trap cleanup INT TERM EXIT

# shellcheck source=scripts/lib/ports.sh
. scripts/lib/ports.sh

wait_for_port() { # name port
  for _ in $(seq 1 300); do
    if port_listening "$2"; then return 0; fi
    sleep 0.2
  done
  echo "$1 did not start on port $2 (see $STATE_DIR/*.log)" >&2
  exit 1
}

# require_free_port <what> <port> <hint>: stops the start, naming the port and (when ss can tell)
# the process that holds it.
require_free_port() {
  port_listening "$2" || return 0
  local owner
  owner=$(port_owner "$2")
  echo "port $2 (for $1) is busy${owner:+, held by $owner}: $3" >&2
  exit 1
}

# --- defaults (the environment wins) -------------------------------------------------------------
: "${TABLE_NAME:=tiktok-connect-dev}"
: "${KMS_KEY_ID:=alias/tiktok-connect-dev}"
: "${TIKTOK_SECRET_ID:=tiktok-connect-dev-tiktok}"
: "${APP_JWT_SECRET_ID:=tiktok-connect-dev-app-jwt}"
: "${TIKTOK_CLIENT_KEY:=fake_client_key}"
: "${TIKTOK_CLIENT_SECRET:=fake_client_secret_dev_only}"
: "${APP_JWT_SECRET:=dev-only-app-jwt-secret-change-me}"
: "${TIKTOK_REDIRECT_URI:=http://127.0.0.1:$FUNCTIONS_PORT/lambda-url/callback/}"
: "${APP_RETURN_URL:=http://127.0.0.1:$TIKTOK_PORT/_fake/app/settings}"
: "${TIKTOK_SCOPES:=user.info.basic,user.info.profile,user.info.stats,video.list,video.publish,video.upload}"
: "${TIKTOK_PKCE:=off}"
# The fake TikTok's verified prefix: media URLs outside it are refused before TikTok is asked.
: "${MEDIA_URL_PREFIXES:=https://media.example.com/}"
# The example app (examples/nextjs, `npm run dev` on its default port) signs its users in on its
# own origin: its return page is allowed, and the bus's events go to its events route.
EXAMPLE_URL=${DEV_EXAMPLE_URL:-http://localhost:3000}
# The settings page and the example app are on other origins than APP_RETURN_URL: list them.
: "${APP_ALLOWED_RETURN_URLS:=$CONSOLE_URL,$EXAMPLE_URL/tiktok/return}"
: "${AWS_REGION:=us-east-1}"
# Scheduled posts and events (docs/development.md#scheduled-posts-and-events-locally): the functions
# create one-time schedules in this group, invoking scheduled-post, and put events on this bus;
# scripts/local_aws.py fires the schedules and collects the events, which moto does not. The ARNs
# are in moto's account; a schedule's target is found by its function name under cargo lambda watch.
: "${SCHEDULE_GROUP:=tiktok-connect-dev}"
: "${SCHEDULED_POST_FUNCTION_ARN:=arn:aws:lambda:$AWS_REGION:123456789012:function:scheduled-post}"
: "${SCHEDULER_ROLE_ARN:=arn:aws:iam::123456789012:role/tiktok-connect-dev-scheduler}"
: "${SCHEDULE_DEAD_LETTER_ARN:=arn:aws:sqs:$AWS_REGION:123456789012:tiktok-connect-dev-schedule-dlq}"
: "${EVENT_BUS_NAME:=tiktok-connect-dev}"
export TABLE_NAME KMS_KEY_ID TIKTOK_SECRET_ID APP_JWT_SECRET_ID TIKTOK_CLIENT_KEY TIKTOK_CLIENT_SECRET APP_JWT_SECRET \
  TIKTOK_REDIRECT_URI APP_RETURN_URL APP_ALLOWED_RETURN_URLS TIKTOK_SCOPES TIKTOK_PKCE AWS_REGION MEDIA_URL_PREFIXES \
  SCHEDULE_GROUP SCHEDULED_POST_FUNCTION_ARN SCHEDULER_ROLE_ARN SCHEDULE_DEAD_LETTER_ARN EVENT_BUS_NAME
# The bus's events also go to an app under development, as an API destination with an API key
# would send them (DEV_EVENTS_API_KEY in DEV_EVENTS_API_KEY_HEADER): unset, to the example app's
# events route with the example's dev key; set empty, nowhere. (While the example is not running
# the runner logs each event as not forwarded and goes on.)
: "${DEV_EVENTS_URL=$EXAMPLE_URL/api/tiktok/events}"
if [ -n "$DEV_EVENTS_URL" ]; then : "${DEV_EVENTS_API_KEY:=dev-only-events-api-key}"; fi
export DEV_EVENTS_API_KEY
case "${DEV_EVENTS_URL:-http://}" in
  http://* | https://*) ;;
  *) echo "DEV_EVENTS_URL must be an http:// or https:// URL" >&2 && exit 1 ;;
esac
# scripts/local_aws.py needs boto3, which comes with moto in the venv (also when run without make).
aws_python=${MOTO_PYTHON:-.venv/bin/python}

# Every port is checked before anything starts: a busy one stops the start with its owner's name.
[ -n "${AWS_ENDPOINT_URL:-}" ] ||
  require_free_port moto "$MOTO_PORT" "stop the other moto server, set DEV_MOTO_PORT or AWS_ENDPOINT_URL"
[ -n "${TIKTOK_API_URL:-}" ] ||
  require_free_port "the fake TikTok" "$TIKTOK_PORT" "stop the other fake TikTok, set DEV_TIKTOK_PORT or TIKTOK_API_URL"
require_free_port "cargo lambda watch" "$FUNCTIONS_PORT" "stop the other cargo lambda watch or set DEV_FUNCTIONS_PORT"
require_free_port gateway "$GATEWAY_PORT" "stop the other make dev or set DEV_GATEWAY_PORT"

echo "building the local tools (first run compiles the AWS SDK: a few minutes)..."
cargo build --quiet --locked -p devstack -p fake-tiktok

# --- AWS emulator ---------------------------------------------------------------------------------
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  scripts/moto-server -H 127.0.0.1 -p "$MOTO_PORT" >"$STATE_DIR/moto.log" 2>&1 &
  pids+=($!)
  export AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT
  : "${AWS_ACCESS_KEY_ID:=test}" "${AWS_SECRET_ACCESS_KEY:=test}"
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  wait_for_port moto "$MOTO_PORT"
fi

# --- fake TikTok ----------------------------------------------------------------------------------
if [ -z "${TIKTOK_API_URL:-}" ]; then
  case "$TIKTOK_PKCE" in s256-hex) fake_pkce=hex ;; s256-base64url) fake_pkce=base64url ;; *) fake_pkce=off ;; esac
  FAKE_TIKTOK_CLIENT_KEY="$TIKTOK_CLIENT_KEY" FAKE_TIKTOK_CLIENT_SECRET="$TIKTOK_CLIENT_SECRET" \
    FAKE_TIKTOK_REDIRECT_URIS="$TIKTOK_REDIRECT_URI" FAKE_TIKTOK_PKCE="$fake_pkce" \
    FAKE_TIKTOK_WEBHOOK_URL="${FAKE_TIKTOK_WEBHOOK_URL:-http://127.0.0.1:$FUNCTIONS_PORT/lambda-url/webhook/}" \
    target/debug/fake-tiktok --addr "127.0.0.1:$TIKTOK_PORT" >"$STATE_DIR/fake-tiktok.log" 2>&1 &
  pids+=($!)
  export TIKTOK_API_URL=http://127.0.0.1:$TIKTOK_PORT
  : "${TIKTOK_AUTH_URL:=http://127.0.0.1:$TIKTOK_PORT/v2/auth/authorize/}"
  export TIKTOK_AUTH_URL
  wait_for_port "fake TikTok" "$TIKTOK_PORT"
fi

# --- resources (idempotent) -----------------------------------------------------------------------
target/debug/devstack bootstrap
# The schedule group, the schedules' dead-letter queue, the event bus and a rule sending its events
# to a queue the runner reads (local only: deployed, the stack's template has its own).
"$aws_python" scripts/local_aws.py bootstrap

# Everything the functions read, handed to cargo lambda watch (it runs them as child processes).
# Locally every function gets both secret ids (one environment for all); deployed, each gets only
# the ones it needs (infra/template.yaml).
env_file="$STATE_DIR/functions.env"
: >"$env_file"
for name in TABLE_NAME KMS_KEY_ID TIKTOK_SECRET_ID APP_JWT_SECRET_ID TIKTOK_CLIENT_KEY TIKTOK_REDIRECT_URI APP_RETURN_URL \
  APP_ALLOWED_RETURN_URLS TIKTOK_SCOPES TIKTOK_PKCE TIKTOK_AUTH_URL TIKTOK_API_URL AWS_ENDPOINT_URL \
  AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY APP_JWT_ISSUER APP_JWT_AUDIENCE RUST_LOG \
  REFRESH_POLICY REFRESH_INTERVAL_MINUTES REFRESH_KEEPALIVE_HOURS REFRESH_CONCURRENCY REFRESH_RATE_PER_MINUTE \
  MEDIA_URL_PREFIXES \
  SCHEDULE_GROUP SCHEDULED_POST_FUNCTION_ARN SCHEDULER_ROLE_ARN SCHEDULE_DEAD_LETTER_ARN EVENT_BUS_NAME; do
  if [ -n "${!name:-}" ]; then echo "$name=${!name}" >>"$env_file"; fi
done
# The settings page's sign-in form for any user name (it posts to the gateway's /_dev/sign-in).
# Local only: infra/template.yaml never sets it (tests/tests/it/least_privilege.rs checks).
echo "CONSOLE_DEV_SIGN_IN=1" >>"$env_file"

# The watcher's own log stays at info whatever RUST_LOG the functions get (from the env file): at
# debug it logs every request URI, the callback's code and state included.
RUST_LOG=info cargo lambda watch -A 127.0.0.1 -P "$FUNCTIONS_PORT" --env-file "$env_file" \
  >"$STATE_DIR/functions.log" 2>&1 &
pids+=($!)
wait_for_port "cargo lambda watch" "$FUNCTIONS_PORT"

# EventBridge's part, locally: due schedules invoke their function through cargo lambda watch, the
# bus's events go to $events_file (and to DEV_EVENTS_URL when set).
events_file="$STATE_DIR/events.jsonl"
# This stack's events only: moto starts empty, so an earlier run's events would be another bus's.
: >"$events_file"
forward=()
if [ -n "${DEV_EVENTS_URL:-}" ]; then
  # The key itself reaches the runner as DEV_EVENTS_API_KEY (its environment, not its argv).
  forward=(--forward-url "$DEV_EVENTS_URL" --forward-api-key-header "${DEV_EVENTS_API_KEY_HEADER:-x-api-key}")
fi
# DEV_SCHEDULE_EARLY_SECS (tests only: the end-to-end and example tests) fires schedules that many
# seconds before their time; `make dev` fires them on time, as EventBridge Scheduler does.
"$aws_python" scripts/local_aws.py run --functions-port "$FUNCTIONS_PORT" --events-file "$events_file" \
  --fire-early "${DEV_SCHEDULE_EARLY_SECS:-0}" ${forward[@]+"${forward[@]}"} >"$STATE_DIR/local-aws.log" 2>&1 &
pids+=($!)

# API Gateway's routes (/tiktok/...) in front of the functions, and the page's dev sign-in.
python3 scripts/gateway.py --dev-sign-in "$GATEWAY_PORT" "$FUNCTIONS_PORT" 2>>"$STATE_DIR/gateway.log" &
pids+=($!)
wait_for_port gateway "$GATEWAY_PORT"

jwt=$(target/debug/devstack jwt dev-user 86400)
cat <<TXT

Local stack is up. Open the settings page in a browser:

    $CONSOLE_URL

  Sign in with any name, press Connect TikTok, choose Alice or Bob and press Authorize.
  (Functions compile on their first request: the first page may take a minute. Logs in $STATE_DIR/.)

  API (as deployed)  http://127.0.0.1:$GATEWAY_PORT/tiktok/<route>
  functions          http://127.0.0.1:$FUNCTIONS_PORT/lambda-url/<function>/
  AWS emulator       ${AWS_ENDPOINT_URL}
  TikTok             ${TIKTOK_API_URL}   (consent page: ${TIKTOK_AUTH_URL:-default})
  events             $events_file (bus $EVENT_BUS_NAME)${DEV_EVENTS_URL:+, forwarded to $DEV_EVENTS_URL}
                     watch them: make events   (or .venv/bin/python scripts/local_aws.py events --follow${DEV_STATE_DIR:+ --events-file $events_file})

App JWT for app user "dev-user" (valid 24 h):
  export APP_JWT=$jwt

Or connect with curl (README "Walkthrough"):
  curl -s -H "Authorization: Bearer \$APP_JWT" http://127.0.0.1:$FUNCTIONS_PORT/lambda-url/authorize/
  then open the printed authorize_url in a browser and press Approve.

Ctrl-C stops everything.
TXT
wait -n "${pids[@]}"
