#!/usr/bin/env bash
# End to end, as the README tells a newcomer: start `make dev`'s stack (on its own ports, so it can
# run beside a developer's `make dev`), connect a TikTok account with curl through the fake
# consent page and the functions under `cargo lambda watch`, read its profile and videos, list and
# disconnect it, then stop everything.
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

# shellcheck source=tests/lib/wait-for-stack.sh
. tests/lib/wait-for-stack.sh
wait_for_stack "$out" "$stack" e2e

APP_JWT=$(grep -o 'APP_JWT=.*' "$out" | cut -d= -f2)
api=http://127.0.0.1:$DEV_FUNCTIONS_PORT/lambda-url
tiktok=http://127.0.0.1:$DEV_TIKTOK_PORT

passed=0
pass() { passed=$((passed + 1)); }
fail() { # message: prints the failure, the functions' last log lines and the summary, then stops
  echo "e2e: $*"
  tail -50 "$DEV_STATE_DIR/functions.log"
  echo "e2e dev stack: $passed passed, 1 failed"
  exit 1
}
# json <python expression on `d`, the parsed JSON of stdin>
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# call <curl args...>: the response body in $body and the status in $status.
call() {
  local response
  response=$(curl -s -w '\n%{http_code}' --max-time 300 -H "Authorization: Bearer $APP_JWT" "$@") || true
  status=${response##*$'\n'}
  body=${response%$'\n'*}
}
calls() { curl -sf "$tiktok/_fake/calls" | json "d['$1']"; }

# Functions compile on their first request, hence the generous time limits.
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 300 "$api/authorize/")
[ "$status" = 401 ] || fail "authorize without a JWT answered $status"
pass
url=$(curl -sf --max-time 300 -H "Authorization: Bearer $APP_JWT" "$api/authorize/" | json 'd["authorize_url"]') ||
  fail "authorize with the JWT gave no authorize_url"
# Alice grants the basic profile and her video list (repeated `granted=`, as the consent form sends).
cb=$(curl -s -o /dev/null -w '%{redirect_url}' "$tiktok/v2/auth/authorize/consent/" \
  --data "${url#*\?}&account=open-alice-0001&granted=user.info.basic&granted=video.list&decision=approve")
case "$cb" in *%2A*%21*) ;; *) fail "TikTok's code should carry * and ! percent-encoded: $cb" ;; esac
result=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --max-time 300 "$cb")
expected="302 $tiktok/_fake/app/settings?tiktok=connected&open_id=open-alice-0001"
[ "$result" = "$expected" ] || fail "callback answered '$result', expected '$expected'"
pass
# Replaying TikTok's redirect must not connect again.
replay=$(curl -s -o /dev/null -w '%{redirect_url}' --max-time 60 "$cb")
case "$replay" in *reason=invalid_state*) ;; *) fail "replay answered '$replay'" ;; esac
pass

# The profile.
call "$api/user-info/"
[ "$status" = 200 ] || fail "user-info answered $status: $body"
name=$(json 'd["open_id"], d["display_name"]' <<<"$body")
[ "$name" = "open-alice-0001 Alice Dancer" ] || fail "user-info answered $body"
pass

# Every video, 10 at a time, following `cursor` until has_more is false.
ids=""
query="max_count=10"
for page in $(seq 1 10); do
  call "$api/video-list/?$query"
  [ "$status" = 200 ] || fail "video-list page $page ($query) answered $status: $body"
  read -r count more cursor < <(json '" ".join(str(v) for v in (len(d["videos"]), d["has_more"], d["cursor"]))' <<<"$body")
  [ "$count" -le 10 ] || fail "video-list page $page has $count videos, max_count was 10"
  ids+="$(json '" ".join(v["id"] for v in d["videos"])' <<<"$body") "
  if [ "$more" = False ]; then
    [ "$cursor" = None ] || fail "the last page still has a cursor: $cursor"
    break
  fi
  [ "$cursor" != None ] || fail "page $page has more videos but no cursor"
  query="max_count=10&cursor=$cursor"
