"""What batching costs and saves, and the SQL that safe writes add (API.md section 9), on a live server.

Not a test: it prints figures, and exits 1 only when an answer is not the one
API.md promises (a wrong status, a record missing).

1. Creating 1,000 res.partner ({name, ref}, fresh names each time) three ways,
   wall clock, BENCH_ROUNDS rounds (default 3, the ways in a rotating order),
   the median of each (BENCH_ROUNDS=0 skips this part):

     jsonrpc-list  one /jsonrpc execute_kw res.partner.create([1000 dicts]):
                   the native floor, one create of a list;
     batch         10 sequential POST /api/batch of 100 create operations each;
     singles       1,000 POST /api/res.partner/create, one after the other, on
                   one http.client connection (kept alive when the server
                   allows it: the prefork server answers HTTP/1.0 and closes
                   it, and the script counts the connections it opened).

   Every answer's status is checked (201 per create, 200 per batch and 201
   per operation in it), and so is the number of partners each run left
   (search_count of its name prefix by XML-RPC). Time ratios: > 1 means the
   left-hand way is slower.
2. SQL statements per call, from the server's request log (Odoo's werkzeug
   line ends with ``"<method> <path> HTTP/1.x" <status> - <queries> <sql s>
   <other s>``), the fewest over BENCH_CALLS calls (default 5): each call is
   sent from a loopback address of its own (127.x.y.z) so that its log line is
   told apart from any other. POST /api/res.partner/create without and with a
   fresh Idempotency-Key (the difference is what the key adds), the same
   create replayed (same key and body), GET /api/res.partner/<id> (with its
   ETag) and the same GET with If-None-Match (304). Skipped when no log is
   given.
3. The client time a fresh Idempotency-Key adds to a create: BENCH_PAIRS
   (default 300; 0 skips it) interleaved pairs of creates without and with
   one, each on a new connection; the medians, and the median difference.

A server without /api/batch (404) or one that ignores Idempotency-Key (a
replay without ``Idempotent-Replayed: true``) gets those rows marked n/a.
The partners made are deleted at the end (BENCH_KEEP=1 keeps them).

Run against the acceptance harness (tools/bench.sh does this as its last step):

    set -a; source ~/.cache/rest_api_acceptance/run/state.env; set +a
    BENCH_LOG=$ACC_LOG python3 tools/bench_safe_writes.py

Environment: ACC_URL, ACC_DB, ACC_ADMIN_PASSWORD (default admin), BENCH_ROUNDS
(3), BENCH_CALLS (5), BENCH_PAIRS (300), BENCH_LOG or OVERHEAD_LOG or ACC_LOG (the server's log
file; the first one set is used), BENCH_KEEP.
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

URL, DB = os.environ["ACC_URL"], os.environ["ACC_DB"]
PASSWORD = os.environ.get("ACC_ADMIN_PASSWORD", "admin")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PAIRS = int(os.environ.get("BENCH_PAIRS", "300"))
CALLS = int(os.environ.get("BENCH_CALLS", "5"))
LOG = os.environ.get("BENCH_LOG") or os.environ.get("OVERHEAD_LOG") or os.environ.get("ACC_LOG") or ""
KEEP = os.environ.get("BENCH_KEEP") == "1"
RECORDS, BATCH_SIZE = 1000, 100  # 100: rest_api.max_batch_operations' default
RUN = uuid.uuid4().hex[:8]  # every name made by this run starts with "bsw<RUN>-" (no LIKE wildcard in it)
CREATE = "/api/res.partner/create"
WAYS = ("jsonrpc-list", "batch", "singles")
# Odoo's request line: werkzeug: <client> - - [<date>] "<method> <path> HTTP/1.1" <status> - <queries> ...
WERKZEUG_RE = re.compile(
    r'werkzeug: (\S+) - - \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) - (\d+) ([\d.]+) ([\d.]+)'
)


class Failure(Exception):
    """An answer that is not the one API.md promises: the script stops with exit status 1."""


class Unsupported(Exception):
    """The server does not have the feature (yet): its figures are n/a."""


class Connection(http.client.HTTPConnection):
    """An HTTP connection that counts how often it (re)connected."""

    opened = 0

    def connect(self):
        self.opened += 1
        return super().connect()


class Client:
    """JSON over one connection; ``source`` picks the loopback address it sends from."""

    def __init__(self, key="", source=None):
        target = urlsplit(URL)
        self.key = key
        self.connection = Connection(
            target.hostname, target.port, timeout=300, source_address=(source, 0) if source else None
        )

    def send(self, method, path, body=None, headers=None):
        """(status, headers, parsed body or None)."""
        sent = {"api-key": self.key} if self.key else {}
        sent.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        self.connection.request(method, path, body=data, headers=sent)
        response = self.connection.getresponse()
        raw = response.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw[:200]
        return response.status, response.headers, parsed

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


# ------------------------------------------------------------------ part 1: 1,000 records, three ways
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
    status, _headers, answer = client.send("POST", "/jsonrpc", body)
    expect("/jsonrpc create", status, 200, answer)
    if not isinstance(answer, dict) or "error" in answer or len(answer.get("result") or ()) != len(values):
        raise Failure(f"/jsonrpc create: {str(answer)[:300]}")


def create_batch(client, values):
    for start in range(0, len(values), BATCH_SIZE):
        operations = [
            {"method": "POST", "path": CREATE, "body": vals} for vals in values[start : start + BATCH_SIZE]
        ]
        status, _headers, answer = client.send("POST", "/api/batch", {"operations": operations})
        if status == 404:
            raise Unsupported("no /api/batch on this server (404)")
        expect("POST /api/batch", status, 200, answer)
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(operations):
            raise Failure(f"POST /api/batch: {len(operations)} operations, answer {str(answer)[:300]}")
        for number, result in enumerate(results):
            expect(f"POST /api/batch operation {number}", result.get("status"), 201, result)
            if not isinstance((result.get("body") or {}).get("id"), int):
                raise Failure(f"POST /api/batch operation {number}: no id in {str(result)[:300]}")


def create_singles(client, values):
    for vals in values:
        status, _headers, answer = client.send("POST", CREATE, vals)
        expect(f"POST {CREATE}", status, 201, answer)
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), int):
            raise Failure(f"POST {CREATE}: no id in {str(answer)[:300]}")


def run_way(way, client, uid, values):
    if way == "jsonrpc-list":
        create_jsonrpc(client, uid, values)
    elif way == "batch":
        create_batch(client, values)
    else:
        create_singles(client, values)


def time_way(way, prefix, key, uid, call):
    """Seconds to create RECORDS partners named ``prefix...`` one way, and the connections it opened."""
    client = Client(key="" if way == "jsonrpc-list" else key)  # /jsonrpc: no api-key header
    values = partners(prefix, RECORDS)
    started = time.perf_counter()
    run_way(way, client, uid, values)
    spent = time.perf_counter() - started
    client.close()
    made = call("res.partner", "search_count", [("name", "=like", f"{prefix}%")])
    if made != RECORDS:
        raise Failure(f"{way}: {made} partners named {prefix}*, expected {RECORDS}")
    return spent, client.connection.opened


def part_creates(key, uid, call):
    """{way: [seconds per round]} (an empty list: the server lacks the way), {way: note}."""
    times, notes, opened = {way: [] for way in WAYS}, {}, dict.fromkeys(WAYS, 0)
    for way in WAYS:  # warm-up: both workers' caches, 20 partners per way, not timed
        prefix = f"bsw{RUN}-w{way[0]}-"
        client = Client(key="" if way == "jsonrpc-list" else key)
        try:
            for number in range(2):
                run_way(way, client, uid, partners(f"{prefix}{number}-", 10))
        except Unsupported as exc:
            notes[way] = str(exc)
        client.close()
    for round_ in range(ROUNDS):
        order = WAYS[round_ % len(WAYS) :] + WAYS[: round_ % len(WAYS)]
        for way in order:
            if way in notes:
                continue
            spent, connections = time_way(way, f"bsw{RUN}-{round_}{way[0]}-", key, uid, call)
            times[way].append(spent)
            opened[way] += connections
            print(f"  round {round_ + 1}/{ROUNDS} {way:<13} {spent:8.3f} s  {RECORDS / spent:8.0f} records/s"
                  f"  ({connections} connection{'s' if connections != 1 else ''})", flush=True)  # fmt: skip
    for way in WAYS:
        if way not in notes and ROUNDS:
            average = opened[way] / ROUNDS
            notes[way] = f"{average:.0f} connection{'s' if average >= 1.5 else ''} a run"
    return times, notes


# ------------------------------------------------------------------ part 2: SQL statements per call
_used_sources = set()


def fresh_source():
    """A loopback address not used before by this run (127.0.0.1 excluded)."""
    while True:
        source = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        if source not in _used_sources:
            _used_sources.add(source)
            return source


def logged(key, method, path, body=None, headers=None, timeout=15):
    """Send one request from an address of its own: (status, headers, body, queries, server ms)."""
    source = fresh_source()
    offset = os.path.getsize(LOG)
    client = Client(key=key, source=source)
    status, answer_headers, answer = client.send(method, path, body, headers)
    client.close()
    deadline = time.time() + timeout
    while True:
        with open(LOG, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
        for match in WERKZEUG_RE.finditer(text):
            if match.group(1) == source:
                if int(match.group(4)) != status:
                    raise Failure(f"{method} {path}: the log says {match.group(4)}, the client got {status}")
                server_ms = (float(match.group(6)) + float(match.group(7))) * 1000
                return status, answer_headers, answer, int(match.group(5)), server_ms
        if time.time() > deadline:
            raise Failure(f"{method} {path}: no request from {source} in {LOG} within {timeout} s")
        time.sleep(0.05)


def part_queries(key):
    """{call: (fewest queries, fewest server ms)}, {call: why it is n/a}."""
    samples = {name: [] for name in ("plain", "keyed", "replay", "get", "304")}
    notes, record_id, etag = {}, None, None
    for number in range(CALLS):
        vals = {"name": f"bsw{RUN}-q{number}", "ref": f"bsw{RUN}-q{number}"}
        status, _headers, answer, queries, server_ms = logged(key, "POST", CREATE, vals)
        expect(f"POST {CREATE}", status, 201, answer)
        samples["plain"].append((queries, server_ms))
        record_id = answer["id"]

        value = f"bsw{RUN}-{number}-{uuid.uuid4().hex}"
        vals = {"name": f"bsw{RUN}-k{number}", "ref": f"bsw{RUN}-k{number}"}
        idempotency = {"Idempotency-Key": value}
        status, _headers, first, queries, server_ms = logged(key, "POST", CREATE, vals, idempotency)
        expect(f"POST {CREATE} with an Idempotency-Key", status, 201, first)
        samples["keyed"].append((queries, server_ms))
        status, headers, again, queries, server_ms = logged(key, "POST", CREATE, vals, idempotency)
        expect(f"POST {CREATE} replayed", status, 201, again)
        replayed = headers.get("Idempotent-Replayed")
        if replayed is None and again.get("id") != first.get("id"):  # it created another record
            notes["keyed"] = notes["replay"] = "the server ignores Idempotency-Key (no replay)"
        elif replayed != "true" or again.get("id") != first.get("id"):
            raise Failure(
                f"a replay answered id {again.get('id')} (Idempotent-Replayed: {replayed}),"
                f" the first call id {first.get('id')}"
            )
        samples["replay"].append((queries, server_ms))

        path = f"/api/res.partner/{record_id}"
        status, headers, answer, queries, server_ms = logged(key, "GET", path)
        expect(f"GET {path}", status, 200, answer)
        etag = headers.get("ETag")
        if not etag:
            raise Failure(f"GET {path}: no ETag")
        samples["get"].append((queries, server_ms))
        status, _headers, answer, queries, server_ms = logged(
            key, "GET", path, headers={"If-None-Match": etag}
        )
        expect(f"GET {path} with If-None-Match", status, 304, answer)
        samples["304"].append((queries, server_ms))
    return {name: (min(found)[0], min(ms for _, ms in found)) for name, found in samples.items()}, notes


# ------------------------------------------------------------------ part 3: the time a key adds
def part_latency(key):
    """Client milliseconds of a create without and with a fresh Idempotency-Key,
    PAIRS interleaved pairs (the order within each pair alternates): the median
    of each, and the median of the pairs' differences."""
    plain, keyed = [], []
    for number in range(PAIRS):
        ways = [("plain", None), ("keyed", {"Idempotency-Key": f"bsw{RUN}-l{number}-{uuid.uuid4().hex}"})]
        for way, headers in ways if number % 2 else ways[::-1]:
            vals = {"name": f"bsw{RUN}-l{way}{number}", "ref": f"bsw{RUN}-l{number}"}
            client = Client(key=key)
            started = time.perf_counter()
            status, _headers, answer = client.send("POST", CREATE, vals, headers)
            elapsed = (time.perf_counter() - started) * 1000
            client.close()
            expect(f"POST {CREATE}", status, 201, answer)
            (plain if way == "plain" else keyed).append(elapsed)
    differences = [k - p for p, k in zip(plain, keyed, strict=True)]
    return statistics.median(plain), statistics.median(keyed), statistics.median(differences)


