"""API.md section 8 against the live prefork server: the attacks of the walls
issue, each next to the legitimate use it must not break. Set-up goes
through XML-RPC as an admin script would; calls are plain HTTP."""

import json
import time

from conftest import assert_problem, call, loopback, scoped, uniq


def execute(key, model, method, args=(), kwargs=None, token=None):
    return call("POST", f"/api/{model}/execute_kw", key, token=token,
                json={"method": method, "args": list(args), "kwargs": kwargs or {}})  # fmt: skip


def search(key, model, **params):
    params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    return call("GET", f"/api/{model}/search", key, params=params)


def test_a_key_scoped_to_partners_cannot_rewrite_itself_through_user_ids(admin, make_key):
    key, key_id = scoped(admin, make_key, **{"res.partner": "rw"})
    admin_partner = admin("res.users", "read", [admin.uid], ["partner_id"])[0]["partner_id"][0]
    attack = {"user_ids": [[1, admin.uid, {"rest_api_key_ids": [[1, key_id, {"all_models": True}]]}]]}
    assert_problem(call("PUT", f"/api/res.partner/{admin_partner}", key, json=attack), 403)
    assert_problem(execute(key, "res.partner", "write", [[admin_partner], attack]), 403)
    assert admin("rest.api.key", "read", [key_id], ["all_models"])[0]["all_models"] is False
    assert_problem(call("GET", "/api/res.users/search", key), 403)
    assert_problem(call("GET", "/api/ir.config_parameter/search", key), 403)
    # the same key writes its own model
    response = call("PUT", f"/api/res.partner/{admin_partner}", key, json={"comment": uniq("ok")})
    assert response.status_code == 200, response.text


def test_nested_commands_need_create_and_delete_on_their_model(admin, make_key):
    company = admin("res.partner", "create", {"name": uniq("walls-co"), "is_company": True})
    child = admin("res.partner", "create", {"name": uniq("walls-kid"), "parent_id": company})
    tag = uniq("walls-tag")
    writer, _id = scoped(admin, make_key, **{"res.partner": "rw"})
    path = f"/api/res.partner/{company}"
    assert_problem(call("PUT", path, writer, json={"category_id": [[0, 0, {"name": tag}]]}), 403)
    assert_problem(call("PUT", path, writer, json={"child_ids": [[0, 0, {"name": tag}]]}), 403)
    assert_problem(call("PUT", path, writer, json={"child_ids": [[2, child]]}), 403)
    assert_problem(
        execute(
            writer, "res.partner", "copy", [[company]], {"default": {"category_id": [[0, 0, {"name": tag}]]}}
        ),
        403,
    )
    assert not admin("res.partner.category", "search", [("name", "=", tag)])
    assert not admin("res.partner", "search", [("name", "=", tag)])
    assert admin("res.partner", "read", [child], ["parent_id"])[0]["parent_id"][0] == company
    full, _id = scoped(admin, make_key, **{"res.partner": "rwd", "res.partner.category": "rc"})
    response = call(
        "PUT", path, full, json={"category_id": [[0, 0, {"name": tag}]], "child_ids": [[2, child]]}
    )
    assert response.status_code == 200, response.text
    assert admin("res.partner.category", "search", [("name", "=", tag)])
    assert not admin("res.partner", "search", [("id", "=", child)])


def test_a_record_with_its_lines_needs_create_on_both(admin, make_key):
    code = next(  # a code no country has yet (codes are unique)
        c
        for c in (uniq("Z")[-2:].upper() for _ in range(100))
        if not admin("res.country", "search", [("code", "=", c)])
    )
    body = {"name": uniq("Wallsland"), "code": code, "state_ids": [[0, 0, {"name": "North", "code": "N"}]]}
    only_country, _id = scoped(admin, make_key, **{"res.country": "c"})
    assert_problem(call("POST", "/api/res.country/create", only_country, json=body), 403)
    both, _id = scoped(admin, make_key, **{"res.country": "c", "res.country.state": "c"})
    response = call("POST", "/api/res.country/create", both, json=body)
    assert response.status_code == 201, response.text
    states = admin(
        "res.country.state", "search_read", [("country_id", "=", response.json()["id"])], fields=["code"]
    )
    assert [s["code"] for s in states] == ["N"]


