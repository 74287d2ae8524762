"""What a webhook subscription costs and how fast its events go out (API.md section 12), on a live server.

Not a test: it prints figures, and exits 1 when delivery is wrong: an event
missing after a generous wait, one webhook-id arriving twice, a signature that
does not verify, or an event for a record the subscription did not cover.

Events go to a receiver in this script (``http.server`` in a thread on
127.0.0.1, answering 200), so the script sets ``rest_api.webhook_allow_private``
for the run and puts it back as it was at the end. It subscribes one API key
(``POST /api/webhooks``) to res.partner ``create`` events, payload field
``name``, domain ``ref =like "bwh<run>-%"``: the prefix of every partner this
run makes. Delivery needs a cron worker on the server (``--max-cron-threads=1``
or more; the acceptance harness starts its server so).

1. The cost a subscription adds to creating 1,000 res.partner, wall clock,
   BENCH_ROUNDS rounds (default 3), the subscription off then on, on then off
   (``PATCH /api/webhooks/<id>`` ``active``), the median of each:

     singles  1,000 POST /api/res.partner/create, one per record, as an API
              client does;
     list     one /jsonrpc execute_kw res.partner.create([1,000 dicts]).

   Each phase starts with a few untimed creates (both server workers load the
   changed subscriptions), and a phase with the subscription on ends when the
   receiver has every event of it (the delivery it starts competes for the same
   CPU while the creates run: that is part of the cost measured; the next phase
   does not pay for it). With the server's log, the queries and the time inside
   the server of each timed POST create too (medians, without and with).
2. Sustained delivery: BENCH_EVENTS partners (default 2000) created as fast as
   one client can, by /jsonrpc create of lists of BENCH_BATCH (default 100).
   The commit time of a record is the moment its create call returned; its
   receive time is when the receiver got its event (``data.id``). Printed:
   events per second delivered (first to last receive), the delay from commit
   to delivery (median, p99, max), and the server's own log of the attempts
   (``rest.api.webhook.delivery``).

An event still missing BENCH_TIMEOUT seconds (default 90) after the receiver
last got one fails the run. The subscription and the partners are deleted at
the end (BENCH_KEEP=1 keeps them), even after a failure.

Run against the acceptance harness (tools/bench.sh does this as its last step):

    set -a; source ~/.cache/rest_api_acceptance/run/state.env; set +a
    python3 tools/bench_webhooks.py

Environment: ACC_URL, ACC_DB, ACC_ADMIN_PASSWORD (default admin), BENCH_ROUNDS
(3), BENCH_EVENTS (2000), BENCH_BATCH (100), BENCH_TIMEOUT (90), BENCH_KEEP,
BENCH_LOG or ACC_LOG (the server's log: the figures inside the server, and
its ERROR and WARNING lines written during the run, counted, the first ones
shown).
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import statistics
import sys
import threading
import time
import uuid
import xmlrpc.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

URL, DB = os.environ["ACC_URL"], os.environ["ACC_DB"]
PASSWORD = os.environ.get("ACC_ADMIN_PASSWORD", "admin")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "2000"))
BATCH = int(os.environ.get("BENCH_BATCH", "100"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "90"))
KEEP = os.environ.get("BENCH_KEEP") == "1"
LOG = os.environ.get("BENCH_LOG") or os.environ.get("ACC_LOG") or ""
RECORDS, WARM = 1000, 10  # records per timed way; untimed creates per way at the start of a phase
PRIVATE = "rest_api.webhook_allow_private"
RUN = uuid.uuid4().hex[:8]
PREFIX = f"bwh{RUN}-"  # the ref (and name) of every partner made by this run: no LIKE wildcard in it
CREATE = "/api/res.partner/create"
WAYS = ("singles", "list")
WAY_LABELS = {"singles": f"{RECORDS:,} x POST {CREATE}", "list": f"/jsonrpc create([{RECORDS:,} dicts])"}
# Odoo's request line: ... "POST /api/res.partner/create HTTP/1.1" <status> - <queries> <sql s> <other s>
CREATE_LINE_RE = re.compile(r'"POST /api/res\.partner/create HTTP/[\d.]+" 201 - (\d+) ([\d.]+) ([\d.]+)')


class Failure(Exception):
    """Delivery is not what API.md promises: the script stops with exit status 1."""


# ------------------------------------------------------------------ the receiver
class Receiver:
    """Records every event POSTed to it (receive time, webhook-id, data.id); answers 200."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received = {}  # record id -> [perf_counter time of each event]
        self.message_ids = set()
        self.duplicates, self.bad_signatures, self.bad_bodies = [], 0, []
        self.secret = b""
        self.last = time.perf_counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.record(self.headers, body, time.perf_counter())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def signed(self, headers, body):
        """Standard Webhooks: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, any of them."""
        content = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.".encode() + body
        wanted = base64.b64encode(hmac.new(self.secret, content, hashlib.sha256).digest()).decode()
        given = [part.partition(",")[2] for part in (headers.get("webhook-signature") or "").split()]
        return any(hmac.compare_digest(wanted, signature) for signature in given)

    def record(self, headers, body, when):
        message_id = headers.get("webhook-id")
        try:
            record_id = json.loads(body)["data"]["id"]
        except (ValueError, KeyError, TypeError):
            record_id = None
        with self.lock:
            self.last = when
            if record_id is None:
                self.bad_bodies.append(body[:200])
                return
            if not self.signed(headers, body):
                self.bad_signatures += 1
            if message_id in self.message_ids:
                self.duplicates.append(message_id)
            self.message_ids.add(message_id)
            self.received.setdefault(record_id, []).append(when)

    def wait(self, ids):
        """Wait for an event of each of ``ids``; Failure when one is missing TIMEOUT s after the last
        event (or after the wait began)."""
        began = time.perf_counter()
        while True:
            with self.lock:
                missing = [record_id for record_id in ids if record_id not in self.received]
                idle = time.perf_counter() - max(self.last, began)
            if not missing:
                return
            if idle > TIMEOUT:
                raise Failure(
                    f"{len(missing)} of {len(ids)} events never arrived ({TIMEOUT:.0f} s without any event;"
                    f" records {sorted(missing)[:10]}...)"
                )
            time.sleep(0.02)

    def check(self, covered):
        """Failure unless every event came once, signed, for a record the subscription covered."""
        with self.lock:
            extra = sorted(set(self.received) - covered)
            twice = sorted(record_id for record_id, times in self.received.items() if len(times) > 1)
            problems = []
            if self.duplicates:
                problems.append(f"{len(self.duplicates)} webhook-ids arrived twice: {self.duplicates[:5]}")
            if twice:
                problems.append(f"{len(twice)} records had more than one event: {twice[:10]}")
            if self.bad_signatures:
                problems.append(f"{self.bad_signatures} events with no valid signature")
            if self.bad_bodies:
                problems.append(f"{len(self.bad_bodies)} bodies without data.id: {self.bad_bodies[:2]}")
            if extra:
                problems.append(f"{len(extra)} events for records created while it was off: {extra[:10]}")
        if problems:
            raise Failure("; ".join(problems))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------ clients
