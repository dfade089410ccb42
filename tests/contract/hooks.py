"""Schemathesis checks of our own, loaded by run.sh through SCHEMATHESIS_HOOKS.

- `no_secret_in_response`: no response (status line aside: headers and body) carries a TikTok
  token, code or client secret, or the app JWT. The fake TikTok lists every code and token it
  has issued plus the client secret (`GET /_fake/secrets`); each issued secret is looked for as
  any 12-character piece of it (as the e2e and integration tests do), the client secret and
  the JWT whole. Tokens issued later (refreshes during the run) are picked up by re-reading the
  list whenever it may have grown. Anything shaped like a TikTok token (`act.`/`rft.`/`clt.` and
  32 hex digits) fails too, issued by this fake or not.
- `callback_stays_on_the_allow_list`: every 302 of the callback goes to APP_RETURN_URL (the only
  return URL of the stack here) with `tiktok=connected&open_id=…` or `tiktok=error&reason=…`.
- `every_operation_answered_success`: at the end of the run, each operation has answered its
  success status at least once (200; 302 for the callback; 204 for the disconnect), so a run
  where every request bounced off 401/404 cannot pass green. CONTRACT_EXPECT replaces the list
  (the failure pass expects TikTok's failures to come through as 429/502).
"""

import json
import os
import re
import urllib.request
import zlib

import schemathesis

TIKTOK_URL = os.environ["CONTRACT_TIKTOK_URL"]
APP_JWT = os.environ["CONTRACT_APP_JWT"]
TOKEN_SHAPE = re.compile(r"\b(?:act|rft|clt)\.[0-9a-f]{32}")
PIECE = 12

_known = {"count": -1, "pieces": set(), "whole": set()}


def _secrets():
    with urllib.request.urlopen(TIKTOK_URL + "/_fake/secrets", timeout=10) as answer:
        listed = json.load(answer)["secrets"]
    if len(listed) != _known["count"]:
        issued, client_secret = listed[:-1], listed[-1]
        pieces = set()
        for secret in issued:
            if len(secret) <= PIECE:
                pieces.add(secret)
            else:
                pieces.update(secret[i:i + PIECE] for i in range(len(secret) - PIECE + 1))
        _known.update(count=len(listed), pieces=pieces, whole={client_secret, APP_JWT})
    return _known


def _texts(response):
    yield "body", response.content.decode("utf-8", errors="replace")
    for name, values in response.headers.items():
        for value in values if isinstance(values, list) else [values]:
            yield f"header {name}", f"{name}: {value}"


@schemathesis.check
def no_secret_in_response(ctx, response, case):
    known = _secrets()
    for where, text in _texts(response):
        for secret in known["whole"]:
            if secret in text:
                which = "the app JWT" if secret == APP_JWT else "TikTok's client secret"
                raise AssertionError(f"{which} is in the response {where}")
        if TOKEN_SHAPE.search(text):
            raise AssertionError(f"something shaped like a TikTok token is in the response {where}")
        # 12-character windows of the text, looked up in the set of pieces.
        for i in range(max(0, len(text) - PIECE + 1)):
            if text[i:i + PIECE] in known["pieces"]:
                raise AssertionError(
                    f"a 12-character piece of a code or token TikTok issued is in the response {where}"
                )


RETURN_URL = os.environ["CONTRACT_RETURN_URL"]
OUTCOME = re.compile(r"[?&]tiktok=(?:connected&open_id=[^&]+|error&reason=[a-z_]+)$")


@schemathesis.check
def callback_stays_on_the_allow_list(ctx, response, case):
    """The callback's 302 goes to the app's return URL, with the outcome added, and nowhere else."""
    if case.operation.label != "GET /tiktok/callback" or response.status_code != 302:
        return
    location = response.headers.get("location", [""])
    location = location[0] if isinstance(location, list) else location
    if not location.startswith(RETURN_URL + "?"):
        raise AssertionError(f"the callback redirected outside the allow-list: {location[:200]}")
    if not OUTCOME.search(location):
        raise AssertionError(f"the callback's redirect carries no outcome: {location[:200]}")


SUCCESS = {
    "GET /tiktok/authorize": 200,
    "GET /tiktok/callback": 302,
    "GET /tiktok/me": 200,
    "GET /tiktok/videos": 200,
    "GET /tiktok/accounts": 200,
    "DELETE /tiktok/accounts/{open_id}": 204,
}
# CONTRACT_EXPECT="GET /tiktok/me=429;GET /tiktok/videos=502": the status each tested operation
# must have answered at least once instead (the pass where TikTok is made to fail).
if os.environ.get("CONTRACT_EXPECT"):
    SUCCESS = {
        label: int(status)
        for label, _, status in (item.rpartition("=") for item in os.environ["CONTRACT_EXPECT"].split(";"))
    }


@schemathesis.check
class every_operation_answered_success:  # noqa: N801 - the check's name in the report
    """Fail if an operation never answered its success status during the run."""

    def __init__(self):
        self.seen = {}

    def after_response(self, ctx, response, case):
        label = case.operation.label
        statuses = self.seen.setdefault(label, set())
        statuses.add(response.status_code)

    def after_run(self, ctx):
        missing = [
            f"{label} (answered only {sorted(self.seen.get(label, ()))})"
            for label, status in SUCCESS.items()
            if status not in self.seen.get(label, ())
        ]
        if missing:
            raise AssertionError("never answered its success status: " + "; ".join(missing))


CONNECTED = "open-alice-0001"


@schemathesis.hook
def map_case(ctx, case):
    """Half of the schema-valid `open_id`s of /tiktok/me and /tiktok/videos name the connected
    account (Alice), so the 200 answers are checked as often as the 404s: a random open_id is
    never connected. Chosen by a checksum of the generated value, so the run stays deterministic;
    invalid (negative) cases are left alone, they must still be refused."""
    if case.operation.label not in ("GET /tiktok/me", "GET /tiktok/videos"):
        return case
    meta = getattr(case, "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    if mode is None or str(getattr(mode, "value", mode)) != "positive":
        return case
    query = case.query
    if isinstance(query, dict) and isinstance(query.get("open_id"), str):
        if zlib.crc32(query["open_id"].encode("utf-8", "replace")) % 2 == 0:
            query["open_id"] = CONNECTED
    return case
