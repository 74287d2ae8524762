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
import statistics
import threading
import time
import uuid
import xmlrpc.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode, urlsplit

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
    def __init__(self):
        self.count = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
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


def create_singles(client, tag, count):
    started = time.perf_counter()
    for n in range(count):
        status, answer = client.send("POST", "/api/res.partner/create", {"name": f"bsync{RUN}-{tag}-{n}"})
        assert status == 201, answer
    return time.perf_counter() - started


def compare(client, label, switch):
    """Median seconds to create RECORDS partners with ``switch(False)`` and ``switch(True)``."""
    times = {False: [], True: []}
    for round_ in range(ROUNDS):
        for state in (False, True) if round_ % 2 == 0 else (True, False):
            switch(state)
            time.sleep(0.5)
            create_singles(client, f"w{round_}{state}", 10)  # both workers see the switch
            times[state].append(create_singles(client, f"{label}{round_}{state}", RECORDS))
            print(
                f"  {label} round {round_ + 1} {'on ' if state else 'off'} {times[state][-1]:.3f} s",
                flush=True,
            )
    off, on = statistics.median(times[False]), statistics.median(times[True])
    print(f"{label}: {RECORDS} single creates: off {off:.3f} s, on {on:.3f} s, ratio {on / off:.3f}")
    return on / off


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

        hooked = compare(client, "webhook", subscribe)
        feed = feed_part(client, call)
        print()
        print(f"summary: tracked/untracked {tracked:.3f} (at most 1.15), subscribed/not {hooked:.3f} (at most 1.3),"
              f" changes/search {feed[0]:.2f} young cursor, {feed[1]:.2f} old cursor (at most 1.5);"
              f" events received {receiver.count:,}")  # fmt: skip
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
