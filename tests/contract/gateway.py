#!/usr/bin/env python3
"""A stand-in for API Gateway in front of `cargo lambda watch`, for the contract test.

Under `cargo lambda watch` the functions answer at /lambda-url/<function>/...; the OpenAPI
description (infra/openapi.yaml) has the deployed routes (/tiktok/...). This maps one onto the
other the way the template's HTTP API routes do, and forwards everything else unchanged: method,
the raw path tail and query (no decoding, so the function sees exactly what a client sent),
headers and body; the function's status, headers and body come back as they are.

Unlike API Gateway it routes by path only, not by method: a method a route does not list reaches
the function, so the contract test sees the function's own `405` + `Allow` (what a direct
invocation gets) instead of API Gateway's `404`. An unknown path is API Gateway's
`404 {"message":"Not Found"}`.

Usage: gateway.py LISTEN_PORT FUNCTIONS_PORT (stdlib only; stops on SIGTERM).
"""

import http.client
import re
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROUTES = [
    (re.compile(r"^/tiktok/authorize$"), lambda m: "/lambda-url/authorize/"),
    (re.compile(r"^/tiktok/callback$"), lambda m: "/lambda-url/callback/"),
    (re.compile(r"^/tiktok/me$"), lambda m: "/lambda-url/user-info/"),
    (re.compile(r"^/tiktok/videos$"), lambda m: "/lambda-url/video-list/"),
    (re.compile(r"^/tiktok/accounts$"), lambda m: "/lambda-url/accounts/"),
    # {open_id} is one non-empty path segment, passed on still percent-encoded.
    (re.compile(r"^/tiktok/accounts/([^/]+)$"), lambda m: "/lambda-url/accounts/" + m.group(1)),
]
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "host", "content-length"}


class Gateway(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream_port = 0

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        sys.stderr.write("gateway: " + (format % args) + "\n")

    def handle_one(self):
        path, _, query = self.path.partition("?")
        target = None
        for pattern, to in ROUTES:
            match = pattern.match(path)
            if match:
                target = to(match)
                break
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if target is None:
            self.answer(404, [("Content-Type", "application/json")], b'{"message":"Not Found"}')
            return
        if query:
            target += "?" + query
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=120)
        try:
            conn.request(self.command, target, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
            self.answer(response.status, kept, data)
        except (OSError, http.client.HTTPException) as e:
            # API Gateway's answer when the integration fails.
            self.log_message("upstream failed: %s", e)
            self.answer(502, [("Content-Type", "application/json")],
                        b'{"message":"Internal Server Error"}')
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
    listen, upstream = int(sys.argv[1]), int(sys.argv[2])
    Gateway.upstream_port = upstream
    server = ThreadingHTTPServer(("127.0.0.1", listen), Gateway)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
