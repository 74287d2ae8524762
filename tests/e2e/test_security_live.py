"""The security model (API.md sections 1-3) against live servers: two prefork
workers, and a second server on the same database."""

import time

import pytest
from conftest import URL, URL2, assert_problem, call, loopback


def test_rate_limit_is_shared_between_two_servers(make_key):
    if not URL2:
        pytest.fail("REST_API_URL2 is not set: tools/run_tests.py starts a second server for this test")
    key = make_key(rate_limit=6, rate_limit_period=3600)["key"]
    codes = [call("GET", "/api/res.country/search", key, base=(URL, URL2)[i % 2], params={"limit": 1}).status_code
             for i in range(12)]  # fmt: skip
    assert codes == [200] * 6 + [429] * 6


def test_tokens_live(make_key, employee, admin):
    key = make_key()["key"]
    body = call(
        "POST", "/api/auth/login", key, json={"login": employee.login, "password": employee.password}
    ).json()
    access = body["access_token"]
    created = call("POST", "/api/res.partner.category/create", key, token=access, json={"name": "x"})
    assert_problem(created, 403)  # runs as the employee, who may not create categories
    assert call("GET", "/api/res.country/search", key, token=access, base=URL2 or URL).status_code == 200
    assert call("POST", "/api/auth/logout", key, token=access).status_code == 200
    for base in filter(None, (URL, URL2)):  # revoked on one server, refused on the other at once
        assert_problem(call("GET", "/api/res.country/search", key, token=access, base=base), 401)
    refreshed = call("POST", "/api/auth/refresh", key, json={"refresh_token": body["refresh_token"]})
    assert_problem(refreshed, 401)


def test_revoking_a_token_reaches_every_worker(make_key, employee, admin):
    made = make_key(user_id=admin.uid)
    answer = call(
        "POST", "/api/generate_token", made["key"], json={"user_id": employee.id, "expiration_days": 1}
    ).json()
    token = answer["login_token"]
    assert call("GET", "/api/res.country/search", made["key"], token=token).status_code == 200
    ids = admin("rest.api.token", "search", [("key_id", "=", made["id"])])
    admin("rest.api.token", "write", ids, {"revoked": True})
    for _ in range(6):
        assert_problem(call("GET", "/api/res.country/search", made["key"], token=token), 401)


def test_failed_logins_are_throttled_per_address(make_key, employee):
    key, address = make_key()["key"], loopback()

    def attempt(password, source=address):
        return call(
            "POST",
            "/api/auth/login",
            key,
            source=source,
            json={"login": employee.login, "password": password},
        )

    # The count is per fixed 60 s window (aligned on the epoch, by PostgreSQL's clock); a failed
    # login takes about a second, so start the 11 attempts early in a window.
    if time.time() % 60 > 30:
        time.sleep(61 - time.time() % 60)
    codes = [attempt("wrong").status_code for _ in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429, codes
    assert attempt(employee.password).status_code == 429
    assert attempt(employee.password, source=loopback()).status_code == 200


def test_ip_allow_list(make_key):
    allowed = loopback()
    key = make_key(allowed_ips=f"{allowed}/32, 10.0.0.0/8")["key"]
    assert call("GET", "/api/res.country/search", key, source=allowed).status_code == 200
    assert_problem(call("GET", "/api/res.country/search", key, source=loopback()), 403)


def test_scopes_live(make_key, admin):
    country_model = admin("ir.model", "search", [("model", "=", "res.country")])[0]
    key = make_key(all_models=False, scope_ids=[(0, 0, {"model_id": country_model, "perm_read": True})])[
        "key"
    ]
    assert call("GET", "/api/res.country/search", key).status_code == 200
    assert_problem(call("GET", "/api/res.partner/search", key), 403)
    assert_problem(
        call(
            "POST",
            "/api/res.country/execute_kw",
            key,
            json={"method": "write", "args": [[1], {"code": "XX"}]},
        ),
        403,
    )
    assert (
        call(
            "POST", "/api/res.country/execute_kw", key, json={"method": "search_count", "args": [[]]}
        ).status_code
        == 200
    )


def test_call_log_records_successes_and_failures(make_key, admin):
    made = make_key(log_requests=True)
    address = loopback()
    assert call("GET", "/api/res.country/search", made["key"], source=address).status_code == 200
    assert call("GET", "/api/res.country/999999999", made["key"], source=address).status_code == 404
    rows = []
    for _ in range(20):
        rows = admin("rest.api.log", "search_read", [("key_id", "=", made["id"])], fields=["status", "address", "path",
                     "method", "model", "duration", "user_id", "request_id"])  # fmt: skip
        if len(rows) >= 2:
            break
        time.sleep(0.5)
    assert sorted(r["status"] for r in rows) == [200, 404]
    assert all(
        r["address"] == address and r["model"] == "res.country" and r["user_id"][0] == admin.uid for r in rows
    )
    assert all(r["duration"] > 0 and r["method"] == "GET" and len(r["request_id"]) == 16 for r in rows)