def test_reads_through_relations_are_walled(admin, make_key):
    tag = uniq("walls-vip")
    partner = admin(
        "res.partner", "create", {"name": uniq("walls-p"), "category_id": [(0, 0, {"name": tag})]}
    )
    reader, _id = scoped(admin, make_key, **{"res.partner": "r"})
    oracle = [["user_ids.login", "=", "admin"]]
    assert_problem(search(reader, "res.partner", domain=oracle), 403)
    assert_problem(search(reader, "res.partner", domain=[["category_id.name", "=", tag]]), 403)
    assert_problem(execute(reader, "res.partner", "web_read", [[partner]],
                           {"specification": {"category_id": {"fields": {"name": {}}}}}), 403)  # fmt: skip
    assert_problem(execute(reader, "res.partner", "search_count", [oracle]), 403)
    # with read on the tags too, filtering partners by tag name works
    both, _id = scoped(admin, make_key, **{"res.partner": "r", "res.partner.category": "r"})
    rows = search(both, "res.partner", domain=[["category_id.name", "=", tag]], fields="name")
    assert rows.status_code == 200, rows.text
    assert [r["id"] for r in rows.json()] == [partner]


def test_a_login_token_cannot_mint_tokens_and_managers_cannot_reach_above_themselves(
    admin, make_key, employee
):
    manager_group = admin("ir.model.data", "search_read", [("module", "=", "rest_api"),
                          ("name", "=", "group_rest_api_manager")], fields=["res_id"])[0]["res_id"]  # fmt: skip
    login = uniq("walls-mgr")
    manager = admin("res.users", "create", {"name": login, "login": login, "password": "Pw-" + login,
                                            "groups_id": [(4, manager_group)]})  # fmt: skip
    key = make_key(user_id=manager)["key"]
    minted = call("POST", "/api/generate_token", key, json={"user_id": admin.uid, "expiration_days": 3650})
    assert_problem(minted, 403)
    issued = call("POST", "/api/generate_token", key, json={"user_id": employee.id})
    assert issued.status_code == 200, issued.text
    token = issued.json()["login_token"]
    assert call("GET", "/api/res.country/search", key, token=token, params={"limit": 1}).status_code == 200
    again = call(
        "POST",
        "/api/generate_token",
        key,
        token=token,
        json={"user_id": employee.id, "expiration_days": 3650},
    )
    assert_problem(again, 403)
    assert "login_token" not in again.text


def test_refused_addresses_do_not_use_up_the_limit(make_key, admin):
    good, bad = loopback(), loopback()
    answer = make_key(rate_limit=3, rate_limit_period=3600, allowed_ips=f"{good}/32")
    left = 3600 - time.time() % 3600
    if left < 20:  # windows are aligned on the period: do not straddle two
        time.sleep(left + 1)
    for _ in range(6):
        assert_problem(
            call("GET", "/api/res.country/search", answer["key"], source=bad, params={"limit": 1}), 403
        )
    for _ in range(3):
        response = call("GET", "/api/res.country/search", answer["key"], source=good, params={"limit": 1})
        assert response.status_code == 200, response.text
    assert_problem(
        call("GET", "/api/res.country/search", answer["key"], source=good, params={"limit": 1}), 429
    )


def test_execute_kw_caps_filters_context_and_explains_malformed_arguments(make_key, admin):
    key = make_key()["key"]
    maximum = int(admin("ir.config_parameter", "get_param", "rest_api.max_page_size") or 1000)
    rows = execute(key, "res.country", "search_read", [[]], {"fields": ["code"]})
    assert rows.status_code == 200 and len(rows.json()) == min(
        maximum, admin("res.country", "search_count", [])
    )
    assert_problem(execute(key, "res.partner", "search", [[]], {"context": {"tracking_disable": True}}), 400)
    for method, args in (("search", [[["bogus", "=", 1]]]), ("read", [[1], ["bogus"]]),
                         ("read_group", [[], ["__count"], ["bogus"]])):  # fmt: skip
        body = assert_problem(execute(key, "res.country", method, args), 400)
        assert "bogus" in body["detail"]
