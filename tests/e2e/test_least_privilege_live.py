"""Issue 23's attacks replayed against a live prefork server (API.md section 8): a token
user of a shared key, a REST API manager and a plain internal user over XML-RPC."""

import statistics
import time
import types
import xmlrpc.client

import pytest
from conftest import Rpc, assert_problem, call, loopback, uniq


def _group_ids(admin, *xmlids):
    ids = []
    for xmlid in xmlids:
        module, name = xmlid.split(".")
        ids += [r["res_id"] for r in admin("ir.model.data", "search_read",
                                           [("module", "=", module), ("name", "=", name)], fields=["res_id"])]  # fmt: skip
    return ids


def _user(admin, *groups):
    login = uniq("lp")
    uid = admin("res.users", "create", {"name": login, "login": login, "password": "Pw-" + login,
                                         "groups_id": [(6, 0, _group_ids(admin, *groups))]})  # fmt: skip
    return types.SimpleNamespace(id=uid, login=login, password="Pw-" + login)


@pytest.fixture(scope="module")
def shared(admin, make_key):
    """A mobile app's key (it needs a user's login token) and two of its users, logged in."""
    people = ("base.group_user", "base.group_partner_manager")
    owner, alice, bob = (_user(admin, *people) for _i in range(3))
    made = make_key(user_id=owner.id, require_user_token=True)
    tokens = {}
    for person in (alice, bob):
        answer = call(
            "POST",
            "/api/auth/login",
            made["key"],
            source=loopback(),
            json={"login": person.login, "password": person.password},
        )
        assert answer.status_code == 200, answer.text
        tokens[person.login] = answer.json()["access_token"]
    return types.SimpleNamespace(key=made["key"], key_id=made["id"], owner=owner, alice=alice, bob=bob,
                                 alice_token=tokens[alice.login], bob_token=tokens[bob.login])  # fmt: skip


def _allow_private(admin):
    admin("ir.config_parameter", "set_param", "rest_api.webhook_allow_private", "True")


def test_a_shared_keys_users_never_see_each_others_subscriptions(shared, admin):
    _allow_private(admin)
    body = {"url": "http://127.0.0.1:9/hook", "model_id": "res.partner", "events": ["create"]}
    made = call("POST", "/api/webhooks", shared.key, token=shared.alice_token, json=body)
    assert made.status_code == 201, made.text
    path = f"/api/webhooks/{made.json()['id']}"
    assert call("GET", "/api/webhooks", shared.key, token=shared.bob_token).json() == []
    assert_problem(
        call("PATCH", path, shared.key, token=shared.bob_token, json={"url": "http://127.0.0.1:9/x"}), 404
    )
    assert_problem(call("DELETE", path, shared.key, token=shared.bob_token), 404)
    assert call("GET", path, shared.key, token=shared.alice_token).status_code == 200
    stored = admin("rest.api.webhook", "read", [made.json()["id"]], ["user_id"])[0]
    assert stored["user_id"][0] == shared.alice.id  # read as Alice, not as the key's owner