# ------------------------------------------------------------------ report
def ratio(times, slow, fast):
    if not times[slow] or not times[fast]:
        return "n/a"
    return f"{statistics.median(times[slow]) / statistics.median(times[fast]):.2f}"


QUERY_LABELS = {
    "plain": f"POST {CREATE}",
    "keyed": "  + a fresh Idempotency-Key",
    "replay": "  replayed (same key and body)",
    "get": "GET /api/res.partner/<id> (ETag)",
    "304": "  + If-None-Match: <ETag> -> 304",
}
WAY_LABELS = {
    "jsonrpc-list": f"jsonrpc-list: /jsonrpc create([{RECORDS} dicts])",
    "batch": f"batch: {RECORDS // BATCH_SIZE} x POST /api/batch of {BATCH_SIZE}",
    "singles": f"singles: {RECORDS} x POST {CREATE}",
}


def print_summary(times, way_notes, counts, count_notes, latency=None):
    print()
    print(f"summary: creating {RECORDS} res.partner, median of {ROUNDS} rounds")
    print(f"  {'way':<46} {'seconds':>8} {'records/s':>10}  note")
    for way in WAYS:
        if times[way]:
            median = statistics.median(times[way])
            print(f"  {WAY_LABELS[way]:<46} {median:8.3f} {RECORDS / median:10.0f}  {way_notes[way]}")
        else:
            print(f"  {WAY_LABELS[way]:<46} {'n/a':>8} {'n/a':>10}  {way_notes.get(way, 'not run')}")
    print("  time ratios (> 1: the left one is slower):")
    for slow, fast in (("batch", "jsonrpc-list"), ("singles", "jsonrpc-list"), ("singles", "batch")):
        print(f"    {slow}/{fast} = {ratio(times, slow, fast)}")
    if not counts:
        return
    print(
        f"SQL statements per call (fewest of {CALLS}; server ms: SQL + the rest, fastest call, from the log):"
    )
    print(f"  {'call':<46} {'queries':>8} {'server ms':>10}")
    for name, label in QUERY_LABELS.items():
        if name in count_notes:
            print(f"  {label:<46} {'n/a':>8} {'n/a':>10}  {count_notes[name]}")
        else:
            print(f"  {label:<46} {counts[name][0]:>8} {counts[name][1]:10.1f}")
    if "keyed" not in count_notes:
        print(f"  statements an Idempotency-Key adds to a create: {counts['keyed'][0] - counts['plain'][0]}")
    print(f"  statements a 304 saves against a 200 GET: {counts['get'][0] - counts['304'][0]}")
    if latency:
        plain, keyed, added = latency
        print(f"a create's client ms, median of {PAIRS} interleaved pairs: {plain:.2f} without,"
              f" {keyed:.2f} with a fresh Idempotency-Key; it adds {added:.2f} ms (median of the differences)")  # fmt: skip