done
[ "$more" = False ] || fail "video-list never reached the last page"
total=$(wc -w <<<"$ids")
unique=$(tr ' ' '\n' <<<"$ids" | grep . | sort -u | wc -l)
[ "$total" = 25 ] && [ "$unique" = 25 ] ||
  fail "video-list returned $total videos ($unique unique) in $page pages, expected alice's 25"
pass

# The accounts of dev-user.
call "$api/accounts/"
[ "$status" = 200 ] || fail "accounts answered $status: $body"
listed=$(json '",".join(a["open_id"] + ":" + a["status"] for a in d["accounts"])' <<<"$body")
[ "$listed" = "open-alice-0001:active" ] || fail "accounts answered $body"
pass

# TikTok expires the access token early: the next call refreshes it transparently.
refreshes=$(calls token)
curl -sf -o /dev/null -X POST "$tiktok/_fake/users/open-alice-0001/expire-access" || fail "the fake did not expire the token"
call "$api/user-info/"
[ "$status" = 200 ] || fail "user-info after TikTok expired the access token answered $status: $body"
[ "$(calls token)" = $((refreshes + 1)) ] || fail "user-info did not refresh the token exactly once"
pass

# The scheduled job, invoked as the README shows: nothing is due yet (keepalive: tomorrow).
run=$(cargo lambda invoke -A 127.0.0.1 -P "$DEV_FUNCTIONS_PORT" token-refresh \
  --data-file events/token-refresh/scheduled.json 2>"$DEV_STATE_DIR/invoke.err") ||
  fail "token-refresh invoke failed: $run $(cat "$DEV_STATE_DIR/invoke.err")"
[ "$(json '(d["complete"], d["due"], d["transient_failures"])' <<<"$run")" = "(True, 0, 0)" ] ||
  fail "token-refresh answered $run"
pass

# Disconnect: revoked at TikTok, then forgotten.
revokes=$(calls revoke)
call -X DELETE "$api/accounts/open-alice-0001"
[ "$status" = 204 ] && [ -z "$body" ] || fail "DELETE accounts/open-alice-0001 answered $status: $body"
[ "$(calls revoke)" = $((revokes + 1)) ] || fail "disconnect did not revoke at TikTok"
live=$(curl -sf "$tiktok/_fake/users/open-alice-0001/live-refresh-tokens" | json 'd["live"]')
[ "$live" = 0 ] || fail "alice still has $live live refresh tokens at TikTok after the disconnect"
pass
call "$api/accounts/"
[ "$status" = 200 ] && [ "$(json 'len(d["accounts"])' <<<"$body")" = 0 ] ||
  fail "accounts after the disconnect answered $status: $body"
pass
call "$api/user-info/"
[ "$status" = 404 ] && [ "$(json 'd["error"]' <<<"$body")" = not_connected ] ||
  fail "user-info after the disconnect answered $status: $body"
pass

# No secret in the functions' logs: not the JWT, no 12-character piece of any code or token TikTok
# issued, and not its client secret (the fake lists them: everything issued, then the client secret,
# which is looked for whole because it shares `fake_client_` with the client key).
secrets=$(curl -sf "$tiktok/_fake/secrets") || fail "the fake did not list its secrets"
code=$(python3 -c 'import sys,urllib.parse as u; print(u.parse_qs(u.urlsplit(sys.argv[1]).query)["code"][0])' "$cb")
python3 - "$DEV_STATE_DIR/functions.log" "$APP_JWT" "$code" "$secrets" <<'PY' || fail "a secret reached the functions' log"
import json, sys
log = open(sys.argv[1], encoding="utf-8", errors="replace").read()
jwt, code, listed = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])["secrets"]
issued, client_secret = listed[:-1], listed[-1]
# A code, then two token pairs (connect, refresh) at least.
if code not in issued or len(issued) < 5:
    sys.exit(f"the fake lists {len(issued)} issued secrets, expected the code and two token pairs")
for i, secret in enumerate([jwt, client_secret] + issued):
    whole = i < 2 or len(secret) <= 12
    pieces = [secret] if whole else [secret[j:j + 12] for j in range(len(secret) - 11)]
    if any(p in log for p in pieces):
        sys.exit(f"e2e: secret #{i} ({len(secret)} chars) is in the functions' log")
PY
pass
echo "e2e dev stack: $passed passed, 0 failed"
