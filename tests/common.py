import contextlib
import dataclasses
import json
import re
import time
from unittest.mock import patch

from psycopg2.extras import execute_values

from odoo.sql_db import Cursor
from odoo.tests import HttpCase, TransactionCase, new_test_user

from ..infra import side_store, throttle

TRY_XACT_LOCK_SQL = side_store.TRY_LOCK_SQL.replace("pg_try_advisory_lock(", "pg_try_advisory_xact_lock(")
assert TRY_XACT_LOCK_SQL != side_store.TRY_LOCK_SQL


class HeldInTransaction:
    """A lock of ``SameTransaction.try_lock``: it goes with the test transaction."""

    taken = released = 0

    def __init__(self):
        HeldInTransaction.taken += 1
        self.held = True

    def release(self):
        if self.held:
            self.held = False
            HeldInTransaction.released += 1


class SameTransaction:
    """``infra.side_store``'s backend under Odoo's tests: its statements run on
    the calling request's own cursor instead of side connections, so that a
    test sees what its calls counted and logged, and rolls it back. (The e2e
    tests run the side connections themselves, against a live server.)
    ``statements`` counts them: they are not the request transaction's own."""

    statements = 0

    def execute(self, env, query, params, fetch=True):
        SameTransaction.statements += 1
        env.cr.execute(query, params)
        return env.cr.fetchall() if fetch else None

    def start_prepared(self, env, name, args, wait=False):
        SameTransaction.statements += 1
        _argtypes, sql = side_store.PREPARED[name]  # the same SQL, with psycopg2's placeholders
        env.cr.execute(re.sub(r"\$(\d+)", r"%(p\1)s", sql), {f"p{i}": arg for i, arg in enumerate(args, 1)})
        return side_store.Pending(rows=env.cr.fetchall())

    def try_lock(self, env, name, query, params):
        # a transaction-level lock of the test transaction: one session, so always taken
        SameTransaction.statements += 1
        env.cr.execute(TRY_XACT_LOCK_SQL + query, {**params, "rest_api_lock": name})
        rows = env.cr.fetchall()
        return (HeldInTransaction() if rows and rows[0][0] else None), rows

    def note_use(self, env, key_id):
        SameTransaction.statements += 1
        env.cr.execute(side_store.FLUSH_USAGE_SQL, [[key_id], [1], [time.time()]])

    def queue_log(self, env, values):
        SameTransaction.statements += 1
        execute_values(env.cr, side_store.INSERT_LOGS_SQL, [values], template=side_store.LOG_TEMPLATE)


class InTransaction:
    """Mixed into every test class: side statements stay in the test transaction."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(patch.object(side_store, "backend", SameTransaction()))


@contextlib.contextmanager
def recorded_statements():
    """A list of the text of every statement run on any cursor while the block runs."""
    seen, execute = [], Cursor.execute

    def recording(cr, query, params=None, log_exceptions=None):
        seen.append(str(getattr(query, "code", query)))
        return execute(cr, query, params, log_exceptions)

    with patch("odoo.sql_db.Cursor.execute", recording):
        yield seen


def use_key(env, secret, ahead=False):
    """What a call does with its key before any work: find it, count it (a ``throttle.Count``), or None."""
    info = env["rest.api.key"].sudo()._find_key(secret)
    return None if info is None else throttle.count(env, info, ahead)


def with_handlers(env, handlers):
    """A patcher giving the routes named in ``handlers`` (name -> function of the
    route's own handler) another handler: the supported way, through ``_routes()``."""
    Pipeline = type(env["rest.api.pipeline"])
    table = tuple(
        dataclasses.replace(route, handler=handlers[route.name](route.handler))
        if route.name in handlers
        else route
        for route in Pipeline._routes(env["rest.api.pipeline"])
    )
    return patch.object(Pipeline, "_routes", lambda self: table)


class RestApiTransactionCase(InTransaction, TransactionCase):
    pass


class RestApiCase(InTransaction, HttpCase):
    """Calls the API through Odoo's test HTTP server, inside the test transaction."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.env.ref("base.user_admin")
        cls.limited = new_test_user(
            cls.env, login="rest_limited", groups="base.group_user,base.group_partner_manager"
        )
        cls.key = cls.make_key(cls.admin)
        cls.limited_key = cls.make_key(cls.limited)

    @classmethod
    def scope(cls, model, letters):
        """A scope line for ``make_key``'s ``scope_ids``: ``letters`` among r, c, w, d, x."""
        perms = {
            "r": "perm_read",
            "c": "perm_create",
            "w": "perm_write",
            "d": "perm_delete",
            "x": "perm_execute",
        }
        model_id = cls.env["ir.model"]._get_id(model)
        return (0, 0, {"model_id": model_id, **{perm: letter in letters for letter, perm in perms.items()}})

    @classmethod
    def make_key(cls, user, **values):
        values = dict({"name": "test key", "user_id": user.id, "all_models": True, "rate_limit": 0}, **values)
        return cls.env["rest.api.key"].generate(values)["key"]

    def call(self, method, path, key=None, params=None, body=None, headers=None, data=None):
        headers = dict(headers or {})
        if key is not False:
            headers.setdefault("api-key", key or self.key)
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        return self.opener.request(
            method, self.base_url() + path, params=params, data=data, headers=headers, timeout=30
        )

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def assertProblem(self, response, status):
        self.assertEqual(response.status_code, status, response.text[:300])
        self.assertEqual(response.headers["Content-Type"].split(";")[0], "application/problem+json")
        body = response.json()
        self.assertEqual(body["status"], status)
        self.assertEqual(body["request_id"], response.headers["X-Request-Id"])
        self.assertNotIn("Traceback", response.text)
        return body
