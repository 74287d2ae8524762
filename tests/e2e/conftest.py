"""End-to-end tests against a live prefork server (tools/run_tests.py starts it).

They use only what an outside client has: HTTP, and XML-RPC as admin for
set-up, like an admin script would.
"""

import contextlib
import os
import random
import re
import select
import socket
import subprocess
import types
import uuid
import xmlrpc.client
from urllib.parse import urlsplit

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
    assert DB, "REST_API_DB is not set: run the e2e stage through tools/run_tests.py"
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


LETTERS = {"r": "perm_read", "c": "perm_create", "w": "perm_write", "d": "perm_delete", "x": "perm_execute"}


def scoped(admin, make_key, user_id=None, **scopes):
    """A key reaching only ``scopes`` ({"res.partner": "rw"}): (secret, id)."""
    lines = []
    for model, letters in scopes.items():
        model_id = admin("ir.model", "search", [("model", "=", model)])[0]
        lines.append((0, 0, {"model_id": model_id, **{LETTERS[c]: c in letters for c in LETTERS}}))
    answer = make_key(user_id=user_id, all_models=False, scope_ids=lines)
    return answer["key"], answer["id"]


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


# ---------------------------------------------------------------- raw HTTP, processes, PostgreSQL
SERVER_PID = int(os.environ.get("REST_API_PID") or 0)
PGDATA = os.environ.get("REST_API_PGDATA", "")
PGLOG = os.environ.get("REST_API_PGLOG", "")


def raw_exchange(data, timeout=30, read=True, half_close=True):
    """Send ``data`` (bytes: a whole request, a broken one, or several) on a
    fresh connection; every byte answered until the server closes it or
    ``timeout`` passes in silence."""
    parts = urlsplit(URL)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(data)
        if not read:
            return None
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)


def raw_request(data, timeout=30, read=True):
    """(status, headers dict with lower-case names, body) of the answer to ``data`` (see raw_exchange)."""
    answer = raw_exchange(data, timeout, read)
    return None if answer is None else parse_raw(answer)


def parse_raw(answer):
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    match = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    assert match, f"not an HTTP answer: {answer[:200]!r}"
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(match.group(1)), {k.lower(): v for k, v in headers.items()}, body


def raw_head(method, target, key=None, extra=(), length=None, close=True):
    """The head of a request (bytes): ``target`` may hold bytes a normal client would never send."""
    parts = urlsplit(URL)
    lines = [method.encode() + b" " + (target if isinstance(target, bytes) else target.encode()) + b" HTTP/1.1",
             f"Host: {parts.netloc}".encode()]  # fmt: skip
    if close:
        lines.append(b"Connection: close")
    if key:
        lines.append(f"api-key: {key}".encode())
    if length is not None:
        lines += [b"Content-Type: application/json", f"Content-Length: {length}".encode()]
    lines += [line if isinstance(line, bytes) else line.encode() for line in extra]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def server_rss():
    """Resident memory (bytes) of the e2e server's HTTP worker processes (not
    the gevent process, which loads the registry in its own time)."""
    import psutil  # noqa: PLC0415 - Odoo depends on it; only these tests need it

    assert SERVER_PID, "REST_API_PID is not set: run the e2e stage through tools/run_tests.py"
    workers = [p for p in psutil.Process(SERVER_PID).children() if "gevent" not in p.cmdline()]
    assert workers, f"no worker process under {SERVER_PID}"
    return sum(worker.memory_info().rss for worker in workers)


def pg_ctl(*args):
    """pg_ctl on the e2e cluster, as its owner; logs to the cluster's log file
    (without -l, a restarted server would keep our pipes open)."""
    assert PGDATA and PGLOG, "REST_API_PGDATA / REST_API_PGLOG are not set: run through tools/run_tests.py"
    command = [
        os.path.join(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"), "pg_ctl"),
        "-D",
        PGDATA,
        "-l",
        PGLOG,
        "-w",
        "-t",
        "60",
        *args,
    ]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr


def sql(statement):
    """One statement on the e2e database, as the database's own user would
    (for faults no client can cause); the first column of each row."""
    assert DB and os.environ.get("PGPORT"), "REST_API_DB / PGPORT are not set: run through tools/run_tests.py"
    done = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", DB, "-c", statement],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.split()


def send_big(head, size, chunked=False):
    """Send ``head``, then up to ``size`` bytes of body (chunked or not) until
    the server answers (it may refuse on the declared length alone); the raw answer."""
    parts = urlsplit(URL)
    block = b"x" * 65536
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        prefix = b'{"name": "'
        sock.sendall(head + (b"%x\r\n%s\r\n" % (len(prefix), prefix) if chunked else prefix))
        sent = 0
        while sent < size and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(block)
        chunks = []
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)
