"""Schemathesis checks of our own, loaded by run.sh through SCHEMATHESIS_HOOKS.

- `no_secret_in_response`: no response (status line aside: headers and body) carries a TikTok
  token, code or client secret, or the app JWT. The fake TikTok lists every code and token it
  has issued plus the client secret (`GET /_fake/secrets`); each issued secret is looked for as
  any 12-character piece of it (as the e2e and integration tests do), the client secret and
  the JWT whole. Tokens issued later (refreshes during the run) are picked up by re-reading the
  list whenever it may have grown. Anything shaped like a TikTok token (`act.`/`rft.`/`clt.` and
  32 hex digits) fails too, issued by this fake or not.
- `callback_stays_on_the_allow_list`: every 302 of the callback goes to APP_RETURN_URL (the only
  return URL of the stack here) with `tiktok=pending&connection_id=…` or `tiktok=error&reason=…`.
- `every_operation_answered_success`: at the end of the run, each operation has answered its
  success status at least once (200; 302 for the callback; 204 for the disconnect and the
  cancels, of a connection and of a scheduled post; 202 for
  POST /tiktok/publish; 401 for the webhook, which schemathesis cannot sign), so a run
  where every request bounced off 401/404 cannot pass green. CONTRACT_EXPECT replaces the list
  (the failure pass expects TikTok's failures to come through as 429/502, and its refusals to
  let a creator post as 403).

Hooks: `map_case` steers generated open_ids, video and photo URLs, publish_ids and cursors to
data that exists, and fits schema-valid cases to the rules a schema cannot state (see there);
`after_call` remembers the publish_ids POST /tiktok/publish answered and the cursors GET
/tiktok/publish did; `before_add_examples` fits the examples phase's cases, which `map_case` does
not see; `filter_case` leaves out the few requests cargo lambda watch cannot hand to a function at
all.
"""

import json
import os
import re
import time
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
OUTCOME = re.compile(r"[?&]tiktok=(?:pending&connection_id=[A-Za-z0-9_-]{43}|error&reason=[a-z_]+)$")


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
    "POST /tiktok/connections/{connection_id}/confirm": 200,
    "DELETE /tiktok/connections/{connection_id}": 204,
    "GET /tiktok/console": 200,
    "GET /tiktok/publish/creator-info": 200,
    "GET /tiktok/publish": 200,
    "POST /tiktok/publish": 202,
    "GET /tiktok/publish/{publish_id}": 200,
    "DELETE /tiktok/publish/{publish_id}": 204,
    # Schemathesis cannot sign TikTok's webhooks (HMAC of the exact body with the client secret),
    # so every request it sends is refused before the body is read: only the webhook's 401 (and
    # its 400 for an oversized body) is checked against the spec here. run.sh sends signed
    # deliveries itself and checks their 200 answers.
    "POST /tiktok/webhook": 401,
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
OTHER = "open-bob-0002"
# Connected with user.info.basic only (run.sh): the posting routes answer her 403 scope_missing.
BASIC_ONLY = "open-carol-0003"
# Connected with every scope (run.sh) for creator info alone: the Direct Posts of POST
# /tiktok/publish count against Alice's 20 creator-info calls a minute, so hers soon answer 429.
CREATOR = "open-dave-0004"
# CONTRACT_POSTER=<open_id>: the account with every scope for both posting routes instead (the
# pass where TikTok refuses to let that creator post).
POSTER = os.environ.get("CONTRACT_POSTER")
# A URL prefix the fake TikTok treats as verified (its default `verified_url_prefixes`).
VERIFIED_URL = "https://media.example.com/contract/"
# publish_ids this run started: those run.sh created before schemathesis (comma-separated: an
# inbox video upload, a public photo post with its public id, a scheduled post), then every 202's.
PUBLISH_IDS = [i for i in os.environ.get("CONTRACT_PUBLISH_IDS", "").split(",") if i]
# The `next_cursor`s GET /tiktok/publish answered (the first page's when more than 25 posts exist).
CURSORS = []
# Pending connections run.sh left (single use): every positive case of each connection route gets
# its id, so the first one sent with the app JWT succeeds (checked once) and the others meet the
# 404 of a used connection.
PENDING = {
    "POST /tiktok/connections/{connection_id}/confirm": os.environ.get("CONTRACT_CONFIRM_ID"),
    "DELETE /tiktok/connections/{connection_id}": os.environ.get("CONTRACT_CANCEL_ID"),
}


