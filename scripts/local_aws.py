#!/usr/bin/env python3
"""LOCAL ONLY: EventBridge Scheduler's one-time schedules and an EventBridge rule's delivery, for
`make dev` (docs/development.md#scheduled-posts-and-events-locally). Nothing here is deployed.

Deployed, AWS does both: EventBridge Scheduler invokes the `scheduled-post` function when a
scheduled post's `at(...)` schedule comes due, and rules on the stack's event bus deliver the
functions' events (source `tiktok-connect`) to whoever subscribed. The local AWS emulator (moto)
stores schedules but never fires them; this script fires them, and reads the events a rule on the
bus delivers to an SQS queue, as an app subscribing in production would.

  bootstrap   creates in the emulator, idempotently: the schedule group ($SCHEDULE_GROUP), the
              schedules' dead-letter queue (named by $SCHEDULE_DEAD_LETTER_ARN), the event bus
              ($EVENT_BUS_NAME), a queue `<bus>-events` and a rule sending the bus's
              `tiktok-connect` events to it.
  run --functions-port P [--events-file F] [--forward-url URL
      [--forward-api-key-header NAME]]   (the key itself from DEV_EVENTS_API_KEY, never argv)
      [--fire-early SECONDS]
              About every second, invokes each due `at(...)` schedule of the group through
              `cargo lambda watch`'s Lambda Invoke API with the schedule's input, then deletes it
              (ActionAfterCompletion DELETE). A failed invocation is tried again with backoff
              within the schedule's RetryPolicy, then its input goes to the dead-letter queue and
              the schedule is deleted. One line per attempt on stderr: schedule name, delay after
              its time, outcome (never the input). --fire-early (tests only; EventBridge Scheduler
              is never early) fires each schedule that many seconds before its time, so the
              end-to-end and example tests need not wait out a post's two minutes.
              Moves the `<bus>-events` queue's events to the events file (one EventBridge envelope
              per line; default $DEV_STATE_DIR/events.jsonl, .dev/ without it) and, with
              --forward-url, POSTs each as an API destination with an API_KEY connection would.
              Emulator failures are logged and tried again; SIGTERM or SIGINT stops it.
  events [--follow] [--events-file F]
              prints the events file, one event a line: time, detail-type, detail.

Unlike production, the invocation is synchronous and a function's error counts as a failed
delivery (retried, then dead-lettered). Scheduler invokes Lambda asynchronously: there, a handler
error is retried by Lambda's own asynchronous retries and never reaches the schedule's queue.

The emulator is $AWS_ENDPOINT_URL, required (this script never calls AWS itself); region and
credentials as the SDK reads them. Stdlib and boto3 (installed with moto in .venv); `events` needs
only the stdlib.
"""

import argparse
import http.client
import json
import os
import queue
import re
import signal
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

SOURCE = "tiktok-connect"
TICK_SECONDS = 1.0
# Lambda's longest timeout; `cargo lambda watch` compiles a function on its first invocation.
INVOKE_TIMEOUT_SECONDS = 900
# Scheduler retries "with exponential backoff"; locally the pauses stay short (1 s, 2 s, … 60 s).
MAX_BACKOFF_SECONDS = 60
FORWARD_ATTEMPTS = 4
FORWARD_TIMEOUT_SECONDS = 10
AT_EXPRESSION = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
ROOT = Path(__file__).resolve().parent.parent


def log(message):
    print("local-aws: " + message, file=sys.stderr, flush=True)


def default_events_file():
    return ROOT / os.environ.get("DEV_STATE_DIR", ".dev") / "events.jsonl"


def required_env(*names):
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        sys.exit("local-aws: set " + ", ".join(missing) + " (scripts/dev.sh sets them)")
    return [os.environ[name] for name in names]


def clients(*services):
    """boto3 clients of the emulator, with short timeouts and few retries: the loop tries again
    on its next tick anyway."""
    (endpoint,) = required_env("AWS_ENDPOINT_URL")
    import boto3  # only here: `events` runs without the venv
    from botocore.config import Config

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    config = Config(connect_timeout=3, read_timeout=20, retries={"mode": "standard", "max_attempts": 2})
    return [boto3.client(s, endpoint_url=endpoint, region_name=region, config=config) for s in services]


def error_code(err):
    return getattr(err, "response", {}).get("Error", {}).get("Code", "")


def events_queue_name(bus):
    return f"{bus}-events"


# --- bootstrap -----------------------------------------------------------------------------------


