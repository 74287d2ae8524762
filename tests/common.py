import dataclasses
import json
import re
import time
from unittest.mock import patch

from psycopg2.extras import execute_values

from odoo.tests import HttpCase, TransactionCase, new_test_user

from ..infra import side_store, throttle


class SameTransaction:
    """``infra.side_store``'s backend under Odoo's tests: its statements run on
    the calling request's own cursor instead of side connections, so that a
    test sees what its calls counted and logged, and rolls it back. (The e2e
    tests run the side connections themselves, against a live server.)"""

    def execute(self, env, query, params, fetch=True):
        env.cr.execute(query, params)
        return env.cr.fetchall() if fetch else None

    def start_prepared(self, env, name, args, wait=False):
        _argtypes, sql = side_store.PREPARED[name]  # the same SQL, with psycopg2's placeholders
        env.cr.execute(re.sub(r"\$(\d+)", r"%(p\1)s", sql), {f"p{i}": arg for i, arg in enumerate(args, 1)})
        return side_store.Pending(rows=env.cr.fetchall())

    def note_use(self, env, key_id):
        env.cr.execute(side_store.FLUSH_USAGE_SQL, [[key_id], [1], [time.time()]])

    def queue_log(self, env, values):
        execute_values(env.cr, side_store.INSERT_LOGS_SQL, [values], template=side_store.LOG_TEMPLATE)


class InTransaction:
    """Mixed into every test class: side statements stay in the test transaction."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(patch.object(side_store, "backend", SameTransaction()))


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