def _crc(value):
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return zlib.crc32(text.encode("utf-8", "replace"))


def _half(value):
    """Deterministically true for about half of the generated values."""
    return _crc(value) % 2 == 0


def _account(value, full=CONNECTED):
    """A connected account for about 3 in 4 generated open_ids: one with every scope (`full`) for
    half, Carol (no posting scope) for a quarter; the rest stay unknown (404)."""
    return {0: full, 1: full, 2: BASIC_ONLY}.get(_crc(value) % 4, value)


@schemathesis.hook
def after_call(ctx, case, response):
    if case.operation.label == "POST /tiktok/publish" and response.status_code == 202:
        try:
            publish_id = response.json()["publish_id"]
        except (ValueError, KeyError, TypeError):
            return
        if publish_id not in PUBLISH_IDS:
            PUBLISH_IDS.append(publish_id)
    elif case.operation.label == "GET /tiktok/publish" and response.status_code == 200:
        try:
            cursor = response.json().get("next_cursor")
        except (ValueError, AttributeError):
            return
        if isinstance(cursor, str) and cursor not in CURSORS:
            CURSORS.append(cursor)


def _integers(value):
    """`value` with every whole float (2837.0) written as an integer. JSON Schema's `integer` takes
    2837.0, so schemathesis sends it as valid; the API, like TikTok, reads sizes and milliseconds
    as integers only and refuses it (400), as the spec's descriptions say."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integers(v) for v in value]
    return value


# TikTok's text limits in UTF-16 code units (an emoji counts 2), per media type. JSON Schema's
# maxLength counts code points, so a schema-valid title of 60 emoji is 120 units: refused (400).
TEXT_LIMITS = {"video": {"title": 2200}, "photo": {"title": 90, "description": 4000}}


def _utf16_clamp(text, limit):
    """`text` cut to at most `limit` UTF-16 code units, never inside a surrogate pair."""
    out, used = [], 0
    for c in text:
        used += 2 if ord(c) > 0xFFFF else 1
        if used > limit:
            break
        out.append(c)
    return "".join(out)


def _publish_at(value):
    """A `publish_at` the API takes (2 minutes to 30 days from now: relative to the clock, which a
    schema cannot say): 1 hour to 29 days ahead, so no schedule fires during the run and the
    clock moving on while the request travels cannot take it out of the window."""
    return int(time.time()) + 3600 + _crc(value) % (28 * 86400)


def _fit_publish_body(body):
    """What the schema cannot say about a schema-valid POST /tiktok/publish body, made true: text
    within its UTF-16 limit, a photo post's `cover_index` one of its images (less than the number
    of `photo_urls`), a privacy level the creator offers (the accounts posted to here are
    public: no `FOLLOWER_OF_CREATOR`, a private account's, and `MUTUAL_FOLLOW_FRIENDS` is offered
    to public and private accounts alike), and a `publish_at` within its window from now."""
    if isinstance(body.get("publish_at"), int) and not isinstance(body["publish_at"], bool):
        body["publish_at"] = _publish_at(body["publish_at"])
        # The schema allows it with URL sources only; should a generator miss that, post now.
        source = body.get("source")
        if isinstance(source, dict) and source.get("type") == "upload":
            del body["publish_at"]
    media = "photo" if body.get("media_type") == "photo" else "video"
    info = body.get("post_info")
    if isinstance(info, dict) and info.get("privacy_level") == "FOLLOWER_OF_CREATOR":
        info["privacy_level"] = "MUTUAL_FOLLOW_FRIENDS"
    if isinstance(info, dict):
        for field, limit in TEXT_LIMITS[media].items():
            if isinstance(info.get(field), str):
                info[field] = _utf16_clamp(info[field], limit)
    source = body.get("source")
    if media == "photo" and isinstance(source, dict):
        urls, index = source.get("photo_urls"), source.get("cover_index")
        if isinstance(urls, list) and urls and isinstance(index, int) and index >= len(urls):
            source["cover_index"] = index % len(urls)


def _sendable(value):
    """Whether cargo lambda watch can turn this header value or body into a Lambda event."""
    if isinstance(value, str):
        return all(" " <= c <= "~" or c == "\t" for c in value)
    data = getattr(value, "data", value)
    if isinstance(data, (bytes, bytearray)):
        try:
            bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


@schemathesis.hook
def filter_case(ctx, case):
    """Leaves out the requests the local stack cannot deliver to a function at all: cargo lambda
    watch answers 500 itself (the function never runs) for a header value outside printable
    ASCII and for a JSON body that is not UTF-8, as it cannot put either in the Lambda event's
    JSON. (API Gateway would pass them on, or refuse them, before any function code.) The same
    requests with printable but invalid values still reach the functions and must be refused."""
    headers = case.headers.values() if hasattr(case.headers, "values") else ()
    if not all(_sendable(v) for v in headers if isinstance(v, str)):
        return False
    return _sendable(case.body) if isinstance(getattr(case.body, "data", case.body), (bytes, bytearray)) else True


@schemathesis.hook
def before_add_examples(ctx, examples):
    """The examples phase (which `map_case` does not see) adds `max_count`'s default to the `ids`
    example of GET /tiktok/videos: `ids` is never combined with a page's parameters (400). The
    `publish_at` of the scheduled post's example is a fixed time, outside its window (2 minutes
    to 30 days from now) on most days: moved into it."""
    for case in examples:
        query = case.query
        if case.operation.label == "GET /tiktok/videos" and isinstance(query, dict) and query.get("ids") is not None:
            query.pop("cursor", None)
            query.pop("max_count", None)
        body = case.body
        if case.operation.label == "POST /tiktok/publish" and isinstance(body, dict) and isinstance(body.get("publish_at"), int):
            body["publish_at"] = _publish_at(body["publish_at"])


@schemathesis.hook
def map_case(ctx, case):
    """Steers schema-valid cases to data that exists, so success answers are checked as often as
    the 404s (a random open_id is never connected, a random publish_id never started): half the
    `open_id`s of /tiktok/me and /tiktok/videos become Alice; of the posting routes, half become
    an account with every scope (Alice for POST /tiktok/publish, Dave for creator info) and a
    quarter Carol, who did not grant the posting scopes; every `video_url` and `photo_urls` item
    under the fake TikTok's verified prefix (the stack's MEDIA_URL_PREFIXES, which dev.sh sets to
    it: outside it the API refuses a URL with 400 before TikTok is asked, which depends on the
    deployment, not the data); half the publish_ids of GET /tiktok/publish/{publish_id} one this
    run started, and of DELETE /tiktok/publish/{publish_id} half a scheduled post's and a quarter
    any post's this run started (a scheduled post's `204`, a started post's `409`); half the
    `open_id`s of GET /tiktok/publish Alice, and half its `cursor`s a `next_cursor` it answered.
    It also makes schema-valid cases keep the rules
    the schema cannot state: `ids` of GET /tiktok/videos never with `cursor` or `max_count`
    (`400`), a photo post's `cover_index` less than its number of images, titles and descriptions
    within TikTok's limits in UTF-16 code units, a `publish_at` 1 hour to 29 days from now.
    Chosen by a checksum of the generated value, so the run stays deterministic; invalid
    (negative) cases are left alone, they must still be refused."""
    label = case.operation.label
    if label == "DELETE /tiktok/accounts/{open_id}":
        # Alice, Carol and Dave stay connected for the whole run, whatever else the case gets
        # wrong: the operations tested after the disconnect need them (schemathesis reuses the
        # open_ids GET /tiktok/accounts listed). The 204 is Bob's: the example disconnects him.
        params = case.path_parameters
        if isinstance(params, dict) and params.get("open_id") in (CONNECTED, BASIC_ONLY, CREATOR):
            params["open_id"] = OTHER
        return case
    meta = getattr(case, "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    mode = None if mode is None else str(getattr(mode, "value", mode))
    # The videos with these ids, or a page: not both (400). Also for the examples phase, which
    # adds `max_count`'s default to the `ids` example.
    if label == "GET /tiktok/videos" and mode != "negative":
        query = case.query
        if isinstance(query, dict) and query.get("ids") is not None:
            query.pop("cursor", None)
            query.pop("max_count", None)
    if mode != "positive":
        return case
    if label in ("GET /tiktok/me", "GET /tiktok/videos"):
        query = case.query
        if isinstance(query, dict) and isinstance(query.get("open_id"), str):
            if _half(query["open_id"]):
                query["open_id"] = CONNECTED
    elif label == "GET /tiktok/publish/creator-info":
        query = case.query
        if isinstance(query, dict) and isinstance(query.get("open_id"), str):
            query["open_id"] = _account(query["open_id"], POSTER or CREATOR)
    elif label == "POST /tiktok/publish" and isinstance(case.body, dict):
        body = case.body = _integers(case.body)
        if isinstance(body.get("open_id"), str):
            body["open_id"] = _account(body["open_id"], POSTER or CONNECTED)
        _fit_publish_body(body)
        source = body.get("source")
        if isinstance(source, dict) and isinstance(source.get("video_url"), str):
            source["video_url"] = VERIFIED_URL + "%08x.mp4" % _crc(source["video_url"])
        if isinstance(source, dict) and isinstance(source.get("photo_urls"), list):
            source["photo_urls"] = [VERIFIED_URL + "%08x-%d.jpg" % (_crc(url), i) for i, url in enumerate(source["photo_urls"])]
    elif label in PENDING and PENDING[label]:
        params = case.path_parameters
        if isinstance(params, dict) and isinstance(params.get("connection_id"), str):
            params["connection_id"] = PENDING[label]
    elif label == "GET /tiktok/publish/{publish_id}" and PUBLISH_IDS:
        params = case.path_parameters
        if isinstance(params, dict) and isinstance(params.get("publish_id"), str):
            crc = _crc(params["publish_id"])
            if crc % 2 == 0:
                params["publish_id"] = PUBLISH_IDS[(crc >> 1) % len(PUBLISH_IDS)]
    elif label == "DELETE /tiktok/publish/{publish_id}" and PUBLISH_IDS:
        params = case.path_parameters
        if isinstance(params, dict) and isinstance(params.get("publish_id"), str):
            crc = _crc(params["publish_id"])
            scheduled = [i for i in PUBLISH_IDS if i.startswith("sched_")]
            if crc % 4 in (0, 1) and scheduled:
                params["publish_id"] = scheduled[(crc >> 2) % len(scheduled)]
            elif crc % 4 == 2:
                params["publish_id"] = PUBLISH_IDS[(crc >> 2) % len(PUBLISH_IDS)]
    elif label == "GET /tiktok/publish":
        query = case.query
        if isinstance(query, dict):
            if isinstance(query.get("open_id"), str) and _half(query["open_id"]):
                query["open_id"] = CONNECTED
            if isinstance(query.get("cursor"), str) and CURSORS and _half(query["cursor"]):
                query["cursor"] = CURSORS[_crc(query["cursor"]) % len(CURSORS)]
    return case
