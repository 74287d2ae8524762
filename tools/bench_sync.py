"""What change tracking and webhooks cost a writer, and what an incremental change feed call
costs (API.md sections 12 and 13), on a live server. Not a test: it prints figures.

1. Creating BENCH_RECORDS (1,000) res.partner, one ``POST /api/res.partner/create`` each,
   BENCH_ROUNDS (3) rounds, median wall clock of each state, alternating the order:
   - tracking: res.partner not tracked vs tracked (a ``rest.api.sync.model``);
   - webhook: no subscription vs one active subscription to its ``create`` events (a
     receiver in this script answers 200; the sender's work shares the CPU, as it would).
2. The change feed on BENCH_MODEL (res.partner.category) with BENCH_SIZE (200,000)
   records: a client's cursor after a full sync, BENCH_CHANGES (100) records written,
   then ``GET /api/<model>/changes?cursor=...`` (the 100 upserts, fields=name) against
   ``GET /api/<model>/search?fields=name&limit=100``, BENCH_CALLS (50) calls each, median.
   Then BENCH_OLD (20,000) more changes noted (one transaction each 10 records) before
   a new cursor is taken, and the same again: the cost of a call does not depend on how
   many notes came before its cursor.

Everything it made is deleted at the end (the 200,000 records stay with BENCH_KEEP=1,
and are reused by the next run). Environment: ACC_URL, ACC_DB, ACC_ADMIN_PASSWORD
(admin), and the BENCH_* above.

    set -a; source ~/.cache/rest_api_acceptance/run/state.env; set +a
    python3 tools/bench_sync.py
"""

import http.client
import json
import os
import signal
import statistics
import sys
import threading
import time
import uuid
import xmlrpc.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode, urlsplit

from server_stats import Server

