"""Hostile input, per route, with the status each one must get.

Injection in domain, order, fields, model name and context; header
smuggling; oversized and malformed JSON; type confusion in values. Every
row is one request against the live server; afterwards the database is
unchanged where the row says so, and no answer is a 5xx or leaks a
traceback.
"""

import json

import pytest
from conftest import assert_problem, call, parse_raw, raw_exchange, raw_head, raw_request, uniq

INJECTION = "x'); DROP TABLE res_partner; --"
SEARCH = "/api/res.partner/search"


def _q(**params):
    return {"params": {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}}


# (id, method, path, request kwargs, expected status). "{rec}" is a partner of the test.
CASES = [
    # ------------------------------------------------ domain
    ("domain-value-sql", "GET", SEARCH, _q(domain=[["name", "=", INJECTION]]), 200),
    ("domain-like-sql", "GET", SEARCH, _q(domain=[["name", "=like", "%' OR 1=1 --"]]), 200),
    ("domain-field-sql", "GET", SEARCH, _q(domain=[["name; DROP TABLE res_partner", "=", "x"]]), 400),
    ("domain-operator-sql", "GET", SEARCH, _q(domain=[["name", "= ANY(SELECT 1) --", "x"]]), 400),
    ("domain-subselect-value", "GET", SEARCH, _q(domain=[["id", "in", "(SELECT id FROM res_users)"]]), 400),
    ("domain-python-code", "GET", SEARCH, _q(domain="__import__('os').system('id')"), 400),
    ("domain-lambda", "GET", SEARCH, _q(domain="[(lambda: 1)()]"), 400),
    ("domain-dunder-path", "GET", SEARCH, _q(domain=[["__class__", "=", 1]]), 400),
    ("domain-path-sql", "GET", SEARCH, _q(domain=[["parent_id.name) OR (1=1", "=", "x"]]), 400),
    ("domain-count-sql", "GET", "/api/res.partner/record_count", _q(domain=[["name", "ilike", INJECTION]]), 200),
    # ------------------------------------------------ order
    ("order-statement", "GET", SEARCH, _q(order="name; DROP TABLE res_partner"), 400),
    ("order-subselect", "GET", SEARCH, _q(order="(SELECT 1)"), 400),
    ("order-case", "GET", SEARCH, _q(order="CASE WHEN 1=1 THEN name END"), 400),
    ("order-comment", "GET", SEARCH, _q(order="name -- "), 400),
    ("order-function", "GET", SEARCH, _q(order="pg_sleep(5)"), 400),
    ("order-quoted", "GET", SEARCH, _q(order='"name" desc'), 400),
    # ------------------------------------------------ fields
    ("fields-subselect", "GET", SEARCH, _q(fields="name,(select password from res_users)"), 400),
    ("fields-sql-list", "GET", SEARCH, _q(fields=["name", "id); DROP TABLE res_partner; --"]), 400),
    ("fields-dunder", "GET", SEARCH, _q(fields="__class__"), 400),
    ("fields-python", "GET", SEARCH, _q(fields="__import__('os')"), 400),
    ("fields-on-read", "GET", "/api/res.partner/{rec}", _q(fields="name;select 1"), 400),
    ("fields-nested-subselect", "GET", SEARCH, _q(fields="child_ids{name,(select password from res_users)}"), 400),
    ("fields-nested-sql-name", "GET", SEARCH, _q(fields={"child_ids": {"fields": {"id); DROP TABLE x; --": {}}}}), 400),
    ("fields-nested-context", "GET", SEARCH,
     _q(fields={"user_ids": {"fields": {"login": {}}, "context": {"active_test": False}}}), 400),
    ("fields-nested-deep", "GET", SEARCH, _q(fields="child_ids{" * 2000 + "name" + "}" * 2000), 400),
    ("fields-nested-on-read", "GET", "/api/res.partner/{rec}", _q(fields="parent_id{__class__}"), 400),
    # ------------------------------------------------ model name
    ("model-statement", "GET", "/api/res.partner;DROP TABLE res_partner/search", {}, 404),
    ("model-quote", "GET", "/api/res.partner'--/search", {}, 404),
    ("model-upper", "GET", "/api/RES.PARTNER/search", {}, 404),
    ("model-abstract", "GET", "/api/base/search", {}, 404),
    ("model-nul", "GET", "/api/res.partner%00/search", {}, 404),
    ("model-traversal", "GET", "/api/res.partner/..%2f..%2fres.users/search", {}, 404),
    ("model-transient-sql", "POST", "/api/res.partner;x/create", {"json": {"name": "x"}}, 404),
    ("model-execute-private", "POST", "/api/res.partner/execute_kw", {"json": {"method": "_read", "args": []}}, 403),
    ("model-execute-dunder", "POST", "/api/res.partner/execute_kw",
     {"json": {"method": "__init__", "args": []}}, 403),
    ("model-execute-sudo", "POST", "/api/res.partner/execute_kw", {"json": {"method": "sudo", "args": []}}, 403),
    # ------------------------------------------------ context
    ("context-lang-sql", "GET", SEARCH, _q(context={"lang": "en_US'; DROP TABLE x; --"}), 400),
    ("context-uid", "GET", SEARCH, _q(context={"uid": 1}), 400),
    ("context-su", "GET", SEARCH, _q(context={"active_test": False, "su": True}), 400),
    ("context-tz-path", "GET", SEARCH, _q(context={"tz": "../../etc/passwd"}), 400),
    ("context-active-test-string", "GET", SEARCH, _q(context={"active_test": "no"}), 400),
    ("context-companies-sql", "GET", SEARCH, _q(context={"allowed_company_ids": ["1) OR (1=1"]}), 400),
    ("context-python", "GET", SEARCH, _q(context="{'lang': __import__('os').getcwd()}"), 400),
    ("context-kwargs-string", "POST", "/api/res.partner/execute_kw",
     {"json": {"method": "search", "args": [[]], "kwargs": {"context": "x"}}}, 400),
    # ------------------------------------------------ malformed and oversized JSON
    ("json-truncated", "POST", "/api/res.partner/create", {"data": '{"name": "x"'}, 400),
    ("json-nan", "POST", "/api/res.partner/create", {"data": '{"name": NaN}'}, 400),
    ("json-infinity", "POST", "/api/res.partner/create", {"data": '{"color": 1e999}'}, 400),
    ("json-deep", "POST", "/api/res.partner/create", {"data": "[" * 100_000 + "]" * 100_000}, 400),
    ("json-lone-surrogate", "POST", "/api/res.partner/create", {"data": '{"name": "\\ud800"}'}, 400),
    ("json-nul-in-string", "POST", "/api/res.partner/create", {"data": '{"name": "a\\u0000b"}'}, 400),
    ("json-utf16", "POST", "/api/res.partner/create", {"data": '{"name": "x"}'.encode("utf-16")}, 400),
    ("json-latin1", "POST", "/api/res.partner/create", {"data": '{"name": "caf\xe9"}'.encode("latin-1")}, 400),
    ("json-scalar-body", "POST", "/api/res.partner/create", {"json": 42}, 400),
    ("json-array-on-update", "PUT", "/api/res.partner/{rec}", {"json": [{"name": "x"}]}, 400),
    ("json-huge-number", "POST", "/api/res.partner/create", {"data": '{"color": ' + "9" * 5000 + "}"}, 400),
    ("json-many-keys", "POST", "/api/res.partner/create",
     {"json": {f"f{i}": i for i in range(50_000)}}, 400),
    ("json-over-limit", "POST", "/api/res.partner/create", {"data": '{"name": "' + "x" * 10_485_760 + '"}'}, 413),
    ("json-execute-args-object", "POST", "/api/res.partner/execute_kw",
     {"json": {"method": "search", "args": {"a": 1}}}, 400),
    # ------------------------------------------------ type confusion in values
    ("type-char-list", "POST", "/api/res.partner/create", {"json": {"name": ["a"]}}, 400),
    ("type-char-object", "POST", "/api/res.partner/create", {"json": {"name": {"a": 1}}}, 400),
    ("type-bool-string", "POST", "/api/res.partner/create", {"json": {"name": "x", "is_company": "yes"}}, 400),
    ("type-int-float", "POST", "/api/res.partner/create", {"json": {"name": "x", "color": 1.5}}, 400),
    ("type-int-huge", "POST", "/api/res.partner/create", {"json": {"name": "x", "color": 2**70}}, 400),
    ("type-int-bool", "POST", "/api/res.partner/create", {"json": {"name": "x", "color": True}}, 400),
    ("type-m2o-string", "POST", "/api/res.partner/create", {"json": {"name": "x", "parent_id": "1"}}, 400),
    ("type-m2o-negative", "POST", "/api/res.partner/create", {"json": {"name": "x", "parent_id": -1}}, 400),
    ("type-m2m-bad-command", "POST", "/api/res.partner/create",
     {"json": {"name": "x", "category_id": [[99, 0, 0]]}}, 400),
    ("type-m2m-bad-ids", "POST", "/api/res.partner/create",
     {"json": {"name": "x", "category_id": [[6, 0, ["a"]]]}}, 400),
    ("type-date-int", "POST", "/api/res.partner/create", {"json": {"name": "x", "date": 20240101}}, 400),
    ("type-date-sql", "PUT", "/api/res.partner/{rec}", {"json": {"date": "2024-01-01'; --"}}, 400),
    ("type-selection-unknown", "PUT", "/api/res.partner/{rec}", {"json": {"type": "'; DROP TABLE x"}}, 400),
    ("type-readonly-id", "PUT", "/api/res.partner/{rec}", {"json": {"id": 1}}, 400),
    ("type-unknown-field", "PUT", "/api/res.partner/{rec}", {"json": {"name); DROP TABLE x": 1}}, 400),
    ("type-read-ids-strings", "POST", "/api/res.partner/execute_kw", {"json": {"method": "read", "args": [["1"]]}}, 400),
    ("type-read-ids-bools", "POST", "/api/res.partner/execute_kw", {"json": {"method": "read", "args": [[True]]}}, 400),
    ("type-search-limit-string", "POST", "/api/res.partner/execute_kw",
     {"json": {"method": "search", "args": [[]], "kwargs": {"limit": "x"}}}, 400),
    ("type-search-order-sql", "POST", "/api/res.partner/execute_kw",
     {"json": {"method": "search", "args": [[]], "kwargs": {"order": "name; DROP TABLE x"}}}, 422),  # Odoo's UserError
    ("type-limit-float", "GET", SEARCH, _q(limit="1.5"), 400),
    ("type-offset-huge", "GET", SEARCH, _q(offset="9" * 30), 400),
    ("type-id-overflow", "GET", "/api/res.partner/99999999999", {}, 404),
]  # fmt: skip


