#!/usr/bin/env python3
"""Self-test of scripts/local_aws.py, the local stand-in for EventBridge Scheduler and for a rule's
delivery of the bus's events (docs/development.md#scheduled-posts-and-events-locally). No Rust:
a moto server (scripts/moto-server) on a free port, and in this process a stand-in for
`cargo lambda watch`'s Lambda Invoke API and an app receiving forwarded events.

Checks that `bootstrap` is idempotent (run twice; a schedule created in between survives, one bus,
rule and target); that `run` invokes a due schedule once with its input and deletes it, leaves a
future and a disabled one alone, fires one 45 s ahead at once with `--fire-early 60`, retries a
target that fails twice and then succeeds, and dead-letters one that always fails (a 500, a 200 with an error body, X-Amz-Function-Error) after
its RetryPolicy's retries; that an event put on the bus lands in the events file once, intact
(a detail string `<id>` stays as it is, moto's default delivery would replace it) and is
forwarded with the API key, a 503 being tried again; that `run` rides out the emulator going away
and coming back, never logs a schedule's input or the API key, and stops on SIGTERM; that
`events` and `events --follow` print the events.

Run: .venv/bin/python tests/local-aws/selftest.py (about 20 s). The first failed check stops it
with the runner's log.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "local_aws.py"
PYTHON = sys.executable
REGION = "us-east-1"
ACCOUNT = "123456789012"
GROUP = "selftest-group"
BUS = "selftest-bus"
DLQ = "selftest-schedule-dlq"
API_KEY = "selftest-api-key-must-not-be-logged"
INPUT_MARKER = "input-marker-must-not-be-logged"


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)
    print(f"ok - {message}")


def wait_until(condition, message, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            print(f"ok - {message}")
            return
        time.sleep(0.2)
    raise Failed(f"{message} (not within {timeout} s)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise Failed(f"nothing listens on port {port} after {timeout} s")


# --- the functions' Invoke API and the app, recording every request --------------------------------

calls = []  # (path, headers, body) in arrival order
calls_lock = threading.Lock()
HANDLER_ERROR = json.dumps({"errorType": "connect_services::Error", "errorMessage": "boom"}).encode()


def answer_for(path, nth):
    """(status, headers, body) of the nth (1-based) request to `path`."""
    if path in ("/2015-03-31/functions/scheduled-post/invocations", "/2015-03-31/functions/soon/invocations"):
        return 200, {}, b'{"status":"published"}'
    if path == "/2015-03-31/functions/flaky/invocations":
        return (500, {}, HANDLER_ERROR) if nth <= 2 else (200, {}, b"null")
    if path == "/2015-03-31/functions/broken/invocations":
        # cargo lambda watch's handler error, its init error, and AWS's own way of saying it.
        return [(500, {}, HANDLER_ERROR), (200, {}, HANDLER_ERROR),
                (200, {"X-Amz-Function-Error": "Unhandled"}, b'{"anything":1}')][(nth - 1) % 3]
    if path.startswith("/app/events"):
        return (503, {}, b"busy") if nth == 1 else (202, {}, b"")
    return 404, {}, b'{"title":"Missing function"}'


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?")[0]
        with calls_lock:
            calls.append((self.path, dict(self.headers), body))
            nth = sum(1 for p, _, _ in calls if p.split("?")[0] == path)
        status, headers, data = answer_for(path, nth)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_):
        pass


def calls_to(prefix):
    with calls_lock:
        return [(h, b) for p, h, b in calls if p.startswith(prefix)]


def invocations(function):
    return [b.decode() for _, b in calls_to(f"/2015-03-31/functions/{function}/invocations")]


# --- the test ---------------------------------------------------------------------------------------


def at(delta_seconds):
    moment = datetime.now(timezone.utc) + timedelta(seconds=delta_seconds)
    return f"at({moment.strftime('%Y-%m-%dT%H:%M:%S')})"


def create_schedule(scheduler, name, expression, function, retries=10, state="ENABLED"):
    """A schedule as the functions create it (the contract in docs/development.md)."""
    payload = json.dumps({"publish_id": name, "marker": INPUT_MARKER}, separators=(",", ":"))
    scheduler.create_schedule(
        Name=name, GroupName=GROUP, ScheduleExpression=expression, ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow={"Mode": "OFF"}, ActionAfterCompletion="DELETE", State=state,
        Target={"Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}",
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/selftest-scheduler", "Input": payload,
                "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{DLQ}"},
                "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": retries}})
    return payload


def schedule_names(scheduler):
    return {s["Name"] for s in scheduler.list_schedules(GroupName=GROUP)["Schedules"]}


def put_event(events, detail, source="tiktok-connect"):
    answer = events.put_events(Entries=[{"EventBusName": BUS, "Source": source,
                                         "DetailType": "post.status_changed", "Detail": json.dumps(detail)}])
    check(answer["FailedEntryCount"] == 0, f"PutEvents ({source}) accepted")


def event_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def main():
    work = Path(tempfile.mkdtemp(prefix="local-aws-selftest-"))
    moto_port, http_port = free_port(), free_port()
    env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}", "AWS_REGION": REGION,
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "SCHEDULE_GROUP": GROUP,
           "EVENT_BUS_NAME": BUS, "SCHEDULE_DEAD_LETTER_ARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{DLQ}",
           "DEV_STATE_DIR": str(work)}
    events_file = work / "events.jsonl"
    runner_log = work / "local-aws.log"
    processes = []

    def start_moto():
        moto = subprocess.Popen([str(ROOT / "scripts" / "moto-server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                                stdout=subprocess.DEVNULL, stderr=(work / "moto.log").open("a"))
        processes.append(moto)
        wait_for_port(moto_port)
        return moto

    def local_aws(*args):
        return subprocess.run([PYTHON, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)

    def log_text():
        return runner_log.read_text() if runner_log.exists() else ""

    server = ThreadingHTTPServer(("127.0.0.1", http_port), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        moto = start_moto()
        aws = {"endpoint_url": env["AWS_ENDPOINT_URL"], "region_name": REGION,
               "aws_access_key_id": "test", "aws_secret_access_key": "test"}
        scheduler, events, sqs = (boto3.client(s, **aws) for s in ("scheduler", "events", "sqs"))

        # --- bootstrap, twice ---
        first = local_aws("bootstrap")
        check(first.returncode == 0, f"bootstrap succeeds ({first.stderr.strip()})")
        future_input = create_schedule(scheduler, "sched_future", at(3600), "scheduled-post")
        second = local_aws("bootstrap")
        check(second.returncode == 0, "bootstrap succeeds a second time")
        check("sched_future" in schedule_names(scheduler),
              "a schedule created between the two bootstraps survives the second")
        buses = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
        check(buses.count(BUS) == 1, "one event bus")
        rules = events.list_rules(EventBusName=BUS)["Rules"]
        check(len(rules) == 1 and json.loads(rules[0]["EventPattern"]) == {"source": ["tiktok-connect"]},
              "one rule, matching source tiktok-connect")
        targets = events.list_targets_by_rule(Rule=rules[0]["Name"], EventBusName=BUS)["Targets"]
        check(len(targets) == 1 and targets[0]["Arn"].endswith(f":{BUS}-events"), "one target: the events queue")
        dlq_url = sqs.get_queue_url(QueueName=DLQ)["QueueUrl"]

        # --- schedules and events for the runner ---
        due_input = create_schedule(scheduler, "sched_due", at(-2), "scheduled-post")
        # Within --fire-early's 60 s: fired now, not in 45 s (after every wait below has timed out).
        soon_input = create_schedule(scheduler, "sched_soon", at(45), "soon")
        flaky_input = create_schedule(scheduler, "sched_flaky", at(-1), "flaky", retries=3)
        broken_input = create_schedule(scheduler, "sched_broken", at(-1), "broken", retries=2)
        create_schedule(scheduler, "sched_disabled", at(-1), "scheduled-post", state="DISABLED")
        detail = {"publish_id": "sched_due", "status": "PUBLISHED", "title": "a <id> from <source>"}
        put_event(events, detail)
        put_event(events, {"ignored": True}, source="someone-else")

        runner = subprocess.Popen(
            [PYTHON, str(SCRIPT), "run", "--functions-port", str(http_port), "--events-file", str(events_file),
             "--forward-url", f"http://127.0.0.1:{http_port}/app/events?from=selftest",
             "--forward-api-key-header", "x-selftest-key", "--fire-early", "60"],
            env={**env, "DEV_EVENTS_API_KEY": API_KEY}, stdout=subprocess.DEVNULL, stderr=runner_log.open("w"))
        processes.append(runner)

        wait_until(lambda: "sched_due" not in schedule_names(scheduler) and invocations("scheduled-post"),
                   "the due schedule is invoked and deleted")
        wait_until(lambda: "sched_soon" not in schedule_names(scheduler),
                   "the schedule 45 s ahead is fired early (--fire-early 60) and deleted")
        wait_until(lambda: "sched_flaky" not in schedule_names(scheduler),
                   "the flaky schedule succeeds on its third attempt and is deleted")
        wait_until(lambda: "sched_broken" not in schedule_names(scheduler),
                   "the broken schedule gives up after its retries and is deleted")
        wait_until(lambda: len(event_lines(events_file)) >= 1, "the event reaches the events file")
        wait_until(lambda: len(calls_to("/app/events")) >= 2, "the event is forwarded (after a 503)")
        time.sleep(3 * 1.0 + 0.5)  # three more ticks: nothing may fire or arrive twice

        check(invocations("scheduled-post") == [due_input],
              "the due schedule was invoked exactly once, with its input")
        check(invocations("soon") == [soon_input], "the early schedule was invoked once, with its input")
        check(invocations("flaky") == [flaky_input] * 3,
              "the flaky target was invoked 3 times (2 failures, 1 success)")
        check(invocations("broken") == [broken_input] * 3,
              "the broken target was invoked 3 times (1 + MaximumRetryAttempts 2)")
        remaining = schedule_names(scheduler)
        check(remaining == {"sched_future", "sched_disabled"},
              f"the future and the disabled schedules are left alone (left: {sorted(remaining)})")
        future = scheduler.get_schedule(GroupName=GROUP, Name="sched_future")
        check(future["Target"]["Input"] == future_input and future["State"] == "ENABLED",
              "the future schedule is unchanged")

        dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        dead = dead.get("Messages", [])
        check(len(dead) == 1 and dead[0]["Body"] == broken_input,
              "the broken schedule's input is dead-lettered, once")
        attributes = {k: v["StringValue"] for k, v in dead[0]["MessageAttributes"].items()}
        check(attributes.get("SCHEDULE_ARN", "").endswith(f"/{GROUP}/sched_broken")
              and attributes.get("TARGET_ARN", "").endswith(":function:broken")
              and attributes.get("RETRY_ATTEMPTS") == "2",
              f"the dead letter names schedule and target ({attributes})")

        lines = event_lines(events_file)
        check(len(lines) == 1, f"the events file holds the one matching event, once (lines: {len(lines)})")
        event = lines[0]
        check(event["detail"] == detail, "the event's detail arrives intact (<id>, <source> not substituted)")
        check(event["source"] == "tiktok-connect" and event["detail-type"] == "post.status_changed"
              and event["account"] == ACCOUNT and event["region"] == REGION and event["version"] == "0"
              and event["time"].endswith("Z") and event["id"], "the envelope has EventBridge's fields")
        check("ingestion-time" not in event, "moto's ingestion-time is left out")

        forwarded = calls_to("/app/events")
        check(len(forwarded) == 2, f"forwarded twice: a 503, then accepted ({len(forwarded)} requests)")
        check(all(headers.get("x-selftest-key") == API_KEY
                  and headers.get("Content-Type", "").startswith("application/json")
                  and json.loads(body) == event for headers, body in forwarded),
              "each forward is the envelope as JSON, with the API key header")
        with calls_lock:
            check(any(p == "/app/events?from=selftest" for p, _, _ in calls), "the forward URL's query is kept")

        log = log_text()
        check("schedule sched_due attempt 1 at +" in log and "invoked scheduled-post, deleted" in log,
              "the due firing is logged with its delay and outcome")
        check("schedule sched_soon attempt 1 at -" in log and " 60 s early (tests only)" in log,
              "the early firing is logged as early")
        check(log.count("schedule sched_broken attempt") == 3 and "input sent to dead-letter queue" in log,
              "each broken attempt is logged, the last one dead-lettered")
        check(INPUT_MARKER not in log and API_KEY not in log, "the log never shows an input or the API key")

        # --- the emulator goes away and comes back ---
        moto.send_signal(signal.SIGKILL)
        moto.wait()
        time.sleep(3)
        check(runner.poll() is None, "the runner survives the emulator going away")
        moto = start_moto()
        again = local_aws("bootstrap")
        check(again.returncode == 0, "bootstrap of the new emulator")
        detail2 = {"publish_id": "sched_2", "status": "FAILED"}
        put_event(events, detail2)
        wait_until(lambda: len(event_lines(events_file)) == 2,
                   "an event after the restart reaches the events file")
        wait_until(lambda: "events: working again" in log_text(), "the runner logged the outage and its end")

        # --- events, events --follow ---
        shown = local_aws("events", "--events-file", str(events_file))
        out = shown.stdout.splitlines()
        check(shown.returncode == 0 and len(out) == 2, f"`events` prints one line per event ({len(out)})")
        check(out[0].endswith("  post.status_changed  " + json.dumps(detail, separators=(",", ":")))
              and out[0].startswith(event["time"]),
              f"`events` shows time, detail-type and the compact detail: {out[0]}")
        follow = subprocess.Popen([PYTHON, str(SCRIPT), "events", "--follow", "--events-file", str(events_file)],
                                  env=env, stdout=subprocess.PIPE, text=True)
        processes.append(follow)
        followed = []
        reader = threading.Thread(target=lambda: followed.extend(iter(follow.stdout.readline, "")), daemon=True)
        reader.start()
        wait_until(lambda: len(followed) == 2, "`events --follow` prints what is there")
        put_event(events, {"publish_id": "sched_3", "status": "PUBLISHED"})
        wait_until(lambda: len(followed) == 3 and '"sched_3"' in followed[2],
                   "`events --follow` prints a new event")
        follow.send_signal(signal.SIGINT)
        check(follow.wait(timeout=5) == 0, "`events --follow` stops on Ctrl-C")

        # --- stop ---
        runner.send_signal(signal.SIGTERM)
        check(runner.wait(timeout=10) == 0, "the runner stops on SIGTERM with status 0")
        check(log_text().rstrip().endswith("local-aws: stopped"), "and says so")
        print("\n--- runner log ---\n" + log_text().rstrip())
        print("\nlocal-aws self-test: all checks passed")
        shutil.rmtree(work, ignore_errors=True)  # kept after a failure, for its logs
        return 0
    except Failed as e:
        print(f"\nFAIL: {e}\n\n--- runner log ({runner_log}) ---\n{log_text()}", file=sys.stderr)
        return 1
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