def bootstrap(_args):
    group, dead_letter_arn, bus = required_env("SCHEDULE_GROUP", "SCHEDULE_DEAD_LETTER_ARN", "EVENT_BUS_NAME")
    scheduler, sqs, events = clients("scheduler", "sqs", "events")

    # Looked up first: moto's CreateScheduleGroup replaces an existing group with an empty one
    # (AWS answers ConflictException), which would drop every pending schedule.
    try:
        scheduler.get_schedule_group(Name=group)
    except scheduler.exceptions.ResourceNotFoundException:
        scheduler.create_schedule_group(Name=group)

    # CreateQueue with the same attributes returns the existing queue.
    sqs.create_queue(QueueName=dead_letter_arn.rsplit(":", 1)[-1])

    try:
        events.describe_event_bus(Name=bus)
    except events.exceptions.ResourceNotFoundException:
        events.create_event_bus(Name=bus)

    queue_url = sqs.create_queue(QueueName=events_queue_name(bus))["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    rule = events_queue_name(bus)
    rule_arn = events.put_rule(Name=rule, EventBusName=bus, State="ENABLED",
                               EventPattern=json.dumps({"source": [SOURCE]}))["RuleArn"]
    # What AWS needs for the rule to send to the queue (moto does not check it).
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]}
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    # `<aws.events.event.json>` is the whole event, which AWS also delivers without a template.
    # moto needs it spelled out: its default template substitutes `<id>`, `<source>`, … inside the
    # detail's strings too (a post title "<id>" would arrive as the event's id) and leaves out
    # `account`.
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{
        "Id": "events-queue", "Arn": queue_arn,
        "InputTransformer": {"InputTemplate": "<aws.events.event.json>"}}])
    log(f"ready: schedule group {group}, dead-letter queue {dead_letter_arn.rsplit(':', 1)[-1]}, "
        f"bus {bus} -> rule {rule} -> queue {events_queue_name(bus)}")


# --- run: schedules ------------------------------------------------------------------------------


def due_time(schedule):
    """When an `at(...)` schedule fires (aware datetime), or None for any other expression."""
    match = AT_EXPRESSION.match(schedule.get("ScheduleExpression", ""))
    if not match:
        return None
    local = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    zone_name = schedule.get("ScheduleExpressionTimezone") or "UTC"
    if zone_name == "UTC":
        zone = timezone.utc
    else:
        from zoneinfo import ZoneInfo
        zone = ZoneInfo(zone_name)
    return local.replace(tzinfo=zone)


def function_name(arn):
    """`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` -> `<name>`."""
    parts = arn.split(":")
    if len(parts) >= 7 and parts[5] == "function":
        return parts[6]
    return parts[-1]