def test_a_kept_answer_is_not_replayed_to_another_user(shared):
    headers = {"Idempotency-Key": uniq("idem")}
    alices = call("POST", "/api/res.partner/create", shared.key, token=shared.alice_token, headers=headers,
                  json={"name": "Alice's"})  # fmt: skip
    bobs = call("POST", "/api/res.partner/create", shared.key, token=shared.bob_token, headers=headers,
                json={"name": "Alice's"})  # fmt: skip
    assert (alices.status_code, bobs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in bobs.headers
    assert bobs.json()["id"] != alices.json()["id"]


def test_managers_and_plain_users_over_xml_rpc(admin, make_key, shared):
    _allow_private(admin)
    manager = _user(admin, "base.group_user", "rest_api.group_rest_api_manager")
    plain = _user(admin, "base.group_user")
    as_manager, as_plain = Rpc(manager.login, manager.password), Rpc(plain.login, plain.password)
    admin_key = make_key()
    hook = admin("rest.api.webhook", "create", {
        "name": uniq("admin-hook"), "key_id": admin_key["id"], "url": "http://127.0.0.1:9/hook",
        "model_id": admin("ir.model", "search", [("model", "=", "res.partner")])[0], "events": "create",
    })  # fmt: skip
    admin("res.partner", "create", {"name": uniq("event")})
    deadline = time.monotonic() + 60  # the sender makes the events from the change log after commit
    while not (event_ids := admin("rest.api.webhook.event", "search", [("webhook_id", "=", hook)])):
        assert time.monotonic() < deadline, "no webhook event made within 60 s"
        time.sleep(0.5)
    login = call(
        "POST",
        "/api/auth/login",
        admin_key["key"],
        source=loopback(),
        json={"login": "admin", "password": admin.password},
    )
    assert login.status_code == 200, login.text
    assert call(
        "POST", "/api/auth/logout", admin_key["key"], json={"refresh_token": login.json()["refresh_token"]}
    ).ok
    token_ids = admin("rest.api.token", "search", [("key_id", "=", admin_key["id"])])
    attempts = (
        (as_plain, "rest.api.webhook.event", "action_resend", [event_ids]),
        (as_manager, "rest.api.webhook.event", "action_resend", [event_ids]),
        (as_manager, "rest.api.webhook", "write", [[hook], {"url": "http://127.0.0.1:9/stolen"}]),
        (as_manager, "rest.api.webhook", "write", [[hook], {"key_id": shared.key_id}]),
        (as_manager, "rest.api.key", "action_generate_key", [[admin_key["id"]]]),
        (as_manager, "rest.api.key", "write", [[admin_key["id"]], {"rate_limit": 0}]),
        (as_manager, "rest.api.token", "write", [token_ids, {"revoked": False, "spent": False}]),
        (as_manager, "rest.api.token", "write", [token_ids, {"expiration_date": "2099-01-01 00:00:00"}]),
    )
    for rpc, model, method, args in attempts:
        with pytest.raises(xmlrpc.client.Fault) as refused:
            rpc(model, method, *args)
        assert refused.value.faultCode == 4, (method, refused.value)  # Odoo's AccessError over XML-RPC
    assert (
        as_manager("rest.api.webhook.event", "search_read", [("id", "in", event_ids)], fields=["payload"])
        == []
    )
    assert as_manager("rest.api.idempotency", "search_count", [("key_id", "=", admin_key["id"])]) == 0
    assert admin("rest.api.webhook", "read", [hook], ["url"])[0]["url"] == "http://127.0.0.1:9/hook"


def test_an_override_with_other_parameter_names_is_walked(make_key, admin):
    model_id = admin("ir.model", "search", [("model", "=", "res.users")])[0]
    key = make_key(all_models=False, scope_ids=[(0, 0, {"model_id": model_id, "perm_read": True,
                                                        "perm_write": True, "perm_create": True})])["key"]  # fmt: skip
    name = uniq("company")
    answer = call("POST", "/api/res.users/execute_kw", key,
                  json={"method": "write", "args": [[admin.uid], {"company_ids": [[0, 0, {"name": name}]]}]})  # fmt: skip
    assert_problem(answer, 403)
    assert admin("res.company", "search_count", [("name", "=", name)]) == 0


def test_a_failed_login_takes_as_long_for_an_unknown_login(make_key, employee):
    key = make_key()["key"]

    def took(login):
        started = time.perf_counter()
        answer = call(
            "POST", "/api/auth/login", key, source=loopback(), json={"login": login, "password": "wrong"}
        )
        assert_problem(answer, 401)
        return time.perf_counter() - started

    for _i in range(4):  # each worker's first failure measures the hash check
        took(uniq("nobody"))
    known = statistics.median(took(employee.login) for _i in range(5))
    unknown = statistics.median(took(uniq("nobody")) for _i in range(5))
    assert unknown > known * 0.7, (known, unknown)


def test_answers_holding_a_secret_are_never_kept(make_key, admin, employee):
    key = make_key()["key"]
    name = uniq("secret")
    body = {"method": "generate", "args": [{"name": name}]}
    first = call("POST", "/api/rest.api.key/execute_kw", key, headers={"Idempotency-Key": name}, json=body)
    assert first.status_code == 200, first.text
    assert_problem(
        call("POST", "/api/rest.api.key/execute_kw", key, headers={"Idempotency-Key": name}, json=body), 422
    )
    kept = admin("rest.api.idempotency", "search_read", [("name", "=", name)], fields=["body", "withheld"])
    assert [(row["body"], row["withheld"]) for row in kept] == [(False, True)]
    assert first.json()["key"] not in str(kept)
    # a refresh token's reuse is detected even with the same Idempotency-Key
    login = call("POST", "/api/auth/login", key, source=loopback(),
                 json={"login": employee.login, "password": employee.password})  # fmt: skip
    refresh = {"refresh_token": login.json()["refresh_token"]}
    headers = {"Idempotency-Key": uniq("refresh")}
    assert call("POST", "/api/auth/refresh", key, headers=headers, json=refresh).status_code == 200
    assert_problem(call("POST", "/api/auth/refresh", key, headers=headers, json=refresh), 401)


def test_a_login_token_mints_no_key_and_a_batch_keeps_no_secret(shared, make_key, admin):
    minted = call("POST", "/api/rest.api.key/execute_kw", shared.key, token=shared.alice_token,
                  json={"method": "generate", "args": [{"name": uniq("minted")}]})  # fmt: skip
    assert_problem(minted, 403)
    key, name = make_key()["key"], uniq("batch")
    operation = {"method": "POST", "path": "/api/rest.api.key/execute_kw",
                 "body": {"method": "generate", "args": [{"name": name}]}}  # fmt: skip
    first = call(
        "POST", "/api/batch", key, headers={"Idempotency-Key": name}, json={"operations": [operation]}
    )
    assert first.status_code == 200, first.text
    assert_problem(call("POST", "/api/batch", key, headers={"Idempotency-Key": name}, json={"operations": [operation]}),
                   422)  # fmt: skip
    kept = admin("rest.api.idempotency", "search_read", [("name", "=", name)], fields=["body", "withheld"])
    assert [(row["body"], row["withheld"]) for row in kept] == [(False, True)]