class Client:
    """JSON over one http.client connection (it reconnects when the server closes it)."""

    def __init__(self, key=""):
        target = urlsplit(URL)
        self.key = key
        self.connection = http.client.HTTPConnection(target.hostname, target.port, timeout=300)

    def send(self, method, path, body=None):
        """(status, parsed body or None)."""
        headers = {"api-key": self.key} if self.key else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw[:300]

    def close(self):
        self.connection.close()


def xmlrpc_call():
    uid = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/common").authenticate(DB, "admin", PASSWORD, {})
    if not uid:
        raise Failure(f"XML-RPC: admin cannot log in to {DB}")
    proxy = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/object", allow_none=True)

    def call(model, method, *args, **kwargs):
        return proxy.execute_kw(DB, uid, PASSWORD, model, method, list(args), kwargs)

    return uid, call


def partners(tag, count):
    return [{"name": f"{PREFIX}{tag}-{i:04d}", "ref": f"{PREFIX}{tag}-{i:04d}"} for i in range(count)]


def create_singles(client, values):
    ids = []
    for vals in values:
        status, answer = client.send("POST", CREATE, vals)
        if status != 201 or not isinstance(answer, dict) or not isinstance(answer.get("id"), int):
            raise Failure(f"POST {CREATE}: status {status}, expected 201 with an id: {str(answer)[:300]}")
        ids.append(answer["id"])
    return ids


