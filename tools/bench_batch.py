"""What ``POST /api/batch`` of creates costs against Odoo's own create of a list, on a live server.

Not a test: it prints figures, and exits 1 only when an answer is not the one
API.md promises (a wrong status, a record missing).

Each round creates BENCH_BATCHES x BENCH_SIZE res.partner ({name, ref}, fresh
names, default 10 x 100) two ways, in a rotating order, wall clock:

  jsonrpc   BENCH_BATCHES /jsonrpc execute_kw res.partner.create([BENCH_SIZE dicts]):
            the native floor, one ORM create of a list per call;
  batch     BENCH_BATCHES POST /api/batch of BENCH_SIZE create operations each
            (POST /api/res.partner/create, one record per operation).

Both run one call after the other on one client, after a warm-up of two small
calls each way. Printed: each round's seconds, the medians over BENCH_ROUNDS
rounds (default 3) and the ratio batch / jsonrpc of the medians (the issue's
criterion: at most 2.0). Every answer's status is checked, and so is the number
of partners each run left.

With BENCH_LOG (the server's log file, Odoo's werkzeug request lines at INFO,
as ``make run`` prints them), it also counts the SQL statements of one batch
and of one /jsonrpc create of a list: each is sent from a loopback address of
its own (127.x.y.z), so that its log line is told apart from any other; Odoo's
request line ends with ``<queries> <sql s> <other s>``. The fewest of
BENCH_CALLS calls (default 3).

    REST_API_URL=http://127.0.0.1:8069 REST_API_DB=rest_api_demo REST_API_KEY=<an all-models key> \\
    BENCH_LOG=<server log> python3 tools/bench_batch.py

Without REST_API_KEY, one all-models key of the admin is made by XML-RPC
(admin / ACC_ADMIN_PASSWORD, default admin) and revoked at the end. The
partners made are deleted at the end (BENCH_KEEP=1 keeps them).
"""

import http.client
import json
import os
import random
import re
import statistics
import sys
import time
import uuid
import xmlrpc.client
from urllib.parse import urlsplit

URL = os.environ.get("REST_API_URL", "http://127.0.0.1:8069").rstrip("/")
DB = os.environ.get("REST_API_DB", "rest_api_demo")
PASSWORD = os.environ.get("ACC_ADMIN_PASSWORD", "admin")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BATCHES = int(os.environ.get("BENCH_BATCHES", "10"))
SIZE = int(os.environ.get("BENCH_SIZE", "100"))
CALLS = int(os.environ.get("BENCH_CALLS", "3"))
LOG = os.environ.get("BENCH_LOG", "")
KEEP = os.environ.get("BENCH_KEEP") == "1"
RUN = uuid.uuid4().hex[:8]  # every name made by this run starts with "bb<RUN>-" (no LIKE wildcard in it)
CREATE = "/api/res.partner/create"
WAYS = ("jsonrpc", "batch")
WERKZEUG_RE = re.compile(
    r'werkzeug: (\S+) - - \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) - (\d+) ([\d.]+) ([\d.]+)'
)


class Failure(Exception):
    """An answer that is not the one API.md promises: the script stops with exit status 1."""


class Client:
    """JSON over one connection; ``source`` picks the loopback address it sends from."""

    def __init__(self, key="", source=None):
        target = urlsplit(URL)
        self.key = key
        self.connection = http.client.HTTPConnection(
            target.hostname, target.port, timeout=600, source_address=(source, 0) if source else None
        )

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


def expect(what, status, wanted, body):
    if status != wanted:
        raise Failure(f"{what}: status {status}, expected {wanted}: {str(body)[:300]}")


def xmlrpc_call():
    uid = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/common").authenticate(DB, "admin", PASSWORD, {})
    if not uid:
        raise Failure(f"XML-RPC: admin cannot log in to {DB}")
    proxy = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/object", allow_none=True)

    def call(model, method, *args, **kwargs):
        return proxy.execute_kw(DB, uid, PASSWORD, model, method, list(args), kwargs)

    return uid, call


def partners(prefix, count):
    return [{"name": f"{prefix}{i:04d}", "ref": f"{prefix}{i:04d}"} for i in range(count)]


def create_jsonrpc(client, uid, values):
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
    expect("/jsonrpc create", status, 200, answer)
    if not isinstance(answer, dict) or "error" in answer or len(answer.get("result") or ()) != len(values):
        raise Failure(f"/jsonrpc create: {str(answer)[:300]}")


