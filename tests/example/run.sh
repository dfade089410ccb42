#!/usr/bin/env bash
# The Next.js example (examples/nextjs) in a real browser, against `make dev`'s stack on ports of
# its own: installs what it needs (only when a lockfile changed), makes the example's production
# build (`next build`: its time and each route's first-load JS are printed), starts it with `next
# start`, and runs example.test.mjs: Debian's headless chromium, driven by playwright-core, signs
# in, connects TikTok accounts through the fake TikTok's consent page, pages through videos, posts
# and schedules, sees a revoke and a post's status arrive as events (no reload), disconnects, and
# scans everything the browser held for secrets. Screenshots go to target/example-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

export DEV_STATE_DIR=target/example-dev DEV_MOTO_PORT=21000 DEV_TIKTOK_PORT=21100 DEV_FUNCTIONS_PORT=21050 \
  DEV_GATEWAY_PORT=21200
example_port=21300
example_url=http://127.0.0.1:$example_port
artifacts=${EXAMPLE_ARTIFACTS:-target/example-artifacts}
app=examples/nextjs
mkdir -p "$DEV_STATE_DIR"
rm -rf "$artifacts" "$DEV_STATE_DIR/app-data"
mkdir -p "$artifacts"

# shellcheck source=scripts/lib/ports.sh
. scripts/lib/ports.sh
if port_listening "$example_port"; then
  echo "example: port $example_port is busy ($(port_owner "$example_port"))" >&2
  exit 1
fi

# --- install (each only when its lockfile changed) and build -------------------------------------
[ -x /usr/bin/chromium ] || { echo "example: /usr/bin/chromium is missing (make chromium installs it)" >&2; exit 1; }
# make's venv (moto, cargo-lambda): `make` installs it; on PATH here as make's targets put it.
[ -x .venv/bin/cargo-lambda ] || { echo "example: .venv is missing: run make (or make dev) once first" >&2; exit 1; }
export PATH="$root/.venv/bin:$PATH"
start=$(date +%s)
stamp=tests/example/node_modules/.installed
if [ ! -f "$stamp" ] || [ tests/example/package-lock.json -nt "$stamp" ]; then
  (cd tests/example && npm ci --no-audit --no-fund --loglevel=error)
  touch "$stamp"
fi
# The example's own packages and the client package it uses (built to clients/typescript/dist).
node "$app/scripts/ensure-client.mjs"
install_time=$(($(date +%s) - start))

start=$(date +%s)
# `npm run build` would run ensure-client again (prebuild): next build directly.
if ! (cd "$app" && NEXT_TELEMETRY_DISABLED=1 node node_modules/next/dist/bin/next build) >"$DEV_STATE_DIR/build.log" 2>&1; then
  cat "$DEV_STATE_DIR/build.log"
  echo "example: next build failed"
  exit 1
fi
build_time=$(($(date +%s) - start))
first_load=$(node tests/example/first-load-js.mjs "$app")
echo "example: installed in ${install_time} s, built in ${build_time} s; first-load JS per route:"
echo "$first_load" | sed 's/^/  /'

# --- the stack, with only dev.sh's defaults but the example's address ----------------------------
out="$DEV_STATE_DIR/dev.out"
# No rebuild and restart of the functions in the middle of the run when a source file changes.
echo '*' >"$DEV_STATE_DIR/watch-ignore"
export CARGO_LAMBDA_IGNORE_FILE=$root/$DEV_STATE_DIR/watch-ignore
# DEV_SCHEDULE_EARLY_SECS: the local runner fires schedules 115 s early, so the post the test
# schedules 135 s ahead fires 20 s after (the test waits for it at its end, not two minutes).
# DEV_EXAMPLE_URL: dev.sh allows $DEV_EXAMPLE_URL/tiktok/return as a return URL and forwards the
# bus's events to $DEV_EXAMPLE_URL/api/tiktok/events with its dev key (DEV_EVENTS_URL unset).
env -u AWS_ENDPOINT_URL -u TIKTOK_API_URL -u TIKTOK_AUTH_URL -u TIKTOK_REDIRECT_URI -u APP_RETURN_URL \
  -u SCHEDULE_GROUP -u SCHEDULED_POST_FUNCTION_ARN -u SCHEDULER_ROLE_ARN -u SCHEDULE_DEAD_LETTER_ARN \
  -u EVENT_BUS_NAME -u DEV_EVENTS_URL -u DEV_EVENTS_API_KEY -u DEV_EVENTS_API_KEY_HEADER \
  -u TIKTOK_SCOPES -u TIKTOK_PKCE -u TIKTOK_CLIENT_KEY -u TIKTOK_CLIENT_SECRET -u APP_JWT_SECRET \
  -u APP_JWT_ISSUER -u APP_JWT_AUDIENCE -u APP_ALLOWED_RETURN_URLS -u MEDIA_URL_PREFIXES \
  DEV_EXAMPLE_URL="$example_url" DEV_SCHEDULE_EARLY_SECS=115 ./scripts/dev.sh >"$out" 2>&1 &
