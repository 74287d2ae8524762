from odoo.exceptions import ValidationError
from odoo.tests import tagged

from ..infra import side_store
from ..infra.throttle import hits_sequence
from ..lib import keys
from .common import RestApiTransactionCase, use_key


@tagged("post_install", "-at_install")
class TestKeyModel(RestApiTransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Key = cls.env["rest.api.key"]
        cls.result = cls.Key.generate({"name": "model test", "user_id": cls.env.ref("base.user_admin").id})
        cls.record = cls.Key.browse(cls.result["id"])

    def _stored_hash(self):
        self.env.cr.execute("SELECT key_hash FROM rest_api_key WHERE id = %s", [self.record.id])
        return self.env.cr.fetchone()[0]

    def test_generate_returns_the_plaintext_once_and_stores_a_digest(self):
        secret = self.result["key"]
        self.assertTrue(keys.looks_like_key(secret))
        self.assertEqual(self._stored_hash(), keys.hash_key(secret))
        self.assertNotIn(secret, str(self.record.read()))
        self.assertNotIn("key_hash", self.Key.fields_get())

    def test_hint_shows_only_the_start(self):
        self.assertEqual(self.record.key_hint, self.result["key"][:13] + "…")

    def test_use_key_counts_uses(self):
        self.assertEqual(use_key(self.env, self.result["key"]).key.id, self.record.id)
        use_key(self.env, self.result["key"])
        self.record.invalidate_recordset()
        self.assertEqual(self.record.use_count, 2)
        self.assertTrue(self.record.last_used)

    def test_throttled_key_counts_its_window_atomically(self):
        self.record.write({"rate_limit": 5, "rate_limit_period": 3600})
        hits = [use_key(self.env, self.result["key"]).wait()[1] for _ in range(3)]
        self.assertEqual(hits, [1, 2, 3])

    def _window(self):
        self.env.cr.execute(
            "SELECT window_start, window_base FROM rest_api_key_usage WHERE key_id = %s", [self.record.id]
        )
        return self.env.cr.fetchone()

    def _use(self):
        start, hits, _now = use_key(self.env, self.result["key"]).wait()
        return start, hits

    def test_a_window_opens_once_and_never_moves_back(self):
        self.record.write({"rate_limit": 5, "rate_limit_period": 3600})
        start, hits, now = use_key(self.env, self.result["key"]).wait()
        self.assertEqual(hits, 1)
        self.assertLessEqual(start, now)
        self.assertEqual(self._use(), (start, 2))
        base = self._window()[1]

        # another server opened the next window first: this call counts there
        self.env.cr.execute(
            "UPDATE rest_api_key_usage SET window_start = %s, window_base = %s WHERE key_id = %s",
            [start + 3600, base + 2, self.record.id],
        )
        self.assertEqual(self._use(), (start + 3600, 1))
        number, *window, _now = side_store.execute_prepared(
            self.env, "rest_api_throttle_open", (self.record.id, start)
        )[0]
        self.assertEqual(
            (window, number), ([start + 3600, base + 2], base + 4), "an older window never opens"
        )

        # an old window: this call opens the current one, after the last number drawn
        self.env.cr.execute(
            "UPDATE rest_api_key_usage SET window_start = %s WHERE key_id = %s",
            [start - 3600, self.record.id],
        )
        self.assertEqual(self._use(), (start, 1))
        self.assertEqual(self._window(), (start, base + 4))

        self.record.rate_limit_period = 60  # a new period: a new window, of the new length
        start, hits, now = use_key(self.env, self.result["key"]).wait()
        self.assertEqual((start % 60, hits), (0, 1))
        self.assertLessEqual(start, now)

    def test_calls_racing_to_open_a_window_rank_one_after_the_other(self):
        """Both calls find no open window; the second to ask opens it: ranks 1 and 2 all the same."""
        self.record.write({"rate_limit": 1, "rate_limit_period": 3600})
        first, second = use_key(self.env, self.result["key"]), use_key(self.env, self.result["key"])
        self.assertEqual(second.wait()[1], 1)
        self.assertEqual(first.wait()[1], 2)
        self.assertEqual(first.wait()[0], second.wait()[0])
        self.assertEqual([first.verdict().allowed, second.verdict().allowed], [False, True])

    def test_each_key_draws_from_its_own_sequence(self):
        other = self.Key.generate({"name": "other", "user_id": self.env.ref("base.user_admin").id})
        self.Key.browse(other["id"]).write({"rate_limit": 5, "rate_limit_period": 3600})
        self.record.write({"rate_limit": 5, "rate_limit_period": 3600})
        uses = [self._use()[1] for _ in range(3)] + [use_key(self.env, other["key"]).wait()[1]]
        self.assertEqual(uses, [1, 2, 3, 1])
        self.Key.browse(other["id"]).unlink()
        self.env.cr.execute("SELECT to_regclass(%s)", [hits_sequence(other["id"])])
        self.assertIsNone(self.env.cr.fetchone()[0], "a deleted key's sequence goes with it")

    def test_archived_or_expired_keys_are_not_found(self):
        key = self.result["key"]
        self.assertIsNone(use_key(self.env, key[:-1] + ("y" if key.endswith("x") else "x")))
        self.record.expiration_date = "2001-01-01 00:00:00"
        self.assertIsNone(use_key(self.env, self.result["key"]))
        self.record.write({"expiration_date": False, "active": False})
        self.assertIsNone(use_key(self.env, self.result["key"]))

    def test_key_info_follows_changes(self):
        self.assertIsNone(self.Key._find_key(self.result["key"]).scopes)
        self.record.write(
            {
                "all_models": False,
                "scope_ids": [
                    (0, 0, {"model_id": self.env.ref("base.model_res_partner").id, "perm_write": True})
                ],
            }
        )
        info = self.Key._find_key(self.result["key"])
        self.assertEqual(info.scope_map, {"res.partner": frozenset({"read", "write"})})

    def test_allowed_ips_are_validated(self):
        with self.assertRaises(ValidationError):
            self.record.allowed_ips = "10.0.0.0/33"
        self.record.allowed_ips = "10.0.0.0/8 192.168.1.1"
        self.assertEqual(len(self.Key._find_key(self.result["key"]).networks), 2)

    def test_log_cleanup_respects_retention(self):
        Log = self.env["rest.api.log"]
        old, new = Log.create([{"path": "/api/old"}, {"path": "/api/new"}])
        self.env.cr.execute(
            "UPDATE rest_api_log SET create_date = now() - interval '40 days' WHERE id = %s", [old.id]
        )
        self.env["ir.config_parameter"].set_param("rest_api.log_retention_days", "30")
        Log._gc_old_logs()
        self.assertFalse(old.exists())
        self.assertTrue(new.exists())

    def test_uninstalling_removes_what_the_module_made_outside_the_orm(self):
        """The uninstall hook, run in this transaction (PostgreSQL rolls DDL back with it)."""
        from ..hooks import uninstall_hook

        cr = self.env.cr

        def left():
            cr.execute(
                """SELECT to_regclass('rest_api_key_usage') IS NOT NULL, to_regclass('rest_api_login_failure') IS NOT NULL,
                          to_regclass('rest_api_secret') IS NOT NULL, to_regclass(%s) IS NOT NULL,
                          to_regprocedure('rest_api_note_snapshot()') IS NOT NULL""",
                [hits_sequence(self.record.id)],
            )
            return cr.fetchone()

        self.assertEqual(left(), (True,) * 5)
        uninstall_hook(self.env)
        self.assertEqual(left(), (False,) * 5)
        uninstall_hook(self.env)  # twice changes nothing
