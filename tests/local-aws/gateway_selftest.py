#!/usr/bin/env python3
"""Self-test of scripts/gateway.py, the stand-in for API Gateway in front of `cargo lambda watch`
(docs/development.md#the-local-stack). No Rust: the gateway as a subprocess on a free port, and in
this process a scripted stand-in for `cargo lambda watch` that answers, hangs, or answers the
emulator's own 500 as each check needs.

Checks the routes (the /tiktok/... paths onto /lambda-url/<function>/..., the path tail still
percent-encoded, an unknown path API Gateway's 404 without a call), a chunked body passed on
whole, and the emulator's lost answers: a GET that met the emulator's 500 is sent again (twice at
most), a function's own 500 never is; a GET to a function that has answered before and now gets
no answer within the integration timeout is sent again; a first GET is preceded by a warm-up
request that may take longer (the function is compiling), so a lost answer to the GET itself is
sent again after the integration timeout too; a POST is never sent twice, and one left without an answer gets API
Gateway's 503; and no answer held back 40 ms by Nagle's algorithm on a kept-alive connection.

Run: .venv/bin/python tests/local-aws/gateway_selftest.py (about 10 s). The first failed check
stops it with the gateway's log.
"""

import http.client
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# The runner's self-test beside this file: its check and port helpers.
from selftest import Failed, check, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ROOT / "scripts" / "gateway.py"
# Short stand-ins for API Gateway's 30 s and the 300 s a build may take.
INTEGRATION_TIMEOUT = 0.5
BUILD_TIMEOUT = 2.0
EMULATOR_500 = b'{"type":"https://httpstatuses.com/500","status":500,"title":"Internal Server Error"}'


