#!/usr/bin/env python3
"""A stand-in for API Gateway in front of `cargo lambda watch`, for `make dev` and the tests.

Under `cargo lambda watch` the functions answer at /lambda-url/<function>/...; the OpenAPI
description (infra/openapi.yaml) has the deployed routes (/tiktok/...). This maps one onto the
other the way the template's HTTP API routes do, and forwards everything else unchanged: method,
the raw path tail and query (no decoding, so the function sees exactly what a client sent),
headers and body; the function's status, headers and body come back as they are.

Unlike API Gateway it routes by path only, not by method: a method a route does not list reaches
the function, so the contract test sees the function's own `405` + `Allow` (what a direct
invocation gets) instead of API Gateway's `404`. An unknown path is API Gateway's
`404 {"message":"Not Found"}`.

With --dev-sign-in (scripts/dev.sh only) it also answers `POST /_dev/sign-in` with
`{"user": "<name>"}`: an app JWT for that name, signed with APP_JWT_SECRET (plus APP_JWT_ISSUER /
APP_JWT_AUDIENCE when set), for the settings page's local sign-in. A deployed stack has no such
route: this script is not deployed, and infra/template.yaml has no /_dev route
(tests/tests/it/least_privilege.rs checks it).

Usage: gateway.py [--dev-sign-in] LISTEN_PORT FUNCTIONS_PORT (stdlib only; stops on SIGTERM).
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROUTES = [
    (re.compile(r"^/tiktok/authorize$"), lambda m: "/lambda-url/authorize/"),
    (re.compile(r"^/tiktok/callback$"), lambda m: "/lambda-url/callback/"),
    (re.compile(r"^/tiktok/me$"), lambda m: "/lambda-url/user-info/"),
    (re.compile(r"^/tiktok/videos$"), lambda m: "/lambda-url/video-list/"),
    (re.compile(r"^/tiktok/accounts$"), lambda m: "/lambda-url/accounts/"),
    # {open_id} is one non-empty path segment, passed on still percent-encoded.
    (re.compile(r"^/tiktok/accounts/([^/]+)$"), lambda m: "/lambda-url/accounts/" + m.group(1)),
    # {connection_id} likewise; the accounts function serves the pending connections too.
    (re.compile(r"^/tiktok/connections/([^/]+)/confirm$"),
     lambda m: "/lambda-url/accounts/connections/" + m.group(1) + "/confirm"),
    (re.compile(r"^/tiktok/connections/([^/]+)$"), lambda m: "/lambda-url/accounts/connections/" + m.group(1)),
    (re.compile(r"^/tiktok/publish$"), lambda m: "/lambda-url/publish/"),
    # Before {publish_id}: API Gateway prefers the literal route, as here.
    (re.compile(r"^/tiktok/publish/creator-info$"), lambda m: "/lambda-url/publish/creator-info"),
    (re.compile(r"^/tiktok/publish/([^/]+)$"), lambda m: "/lambda-url/publish/" + m.group(1)),
    (re.compile(r"^/tiktok/webhook$"), lambda m: "/lambda-url/webhook/"),
    (re.compile(r"^/tiktok/console$"), lambda m: "/lambda-url/console/"),
]
EMULATOR_500 = b'"https://httpstatuses.com/500"'
# API Gateway's integration timeout for HTTP APIs (its maximum), in seconds, and how long a request
# that may be waiting for a build is given; both shorter in tests/local-aws/gateway_selftest.py.
INTEGRATION_TIMEOUT = float(os.environ.get("GATEWAY_INTEGRATION_TIMEOUT", "30"))
BUILD_TIMEOUT = float(os.environ.get("GATEWAY_BUILD_TIMEOUT", "300"))
# The method of the request that waits out a function's build before its first GET (`warm_up`).
WARM_UP_METHOD = "PATCH"
# API Gateway's payload limit (HTTP APIs: 10 MB).
MAX_BODY_BYTES = 10 * 1024 * 1024
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "host", "content-length"}


DEV_SIGN_IN_PATH = "/_dev/sign-in"
DEV_JWT_TTL_SECONDS = 86400


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_dev_jwt(user):
    """An HS256 app JWT for `user`, as devstack's `jwt` command mints it."""
    now = int(time.time())
    claims = {"sub": user, "iat": now, "exp": now + DEV_JWT_TTL_SECONDS}
    if os.environ.get("APP_JWT_ISSUER"):
        claims["iss"] = os.environ["APP_JWT_ISSUER"]
    if os.environ.get("APP_JWT_AUDIENCE"):
        claims["aud"] = os.environ["APP_JWT_AUDIENCE"]
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    key = os.environ["APP_JWT_SECRET"].encode()
    signature = _b64url(hmac.new(key, signing_input, hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


class Gateway(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: an answer is written as its headers, then its body. With Nagle's algorithm the
    # body waited for the client to acknowledge the headers, which a kept-alive client delays by
    # 40 ms: every request through the gateway took 48 ms against 5 ms straight to the function.
    disable_nagle_algorithm = True
    upstream_port = 0
    dev_sign_in = False
    # The functions that have answered once: built and started (set.add is atomic in CPython).
    answered = set()

    def dev_sign_in_answer(self, body):
        """`POST /_dev/sign-in` {"user": "<1-256 printable characters>"} -> {"jwt", "expires_in"}.
        JSON only, so another site's page cannot trigger it with a plain form post."""
        def refuse(status, message):
            self.answer(status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                        json.dumps({"error": "invalid_request", "message": message}).encode())
        if self.command != "POST":
            self.answer(405, [("Content-Type", "application/json"), ("Allow", "POST")],
                        b'{"error":"method_not_allowed","message":"this route only answers POST"}')
            return
        if self.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
            refuse(415, "send JSON: {\"user\": \"<name>\"}")
            return
        try:
            user = json.loads(body or b"{}").get("user")
        except (ValueError, AttributeError):
            user = None
        if not isinstance(user, str) or not 1 <= len(user) <= 256 or not user.isprintable():
            refuse(400, "type a user name of 1 to 256 printable characters")
            return
        answer = {"jwt": mint_dev_jwt(user), "expires_in": DEV_JWT_TTL_SECONDS}
        self.answer(200, [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                    json.dumps(answer).encode())

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        sys.stderr.write("gateway: " + (format % args) + "\n")

    def read_body(self):
        """The request's body, sent with a Content-Length or chunked (API Gateway takes both; Node's
        fetch streams a Request's body chunked, as the example app's server does)."""
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""
        body = bytearray()
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                # Trailers, if any, up to the empty line that ends the request.
                while self.rfile.readline(8192).strip():
                    pass
                return bytes(body)
            if len(body) + size > MAX_BODY_BYTES:
                raise ValueError("request body too large")
            body += self.rfile.read(size)
            self.rfile.readline(8)  # the CRLF after each chunk

    def handle_one(self):
        path, _, query = self.path.partition("?")
        target = None
        for pattern, to in ROUTES:
            match = pattern.match(path)
            if match:
                target = to(match)
                break
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            self.answer(413, [("Content-Type", "application/json")], b'{"message":"Request Entity Too Large"}')
            return
        if self.dev_sign_in and path == DEV_SIGN_IN_PATH:
            self.dev_sign_in_answer(body)
            return
        if target is None:
            self.answer(404, [("Content-Type", "application/json")], b'{"message":"Not Found"}')
            return
        if query:
            target += "?" + query
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        function = target.split("/")[2]
        # `cargo lambda watch` now and then loses a large response (the 90 KB settings page; about
        # 4 % of them with two busy cores): its runtime API acknowledges the function's answer
        # before reading it, and then either answers its own 500 {"type":
        # "https://httpstatuses.com/500",…} or (rarely) nothing at all. Lambda has no such failure,
        # so a GET that met it is sent again (twice at most); a function's own errors ({"error":…})
        # never are. "Nothing at all" is a GET to a function that has answered before (so is not
        # compiling) left without an answer for API Gateway's 30 s (the functions' own budget is
        # 24 s). The last attempt waits as long as it takes: after an edit, `cargo lambda watch`
        # rebuilds the function first.
        if self.command == "GET" and function not in Gateway.answered:
            self.warm_up(target.partition("?")[0], headers)
        for attempt in range(3):
            retry_allowed = self.command == "GET" and attempt < 2
            quick = retry_allowed and function in Gateway.answered
            timeout = INTEGRATION_TIMEOUT if quick else BUILD_TIMEOUT
            status, kept, data = self.forward(target, body, headers, timeout)
            if status is None and quick:
                self.log_message("no answer to GET %s in %g s (the emulator lost it); again", path, timeout)
                continue
            if status is None:
                # API Gateway's answer when the integration times out.
                self.log_message("upstream did not answer in %g s", timeout)
                status, kept, data = 503, [("Content-Type", "application/json")], \
                    b'{"message":"Service Unavailable"}'
                break
            Gateway.answered.add(function)
            emulator_lost_it = status == 500 and EMULATOR_500 in data
            if not (emulator_lost_it and retry_allowed):
                break
            self.log_message("the emulator lost the answer to GET %s; again", path)
        self.answer(status, kept, data)

    def warm_up(self, target, headers):
        """Waits out a function's build with a request whose answer is small, so the emulator
        cannot lose it: a lost answer to a first GET (the 90 KB settings page) would otherwise cost
        the whole build timeout. Every function refuses a method it does not serve (405) before
        doing any work, and none serves WARM_UP_METHOD."""
        status, _, _ = self.forward(target, b"", headers, BUILD_TIMEOUT, method=WARM_UP_METHOD)
        if status is not None:
            Gateway.answered.add(target.split("/")[2])

    def forward(self, target, body, headers, timeout, method=None):
        """One request to `cargo lambda watch`: (status, headers, body), or (None, None, None)
        when it did not answer within `timeout` seconds."""
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=timeout)
        try:
            conn.request(method or self.command, target, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
            return response.status, kept, data
        except TimeoutError:
            return None, None, None
        except (OSError, http.client.HTTPException) as e:
            # API Gateway's answer when the integration fails.
            self.log_message("upstream failed: %s", e)
            return 502, [("Content-Type", "application/json")], b'{"message":"Internal Server Error"}'
        finally:
            conn.close()

    def answer(self, status, headers, body):
        # The access log names the path only: the callback's query carries TikTok's code.
        self.log_message("%s %s %d", self.command, self.path.partition("?")[0], status)
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        if self.command == "HEAD":
            body = b""
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def __getattr__(self, name):
        # http.server dispatches on do_<METHOD>: every method, QUERY included, is forwarded.
        if name.startswith("do_"):
            return self.handle_one
        raise AttributeError(name)


def main():
    args = sys.argv[1:]
    if args and args[0] == "--dev-sign-in":
        args = args[1:]
        if not os.environ.get("APP_JWT_SECRET"):
            sys.exit("gateway: --dev-sign-in needs APP_JWT_SECRET")
        Gateway.dev_sign_in = True
    listen, upstream = int(args[0]), int(args[1])
    Gateway.upstream_port = upstream
    server = ThreadingHTTPServer(("127.0.0.1", listen), Gateway)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
