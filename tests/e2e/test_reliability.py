"""Under load and faults: keep working, lose nothing, leak nothing.

Against the live `--workers=2` server: many clients at once on their own
records, writers racing on one record, PostgreSQL stopped and started in
the middle of the load, and requests that break off, lie about their size
or are far too big. Each check says what a client may rely on.
"""

import json
import os
import random
import threading
import time

import pytest
import requests
from conftest import (
    URL,
    assert_problem,
    call,
    parse_raw,
    pg_ctl,
    raw_head,
    raw_request,
    send_big,
    server_rss,
    sql,
    uniq,
)

LOAD_CLIENTS = 16
LOAD_SECONDS = 60
REPORTS = os.environ.get("REST_API_REPORTS", "")
ACTIONS = ("create", "create", "read", "write", "write", "delete", "search")


class Client(threading.Thread):
    """One API client working on its own records (tagged by ``ref``) until the deadline.

    ``alive`` maps every record it created and did not delete to the last
    value it was told was written; ``bad`` collects every answer that breaks
    the contract. ``outage`` lists the statuses allowed besides success.
    """

    def __init__(self, key, deadline, outage=()):
        super().__init__(daemon=True)
        self.key, self.deadline, self.outage = key, deadline, set(outage)
        self.batch = uniq("load")
        self.rnd = random.Random(self.batch)
        self.session = requests.Session()
        self.alive, self.bad, self.statuses = {}, [], {}

    def run(self):
        while time.time() < self.deadline:
            action = self.rnd.choice(ACTIONS) if self.alive else "create"
            try:
                getattr(self, action)()
            except requests.RequestException as exc:  # a dropped connection counts against the server
                self.bad.append((action, repr(exc)[:200]))

    def _call(self, method, path, ok, **kwargs):
        response = self.session.request(
            method, URL + path, headers={"api-key": self.key}, timeout=60, **kwargs
        )
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if response.status_code == ok:
            return response
        problem = response.headers.get("Content-Type", "").startswith("application/problem+json")
        if not (response.status_code in self.outage and problem):
            self.bad.append((method, path, response.status_code, response.text[:200]))
        return None

    def create(self):
        value = uniq("v")
        response = self._call("POST", "/api/res.partner/create", 201,
                              json={"name": self.batch, "ref": self.batch, "function": value})  # fmt: skip
        if response is not None:
            self.alive[response.json()["id"]] = value

    def read(self):
        record = self.rnd.choice(list(self.alive))
        response = self._call("GET", f"/api/res.partner/{record}", 200, params={"fields": "function"})
        if response is not None and response.json()["function"] != self.alive[record]:
            self.bad.append(("stale read", record, response.json()["function"], self.alive[record]))

    def write(self):
        record, value = self.rnd.choice(list(self.alive)), uniq("v")
        if self._call("PUT", f"/api/res.partner/{record}", 200, json={"function": value}) is not None:
            self.alive[record] = value

    def delete(self):
        record = self.rnd.choice(list(self.alive))
        if self._call("DELETE", f"/api/res.partner/{record}", 200) is not None:
            del self.alive[record]

    def search(self):
        params = {"domain": json.dumps([["ref", "=", self.batch]]), "fields": "function", "limit": 80}
        response = self._call("GET", "/api/res.partner/search", 200, params=params)
        if response is not None and len(response.json()) != min(len(self.alive), 80):
            self.bad.append(("search count", len(response.json()), len(self.alive)))


class ThrottledClient(threading.Thread):
    """Searches with a key allowed ``limit`` calls an hour, until the deadline."""

    def __init__(self, key, deadline):
        super().__init__(daemon=True)
        self.key, self.deadline, self.statuses, self.bad = key, deadline, {}, []

    def run(self):
        session = requests.Session()
        while time.time() < self.deadline:
            response = session.get(URL + "/api/res.country/search", params={"limit": 1},
                                   headers={"api-key": self.key}, timeout=60)  # fmt: skip
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
            if response.status_code == 429 and not response.headers.get("Retry-After"):
                self.bad.append("429 without Retry-After")
            time.sleep(0.05)