@pytest.fixture(scope="module")
def victim(make_key, admin):
    key = make_key()["key"]
    name = uniq("victim")
    record = admin("res.partner", "create", {"name": name})
    return key, record, name


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_input(victim, admin, case):
    key, record, name = victim
    _id, method, path, kwargs, expected = case
    kwargs = dict(kwargs)
    if "data" in kwargs:
        kwargs["headers"] = {"Content-Type": "application/json"}
    partners = admin("res.partner", "search_count", [], context={"active_test": False})
    response = call(method, path.format(rec=record), key, **kwargs)
    assert response.status_code == expected, f"{response.status_code} {response.text[:300]}"
    if expected >= 400:
        assert_problem(response, expected)
    assert "Traceback" not in response.text and "/odoo/" not in response.text
    if method != "GET" and expected >= 400:  # a refused call wrote nothing
        assert admin("res.partner", "search_count", [], context={"active_test": False}) == partners
        assert admin("res.partner", "read", [record], ["name"])[0]["name"] == name


# ---------------------------------------------------------------- header smuggling
SMUGGLED = b"GET /api/res.partner/search HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize(
    "extra,body",
    [
        ([b"Content-Length: 4", b"Transfer-Encoding: chunked"], b"0\r\n\r\n" + SMUGGLED),
        ([b"Transfer-Encoding: chunked", b"Content-Length: 60"], b"0\r\n\r\n" + SMUGGLED),
        ([b"Content-Length: 2", b"Content-Length: 60"], b"{}" + SMUGGLED),
        ([b"Transfer-Encoding: xchunked", b"Content-Length: 2"], b"{}" + SMUGGLED),
    ],
    ids=["cl-then-te", "te-then-cl", "two-lengths", "unknown-coding"],
)
def test_ambiguous_framing_is_400_and_the_connection_is_closed(victim, extra, body):
    """RFC 9112 section 6.3: a request framed two ways is refused and its
    connection closed, so that the bytes after it are never read as a request."""
    key, _record, _name = victim
    head = raw_head("POST", "/api/res.partner/create", key, close=False,
                    extra=[b"Content-Type: application/json", *extra])  # fmt: skip
    answer = raw_exchange(head + body, timeout=5, half_close=False)
    status, headers, _body = parse_raw(answer)
    assert status == 400 and headers["content-type"].startswith("application/problem+json"), answer[:300]
    assert answer.count(b"HTTP/1.") == 1, f"the bytes after the request were answered: {answer[:600]!r}"


def test_malformed_chunk_is_400(victim):
    key, _record, _name = victim
    head = raw_head("POST", "/api/res.partner/create", key,
                    extra=[b"Content-Type: application/json", b"Transfer-Encoding: chunked"])  # fmt: skip
    status, headers, body = raw_request(head + b"zz\r\n{}\r\n0\r\n\r\n")
    assert status == 400 and headers["content-type"].startswith("application/problem+json"), body[:300]


def test_crlf_in_parameters_is_not_reflected_into_headers(victim):
    key, _record, _name = victim
    response = call("GET", SEARCH, key, params={"fields": "name\r\nSet-Cookie: pwned=1"})
    assert_problem(response, 400)
    assert "pwned" not in str(response.headers)


def test_the_server_is_still_serving_after_the_table(victim):
    key, record, name = victim
    response = call("GET", f"/api/res.partner/{record}", key, params={"fields": "name"})
    assert response.json()["name"] == name