def create_batch(client, values):
    operations = [{"method": "POST", "path": CREATE, "body": vals} for vals in values]
    status, answer = client.send("POST", "/api/batch", {"operations": operations})
    expect("POST /api/batch", status, 200, answer)
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list) or len(results) != len(operations):
        raise Failure(f"POST /api/batch: {len(operations)} operations, answer {str(answer)[:300]}")
    for number, result in enumerate(results):
        expect(f"POST /api/batch operation {number}", result.get("status"), 201, result)
        body, location = result.get("body") or {}, (result.get("headers") or {}).get("Location")
        if not isinstance(body.get("id"), int) or location != f"/api/res.partner/{body['id']}":
            raise Failure(f"POST /api/batch operation {number}: {str(result)[:300]}")


def run_way(way, client, uid, values):
    if way == "jsonrpc":
        create_jsonrpc(client, uid, values)
    else:
        create_batch(client, values)


def time_way(way, prefix, key, uid, call):
    """Seconds to create BATCHES x SIZE partners named ``prefix...`` one way."""
    client = Client(key="" if way == "jsonrpc" else key)  # /jsonrpc: no api-key header
    chunks = [partners(f"{prefix}{number:02d}-", SIZE) for number in range(BATCHES)]
    started = time.perf_counter()
    for values in chunks:
        run_way(way, client, uid, values)
    spent = time.perf_counter() - started
    client.close()
    made = call("res.partner", "search_count", [("name", "=like", f"{prefix}%")])
    if made != BATCHES * SIZE:
        raise Failure(f"{way}: {made} partners named {prefix}*, expected {BATCHES * SIZE}")
    return spent


# ------------------------------------------------------------------ SQL statements per call
_used_sources = set()


def fresh_source():
    """A loopback address not used before by this run (127.0.0.1 excluded)."""
    while True:
        source = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        if source not in _used_sources:
            _used_sources.add(source)
            return source


def logged_queries(way, key, uid, values, timeout=30):
    """Run one call of ``way`` from an address of its own: (queries, server seconds) from the log."""
    source = fresh_source()
    offset = os.path.getsize(LOG)
    client = Client(key="" if way == "jsonrpc" else key, source=source)
    run_way(way, client, uid, values)
    client.close()
    deadline = time.time() + timeout
    while True:
        with open(LOG, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
        for match in WERKZEUG_RE.finditer(text):
            if match.group(1) == source:
                return int(match.group(5)), float(match.group(6)) + float(match.group(7))
        if time.time() > deadline:
            raise Failure(f"{way}: no request from {source} in {LOG} within {timeout} s")
        time.sleep(0.05)


def main():
    uid, call = xmlrpc_call()
    key, key_id = os.environ.get("REST_API_KEY"), None
    if not key:
        made = call(
            "rest.api.key", "generate", {"name": f"bench_batch {RUN}", "user_id": uid, "all_models": True}
        )
        key, key_id = made["key"], made["id"]
    print(f"bench_batch: {URL} database {DB}; {BATCHES} x {SIZE} res.partner per way, {ROUNDS} rounds")
    try:
        for way in WAYS:  # warm-up: both workers' caches, not timed
            client = Client(key="" if way == "jsonrpc" else key)
            for number in range(2):
                run_way(way, client, uid, partners(f"bb{RUN}-w{way[0]}{number}-", 10))
            client.close()
        times = {way: [] for way in WAYS}
        for round_ in range(ROUNDS):
            order = WAYS[round_ % len(WAYS) :] + WAYS[: round_ % len(WAYS)]
            for way in order:
                spent = time_way(way, f"bb{RUN}-{round_}{way[0]}-", key, uid, call)
                times[way].append(spent)
                print(f"  round {round_ + 1}/{ROUNDS} {way:<8} {spent:8.3f} s", flush=True)
        medians = {way: statistics.median(found) for way, found in times.items()}
        print(f"median jsonrpc (create of a list of {SIZE}) x {BATCHES}: {medians['jsonrpc']:.3f} s")
        print(f"median batch ({SIZE} create operations) x {BATCHES}:    {medians['batch']:.3f} s")
        if LOG:
            for way in WAYS:
                found = [
                    logged_queries(way, key, uid, partners(f"bb{RUN}-q{way[0]}{number}-", SIZE))
                    for number in range(CALLS)
                ]
                queries, seconds = min(found)
                print(f"SQL statements per {way} call of {SIZE} creates: {queries}"
                      f" (server {min(s for _, s in found) * 1000:.0f} ms)")  # fmt: skip
        print(f"ratio batch / jsonrpc: {medians['batch'] / medians['jsonrpc']:.2f}")
    finally:
        if not KEEP:
            ids = call("res.partner", "search", [("name", "=like", f"bb{RUN}-%")])
            for start in range(0, len(ids), 1000):
                call("res.partner", "unlink", ids[start : start + 1000])
        if key_id:
            call("rest.api.key", "unlink", [key_id])


if __name__ == "__main__":
    try:
        main()
    except Failure as exc:
        print(f"bench_batch: FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
