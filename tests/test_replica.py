"""Read replicas (API.md section 10): what runs where, and what the replica is never trusted with.

A real streaming replica is the e2e stage's (tests/e2e/test_replica_live.py);
here, the decisions: which calls only read, when the replica is too far
behind, and that the key and token checks made for a call the replica serves
see a change at once, however stale Odoo's caches are.
"""

import json
import types
from unittest.mock import patch

from odoo.tests import tagged

from ..controllers.call import Call
from ..infra import replica
from ..lib import errors, tokens
from .common import RestApiCase


class _Request:
    def __init__(self, method, path, body=b"", headers=None):
        self.method, self.path, self.body = method, path, body
        self.content_length = len(body) or None
        self.headers = headers or {}


class _Call:
    def __init__(self, *args, **kwargs):
        self.httprequest = _Request(*args, **kwargs)
        self.peeked = 0

    def peek_body(self, limit):
        self.peeked += 1
        return self.httprequest.body[:limit]


class _Cursor:
    """Answers one value per statement, and notes the statements."""

    def __init__(self, value):
        self.value, self.statements = value, []

    def execute(self, sql, params=None):
        self.statements.append(sql)

    def fetchone(self):
        return (self.value,)


@tagged("post_install", "-at_install")
class TestReplica(RestApiCase):
    def test_only_reads_run_on_a_read_only_cursor(self):
        def kw(method, **extra):
            return _Call(
                "POST", "/api/res.partner/execute_kw", json.dumps({"method": method}).encode(), **extra
            )

        for call, expected in (
            (_Call("GET", "/api/res.partner/search"), True),
            (_Call("HEAD", "/api/res.partner/3"), True),
            (_Call("POST", "/api/res.partner/create", b'{"name": "x"}'), False),
            (_Call("PUT", "/api/res.partner/3", b"{}"), False),
            (_Call("DELETE", "/api/res.partner/3"), False),
            (kw("search_read"), True),
            (kw("read_group"), True),
            (kw("write"), False),
            (kw("unlink"), False),
            (kw("action_archive"), False),  # needs more than read
            (kw("_read"), False),  # private: refused later, never on the replica
            (_Call("POST", "/api/res.partner/execute_kw", b"not json"), False),
            (kw("search_read", headers={"Transfer-Encoding": "chunked"}), False),  # no length: not read ahead
            (kw("search_read", headers={"Idempotency-Key": "k1"}), False),  # its answer is kept
            (kw("export_data"), False),  # makes the external ids it exports
        ):
            with self.subTest(method=call.httprequest.method, body=call.httprequest.body):
                self.assertIs(replica.reads_only(call), expected)
        big = _Call("POST", "/api/res.partner/execute_kw", b" " * (replica.PEEK_LIMIT + 1))
        self.assertFalse(replica.reads_only(big))
        self.assertEqual(big.peeked, 0)  # a large body is never read ahead

    def test_a_body_read_ahead_still_obeys_the_size_limit(self):
        call = Call(_Request("POST", "/api/res.partner/execute_kw", b"x" * 200))
        call._settings = {"rest_api.max_body_size": 100}
        call.body = call.httprequest.body  # what peek_body read, under its own limit
        with self.assertRaises(errors.PayloadTooLarge):
            call.raw_body()

    def test_the_replica_is_used_only_when_at_most_max_lag_behind(self):
        class Replica(_Cursor):
            def fetchone(self):
                return self.value

        def usable(replayed, age):
            return replica.usable(types.SimpleNamespace(cr=Replica((replayed, age))), max_lag=5)

        with patch.object(replica.side_store, "execute", return_value=[("0/500",)]):
            self.assertTrue(usable("0/500", 3600.0))  # caught up with a quiet primary
            self.assertTrue(usable("0/400", 0.3))  # a little behind a busy one
            self.assertFalse(usable("0/400", 6.0))  # replayed nothing for 6 s, and behind
            self.assertFalse(usable("0/400", None))  # never replayed a transaction, and behind
            self.assertTrue(usable(None, None))  # not a standby at all
        self.assertGreater(replica._lsn("1/0"), replica._lsn("0/FFFFFFFF"))

    def test_odoos_cache_signaling_is_read_on_the_primary_for_a_call_the_replica_serves(self):
        seen = []

        def wrapped(registry, cr=None):
            seen.append(type(cr).__name__)
            return registry

        registry = types.SimpleNamespace(db_name="x", in_test_mode=lambda: False)
        check = replica.check_signaling_on_primary
        with (
            patch.object(check, "wrapped", wrapped, create=True),
            patch.object(replica, "_api_request", return_value=True),
            patch.object(replica, "on_replica", return_value=True),
        ):
            check(registry, _Cursor("0/1"))
        with (
            patch.object(check, "wrapped", wrapped, create=True),
            patch.object(replica, "_api_request", return_value=False),
            patch.object(replica, "on_replica", return_value=True),
        ):
            check(registry, _Cursor("0/1"))  # Odoo's own routes: as Odoo does
        self.assertEqual(seen, ["_SideCursor", "_Cursor"])

    def test_without_a_replica_nothing_changes(self):
        self.assertFalse(replica.configured())
        self.assertFalse(replica.serves(_Call("GET", "/api/res.partner/search")))  # the primary, read/write
        self.assertFalse(replica.on_replica(types.SimpleNamespace(readonly=True)))
        registry = types.SimpleNamespace(_db_readonly=None, db_name=self.env.cr.dbname)
        replica.revive(registry)
        self.assertIsNone(registry._db_readonly)

    def test_a_replica_odoo_gave_up_on_is_tried_again(self):
        registry = types.SimpleNamespace(_db_readonly=None, db_name="rest_api_no_such_db")
        with (
            patch.object(replica, "configured", return_value=True),
            patch.object(replica.time, "monotonic", return_value=50.0),
            patch.object(replica.sql_db, "db_connect", return_value="replica pool") as connect,
        ):
            replica.revive(registry)
            self.assertIsNone(registry._db_readonly)  # not yet
            replica.time.monotonic.return_value = 50.0 + replica.REVIVE_AFTER
            replica.revive(registry)
            self.assertEqual(registry._db_readonly, "replica pool")
            connect.assert_called_once_with("rest_api_no_such_db", readonly=True)

    def test_a_fresh_key_check_sees_what_the_cache_does_not(self):
        Key = self.env["rest.api.key"]
        primary = types.SimpleNamespace(env=self.env)  # infra.replica.Primary, here on the test's cursor
        made = Key.generate({"name": "replica key", "user_id": self.admin.id, "all_models": True})
        self.assertTrue(Key._find_key(made["key"]))
        # what a primary shows and a replica's stale signaling hides: no cache is cleared
        self.env.cr.execute(
            "UPDATE rest_api_key SET active = false, write_date = now() + interval '1 second' WHERE id = %s",
            [made["id"]],
        )
        self.env.invalidate_all()  # a call's environment on the primary starts with no record cache
        self.assertTrue(Key._find_key(made["key"]))  # the kept answer
        self.assertIsNone(Key._find_key(made["key"], primary=primary))
        # the owner archived is seen too
        self.env.cr.execute(
            "UPDATE rest_api_key SET active = true, write_date = now() + interval '2 seconds' WHERE id = %s",
            [made["id"]],
        )
        self.env.invalidate_all()
        self.assertTrue(Key._find_key(made["key"], primary=primary).owner_active)
        self.env.cr.execute(
            "UPDATE res_users SET active = false, write_date = now() + interval '3 seconds'"
            " WHERE id = (SELECT user_id FROM rest_api_key WHERE id = %s)",
            [made["id"]],
        )
        self.env.invalidate_all()
        self.assertTrue(Key._find_key(made["key"]).owner_active)  # the kept answer
        self.assertFalse(Key._find_key(made["key"], primary=primary).owner_active)

    def test_a_fresh_token_check_sees_a_revocation_the_cache_does_not(self):
        Token = self.env["rest.api.token"].sudo()
        key = self.env["rest.api.key"]._find_key(self.key)
        token, _expiry, _record = Token._issue_access(self.admin, key.id, 600)
        self.assertEqual(Token._verify_access(token, key.id).user_id, self.admin.id)
        self.env.cr.execute("UPDATE rest_api_token SET revoked = true")
        self.env.invalidate_all()  # a call's environment on the primary starts with no record cache
        Token._verify_access(token, key.id)  # the kept state
        with self.assertRaises(tokens.InvalidToken):
            Token._verify_access(token, key.id, fresh=True)