def invoke(port, name, payload):
    """Lambda's Invoke under `cargo lambda watch`: None when the function succeeded, else why not
    (status and error type only: a function's error message may quote its input)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=INVOKE_TIMEOUT_SECONDS)
    try:
        conn.request("POST", f"/2015-03-31/functions/{urllib.parse.quote(name, safe='')}/invocations",
                     body=payload.encode(), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
        function_error = response.getheader("X-Amz-Function-Error")
    except (OSError, http.client.HTTPException) as e:
        return f"unreachable ({type(e).__name__})"
    finally:
        conn.close()
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    # `cargo lambda watch` answers a handler's error with 500 and {"errorType","errorMessage"}, an
    # init error with 200 and the same body; AWS with 200 and X-Amz-Function-Error.
    error_type = answer.get("errorType") if isinstance(answer, dict) and "errorMessage" in answer else None
    if 200 <= response.status < 300 and not function_error and error_type is None:
        return None
    return f"HTTP {response.status}" + (f", {error_type}" if error_type else "") + \
        (f", X-Amz-Function-Error {function_error}" if function_error else "")


class Schedules:
    """Fires the group's due one-time schedules. Attempts are counted in memory, per schedule
    (its ARN and creation time, so a schedule deleted and created again starts afresh)."""

    def __init__(self, group, functions_port, scheduler, sqs, fire_early=0.0):
        self.group = group
        self.fire_early = timedelta(seconds=fire_early)
        self.port = functions_port
        self.scheduler = scheduler
        self.sqs = sqs
        self.details = {}   # key -> (LastModificationDate, GetSchedule's answer)
        self.attempts = {}  # key -> (attempts so far, monotonic time of the next one)
        self.done = {}      # key -> ActionAfterCompletion, once fired: never again
        self.skipped = set()

    def tick(self):
        listed = {}
        pages = self.scheduler.get_paginator("list_schedules").paginate(GroupName=self.group, State="ENABLED")
        for page in pages:
            for summary in page["Schedules"]:
                listed[(summary["Arn"], summary["CreationDate"])] = summary
        for key in set(self.details) - set(listed):
            self.details.pop(key, None)
            self.attempts.pop(key, None)
        self.done = {key: action for key, action in self.done.items() if key in listed}
        self.skipped &= set(listed)
        for key, summary in listed.items():
            if key in self.done:
                if self.done[key] == "DELETE":
                    self.delete(summary["Name"])  # fired, but its delete failed last time
                continue
            cached = self.details.get(key)
            if cached is None or cached[0] != summary.get("LastModificationDate"):
                schedule = self.get(summary["Name"])
                if schedule is None:
                    continue
                self.details[key] = (summary.get("LastModificationDate"), schedule)
            self.consider(key, self.details[key][1])

    def get(self, name):
        try:
            return self.scheduler.get_schedule(GroupName=self.group, Name=name)
        except self.scheduler.exceptions.ResourceNotFoundException:
            return None  # deleted (cancelled) since it was listed

    def consider(self, key, schedule):
        name = schedule["Name"]
        try:
            at = due_time(schedule)
        except (ValueError, LookupError) as e:
            at, why = None, f"its time is unreadable ({e})"
        else:
            why = f"{schedule.get('ScheduleExpression')} is not an at(...) expression"
        if at is None:
            if key not in self.skipped:
                self.skipped.add(key)
                log(f"schedule {name}: not run locally, {why}")
            return
        now = datetime.now(timezone.utc)
        attempts, next_at = self.attempts.get(key, (0, 0.0))
        if now + self.fire_early < at or time.monotonic() < next_at:
            return
        # Read again just before firing: the function may have cancelled or changed it.
        schedule = self.get(name)
        if schedule is None or schedule.get("State") != "ENABLED":
            return
        if (schedule["Arn"], schedule["CreationDate"]) != key:
            return  # deleted and created again: the next tick sees the new one
        target = schedule["Target"]
        delay_ms = int((now - at).total_seconds() * 1000)
        attempt = attempts + 1
        failure = invoke(self.port, function_name(target["Arn"]), target.get("Input", ""))
        where = f"schedule {name} attempt {attempt} at {delay_ms:+d} ms"
        if failure is None:
            log(f"{where}: invoked {function_name(target['Arn'])}, {self.complete(key, schedule)}")
            return
        policy = target.get("RetryPolicy") or {}  # without one, AWS's defaults
        retries = policy.get("MaximumRetryAttempts", 185)
        max_age = policy.get("MaximumEventAgeInSeconds", 86400)
        backoff = min(2 ** attempts, MAX_BACKOFF_SECONDS)
        if attempts < retries and (now - at).total_seconds() + backoff <= max_age:
            self.attempts[key] = (attempt, time.monotonic() + backoff)
            log(f"{where}: failed ({failure}); retry {attempt}/{retries} in {backoff} s")
            return
        dead_letter = self.dead_letter(schedule, failure, attempts)
        log(f"{where}: failed ({failure}); no retry left, {dead_letter}, {self.complete(key, schedule)}")

    def complete(self, key, schedule):
        """What ActionAfterCompletion says, once fired for good."""
        self.attempts.pop(key, None)
        action = self.done[key] = schedule.get("ActionAfterCompletion") or "NONE"
        if action != "DELETE":
            return f"kept (ActionAfterCompletion {action})"
        try:
            self.delete(schedule["Name"])
        except Exception as e:  # noqa: BLE001 - the emulator failing; the next tick deletes it
            return f"not deleted yet ({type(e).__name__})"
        return "deleted"

    def delete(self, name):
        try:
            self.scheduler.delete_schedule(GroupName=self.group, Name=name)
        except self.scheduler.exceptions.ResourceNotFoundException:
            pass  # cancelled by the function meanwhile

    def dead_letter(self, schedule, failure, retries):
        """The input to the schedule's dead-letter queue, with attributes naming the schedule, the
        target and the error, as Scheduler's dead-letter events carry."""
        target = schedule["Target"]
        arn = (target.get("DeadLetterConfig") or {}).get("Arn")
        if not arn:
            return "no dead-letter queue: input dropped"
        queue_name, account = arn.rsplit(":", 1)[-1], arn.split(":")[4]
        attributes = {
            "ERROR_CODE": "InvocationFailed", "ERROR_MESSAGE": failure, "RETRY_ATTEMPTS": str(retries),
            "SCHEDULE_ARN": schedule["Arn"], "TARGET_ARN": target["Arn"],
        }
        try:
            url = self.sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            self.sqs.send_message(QueueUrl=url, MessageBody=target.get("Input", ""), MessageAttributes={
                k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()})
        except self.sqs.exceptions.QueueDoesNotExist:
            return f"dead-letter queue {queue_name} does not exist: input dropped"
        except Exception as e:  # noqa: BLE001 - the emulator failing: logged, the input dropped
            return f"dead-letter queue {queue_name} unreachable ({type(e).__name__}): input dropped"
        return f"input sent to dead-letter queue {queue_name}"