class Upstream(BaseHTTPRequestHandler):
    """What each request gets comes from `plan`, one action per request: ("answer", status, body),
    ("hang", seconds) then a 200, or ("lost",) for the emulator's 500."""

    protocol_version = "HTTP/1.1"
    plan = []
    seen = []
    lock = threading.Lock()

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def handle_one(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with Upstream.lock:
            Upstream.seen.append((self.command, self.path, body))
            action = Upstream.plan.pop(0) if Upstream.plan else ("answer", 200, b'{"ok":true}')
        if action[0] == "hang":
            time.sleep(action[1])
            action = ("answer", 200, b'{"late":true}')
        status, data = (500, EMULATOR_500) if action[0] == "lost" else action[1:]
        try:
            self.send_response_only(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the gateway stopped waiting

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self.handle_one
        raise AttributeError(name)


def request(port, method, path, plan=(), body=None, headers=None):
    """Sends one request through the gateway on `port` with `plan` for the stand-in; returns
    (status, body, what the stand-in saw, seconds)."""
    with Upstream.lock:
        Upstream.plan = list(plan)
        Upstream.seen = []
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    with Upstream.lock:
        return response.status, data, list(Upstream.seen), time.monotonic() - started


def main():
    upstream_port, gateway_port = free_port(), free_port()
    upstream = ThreadingHTTPServer(("127.0.0.1", upstream_port), Upstream)
    upstream.daemon_threads = True
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"gateway-selftest-{os.getpid()}.log"
    env = dict(os.environ, GATEWAY_INTEGRATION_TIMEOUT=str(INTEGRATION_TIMEOUT),
               GATEWAY_BUILD_TIMEOUT=str(BUILD_TIMEOUT))
    with open(log_path, "w") as log:
        gateway = subprocess.Popen([sys.executable, str(GATEWAY), str(gateway_port), str(upstream_port)],
                                   stderr=log, env=env)
    try:
        wait_for_port(gateway_port)
        run(gateway_port, log_path)
    except Failed as e:
        print(f"\ngateway selftest: FAILED: {e}\n--- gateway log ---\n{log_path.read_text()}", file=sys.stderr)
        return 1
    finally:
        gateway.terminate()
        gateway.wait(5)
        upstream.shutdown()
    log_path.unlink(missing_ok=True)
    print("gateway selftest: all checks passed")
    return 0


def run(port, log_path):
    # Routes.
    status, _, seen, _ = request(port, "GET", "/tiktok/accounts/open%2Fx?cursor=a%20b")
    check(status == 200 and seen == [("PATCH", "/lambda-url/accounts/open%2Fx", b""),
                                     ("GET", "/lambda-url/accounts/open%2Fx?cursor=a%20b", b"")],
                 f"accounts/{{open_id}} went to {seen} (the warm-up, then the request)")
    status, data, seen, _ = request(port, "GET", "/tiktok/nowhere")
    check(status == 404 and seen == [] and b"Not Found" in data, f"unknown path: {status} {seen}")

    # A first GET to a function waits for its build, past the integration timeout, with a small
    # warm-up request the emulator cannot lose; then the GET itself is sent.
    status, data, seen, took = request(port, "GET", "/tiktok/console", [("hang", BUILD_TIMEOUT / 2)])
    check(status == 200 and [m for m, _, _ in seen] == ["PATCH", "GET"] and b'"ok"' in data,
                 f"a first request cut short while building: {status} after {took:.1f} s, sent {seen}")

    # Built by the warm-up, so a first GET whose answer the emulator loses is sent again after the
    # integration timeout instead of waiting out the build timeout.
    status, data, seen, took = request(port, "GET", "/tiktok/videos",
                                       [("answer", 405, b'{"error":"method_not_allowed"}'), ("hang", 5)])
    check(status == 200 and len(seen) == 3 and b'"ok"' in data and took < BUILD_TIMEOUT,
                 f"a first GET left without an answer: {status} after {took:.1f} s, {len(seen)} sent")

    # Now built: a GET left without an answer is sent again after the integration timeout.
    status, data, seen, took = request(port, "GET", "/tiktok/console", [("hang", 5)])
    check(status == 200 and len(seen) == 2 and b'"ok"' in data and took < BUILD_TIMEOUT,
                 f"a lost GET: {status} after {took:.1f} s, {len(seen)} sent")
    check("no answer to GET /tiktok/console" in log_path.read_text(),
                 "the gateway did not log the lost answer")

    # The emulator's 500: sent again, twice at most.
    status, _, seen, _ = request(port, "GET", "/tiktok/console", [("lost",)])
    check(status == 200 and len(seen) == 2, f"one emulator 500: {status}, {len(seen)} sent")
    status, data, seen, _ = request(port, "GET", "/tiktok/console", [("lost",)] * 3)
    check(status == 500 and len(seen) == 3 and data == EMULATOR_500,
                 f"three emulator 500s: {status}, {len(seen)} sent")

    # Lost three times over: the third attempt waits up to the build timeout, then API Gateway's 503.
    status, data, seen, took = request(port, "GET", "/tiktok/console", [("hang", 5)] * 3)
    check(status == 503 and len(seen) == 3 and b"Service Unavailable" in data,
                 f"three hangs: {status} after {took:.1f} s, {len(seen)} sent")

    # A function's own 500 is its answer.
    request(port, "GET", "/tiktok/me")  # built
    status, _, seen, _ = request(port, "GET", "/tiktok/me", [("answer", 500, b'{"error":"internal"}')])
    check(status == 500 and len(seen) == 1, f"a function's own 500 was sent {len(seen)} times")

    # A POST is never sent twice: not after the emulator's 500, not after a hang (then 503).
    status, _, seen, _ = request(port, "POST", "/tiktok/publish", [("lost",)], body=b"{}",
                                       headers={"Content-Type": "application/json"})
    check(status == 500 and len(seen) == 1, f"a POST after the emulator's 500 was sent {len(seen)} times")
    status, data, seen, took = request(port, "POST", "/tiktok/publish", [("hang", 5)], body=b"{}",
                                             headers={"Content-Type": "application/json"})
    check(status == 503 and len(seen) == 1 and took >= BUILD_TIMEOUT,
                 f"a POST without an answer: {status} after {took:.1f} s, {len(seen)} sent")

    # A chunked body (Node's fetch streams one) reaches the function whole, with a Content-Length.
    chunks = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    status, _, seen, _ = request(port, "POST", "/tiktok/webhook", body=chunks,
                                       headers={"Transfer-Encoding": "chunked"})
    check(status == 200 and seen == [("POST", "/lambda-url/webhook/", b"hello world")],
                 f"a chunked body arrived as {seen}")

    # An answer is not held back: with Nagle's algorithm on, the body waited for the client to
    # acknowledge the headers, which a kept-alive client delays by 40 ms (every request through
    # the gateway took 48 ms, not 5). Counted, not timed: with the stall every request is slow.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    slow = 0
    for _ in range(20):
        started = time.monotonic()
        conn.request("GET", "/tiktok/me")
        conn.getresponse().read()
        slow += time.monotonic() - started >= 0.04
    conn.close()
    check(slow < 10, f"{slow} of 20 requests on one kept-alive connection took 40 ms or more")


if __name__ == "__main__":
    sys.exit(main())