def report(name, clients, seconds):
    """Append the statuses seen to $REST_API_REPORTS/e2e-load.txt (figures for the README)."""
    statuses = {}
    for client in clients:
        for status, count in client.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    line = f"{name}: {len(clients)} clients, {seconds} s, {sum(statuses.values())} calls, statuses {dict(sorted(statuses.items()))}"
    if REPORTS:
        with open(os.path.join(REPORTS, "e2e-load.txt"), "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def assert_nothing_lost(admin, clients):
    """Every acknowledged create is there with its last acknowledged value; nothing deleted came back."""
    for client in clients:
        rows = admin("res.partner", "search_read", [("ref", "=", client.batch)], fields=["function"],
                     context={"active_test": False})  # fmt: skip
        assert {row["id"]: row["function"] for row in rows} == client.alive, client.batch


def test_sixteen_clients_for_a_minute_lose_nothing_and_never_5xx(make_key, admin):
    key = make_key()["key"]
    throttled_keys = [make_key(rate_limit=25, rate_limit_period=3600)["key"] for _ in range(2)]
    started = time.time()
    deadline = time.time() + LOAD_SECONDS
    clients = [Client(key, deadline) for _ in range(LOAD_CLIENTS)]
    throttled = [ThrottledClient(k, deadline) for k in throttled_keys]
    for thread in clients + throttled:
        thread.start()
    for thread in clients + throttled:
        thread.join(LOAD_SECONDS + 120)

    report("load", clients + throttled, LOAD_SECONDS)
    bad = [b for c in clients + throttled for b in c.bad]
    assert not bad, f"{len(bad)} answers broke the contract, first: {bad[:5]}"
    calls = sum(sum(c.statuses.values()) for c in clients)
    assert calls > LOAD_CLIENTS * 20, f"only {calls} calls answered in {LOAD_SECONDS} s"
    # windows are whole hours of the clock (the same on every server): the run may cross into the next
    windows = int(time.time() // 3600) - int(started // 3600) + 1
    for client in throttled:
        assert set(client.statuses) == {200, 429}, client.statuses
        assert client.statuses[200] == 25 or (windows > 1 and 25 < client.statuses[200] <= 25 * windows)
    assert_nothing_lost(admin, clients)


def test_racing_writes_end_with_one_written_value_and_no_500(make_key, admin):
    key = make_key()["key"]
    record = call("POST", "/api/res.partner/create", key, json={"name": uniq("race")}).json()["id"]
    acknowledged, statuses, lock = set(), [], threading.Lock()

    def writer(n):
        session = requests.Session()
        for i in range(8):
            value = f"w{n}-{i}"
            response = session.put(URL + f"/api/res.partner/{record}", json={"function": value},
                                   headers={"api-key": key}, timeout=120)  # fmt: skip
            with lock:
                statuses.append(response.status_code)
                if response.status_code == 200:
                    acknowledged.add(value)
                elif response.status_code == 409:
                    assert_problem(response, 409)
                    assert response.headers["Retry-After"]

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert set(statuses) <= {200, 409} and len(statuses) == 64, statuses
    assert admin("res.partner", "read", [record], ["function"])[0]["function"] in acknowledged


def test_serialisation_failure_after_odoo_retries_is_409_not_500(make_key, admin):
    """A transaction that keeps failing with SQLSTATE 40001: Odoo retries it
    (about 15 s of back-off), then the client gets 409 problem+json."""
    action = admin("ir.actions.server", "create", {
        "name": uniq("always-conflicts"), "state": "code",
        "model_id": admin("ir.model", "search", [("model", "=", "res.partner")])[0],
        "code": "env.cr.execute(\"DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$\")",
    })  # fmt: skip
    response = call("POST", "/api/ir.actions.server/execute_kw", make_key()["key"],
                    json={"method": "run", "args": [[action]]})  # fmt: skip
    assert_problem(response, 409)
    assert response.headers["Retry-After"] and "40001" not in response.text


def test_postgresql_stopped_mid_load_is_503_then_recovers_without_restart(make_key, admin):
    key = make_key(log_requests=True)["key"]
    deadline = time.time() + 20
    clients = [Client(key, deadline, outage={503}) for _ in range(6)]
    for client in clients:
        client.start()
    time.sleep(4)
    pg_ctl("stop", "-m", "fast")
    try:
        time.sleep(2)
        for path in ("/api/res.partner/search", "/api/res.partner/1", "/api/nothing/here"):
            down = call("GET", path, key)
            assert_problem(down, 503)
            assert down.headers["Retry-After"]
        assert_problem(call("POST", "/api/res.partner/create", key, json={"name": "x"}), 503)
    finally:
        pg_ctl("start")
    for client in clients:
        client.join(120)

    report("outage", clients, 20)
    bad = [b for c in clients for b in c.bad]
    assert not bad, f"{len(bad)} answers broke the contract, first: {bad[:5]}"
    assert sum(c.statuses.get(503, 0) for c in clients) > 0, "the outage was not seen"
    for _ in range(3):  # fresh connections reach both workers: each has recovered
        assert call("GET", "/api/res.partner/search", key, params={"limit": 1}).status_code == 200
    assert_nothing_lost(admin, clients)


# ---------------------------------------------------------------- broken and oversized requests
def _still_serving(key):
    response = call("GET", "/api/res.country/search", key, params={"limit": 1})
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def key(make_key):
    return make_key()["key"]


def test_client_gone_mid_body_leaves_the_server_serving(key):
    for _ in range(4):  # more than the workers: each one met such a client
        raw_request(
            raw_head("POST", "/api/res.partner/create", key, length=100_000) + b'{"name": "ha', read=False
        )
    _still_serving(key)


def test_body_cut_short_is_400(key):
    status, headers, body = raw_request(
        raw_head("POST", "/api/res.partner/create", key, length=5000) + b'{"na'
    )
    assert status == 400 and headers["content-type"].startswith("application/problem+json"), body[:300]
    _still_serving(key)


def test_fifty_megabyte_bodies_are_413_and_memory_stays_flat(key):
    size = 50 * 1024 * 1024
    declared = raw_head("POST", "/api/res.partner/create", key, length=size)
    chunked = raw_head("POST", "/api/res.partner/create", key,
                       extra=["Content-Type: application/json", "Transfer-Encoding: chunked"])  # fmt: skip

    def refused(head, is_chunked):
        status, headers, body = parse_raw(send_big(head, size, is_chunked))
        assert status == 413 and headers["content-type"].startswith("application/problem+json"), body[:300]

    before = server_rss()
    for _ in range(8):  # 800 MB sent in all
        refused(declared, False)
        refused(chunked, True)
    _still_serving(key)
    growth = server_rss() - before
    # a chunked body is read up to the limit (10 MiB) before it is refused; none is ever kept whole
    assert growth < 40 * 1024 * 1024, (
        f"the workers grew by {growth / 2**20:.1f} MiB over 16 refused 50 MB bodies"
    )


def test_ten_thousand_ids_in_one_read_is_400(key):
    ids = list(range(1, 10_001))
    response = call(
        "POST", "/api/res.partner/execute_kw", key, json={"method": "read", "args": [ids, ["name"]]}
    )
    assert "at most 1000 ids" in assert_problem(response, 400)["detail"].lower()
    domain = json.dumps([["id", "in", ids]])
    response = call("GET", "/api/res.partner/record_count", key, params={"domain": domain})
    assert response.status_code in (200, 414) or assert_problem(response, 400)
    _still_serving(key)


DEEP_DOMAINS = {
    "json-lists": "[" * 10_000 + "]" * 10_000,
    "python-tuples": "(" * 10_000 + ")" * 10_000,
    "10000-nots": json.dumps(["!"] * 10_000 + [["id", "=", 1]]),
    "10000-ands": json.dumps(["&"] * 9_999 + [["id", "=", 1]] * 10_000),
}


@pytest.mark.parametrize("name", sorted(DEEP_DOMAINS))
def test_domain_nested_ten_thousand_deep_is_a_clean_answer(key, name):
    domain = DEEP_DOMAINS[name]
    response = call("GET", "/api/res.partner/record_count", key, params={"domain": domain})
    # 414: the request line is over the HTTP server's 64 KiB, refused before Odoo sees it
    assert response.status_code in (200, 400, 414), response.text[:300]
    if response.status_code == 400:
        assert_problem(response, 400)
    if name == "10000-nots":  # the same domain in a body, as an argument of execute_kw
        response = call("POST", "/api/res.partner/execute_kw", key,
                        json={"method": "search_count", "args": [json.loads(domain)]})  # fmt: skip
        assert response.status_code == 200 and response.json() == 1, response.text[:300]
    if name == "10000-ands":  # SQL nested 10,000 deep: PostgreSQL's parser gives up
        response = call("POST", "/api/res.partner/execute_kw", key,
                        json={"method": "search_count", "args": [json.loads(domain)]})  # fmt: skip
        assert "too complex" in assert_problem(response, 400)["detail"]
    _still_serving(key)


def test_body_nested_ten_thousand_deep_is_400(key):
    body = '{"name": ' + "[" * 10_000 + "]" * 10_000 + "}"
    response = call(
        "POST", "/api/res.partner/create", key, data=body, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)
    _still_serving(key)


@pytest.mark.parametrize(
    "target,extra",
    [
        (b"/api/res.partner/search?domain=\xff\xfe\xfd", []),
        (b"/api/res.partner/search?fields=\xc3\x28&order=\xe2\x82", []),
        (b"/api/res.partner/search?domain=%ff%fe", []),
        (b"/api/res.partn\xe9r/search", []),
        (b"/api/res.partner/search?context=%7B%22lang%22%3A%22%ff%22%7D", []),
    ],
    ids=["raw-query", "bad-utf8-query", "percent-encoded", "raw-path", "context"],
)
def test_non_utf8_bytes_are_a_clean_4xx(key, target, extra):
    status, headers, body = raw_request(raw_head("GET", target, key, extra=extra))
    assert 400 <= status < 500 and headers["content-type"].startswith("application/problem+json"), body[:300]
    _still_serving(key)


def test_non_utf8_header_bytes(key):
    for header in (b"api-key: \xff\xfe\x80abc", b"X-API-Key: \xc3\x28", b"Authorization: Bearer \xe2\x82"):
        status, headers, _body = raw_request(raw_head("GET", "/api/res.partner/search", extra=[header]))
        assert status == 401 and headers["content-type"].startswith("application/problem+json"), header
    status, _headers, _body = raw_request(
        raw_head("GET", "/api/res.partner/search", key, extra=[b"token: \xff\xfe"])
    )
    assert status == 401, status
    # a header the API does not read changes nothing
    status, _headers, _body = raw_request(raw_head("GET", "/api/res.country/search?limit=1", key,
                                                   extra=[b"X-Anything: \xff\xfe\x80"]))  # fmt: skip
    assert status == 200
    _still_serving(key)


def test_a_key_missing_its_counting_sequence_gets_it_back(make_key):
    """A key whose sequence is gone (a partial restore, a hand-made key) is counted all the same."""
    made = make_key(rate_limit=2, rate_limit_period=3600)
    sql(f"DROP SEQUENCE rest_api_key_hits_{int(made['id'])}")
    codes = [
        call("GET", "/api/res.country/search", made["key"], params={"limit": 1}).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    assert sql(f"SELECT to_regclass('rest_api_key_hits_{int(made['id'])}') IS NOT NULL") == ["t"]


def test_a_key_deleted_behind_the_workers_back_is_refused(make_key):
    """Deleted in the database while the workers still know it: 401, and no sequence comes back for it."""
    made = make_key(rate_limit=100, rate_limit_period=3600)
    for _ in range(6):  # both workers learn the key
        assert call("GET", "/api/res.country/search", made["key"], params={"limit": 1}).status_code == 200
    key_id = int(made["id"])
    sql(f"DELETE FROM rest_api_key WHERE id = {key_id}; DROP SEQUENCE rest_api_key_hits_{key_id}")
    for _ in range(6):
        assert_problem(call("GET", "/api/res.country/search", made["key"], params={"limit": 1}), 401)
    assert sql(f"SELECT to_regclass('rest_api_key_hits_{key_id}') IS NULL") == ["t"]