def create_list(client, uid, values):
    body = {
        "jsonrpc": "2.0",
        "method": "call",
        "id": 1,
        "params": {
            "service": "object",
            "method": "execute_kw",
            "args": [DB, uid, PASSWORD, "res.partner", "create", [values]],
        },
    }
    status, answer = client.send("POST", "/jsonrpc", body)
    ids = answer.get("result") if status == 200 and isinstance(answer, dict) else None
    if not isinstance(ids, list) or len(ids) != len(values):
        raise Failure(f"/jsonrpc create of {len(values)}: status {status}: {str(answer)[:300]}")
    return ids


class Subscription:
    """The run's subscription, made and switched through /api/webhooks like an API client does."""

    def __init__(self, key, url):
        self.client = Client(key)
        body = {
            "name": f"bench webhooks {RUN}",
            "url": url,
            "model_id": "res.partner",
            "events": ["create"],
            "field_ids": ["name"],
            "domain": [["ref", "=like", f"{PREFIX}%"]],
        }
        for _ in range(20):  # the changed setting reaches every worker at its next request
            status, answer = self.client.send("POST", "/api/webhooks", body)
            if status != 400:
                break
            time.sleep(0.5)
        if status != 201 or not isinstance(answer, dict) or not answer.get("secret"):
            raise Failure(
                f"POST /api/webhooks: status {status}, expected 201 with a secret: {str(answer)[:300]}"
            )
        self.id, self.secret = answer["id"], answer["secret"]

    def switch(self, active):
        status, answer = self.client.send("PATCH", f"/api/webhooks/{self.id}", {"active": active})
        if status != 200 or not isinstance(answer, dict) or answer.get("active") is not active:
            raise Failure(f"PATCH /api/webhooks/{self.id}: status {status}: {str(answer)[:300]}")


# ------------------------------------------------------------------ part 1: the cost of a subscription
def part_cost(key, uid, hook, receiver, covered):
    """{"times": {(way, "off" | "on"): [seconds per round]}, "drains": [seconds from the last create
    to the last event], "inside": {"off" | "on": [(queries, server ms) of each timed single]}}."""
    times = {(way, state): [] for way in WAYS for state in ("off", "on")}
    drains, inside = [], {"off": [], "on": []}
    rest, rpc = Client(key), Client()
    for round_ in range(ROUNDS):
        for state in ("off", "on") if round_ % 2 == 0 else ("on", "off"):
            hook.switch(state == "on")
            tag = f"{round_}{state}"
            made = create_singles(rest, partners(f"{tag}w", WARM))  # both workers see the switch
            made += create_list(rpc, uid, partners(f"{tag}v", WARM))
            spent, offset = {}, log_size()
            for way in WAYS:
                values = partners(f"{tag}{way[0]}", RECORDS)
                started = time.perf_counter()
                made += create_singles(rest, values) if way == "singles" else create_list(rpc, uid, values)
                spent[way] = time.perf_counter() - started
                times[way, state].append(spent[way])
            inside[state] += logged_creates(offset)
            note = ""
            if state == "on":
                covered.update(made)
                done = time.perf_counter()
                receiver.wait(made)
                drains.append(time.perf_counter() - done)
                note = f", events all received {drains[-1]:.1f} s after the last create"
            print(f"  round {round_ + 1}/{ROUNDS} subscription {state:<3} singles {spent['singles']:7.3f} s"
                  f"  list {spent['list']:6.3f} s{note}", flush=True)  # fmt: skip
    rest.close()
    rpc.close()
    return {"times": times, "drains": drains, "inside": inside}


