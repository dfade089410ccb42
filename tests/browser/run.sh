#!/usr/bin/env bash
# The settings page (/tiktok/console) in a real browser: starts `make dev`'s stack on ports of its
# own (beside a developer's `make dev`, the e2e and the contract test), builds every function the
# page uses with one request each, then runs console.test.mjs: Debian's headless chromium, driven
# by playwright-core, signs in, connects through the fake TikTok's consent page (approve, deny,
# fewer scopes), watches the token countdown, pages through videos, posts videos (Direct Post and
# upload to inbox, from a URL) and follows their status, and disconnects. Screenshots of
# every step go to target/browser-artifacts/ (BROWSER_ARTIFACTS to change). `make browser` installs
# chromium and playwright-core first.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

export DEV_STATE_DIR=target/browser-dev DEV_MOTO_PORT=16000 DEV_TIKTOK_PORT=17100 DEV_FUNCTIONS_PORT=17000 \
  DEV_GATEWAY_PORT=17200
artifacts=${BROWSER_ARTIFACTS:-target/browser-artifacts}
mkdir -p "$DEV_STATE_DIR"
rm -rf "$artifacts"
mkdir -p "$artifacts"
out="$DEV_STATE_DIR/dev.out"
# No rebuild and restart of the functions in the middle of the run when a source file changes.
echo '*' >"$DEV_STATE_DIR/watch-ignore"
export CARGO_LAMBDA_IGNORE_FILE=$root/$DEV_STATE_DIR/watch-ignore
# The stack's app_jwt_secret, known to the test that signs in with a JWT minted as an app's back end
# would (README "The settings page").
secret=browser-test-app-jwt-secret-of-32-bytes-or-more
# Only the defaults of dev.sh: variables a developer exported must not change what is tested.
env -u AWS_ENDPOINT_URL -u TIKTOK_API_URL -u TIKTOK_AUTH_URL -u TIKTOK_REDIRECT_URI -u APP_RETURN_URL \
  -u SCHEDULE_GROUP -u SCHEDULED_POST_FUNCTION_ARN -u SCHEDULER_ROLE_ARN -u SCHEDULE_DEAD_LETTER_ARN \
  -u EVENT_BUS_NAME -u DEV_EVENTS_API_KEY -u DEV_EXAMPLE_URL -u DEV_SCHEDULE_EARLY_SECS \
  -u TIKTOK_SCOPES -u TIKTOK_PKCE -u TIKTOK_CLIENT_KEY -u TIKTOK_CLIENT_SECRET -u APP_JWT_SECRET \
  -u APP_JWT_ISSUER -u APP_JWT_AUDIENCE -u APP_ALLOWED_RETURN_URLS DEV_EVENTS_URL= APP_JWT_SECRET="$secret" \
  ./scripts/dev.sh >"$out" 2>&1 &
stack=$!
# shellcheck source=tests/lib/wait-for-stack.sh
. tests/lib/wait-for-stack.sh
trap 'stop_stack "$stack" browser || exit 1' EXIT

wait_for_stack "$out" "$stack" browser

api=http://127.0.0.1:$DEV_GATEWAY_PORT
fail() {
  echo "browser: $*"
  tail -30 "$DEV_STATE_DIR/functions.log"
  exit 1
}
# Functions compile on their first request: one request each before the browser times anything.
status() { curl -s -o /dev/null -w '%{http_code}' --max-time 300 "$@" || true; }
# (--retry: cargo lambda watch now and then answers a large response, the page, with its own 500;
# console.test.mjs explains.)
[ "$(status --retry 2 "$api/tiktok/console")" = 200 ] || fail "the console did not answer 200"
for route in authorize accounts videos; do
  [ "$(status "$api/tiktok/$route")" = 401 ] || fail "/tiktok/$route without a JWT did not answer 401"
done
[ "$(status -X DELETE "$api/tiktok/accounts/nobody")" = 401 ] || fail "disconnect without a JWT did not answer 401"
for route in publish/creator-info publish/nothing; do
  [ "$(status "$api/tiktok/$route")" = 401 ] || fail "/tiktok/$route without a JWT did not answer 401"
done
# The fake TikTok sends the posts' webhooks (and the revoke's) to this function.
[ "$(status -X POST "$api/tiktok/webhook")" = 401 ] || fail "the webhook without a signature did not answer 401"
[ "$(status "http://127.0.0.1:$DEV_FUNCTIONS_PORT/lambda-url/callback/")" = 302 ] || fail "the callback did not answer 302"

start=$(date +%s)
set +e
(
  cd tests/browser
  BROWSER_CONSOLE_URL=$api/tiktok/console BROWSER_TIKTOK_URL=http://127.0.0.1:$DEV_TIKTOK_PORT \
    BROWSER_ARTIFACTS=$root/$artifacts BROWSER_APP_JWT_SECRET=$secret \
    node --test --test-concurrency=1 console.test.mjs
)
result=$?
set -e
echo "browser: the page's tests finished in $(($(date +%s) - start)) s (exit $result); screenshots in $artifacts/"
if [ "$result" != 0 ]; then
  for log in "$artifacts"/FAILED-*.log; do
    [ -e "$log" ] && { echo "--- $log"; cat "$log"; }
  done
  fail "the browser tests failed"
fi