stack=$!
example=
# shellcheck source=tests/lib/wait-for-stack.sh
. tests/lib/wait-for-stack.sh
stop_all() {
  local ok=0
  if [ -n "$example" ]; then
    # next start runs the server as its child (next-server): both, by pid.
    pkill -TERM -P "$example" 2>/dev/null || true
    kill -TERM "$example" 2>/dev/null || true
    wait "$example" 2>/dev/null || true
  fi
  stop_stack "$stack" example || ok=1
  if port_listening "$example_port"; then echo "example: port $example_port still listening" >&2; ok=1; fi
  return $ok
}
trap 'stop_all || exit 1' EXIT

wait_for_stack "$out" "$stack" example
api=http://127.0.0.1:$DEV_GATEWAY_PORT
fail() {
  echo "example: $*"
  tail -30 "$DEV_STATE_DIR/functions.log"
  [ ! -f "$DEV_STATE_DIR/example.log" ] || tail -30 "$DEV_STATE_DIR/example.log"
  exit 1
}
# Functions compile on their first request: one request each before the browser times anything.
status() { curl -s -o /dev/null -w '%{http_code}' --max-time 300 "$@" || true; }
for route in authorize accounts videos publish publish/creator-info publish/nothing; do
  [ "$(status "$api/tiktok/$route")" = 401 ] || fail "/tiktok/$route without a JWT did not answer 401"
done
[ "$(status -X POST "$api/tiktok/webhook")" = 401 ] || fail "the webhook without a signature did not answer 401"
[ "$(status "http://127.0.0.1:$DEV_FUNCTIONS_PORT/lambda-url/callback/")" = 302 ] || fail "the callback did not answer 302"
# scheduled-post: fired by scripts/local_aws.py through cargo lambda watch (compiled here, not at the post's time).
status -X POST -H 'Content-Type: application/json' -d '{"publish_id":"sched_aaaaaaaaaaaaaaaaaaaaaaaaaa"}' "http://127.0.0.1:$DEV_FUNCTIONS_PORT/2015-03-31/functions/scheduled-post/invocations" >/dev/null

# --- the example, as built: next start, configured for these ports --------------------------------
# The dev secret and key are dev.sh's defaults: allowed in this production build on purpose.
(
  cd "$app"
  exec env NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 TIKTOK_CONNECT_ALLOW_DEV_DEFAULTS=1 \
    TIKTOK_CONNECT_API_URL="$api" APP_URL="$example_url" APP_DATA_DIR="$root/$DEV_STATE_DIR/app-data" \
    node node_modules/next/dist/bin/next start -H 127.0.0.1 -p "$example_port"
) >"$DEV_STATE_DIR/example.log" 2>&1 &
example=$!
for _ in $(seq 1 100); do port_listening "$example_port" && break; sleep 0.2; done
port_listening "$example_port" || fail "the example did not start on port $example_port"

start=$(date +%s)
set +e
(
  cd tests/example
  EXAMPLE_URL=$example_url EXAMPLE_TIKTOK_URL=http://127.0.0.1:$DEV_TIKTOK_PORT EXAMPLE_ARTIFACTS=$root/$artifacts \
    EXAMPLE_APP_JWT_SECRET=dev-only-app-jwt-secret-change-me EXAMPLE_EVENTS_API_KEY=dev-only-events-api-key \
    node --test --test-concurrency=1 example.test.mjs
)
result=$?
set -e
verdict=passed
[ "$result" = 0 ] || verdict="failed (exit $result)"
echo "example: installed in ${install_time} s, built in ${build_time} s, browser test $verdict in $(($(date +%s) - start)) s; screenshots in $artifacts/"
echo "$first_load" | sed 's/^/  /'
[ "$result" = 0 ] || fail "the browser test failed"