# ------------------------------------------------------------------ part 2: sustained delivery
def part_delivery(uid, receiver, covered):
    """Figures of EVENTS records created in lists of BATCH, their events timed at the receiver."""
    rpc, committed = Client(), {}
    started = time.perf_counter()
    for start in range(0, EVENTS, BATCH):
        ids = create_list(rpc, uid, partners(f"d{start // BATCH:03d}", min(BATCH, EVENTS - start)))
        returned = time.perf_counter()
        covered.update(ids)
        committed.update(dict.fromkeys(ids, returned))
    created = time.perf_counter() - started
    rpc.close()
    receiver.wait(list(committed))
    with receiver.lock:
        got = {record_id: receiver.received[record_id][0] for record_id in committed}
    first, last = min(got.values()), max(got.values())
    delays = sorted(got[record_id] - committed[record_id] for record_id in committed)
    first_id = min(committed)  # the first record of the first call: the latency of an idle sender
    return {
        "created": created,
        "delivered": last - first,
        "rate": (len(got) - 1) / (last - first) if last > first else float("nan"),
        "median": statistics.median(delays),
        "p99": statistics.quantiles(delays, n=100)[98] if len(delays) > 1 else delays[0],
        "max": delays[-1],
        "first": got[first_id] - committed[first_id],
        "over_1s": sum(1 for delay in delays if delay > 1),
    }


def attempts(call, hook):
    """The server's log of this subscription's attempts: (count, not 200, retried, median ms, max ms)."""
    rows = call("rest.api.webhook.delivery", "search_read", [("webhook_id", "=", hook.id)],
                ["status", "attempt", "duration"])  # fmt: skip
    durations = sorted(row["duration"] for row in rows) or [0.0]
    return (
        len(rows),
        sum(1 for row in rows if row["status"] != 200),
        sum(1 for row in rows if row["attempt"] > 1),
        statistics.median(durations),
        durations[-1],
    )


def log_size():
    return os.path.getsize(LOG) if LOG and os.path.exists(LOG) else 0


def read_log(offset):
    with open(LOG, "rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", "replace").splitlines()


def logged_creates(offset):
    """(queries, server ms: SQL + the rest) of each POST /api/res.partner/create logged since ``offset``."""
    if not LOG or not os.path.exists(LOG):
        return []
    found = (CREATE_LINE_RE.search(line) for line in read_log(offset))
    return [(int(m.group(1)), (float(m.group(2)) + float(m.group(3))) * 1000) for m in found if m]


def log_lines(offset):
    """The ERROR / WARNING lines (and tracebacks) the server logged since ``offset``."""
    if not LOG or not os.path.exists(LOG):
        return None
    return [
        line for line in read_log(offset) if " ERROR " in line or " WARNING " in line or " CRITICAL " in line
    ]