# --- run: events ---------------------------------------------------------------------------------


class Events:
    """Moves the `<bus>-events` queue's events to the events file, once each, and hands them to
    the forwarder."""

    def __init__(self, bus, sqs, events_file, forwarder):
        self.queue_name = events_queue_name(bus)
        self.sqs = sqs
        self.file = Path(events_file)
        self.forwarder = forwarder
        self.url = None
        # SQS delivers at least once: an event already written is only deleted again.
        self.seen = set()
        if self.file.exists():
            for line in self.file.read_text().splitlines():
                try:
                    self.seen.add(json.loads(line).get("id"))
                except (ValueError, AttributeError):
                    pass

    def tick(self):
        if self.url is None:
            self.url = self.sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        while True:
            # No long polling: scripts/moto-server answers one request at a time, and a waiting
            # ReceiveMessage would hold every function's AWS call for that long.
            messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10,
                                                WaitTimeSeconds=0, VisibilityTimeout=30).get("Messages", [])
            if not messages:
                return
            for message in messages:
                self.take(message)

    def take(self, message):
        try:
            event = json.loads(message["Body"])
            if not isinstance(event, dict) or "detail-type" not in event:
                raise ValueError("not an EventBridge event")
        except ValueError:
            log(f"message {message['MessageId']} on {self.queue_name} is not an event: dropped")
            event = None
        if event is not None:
            # moto's own bookkeeping, not part of the envelope AWS delivers.
            event.pop("ingestion-time", None)
            if event.get("id") not in self.seen:
                self.file.parent.mkdir(parents=True, exist_ok=True)
                with self.file.open("a") as f:
                    f.write(json.dumps(event, separators=(",", ":")) + "\n")
                self.seen.add(event.get("id"))
                if self.forwarder:
                    self.forwarder.put(event)
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])


class Forwarder(threading.Thread):
    """POSTs each event to an app, as an EventBridge API destination with an API_KEY connection
    does: the envelope as JSON, the key in its header; 429, 5xx and network errors tried again.
    A failure is logged and the event dropped: it never holds up the rest."""

    def __init__(self, url, header, key, stop):
        super().__init__(name="forwarder", daemon=True)
        self.url = urllib.parse.urlsplit(url)
        if self.url.scheme not in ("http", "https") or not self.url.hostname:
            sys.exit(f"local-aws: --forward-url must be an http(s) URL, not {url!r}")
        # Logged without its query or credentials.
        port = f":{self.url.port}" if self.url.port else ""
        self.shown = f"{self.url.scheme}://{self.url.hostname}{port}{self.url.path}"
        self.headers = {"Content-Type": "application/json; charset=utf-8",
                        "User-Agent": "Amazon/EventBridge/ApiDestinations"}
        if header and key:
            self.headers[header] = key
        self.events = queue.Queue()
        self.stop = stop

    def put(self, event):
        self.events.put(event)

    def run(self):
        while not self.stop.is_set():
            try:
                event = self.events.get(timeout=TICK_SECONDS)
            except queue.Empty:
                continue
            self.deliver(event)

    def deliver(self, event):
        body = json.dumps(event, separators=(",", ":")).encode()
        path = (self.url.path or "/") + (f"?{self.url.query}" if self.url.query else "")
        for attempt in range(1, FORWARD_ATTEMPTS + 1):
            https = self.url.scheme == "https"
            connection = http.client.HTTPSConnection if https else http.client.HTTPConnection
            conn = connection(self.url.hostname, self.url.port, timeout=FORWARD_TIMEOUT_SECONDS)
            try:
                conn.request("POST", path, body=body, headers=self.headers)
                status = conn.getresponse().status
                outcome = f"HTTP {status}"
            except (OSError, http.client.HTTPException) as e:
                status, outcome = None, type(e).__name__
            finally:
                conn.close()
            if status is not None and 200 <= status < 300:
                return
            final = status is not None and status != 429 and status < 500
            if final or attempt == FORWARD_ATTEMPTS or self.stop.wait(2 ** (attempt - 1)):
                log(f"forwarding event {event.get('id')} ({event.get('detail-type')}) to {self.shown} "
                    f"failed ({outcome}) after {attempt} attempt(s): not forwarded")
                return
            log(f"forwarding event {event.get('id')} to {self.shown}: {outcome}, trying again")


