#!/usr/bin/env bash
# End to end, as the README tells a newcomer: start `make dev`'s stack (on its own ports, so it can
# run beside a developer's `make dev`), connect a TikTok account with curl through the fake
# consent page and the functions under `cargo lambda watch`, then stop everything.
set -euo pipefail
cd "$(dirname "$0")/../.."

export DEV_STATE_DIR=target/e2e-dev DEV_MOTO_PORT=15000 DEV_TIKTOK_PORT=19100 DEV_FUNCTIONS_PORT=19000
mkdir -p "$DEV_STATE_DIR"
out="$DEV_STATE_DIR/dev.out"
# Only the defaults of dev.sh: variables a developer exported must not change what is tested.
env -u AWS_ENDPOINT_URL -u TIKTOK_API_URL -u TIKTOK_AUTH_URL -u TIKTOK_REDIRECT_URI -u APP_RETURN_URL \
  -u TIKTOK_SCOPES -u TIKTOK_PKCE -u TIKTOK_CLIENT_KEY -u TIKTOK_CLIENT_SECRET -u APP_JWT_SECRET \
  -u APP_JWT_ISSUER -u APP_JWT_AUDIENCE -u APP_ALLOWED_RETURN_URLS \
  ./scripts/dev.sh >"$out" 2>&1 &
stack=$!
trap 'kill -TERM "$stack" 2>/dev/null; wait "$stack" 2>/dev/null || true' EXIT

for _ in $(seq 1 600); do
  grep -q "Local stack is up" "$out" && break
  kill -0 "$stack" 2>/dev/null || { cat "$out"; echo "e2e: the local stack did not start"; exit 1; }
  sleep 0.5
done
grep -q "Local stack is up" "$out" || { cat "$out"; echo "e2e: the local stack did not start in time"; exit 1; }

APP_JWT=$(grep -o 'APP_JWT=.*' "$out" | cut -d= -f2)
api=http://127.0.0.1:$DEV_FUNCTIONS_PORT/lambda-url
tiktok=http://127.0.0.1:$DEV_TIKTOK_PORT

# Functions compile on their first request, hence the generous time limits.
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 300 "$api/authorize/")
[ "$status" = 401 ] || { echo "e2e: authorize without a JWT answered $status"; exit 1; }
url=$(curl -sf --max-time 300 -H "Authorization: Bearer $APP_JWT" "$api/authorize/" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["authorize_url"])')
cb=$(curl -s -o /dev/null -w '%{redirect_url}' "$tiktok/v2/auth/authorize/consent/" \
  --data "${url#*\?}&account=open-alice-0001&granted=user.info.basic&decision=approve")
case "$cb" in *%2A*%21*) ;; *) echo "e2e: TikTok's code should carry * and ! percent-encoded: $cb"; exit 1 ;; esac
result=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --max-time 300 "$cb")
expected="302 $tiktok/_fake/app/settings?tiktok=connected&open_id=open-alice-0001"
if [ "$result" != "$expected" ]; then
  echo "e2e: callback answered '$result', expected '$expected'"
  tail -50 "$DEV_STATE_DIR/functions.log"
  exit 1
fi
# Replaying TikTok's redirect must not connect again.
replay=$(curl -s -o /dev/null -w '%{redirect_url}' --max-time 60 "$cb")
case "$replay" in *reason=invalid_state*) ;; *) echo "e2e: replay answered '$replay'"; exit 1 ;; esac
# No secret in the functions' logs: the code and the JWT never appear.
code=$(python3 -c 'import sys,urllib.parse as u; print(u.parse_qs(u.urlsplit(sys.argv[1]).query)["code"][0])' "$cb")
if grep -qF -e "$code" -e "$APP_JWT" "$DEV_STATE_DIR/functions.log"; then
  echo "e2e: a code or JWT reached the functions' log"; exit 1
fi
echo "e2e dev stack: 1 passed, 0 failed"
