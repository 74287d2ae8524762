"""End-to-end tests against a live prefork server (tools/test.sh starts it).

They use only what an outside client has: HTTP, and XML-RPC as admin for
set-up, like an admin script would.
"""

import os
import uuid
import xmlrpc.client

import pytest
import requests

URL = os.environ.get("REST_API_URL", "http://127.0.0.1:8069").rstrip("/")
DB = os.environ.get("REST_API_DB", "")
LOG = os.environ.get("REST_API_LOG", "")
ADMIN_LOGIN = os.environ.get("REST_API_ADMIN_LOGIN", "admin")
ADMIN_PASSWORD = os.environ.get("REST_API_ADMIN_PASSWORD", "admin")


class Rpc:
    def __init__(self, login, password):
        common = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/common", allow_none=True)
        self.uid = common.authenticate(DB, login, password, {})
        assert self.uid, f"XML-RPC login failed for {login}"
        self.password = password
        self.proxy = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/object", allow_none=True)

    def __call__(self, model, method, *args, **kwargs):
        return self.proxy.execute_kw(DB, self.uid, self.password, model, method, list(args), kwargs)


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def admin():
    assert DB, "REST_API_DB is not set: run the e2e stage through tools/test.sh"
    return Rpc(ADMIN_LOGIN, ADMIN_PASSWORD)


@pytest.fixture(scope="session")
def make_key(admin):
    def make(user_id=None, **values):
        values = dict(
            {"name": uniq("e2e"), "user_id": user_id or admin.uid, "all_models": True, "rate_limit": 0},
            **values,
        )
        return admin("rest.api.key", "generate", values)

    return make


@pytest.fixture(scope="session")
def limited_user(admin):
    login = uniq("limited")
    uid = admin(
        "res.users",
        "create",
        {
            "name": login,
            "login": login,
            "password": "Pw-" + login,
            "groups_id": [
                (6, 0, [admin("res.users", "read", [admin.uid], ["groups_id"])[0]["groups_id"][0]])
            ],
        },
    )
    employee = admin(
        "ir.model.data",
        "search_read",
        [("module", "=", "base"), ("name", "=", "group_user")],
        fields=["res_id"],
    )
    admin("res.users", "write", [uid], {"groups_id": [(6, 0, [employee[0]["res_id"]])]})
    return uid


def call(method, path, key=None, fresh=True, **kwargs):
    headers = dict(kwargs.pop("headers", {}))
    if key:
        headers.setdefault("api-key", key)
    session = requests.Session() if fresh else SESSION
    return session.request(method, URL + path, headers=headers, timeout=60, **kwargs)


SESSION = requests.Session()


def assert_problem(response, status):
    assert response.status_code == status, f"{response.status_code} {response.text[:300]}"
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["request_id"] == response.headers["X-Request-Id"]
    assert "Traceback" not in response.text
    return body