def loop(name, tick, stop):
    """`tick` about every second until `stop`; a failure (the emulator down or answering 500) is
    logged once per kind and tried again on the next tick."""
    last_error = None
    while not stop.is_set():
        try:
            tick()
            if last_error:
                log(f"{name}: working again")
            last_error = None
        except Exception as e:  # noqa: BLE001 - anything the emulator throws; the loop must go on
            error = f"{type(e).__name__}: {e}"
            if error != last_error:
                log(f"{name}: {error}; trying again")
            last_error = error
        stop.wait(TICK_SECONDS)


def run(args):
    group, bus = required_env("SCHEDULE_GROUP", "EVENT_BUS_NAME")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    forwarder = None
    if args.forward_url:
        # From the environment, not argv: a command line is visible to every user in `ps`.
        forwarder = Forwarder(args.forward_url, args.forward_api_key_header,
                              os.environ.get("DEV_EVENTS_API_KEY"), stop)
        forwarder.start()
    # One set of clients per thread.
    scheduler, schedules_sqs = clients("scheduler", "sqs")
    (events_sqs,) = clients("sqs")
    schedules = Schedules(group, args.functions_port, scheduler, schedules_sqs, args.fire_early)
    events = Events(bus, events_sqs, args.events_file or default_events_file(), forwarder)
    threads = [threading.Thread(target=loop, args=("schedules", schedules.tick, stop), daemon=True),
               threading.Thread(target=loop, args=("events", events.tick, stop), daemon=True)]
    for thread in threads:
        thread.start()
    early = f" {args.fire_early:g} s early (tests only)" if args.fire_early else ""
    log(f"firing schedules of {group}{early} through 127.0.0.1:{args.functions_port}; events of {bus} to "
        f"{events.file}" + (f", forwarded to {forwarder.shown}" if forwarder else ""))
    while not stop.wait(TICK_SECONDS):
        pass
    # An invocation under way is left behind: its schedule stays, and fires on the next run.
    for thread in threads:
        thread.join(timeout=5)
    log("stopped")


# --- events --------------------------------------------------------------------------------------


def show(line):
    try:
        event = json.loads(line)
        detail = json.dumps(event.get("detail"), separators=(",", ":"), ensure_ascii=False)
        return f"{event.get('time', '?')}  {event.get('detail-type', '?')}  {detail}"
    except (ValueError, AttributeError):
        return f"(unreadable) {line.rstrip()}"


def print_events(args):
    path = Path(args.events_file or default_events_file())
    if not args.follow and not path.exists():
        print(f"no events yet ({path} does not exist)", file=sys.stderr)
        return
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends it quietly
    position = 0
    pending = ""
    while True:
        if path.exists():
            if path.stat().st_size < position:  # emptied or replaced: from its start again
                position, pending = 0, ""
            with path.open() as f:
                f.seek(position)
                pending += f.read()
                position = f.tell()
            *lines, pending = pending.split("\n")  # a line half written waits for its end
            for line in lines:
                if line.strip():
                    print(show(line), flush=True)
        if not args.follow:
            return
        time.sleep(0.5)


def main():
    parser = argparse.ArgumentParser(prog="local_aws.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("bootstrap", help="create the schedule group, queues, bus and rule")
    run_parser = commands.add_parser("run", help="fire due schedules, collect (and forward) events")
    run_parser.add_argument("--functions-port", type=int, required=True)
    run_parser.add_argument("--events-file")
    run_parser.add_argument("--forward-url")
    run_parser.add_argument("--forward-api-key-header", default="x-api-key")
    run_parser.add_argument("--fire-early", type=float, default=0.0, metavar="SECONDS")
    events_parser = commands.add_parser("events", help="print the events file")
    events_parser.add_argument("--follow", action="store_true")
    events_parser.add_argument("--events-file")
    args = parser.parse_args()
    {"bootstrap": bootstrap, "run": run, "events": print_events}[args.command](args)


if __name__ == "__main__":
    main()
