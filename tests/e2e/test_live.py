"""The data routes of API.md section 4 against a live `--workers=2` server."""

import json
import os
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from conftest import LOG, URL, assert_problem, call, uniq


def test_crud_round_trip(make_key, admin):
    key = make_key()["key"]
    name = uniq("e2e-partner")
    created = call("POST", "/api/res.partner/create", key, json={"name": name, "ref": name})
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert created.headers["Location"] == f"/api/res.partner/{pid}"
    assert call("GET", created.headers["Location"], key).json()["name"] == name
    assert call("PATCH", f"/api/res.partner/{pid}", key, json={"email": "e2e@example.com"}).status_code == 200
    rows = call(
        "GET",
        "/api/res.partner/search",
        key,
        params={"domain": json.dumps([["ref", "=", name]]), "fields": "email"},
    )
    assert rows.json() == [{"id": pid, "email": "e2e@example.com"}] and rows.headers["X-Total-Count"] == "1"
    assert call("DELETE", f"/api/res.partner/{pid}", key).json()["message"] == "Record deleted successfully."
    assert not admin("res.partner", "search", [("id", "=", pid)])


def test_a_full_page_s_total_follows_every_commit(make_key, admin):
    """Totals are kept per worker for an unchanged snapshot (infra/search_page.py): any
    commit, by any client, through any server, must show in the next page's total."""
    key, tag = make_key()["key"], uniq("total")
    admin("res.partner", "create", [{"name": f"{tag} {i}", "ref": tag} for i in range(3)])
    params = {"domain": json.dumps([["ref", "=", tag]]), "fields": "name", "limit": 2}

    def totals():
        return {
            call("GET", "/api/res.partner/search", key, params=params).headers["X-Total-Count"]
            for _ in range(6)
        }

    assert totals() == {"3"}  # over both workers, the second answer of each from its kept total
    admin("res.partner", "create", {"name": f"{tag} 3", "ref": tag})
    assert totals() == {"4"}
    extra = call("POST", "/api/res.partner/create", key, json={"name": f"{tag} 4", "ref": tag}).json()["id"]
    assert totals() == {"5"}
    admin("res.partner", "write", [extra], {"ref": "moved away"})
    assert totals() == {"4"}
    admin("res.partner", "write", [extra], {"active": False, "ref": tag})
    assert totals() == {"4"}


def test_every_answer_has_a_distinct_request_id(make_key):
    key = make_key()["key"]
    answers = [
        call("GET", "/api/res.country/search", key),
        call("GET", "/api/no.such.model/search", key),
        call("GET", "/api/x"),
    ]
    ids = [r.headers["X-Request-Id"] for r in answers]
    assert all(ids) and len(set(ids)) == 3


def test_archived_key_is_refused_by_every_worker(make_key, admin):
    made = make_key()
    assert call("GET", "/api/res.country/search", made["key"]).status_code == 200
    admin("rest.api.key", "write", [made["id"]], {"active": False})
    for _ in range(8):  # fresh connections: both workers answer some of them
        assert_problem(call("GET", "/api/res.country/search", made["key"]), 401)


def test_use_count_and_last_used_are_visible_to_admins(make_key, admin):
    made = make_key()
    for _ in range(3):
        assert call("GET", "/api/res.country/search", made["key"], params={"limit": 1}).status_code == 200
    deadline = time.time() + 10  # counters are written by each worker about once a second
    while True:
        record = admin("rest.api.key", "read", [made["id"]], ["use_count", "last_used"])[0]
        if record["use_count"] >= 3 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert record["use_count"] == 3 and record["last_used"]


def test_rate_limit_holds_across_workers(make_key):
    """The first calls of a new key race each other to open its first window: exactly 5 pass, every time."""
    for _ in range(4):
        key = make_key(rate_limit=5, rate_limit_period=3600)["key"]
        with ThreadPoolExecutor(max_workers=6) as pool:
            codes = list(
                pool.map(
                    lambda _, key=key: (
                        call("GET", "/api/res.country/search", key, params={"limit": 1}).status_code
                    ),
                    range(12),
                )
            )
        assert sorted(codes) == [200] * 5 + [429] * 7


def test_short_windows_never_pass_their_limit_under_concurrency(make_key):
    """16 clients on one key with 2 s windows for about 5 s: no window lets
    more than its 3 calls through, counted across both workers, also the first
    one (opened by calls racing each other) and those opened while calls of
    the previous window are still drawing; the whole ones let all 3 through."""
    key = make_key(rate_limit=3, rate_limit_period=2)["key"]
    started = time.time()
    deadline = started + 5

    def hammer(_):
        codes = []
        while time.time() < deadline:
            codes.append(call("GET", "/api/res.country/search", key, params={"limit": 1}).status_code)
        return codes

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = [code for each in pool.map(hammer, range(16)) for code in each]
    windows = (
        int(time.time() // 2) - int(started // 2) + 1
    )  # windows the test touched (same clock as the server)
    assert set(codes) <= {200, 429}, set(codes)
    assert codes.count(429) > 0
    assert 3 * (windows - 2) <= codes.count(200) <= 3 * windows, (codes.count(200), windows)


def test_limited_user_gets_403_and_never_the_value(make_key, limited_user, admin):
    key = make_key(user_id=limited_user)["key"]
    secret = admin("ir.config_parameter", "get_param", "database.secret")
    for response in (
        call("GET", "/api/ir.config_parameter/search", key),
        call(
            "POST",
            "/api/ir.config_parameter/execute_kw",
            key,
            json={"method": "get_param", "args": ["database.secret"]},
        ),
    ):
        assert_problem(response, 403)
        assert secret not in response.text


def test_unexpected_error_is_500_and_its_id_is_in_the_server_log(make_key):
    key = make_key()["key"]
    offset = os.path.getsize(LOG) if LOG and os.path.exists(LOG) else 0
    response = call(
        "POST",
        "/api/res.partner/execute_kw",
        key,
        # a business method's own failure (set(5)): not an ORM method refusing an argument
        json={"method": "address_get", "args": [[1]], "kwargs": {"adr_pref": 5}},
    )
    body = assert_problem(response, 500)
    assert "not iterable" not in response.text
    if LOG:
        time.sleep(0.5)
        with open(LOG, "rb") as handle:
            handle.seek(offset)
            assert body["request_id"].encode() in handle.read()


def test_body_over_10_mib_is_413_before_it_is_read(make_key):
    key = make_key()["key"]
    parts = urlsplit(URL)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        head = (f"POST /api/res.partner/create HTTP/1.1\r\nHost: {parts.netloc}\r\napi-key: {key}\r\n"
                "Content-Type: application/json\r\nContent-Length: 11534336\r\nConnection: close\r\n\r\n")  # fmt: skip
        sock.sendall(head.encode() + b'{"name": "')
        answer = sock.recv(65536).decode("latin-1")
    assert re.match(r"HTTP/1\.[01] 413", answer), answer[:200]
    assert "application/problem+json" in answer


def test_head_and_options(make_key):
    key = make_key()["key"]
    head = call("HEAD", "/api/res.country/search", key)
    assert head.status_code == 200 and head.headers["X-Total-Count"] and not head.content
    options = call("OPTIONS", "/api/res.country/search")
    assert options.status_code == 204 and "GET" in options.headers["Allow"]
