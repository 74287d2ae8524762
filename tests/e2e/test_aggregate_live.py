"""GET /api/<model>/aggregate (API.md section 10) against the live prefork server: the groups
are Odoo's own read_group's (compared with /jsonrpc), as the caller, paged, walled."""

import json

import pytest
import requests
from conftest import DB, URL, assert_problem, call, scoped, uniq

SECRET = "s3cr3t-e2e-agg"


@pytest.fixture(scope="module")
def batch(admin):
    """Partners of one ref: Belgium 1+2, France 4, none 8 (colors), created at known UTC moments."""
    ref = uniq("agg")
    be, fr = (admin("res.country", "search", [("code", "=", code)])[0] for code in ("BE", "FR"))
    values = [(be, 1), (be, 2), (fr, 4), (False, 8)]
    ids = admin("res.partner", "create", [{"name": f"{ref} {i}", "ref": ref, "country_id": country, "color": color}
                                          for i, (country, color) in enumerate(values)])  # fmt: skip
    return ref, be, fr, ids


def aggregate(key, **params):
    params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    return call("GET", "/api/res.partner/aggregate", key, params=params)


def groups(key, **params):
    response = aggregate(key, **params)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/json")
    return response


def jsonrpc_read_group(admin, domain, fields, groupby, **kwargs):
    body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"service": "object", "method": "execute_kw",
            "args": [DB, admin.uid, admin.password, "res.partner", "read_group", [domain, fields, groupby],
                     {"lazy": False, **kwargs}]}}  # fmt: skip
    answer = requests.post(URL + "/jsonrpc", json=body, timeout=60).json()
    assert "result" in answer, answer
    return answer["result"]


def test_the_groups_are_odoos_read_group(admin, make_key, batch):
    ref, be, fr, _ids = batch
    domain = [["ref", "=", ref]]
    rest = groups(
        make_key()["key"], domain=domain, groupby="country_id", aggregates="color:sum,__count"
    ).json()
    native = jsonrpc_read_group(admin, domain, ["color:sum"], ["country_id"])
    as_rest = [{"country_id": row["country_id"], "color:sum": row["color"], "__count": row["__count"]}
               for row in native]  # fmt: skip
    assert rest == as_rest
    assert [row["country_id"] and row["country_id"][0] for row in rest] == [be, fr, False]
    assert [row["color:sum"] for row in rest] == [3, 4, 8]


def test_periods_in_the_callers_time_zone(admin, make_key, batch):
    ref, *_ = batch
    key = make_key()["key"]
    today = groups(key, domain=[["ref", "=", ref]], groupby="create_date:day", context={"tz": "UTC"}).json()
    assert len(today) in (1, 2) and sum(row["__count"] for row in today) == 4  # around midnight: two days
    assert all(len(row["create_date:day"]) == 10 for row in today), today
    totals = groups(key, domain=[["ref", "=", ref]], aggregates="color:max,color:avg,create_date:min").json()
    assert totals[0]["color:max"] == 8 and totals[0]["color:avg"] == 3.75
    assert totals[0]["create_date:min"].endswith("Z")


def test_groups_are_paged_like_records(make_key, batch):
    ref, *_ = batch
    key = make_key()["key"]
    params = {"domain": [["ref", "=", ref]], "groupby": "country_id", "aggregates": "color:sum",
              "order": "color:sum desc", "limit": "2"}  # fmt: skip
    first = groups(key, **params)
    assert [row["color:sum"] for row in first.json()] == [8, 4]
    assert first.headers["X-Total-Count"] == "3"
    assert 'rel="next"' in first.headers["Link"]
    following = first.headers["Link"].split(">")[0].lstrip("<")
    second = call("GET", following, key)
    assert [row["color:sum"] for row in second.json()] == [3]
    assert 'rel="prev"' in second.headers["Link"]


def test_as_the_caller_and_within_the_keys_scopes(admin, make_key, employee, batch):
    ref, be, *_ = batch
    partners_only, _id = scoped(admin, make_key, **{"res.partner": "r"})
    with_countries, _id = scoped(admin, make_key, **{"res.partner": "r", "res.country": "r"})
    by_code = {"domain": [["ref", "=", ref]], "groupby": "country_code"}  # related: country_id.code
    assert "res.country" in assert_problem(aggregate(partners_only, **by_code), 403)["detail"]
    assert {row["country_code"]: row["__count"] for row in groups(with_countries, **by_code).json()} == {
        "BE": 2, "FR": 1, False: 1}  # fmt: skip
    # a many2one's [id, name] is what reading the field gives: no more is read
    rows = groups(partners_only, domain=[["ref", "=", ref]], groupby="country_id").json()
    assert rows[0]["country_id"][0] == be
    writer, _id = scoped(admin, make_key, **{"res.partner": "cwd"})
    assert_problem(aggregate(writer, domain=[["ref", "=", ref]]), 403)
    # the employee may not read scheduled actions at all
    employee_key = make_key(user_id=employee.id)["key"]
    assert_problem(call("GET", "/api/ir.cron/aggregate", employee_key, params={"groupby": "name"}), 403)


@pytest.mark.parametrize(
    "params",
    [
        {"groupby": f"name,{SECRET}"},
        {"groupby": "create_date"},
        {"groupby": "child_ids"},
        {"aggregates": "name:sum"},
        {"aggregates": f"color:{SECRET}"},
        {"order": f"__count {SECRET}"},
        {"domain": f'[["name", "=", "{SECRET}"], ["color", "~", 1]]'},
        {"limit": "100000"},
    ],
)
def test_bad_parameters_are_400_without_echo(make_key, params):
    body = assert_problem(aggregate(make_key()["key"], **params), 400)
    assert SECRET not in json.dumps(body)