# ------------------------------------------------------------------ report
def print_summary(cost, delivery, server, found_lines, received):
    times, drains, inside = cost["times"], cost["drains"], cost["inside"]
    print()
    print(f"summary: creating {RECORDS:,} res.partner, median of {ROUNDS} rounds, seconds")
    print(f"  {'way':<42} {'without':>8} {'with':>8} {'with/without':>13} {'ms/record':>10}")
    for way in WAYS:
        without, with_ = statistics.median(times[way, "off"]), statistics.median(times[way, "on"])
        print(f"  {WAY_LABELS[way]:<42} {without:8.3f} {with_:8.3f} {with_ / without:13.2f}"
              f" {(with_ - without) / RECORDS * 1000:+10.3f}")  # fmt: skip
    print(f"  (with: one active subscription to res.partner create events matching every record;"
          f" its events all received {statistics.median(drains):.1f} s after the last create, median)")  # fmt: skip
    if inside["off"] and inside["on"]:
        each = {
            state: (
                statistics.median(q for q, _ms in inside[state]),
                statistics.median(ms for _q, ms in inside[state]),
            )
            for state in ("off", "on")
        }
        print(f"  inside the server, per POST create (medians of its log lines): without {each['off'][0]:.0f} queries"
              f" {each['off'][1]:.1f} ms, with {each['on'][0]:.0f} queries {each['on'][1]:.1f} ms"
              f" (SQL + the rest; the cron worker sends the events meanwhile, on the same CPUs)")  # fmt: skip
    print(f"sustained delivery: {EVENTS:,} events ({-(-EVENTS // BATCH)} x /jsonrpc create of {BATCH})")
    print(f"  created in {delivery['created']:.2f} s ({EVENTS / delivery['created']:.0f} records/s);"
          f" delivered in {delivery['delivered']:.2f} s (first to last receive):"
          f" {delivery['rate']:.0f} events/s")  # fmt: skip
    print(f"  delay commit -> delivery: median {delivery['median']:.3f} s, p99 {delivery['p99']:.3f} s,"
          f" max {delivery['max']:.3f} s; first event {delivery['first'] * 1000:.0f} ms;"
          f" {delivery['over_1s']} over 1 s")  # fmt: skip
    count, failed, retried, median_ms, max_ms = server
    print(f"  server's attempts (whole run): {count:,}, {failed} not 200, {retried} retries;"
          f" one attempt median {median_ms:.1f} ms, max {max_ms:.1f} ms")  # fmt: skip
    print(
        f"events received: {received:,}, each once, every signature valid, none for records it did not cover"
    )
    if found_lines is None:
        print("server log: not read (set BENCH_LOG or ACC_LOG)")
    else:
        print(f"server log: {len(found_lines)} ERROR/WARNING lines during the run")
        for line in found_lines[:5]:
            print(f"  {line[:200]}")


def run():
    uid, call = xmlrpc_call()
    made = call("rest.api.key", "generate", {"name": f"bench webhooks {RUN}", "user_id": uid,
                                              "all_models": True, "rate_limit": 0, "log_requests": False})  # fmt: skip
    previous = call("ir.config_parameter", "get_param", PRIVATE)
    offset = log_size()
    print(f"bench_webhooks: {URL} db={DB} run={RUN}, {RECORDS:,} res.partner per way, {ROUNDS} rounds,"
          f" then {EVENTS:,} events")  # fmt: skip
    receiver, hook, covered = Receiver(), None, set()
    try:
        call("ir.config_parameter", "set_param", PRIVATE, "True")
        hook = Subscription(made["key"], receiver.url)
        receiver.secret = base64.b64decode(hook.secret.removeprefix("whsec_"))
        print(f"1. creating {RECORDS:,} partners without and with a subscription (receiver {receiver.url})")
        cost = part_cost(made["key"], uid, hook, receiver, covered)
        print(f"2. sustained delivery of {EVENTS:,} events")
        hook.switch(True)
        delivery = part_delivery(uid, receiver, covered)
        time.sleep(1)  # an event sent twice, or for a record not covered, would be right behind
        receiver.check(covered)
        server = attempts(call, hook)
    finally:
        receiver.close()
        if not KEEP:  # what this run made, even when it failed half-way; the subscription first
            if hook:
                call("rest.api.webhook", "unlink", [hook.id])
            ids = call("res.partner", "search", [("ref", "=like", f"{PREFIX}%")])
            for start in range(0, len(ids), 2000):
                call("res.partner", "unlink", ids[start : start + 2000])
        call("ir.config_parameter", "set_param", PRIVATE, previous or False)
    print_summary(cost, delivery, server, log_lines(offset), len(covered))


def main():
    try:
        run()
    except Failure as exc:
        sys.exit(f"bench_webhooks: FAILED: {exc}")


if __name__ == "__main__":
    main()
