"""End-to-end tests against a live prefork server (tools/test.sh starts it).

They use only what an outside client has: HTTP, and XML-RPC as admin for
set-up, like an admin script would.
"""

import os
import random
import types
import uuid
import xmlrpc.client

import pytest
import requests
from requests.adapters import HTTPAdapter

URL = os.environ.get("REST_API_URL", "http://127.0.0.1:8069").rstrip("/")
URL2 = os.environ.get("REST_API_URL2", "").rstrip("/")
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
def employee(admin):
    """An internal user with no extra rights: (id, login, password)."""
    login = uniq("employee")
    group = admin(
        "ir.model.data",
        "search_read",
        [("module", "=", "base"), ("name", "=", "group_user")],
        fields=["res_id"],
    )
    uid = admin("res.users", "create", {"name": login, "login": login, "password": "Pw-" + login,
                                         "groups_id": [(6, 0, [group[0]["res_id"]])]})  # fmt: skip
    return types.SimpleNamespace(id=uid, login=login, password="Pw-" + login)


@pytest.fixture(scope="session")
def limited_user(employee):
    return employee.id


class _FromAddress(HTTPAdapter):
    """Sends from a chosen loopback address, to exercise per-address rules from one machine."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def call(method, path, key=None, fresh=True, base=None, source=None, token=None, **kwargs):
    headers = dict(kwargs.pop("headers", {}))
    if key:
        headers.setdefault("api-key", key)
    if token:
        headers.setdefault("token", token)
    session = requests.Session() if fresh or source else SESSION
    if source:
        session.mount("http://", _FromAddress(source))
    return session.request(method, (base or URL) + path, headers=headers, timeout=60, **kwargs)


def loopback():
    """A random loopback address other than 127.0.0.1."""
    return "127.%d.%d.%d" % (random.randint(1, 254), random.randint(0, 255), random.randint(1, 254))


SESSION = requests.Session()


def assert_problem(response, status):
    assert response.status_code == status, f"{response.status_code} {response.text[:300]}"
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["request_id"] == response.headers["X-Request-Id"]
    assert "Traceback" not in response.text
    return body