URL, DB = os.environ["ACC_URL"], os.environ["ACC_DB"]
PASSWORD = os.environ.get("ACC_ADMIN_PASSWORD", "admin")
RECORDS = int(os.environ.get("BENCH_RECORDS", "1000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
MODEL = os.environ.get("BENCH_MODEL", "res.partner.category")
SIZE = int(os.environ.get("BENCH_SIZE", "200000"))
CHANGES = int(os.environ.get("BENCH_CHANGES", "100"))
CALLS = int(os.environ.get("BENCH_CALLS", "50"))
OLD = int(os.environ.get("BENCH_OLD", "20000"))
KEEP = os.environ.get("BENCH_KEEP") == "1"
FEED = os.environ.get("BENCH_FEED", "1") != "0"
WARM = 10  # creates before each measured round: every worker sees the switch
RUN = uuid.uuid4().hex[:8]
PRIVATE = "rest_api.webhook_allow_private"


class Client:
    def __init__(self, key=""):
        target = urlsplit(URL)
        self.key = key
        self.connection = http.client.HTTPConnection(target.hostname, target.port, timeout=600)

    def send(self, method, path, body=None, params=None):
        headers = {"api-key": self.key} if self.key else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if params:
            path += "?" + urlencode(params)
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        raw = response.read()
        return response.status, (json.loads(raw) if raw else None)


def rpc():
    uid = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/common").authenticate(DB, "admin", PASSWORD, {})
    proxy = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/object", allow_none=True)

    def call(model, method, *args, **kwargs):
        return proxy.execute_kw(DB, uid, PASSWORD, model, method, list(args), kwargs)

    return uid, call


class Receiver:
    """Answers 200 to every POST, on keep-alive connections (HTTP/1.1) as most servers do."""

    def __init__(self):
        self.count, self.expected, self.lock = 0, 0, threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.count += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def settle(self, timeout=600):
        """Wait until every event expected so far came (a second more for any extra)."""
        deadline = time.time() + timeout
        while self.count < self.expected and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(1)
        if self.count != self.expected:
            print(f"  !! {self.count} events received, {self.expected} expected", flush=True)


def create_singles(client, tag, count):
    started = time.perf_counter()
    for n in range(count):
        status, answer = client.send("POST", "/api/res.partner/create", {"name": f"bsync{RUN}-{tag}-{n}"})
        assert status == 201, answer
    return time.perf_counter() - started


def fmt(value, unit=""):
    return "-" if value is None or value != value else f"{value:.2f}{unit}"


def compare(client, label, switch, receiver=None):
    """Median figures of RECORDS single creates with ``switch(False)`` and ``switch(True)``,
    the states alternating round by round (off on, on off, ...): wall seconds, and when the
    server runs here (tools/server_stats.py) its statements, HTTP workers' CPU and their
    PostgreSQL backends' CPU per request; with a ``receiver`` (an event per create while on), the
    cron workers' CPU per event, all events received before the next round starts. "Server CPU in
    all": per create, its worker's and backend's CPU and, subscribed, the sender's for its event,
    the figure a wall clock shows on a machine whose CPUs are all busy."""
    server = Server.from_env()
    runs = {False: [], True: []}
    for round_ in range(ROUNDS):
        for state in (False, True) if round_ % 2 == 0 else (True, False):
            switch(state)
            time.sleep(0.5)
            create_singles(client, f"w{round_}{state}", WARM)  # both workers see the switch
            if receiver is not None:
                receiver.expected += WARM if state else 0
                receiver.settle()
            before = server.snapshot() if server else None
            received = receiver.count if receiver is not None else 0
            run = {"wall": create_singles(client, f"{label}{round_}{state}", RECORDS)}
            if server:
                middle = server.snapshot()
                run.update(server.figures(before, middle, "/api/res.partner/create", RECORDS))
            if receiver is not None:
                receiver.expected += RECORDS if state else 0
                receiver.settle()
                run["events"] = receiver.count - received
                if server and run["events"]:
                    after = server.snapshot()
                    run["sender_ms"] = 1000 * server.cpu(before, after, "cron") / run["events"]
                    run["sender_db_ms"] = 1000 * server.cpu(before, after, "cron-db") / run["events"]
            if server:  # everything the server spent per create: its request, and the events it sent
                run["total_ms"] = (
                    run["cpu_ms"] + run["db_ms"] + run.get("sender_ms", 0) + run.get("sender_db_ms", 0)
                )
            runs[state].append(run)
            line = f"  {label} round {round_ + 1} {'on ' if state else 'off'} {run['wall']:.3f} s"
            if server:
                line += (f", per create: {fmt(run['statements'])} statements, SQL {fmt(run['sql_ms'], ' ms')},"
                         f" worker CPU {fmt(run['cpu_ms'], ' ms')}, its PostgreSQL CPU {fmt(run['db_ms'], ' ms')}")  # fmt: skip
            if run.get("events"):
                line += f"; {run['events']} events sent"
                if "sender_ms" in run:
                    line += (f", sender CPU {fmt(run['sender_ms'], ' ms')} per event"
                             f" (+ PostgreSQL {fmt(run['sender_db_ms'], ' ms')})")  # fmt: skip
            print(line, flush=True)

    def median(state, name):
        values = [run[name] for run in runs[state] if name in run]
        return statistics.median(values) if values else float("nan")

    ratios = {}
    for name, what in (("wall", "wall"), ("statements", "statements"), ("cpu_ms", "worker CPU"),
                       ("db_ms", "PostgreSQL CPU"), ("total_ms", "server CPU in all")):  # fmt: skip
        off, on = median(False, name), median(True, name)
        if off == off and on == on and off:
            ratios[name] = on / off
            print(f"{label}: {RECORDS} single creates, median {what} off {fmt(off)}, on {fmt(on)},"
                  f" ratio {on / off:.3f}")  # fmt: skip
    if server and receiver is not None and any("sender_ms" in run for run in runs[True]):
        print(f"{label}: the sender's CPU per event, median {fmt(median(True, 'sender_ms'), ' ms')}"
              f" (+ PostgreSQL {fmt(median(True, 'sender_db_ms'), ' ms')})")  # fmt: skip
    return ratios


def set_tracking(call, model_id, on):
    """Turn tracking of a model on (a rest.api.sync.model, made or restored) or off (deleted)."""
    found = call(
        "rest.api.sync.model", "search", [("model_id", "=", model_id)], context={"active_test": False}
    )
    if on and found:
        call("rest.api.sync.model", "write", found, {"active": True})
    elif on:
        call("rest.api.sync.model", "create", {"model_id": model_id})
    elif found:
        call("rest.api.sync.model", "unlink", found)


def timed(client, path, params, calls=CALLS):
    spent = []
    for _ in range(calls):
        started = time.perf_counter()
        status, answer = client.send("GET", path, params=params)
        spent.append(time.perf_counter() - started)
        assert status == 200, answer
    return statistics.median(spent), answer


def catch_up(client, cursor):
    while True:
        status, body = client.send("GET", f"/api/{MODEL}/changes", params={"cursor": cursor})
        assert status == 200, body
        cursor = body["cursor"]
        if not body["more"]:
            return cursor


def feed_part(client, call):
    prefix = "bsyncrec-"
    have = call(MODEL, "search_count", [("name", "=like", prefix + "%")])
    for start in range(have, SIZE, 5000):
        call(MODEL, "create", [{"name": f"{prefix}{n}"} for n in range(start, min(SIZE, start + 5000))])
    ids = call(MODEL, "search", [("name", "=like", prefix + "%")], order="id")
    print(f"feed: {len(ids):,} {MODEL} records")
    model_id = call("ir.model", "search", [("model", "=", MODEL)])[0]
    set_tracking(call, model_id, True)
    time.sleep(0.5)
    try:
        params = {"fields": "name", "limit": 1000, "domain": json.dumps([["name", "=like", prefix + "%"]])}
        started = time.perf_counter()
        status, body = client.send("GET", f"/api/{MODEL}/changes", params=params)
        assert status == 200, body
        cursor = catch_up(client, body["cursor"])
        print(
            f"feed: full sync of {len(ids):,} records in pages of 1,000: {time.perf_counter() - started:.1f} s"
        )
        results = []
        for label in ("young cursor", "old cursor"):
            if label == "old cursor":
                for start in range(0, OLD, 10):  # OLD changes, 10 per transaction, before the cursor
                    chunk = ids[(start * 7) % len(ids) :][:10]
                    call(MODEL, "write", chunk, {"name": f"{prefix}{RUN}o{start}"})
                    if start % 5000 == 0:
                        print(f"  {start:,} older changes noted", flush=True)
                cursor = catch_up(client, cursor)
            changed = ids[len(ids) // 2 : len(ids) // 2 + CHANGES]
            for record in changed:
                call(MODEL, "write", [record], {"name": f"{prefix}{RUN}{label[0]}{record}"})
            change, answer = timed(client, f"/api/{MODEL}/changes", {"cursor": cursor})
            assert len(answer["changes"]) == CHANGES and not answer["more"], (
                len(answer["changes"]),
                answer["more"],
            )
            search, rows = timed(client, f"/api/{MODEL}/search", {"fields": "name", "limit": CHANGES})
            assert len(rows) == CHANGES
            print(f"feed ({label}): changes after {CHANGES} changes {change * 1000:.1f} ms, "
                  f"search of {CHANGES} records {search * 1000:.1f} ms, ratio {change / search:.2f}")  # fmt: skip
            results.append(change / search)
            cursor = catch_up(client, cursor)
        return results
    finally:
        set_tracking(call, model_id, False)
        if not KEEP:
            for start in range(0, len(ids), 5000):
                call(MODEL, "unlink", ids[start : start + 5000])


def main():
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(143))  # clean up (finally) when stopped
    uid, call = rpc()
    made = call("rest.api.key", "generate", {"name": f"bench sync {RUN}", "user_id": uid, "all_models": True,
                                              "rate_limit": 0, "log_requests": False})  # fmt: skip
    client = Client(made["key"])
    model_id = call("ir.model", "search", [("model", "=", "res.partner")])[0]
    previous = call("ir.config_parameter", "get_param", PRIVATE)
    hook = None

    def track(on):
        set_tracking(call, model_id, on)

    try:
        print(f"bench_sync: {URL} db={DB} run={RUN}")
        tracked = compare(client, "tracking", track)
        track(False)
        call("ir.config_parameter", "set_param", PRIVATE, "True")
        receiver = Receiver()
        status, answer = client.send("POST", "/api/webhooks", {
            "name": f"bench sync {RUN}", "url": receiver.url, "model_id": "res.partner", "events": ["create"],
            "field_ids": ["name"], "domain": [["name", "=like", f"bsync{RUN}-%"]],
        })  # fmt: skip
        assert status == 201, answer
        hook = answer["id"]

        def subscribe(on):
            status, answer = client.send("PATCH", f"/api/webhooks/{hook}", {"active": on})
            assert status == 200, answer

        hooked = compare(client, "webhook", subscribe, receiver)
        feed = feed_part(client, call) if FEED else None
        print()

        def ratios(found):
            return ", ".join(
                f"{what} {found[name]:.3f}"
                for name, what in (
                    ("wall", "wall"),
                    ("cpu_ms", "worker CPU"),
                    ("total_ms", "server CPU in all"),
                    ("statements", "statements"),
                )  # fmt: skip
                if name in found
            )

        print(f"summary: tracked/untracked {ratios(tracked)} (at most 1.15); subscribed/not {ratios(hooked)}"
              f" (at most 1.3); events received {receiver.count:,} ({receiver.expected:,} expected)")  # fmt: skip
        if feed:
            print(
                f"summary: changes/search {feed[0]:.2f} young cursor, {feed[1]:.2f} old cursor (at most 1.5)"
            )
    finally:
        track(False)
        if hook:
            call("rest.api.webhook", "unlink", [hook])
        call("ir.config_parameter", "set_param", PRIVATE, previous or False)
        ids = call("res.partner", "search", [("name", "=like", f"bsync{RUN}-%")])
        for start in range(0, len(ids), 2000):
            call("res.partner", "unlink", ids[start : start + 2000])


if __name__ == "__main__":
    main()
