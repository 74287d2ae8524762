"""API.md section 10, nested reads, against the live prefork server: ``fields`` as a
web_read specification on search and by id, its ETag, its walls, its depth, and
the SQL statements it costs (from the server's request log)."""

import json
import os
import re
import time

import pytest
from conftest import LOG, assert_problem, call, loopback, uniq

# Odoo's request line: werkzeug: <client> - - [<date>] "<method> <path> HTTP/1.x" <status> - <queries> ...
REQUEST_LINE = re.compile(r'werkzeug: (\S+) - - \[[^\]]*\] "GET \S+ [^"]*" (\d{3}) - (\d+) ')


@pytest.fixture(scope="module")
def family(admin):
    """A company with two contacts, each with a country: ids and names."""
    be = admin("res.country", "search", [("code", "=", "BE")])[0]
    fr = admin("res.country", "search", [("code", "=", "FR")])[0]
    name = uniq("nested-co")
    company = admin("res.partner", "create", {"name": name, "is_company": True, "country_id": be})
    jane = admin("res.partner", "create", {"name": "Jane " + name, "parent_id": company, "country_id": fr,
                                           "type": "invoice"})  # fmt: skip
    bob = admin("res.partner", "create", {"name": "Bob " + name, "parent_id": company, "type": "contact"})
    yield {"company": company, "jane": jane, "bob": bob, "be": be, "fr": fr, "name": name}
    admin("res.partner", "unlink", [jane, bob, company])


def by_name(name):
    return json.dumps([["name", "=", name]])


def test_search_and_read_expand_relations(make_key, family):
    key = make_key()["key"]
    fields = "name,country_id,child_ids{name,country_id{code},parent_id}"
    found = call(
        "GET", "/api/res.partner/search", key, params={"domain": by_name(family["name"]), "fields": fields}
    )
    assert found.status_code == 200, found.text
    (company,) = found.json()
    assert company["country_id"][0] == family["be"]  # not expanded: [id, name] as a plain read
    lines = {line["id"]: line for line in company["child_ids"]}
    assert lines[family["jane"]]["country_id"] == {"id": family["fr"], "code": "FR"}
    assert lines[family["bob"]]["country_id"] == {"id": family["be"], "code": "BE"}
    assert lines[family["bob"]]["parent_id"] == [family["company"], family["name"]]
    spec = {"name": {}, "parent_id": {"fields": {"name": {}, "country_id": {"fields": {"code": {}}}}}}
    read = call("GET", f"/api/res.partner/{family['jane']}", key, params={"fields": json.dumps(spec)})
    assert read.json() == {"id": family["jane"], "name": "Jane " + family["name"],
                           "parent_id": {"id": family["company"], "name": family["name"],
                                         "country_id": {"id": family["be"], "code": "BE"}}}  # fmt: skip


def test_an_expanded_read_is_cached_until_a_line_changes(admin, make_key, family):
    key = make_key()["key"]
    path, params = f"/api/res.partner/{family['company']}", {"fields": "name,child_ids{name}"}
    first = call("GET", path, key, params=params)
    tag = first.headers["ETag"]
    assert tag.startswith('W/"')
    cached = call("GET", path, key, params=params, headers={"If-None-Match": tag})
    assert (cached.status_code, cached.content) == (304, b"")
    admin("res.partner", "write", [family["bob"]], {"name": "Robert " + family["name"]})
    fresh = call("GET", path, key, params=params, headers={"If-None-Match": tag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != tag and "Robert" in fresh.text


def test_scopes_hold_on_every_expanded_model(admin, make_key, family):
    partner, country = (
        admin("ir.model", "search", [("model", "=", m)])[0] for m in ("res.partner", "res.country")
    )
    key = make_key(all_models=False, scope_ids=[(0, 0, {"model_id": partner, "perm_read": True})])["key"]
    params = {"domain": by_name(family["name"])}
    ok = call(
        "GET", "/api/res.partner/search", key, params=dict(params, fields="name,child_ids{name,country_id}")
    )
    assert ok.status_code == 200, ok.text
    for fields in ("country_id{name}", "child_ids{country_id{code}}"):
        body = assert_problem(
            call("GET", "/api/res.partner/search", key, params=dict(params, fields=fields)), 403
        )
        assert "res.country" in body["detail"]
    both = make_key(
        all_models=False, scope_ids=[(0, 0, {"model_id": m, "perm_read": True}) for m in (partner, country)]
    )
    assert call(
        "GET", "/api/res.partner/search", both["key"], params=dict(params, fields="country_id{name}")
    ).ok


def test_depth_and_malformed_specifications_are_400(make_key):
    key = make_key()["key"]
    for fields, said in (
        ("child_ids{parent_id{country_id{currency_id{name}}}}", "at most 3 levels"),
        ("child_ids{name", "not closed"),
        ("name{id}", "char field"),
    ):
        body = assert_problem(call("GET", "/api/res.partner/search", key, params={"fields": fields}), 400)
        assert said in body["detail"]


def _statements(key, params):
    """(records, SQL statements) of one search, from the server's log line of a request
    sent from an address of its own."""
    source, offset = loopback(), os.path.getsize(LOG)
    response = call("GET", "/api/res.partner/search", key, source=source, params=params)
    assert response.status_code == 200, response.text
    deadline = time.time() + 15
    while time.time() < deadline:
        with open(LOG, "rb") as handle:
            handle.seek(offset)
            for match in REQUEST_LINE.finditer(handle.read().decode("utf-8", "replace")):
                if match.group(1) == source:
                    return len(response.json()), int(match.group(3))
        time.sleep(0.1)
    raise AssertionError(f"no request line from {source} in {LOG}")


def test_eighty_companies_with_contacts_cost_the_statements_of_eight(admin, make_key):
    assert LOG and os.path.exists(LOG), "REST_API_LOG (the server's log) is needed to count statements"
    ref = uniq("nested-cost")
    countries = admin("res.country", "search", [], limit=80)
    companies = admin("res.partner", "create", [
        {"name": f"{ref} {i:02}", "is_company": True, "ref": f"{ref}-{'a' if i < 8 else 'b'}",
         "country_id": countries[i]} for i in range(80)])  # fmt: skip
    contacts = admin(
        "res.partner",
        "create",
        [{"name": f"contact {n}", "parent_id": c} for c in companies for n in range(3)],
    )
    try:
        key = make_key()["key"]
        fields = "name,country_id{name,code},child_ids{name,country_id{name},parent_id}"
        params = {"fields": fields, "limit": 100, "order": "id"}
        few = dict(params, domain=json.dumps([["ref", "=", f"{ref}-a"]]))
        many = dict(params, domain=json.dumps([["ref", "in", [f"{ref}-a", f"{ref}-b"]]]))
        for _ in range(4):  # the caches of every worker warmed
            _statements(key, few), _statements(key, many)
        eight = min(_statements(key, few) for _ in range(3))
        eighty = min(_statements(key, many) for _ in range(3))
        assert (eight[0], eighty[0]) == (8, 80)
        assert eighty[1] == eight[1], f"8 records: {eight[1]} statements, 80 records: {eighty[1]}"
    finally:
        admin("res.partner", "unlink", contacts + companies)