def run():
    uid, call = xmlrpc_call()
    values = {"name": f"bench safe writes {RUN}", "user_id": uid, "all_models": True}
    key = call("rest.api.key", "generate", dict(values, rate_limit=0, log_requests=False))["key"]
    print(f"bench_safe_writes: {URL} db={DB} run={RUN}, {RECORDS} res.partner per run, {ROUNDS} rounds")
    counts, count_notes, latency = {}, {}, None
    try:
        print("1. creating 1,000 partners three ways")
        times, way_notes = part_creates(key, uid, call)
        if LOG and os.path.exists(LOG):
            print(f"2. SQL statements per call, fewest of {CALLS} calls, from {LOG}")
            counts, count_notes = part_queries(key)
        else:
            print("2. SQL statements per call: skipped (no server log: set BENCH_LOG or OVERHEAD_LOG"
                  f"{'; ' + LOG + ' does not exist' if LOG else ''})")  # fmt: skip
        if PAIRS:
            print(f"3. the time an Idempotency-Key adds to a create, {PAIRS} interleaved pairs")
            latency = part_latency(key)
    finally:
        if not KEEP:  # what this run made, even when it failed half-way
            ids = call("res.partner", "search", [("name", "=like", f"bsw{RUN}-%")])
            for start in range(0, len(ids), 2000):
                call("res.partner", "unlink", ids[start : start + 2000])
    print_summary(times, way_notes, counts, count_notes, latency)


def main():
    try:
        run()
    except Failure as exc:
        sys.exit(f"bench_safe_writes: FAILED: {exc}")


if __name__ == "__main__":
    main()
