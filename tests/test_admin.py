from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, new_test_user, tagged

from ..lib import keys
from .common import InTransaction, RestApiCase, use_key

REST_USER = "base.group_user,rest_api.group_rest_api_user"
REST_MANAGER = "base.group_user,rest_api.group_rest_api_manager"
SETTINGS = {
    "rest_api_default_rate_limit": ("rest_api.default_rate_limit", 120, "120"),
    "rest_api_max_page_size": ("rest_api.max_page_size", 500, "500"),
    "rest_api_max_expand_depth": ("rest_api.max_expand_depth", 2, "2"),
    "rest_api_access_token_ttl": ("rest_api.access_token_ttl", 600, "600"),
    "rest_api_refresh_token_ttl": ("rest_api.refresh_token_ttl", 86400, "86400"),
    "rest_api_login_max_failures": ("rest_api.login_max_failures", 5, "5"),
    "rest_api_login_failure_window": ("rest_api.login_failure_window", 120, "120"),
    "rest_api_cors_origins": ("rest_api.cors_origins", " https://a.example ", "https://a.example"),
    "rest_api_max_body_size": ("rest_api.max_body_size", 2048, "2048"),
    "rest_api_log_retention_days": ("rest_api.log_retention_days", 7, "7"),
    "rest_api_docs_public": ("rest_api.docs_public", True, "True"),
    "rest_api_idempotency_ttl": ("rest_api.idempotency_ttl", 3600, "3600"),
    "rest_api_max_batch_operations": ("rest_api.max_batch_operations", 20, "20"),
    "rest_api_webhook_allow_private": ("rest_api.webhook_allow_private", True, "True"),
    "rest_api_sync_retention_days": ("rest_api.sync_retention_days", 7, "7"),
    "rest_api_max_webhooks_per_key": ("rest_api.max_webhooks_per_key", 5, "5"),
}


class AdminCase(InTransaction, TransactionCase):
    """Two REST API users (alice, bob), a manager and a plain employee, each alice/bob with a key."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = new_test_user(cls.env, login="rest_alice", groups=REST_USER)
        cls.bob = new_test_user(cls.env, login="rest_bob", groups=REST_USER)
        cls.manager = new_test_user(cls.env, login="rest_boss", groups=REST_MANAGER)
        cls.employee = new_test_user(cls.env, login="rest_plain", groups="base.group_user")
        cls.alice_key = cls.new_key(cls.alice)
        cls.bob_key = cls.new_key(cls.bob)

    @classmethod
    def new_key(cls, user, **values):
        result = cls.env["rest.api.key"].generate(
            dict({"name": f"key of {user.login}", "user_id": user.id}, **values)
        )
        return cls.env["rest.api.key"].browse(result["id"])

    def issue_token(self, user, key):
        token, _expiry, record = self.env["rest.api.token"]._issue_access(user, key.id, 3600)
        return token, record

    def shown(self, action):
        self.assertEqual(action["res_model"], "rest.api.secret.show")
        return action["context"]["default_secret"]


@tagged("post_install", "-at_install")
class TestRecordRules(AdminCase):
    def test_a_user_sees_and_manages_only_own_keys(self):
        Key = self.env["rest.api.key"].with_user(self.alice)
        self.assertEqual(Key.search([("id", "in", (self.alice_key | self.bob_key).ids)]), self.alice_key)
        with self.assertRaises(AccessError):
            self.bob_key.with_user(self.alice).read(["name"])
        with self.assertRaises(AccessError):
            self.bob_key.with_user(self.alice).write({"rate_limit": 5})
        with self.assertRaises(AccessError):
            Key.create({"name": "for bob", "user_id": self.bob.id})
        self.alice_key.with_user(self.alice).write({"rate_limit": 5})
        self.assertEqual(self.alice_key.rate_limit, 5)

    def test_a_user_cannot_hand_a_key_to_someone_else(self):
        # record rules are checked before a write only: this is the guard against a key running as an admin
        with self.assertRaises(AccessError):
            self.alice_key.with_user(self.alice).write({"user_id": self.env.ref("base.user_admin").id})
        self.alice_key.with_user(self.manager).write({"user_id": self.bob.id})
        self.assertEqual(self.alice_key.user_id, self.bob)

    def test_scope_lines_follow_their_key(self):
        partner = self.env.ref("base.model_res_partner")
        Scope = self.env["rest.api.scope"]
        mine = Scope.create({"key_id": self.alice_key.id, "model_id": partner.id})
        theirs = Scope.create({"key_id": self.bob_key.id, "model_id": partner.id})
        self.assertEqual(Scope.with_user(self.alice).search([("id", "in", (mine | theirs).ids)]), mine)
        country = self.env.ref("base.model_res_country")
        with self.assertRaises(AccessError):
            Scope.with_user(self.alice).create({"key_id": self.bob_key.id, "model_id": country.id})
        with self.assertRaises(AccessError):
            mine.with_user(self.alice).write({"key_id": self.bob_key.id})

    def test_a_manager_sees_and_manages_every_key(self):
        Key = self.env["rest.api.key"].with_user(self.manager)
        self.assertEqual(
            Key.search([("id", "in", (self.alice_key | self.bob_key).ids)]), self.alice_key | self.bob_key
        )
        self.bob_key.with_user(self.manager).write({"rate_limit": 9})
        self.assertTrue(Key.create({"name": "for alice", "user_id": self.alice.id}))

    def test_an_employee_without_rest_api_groups_sees_nothing(self):
        for model in ("rest.api.key", "rest.api.scope", "rest.api.token", "rest.api.log"):
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(self.employee).search([])

    def test_tokens_own_and_all(self):
        _token, for_alice = self.issue_token(self.alice, self.alice_key)
        _token, under_alice_key = self.issue_token(self.bob, self.alice_key)
        _token, for_bob = self.issue_token(self.bob, self.bob_key)
        every = for_alice | under_alice_key | for_bob
        Token = self.env["rest.api.token"]
        self.assertEqual(
            Token.with_user(self.alice).search([("id", "in", every.ids)]), for_alice | under_alice_key
        )
        self.assertEqual(
            Token.with_user(self.bob).search([("id", "in", every.ids)]), under_alice_key | for_bob
        )
        self.assertEqual(Token.with_user(self.manager).search([("id", "in", every.ids)]), every)
        with self.assertRaises(AccessError):
            for_bob.with_user(self.alice).action_revoke()

    def test_a_user_may_revoke_but_not_extend_a_token(self):
        _token, record = self.issue_token(self.alice, self.alice_key)
        later = fields.Datetime.now() + timedelta(days=365)
        with self.assertRaises(AccessError):
            record.with_user(self.alice).write({"expiration_date": later})
        record.with_user(self.alice).action_revoke()
        self.assertEqual(record.state, "revoked")
        with self.assertRaises(AccessError):
            record.with_user(self.alice).write({"revoked": False})
        record.with_user(self.manager).write({"revoked": False})
        self.assertEqual(record.state, "active")

    def test_logs_of_own_keys_only(self):
        Log = self.env["rest.api.log"]
        mine = Log.create({"key_id": self.alice_key.id, "path": "/api/x"})
        theirs = Log.create({"key_id": self.bob_key.id, "path": "/api/y"})
        self.assertEqual(Log.with_user(self.alice).search([("id", "in", (mine | theirs).ids)]), mine)
        self.assertEqual(
            Log.with_user(self.manager).search([("id", "in", (mine | theirs).ids)]), mine | theirs
        )


@tagged("post_install", "-at_install")
class TestWizards(AdminCase):
    def test_generate_key_shows_the_secret_once_and_stores_only_its_digest(self):
        key = self.env["rest.api.key"].with_user(self.alice).create({"name": "from the form"})
        self.assertEqual((key.state, key.user_id), ("new", self.alice))
        secret = self.shown(key.action_generate_key())
        self.assertTrue(keys.looks_like_key(secret))
        self.assertEqual(key.state, "active")
        self.assertEqual(use_key(self.env, secret).key.id, key.id)
        self.assertNotIn(secret, str(key.read()))
        self.env.cr.execute("SELECT key_hash FROM rest_api_key WHERE id = %s", [key.id])
        self.assertEqual(self.env.cr.fetchone()[0], keys.hash_key(secret))

    def test_replacing_the_secret_stops_the_old_one(self):
        old = self.shown(self.alice_key.action_generate_key())
        new = self.shown(self.alice_key.with_user(self.alice).action_generate_key())
        self.assertIsNone(use_key(self.env, old))
        self.assertEqual(use_key(self.env, new).key.id, self.alice_key.id)
        with self.assertRaises(AccessError):
            self.alice_key.with_user(self.bob).action_generate_key()

    def test_the_secret_dialog_stores_nothing(self):
        self.assertTrue(self.env["rest.api.secret.show"]._abstract)
        self.env.cr.execute("SELECT 1 FROM pg_tables WHERE tablename = 'rest_api_secret_show'")
        self.assertIsNone(self.env.cr.fetchone())

    def wizard(self, issuer, user, key, days=1):
        Wizard = self.env["rest.api.token.wizard"].with_user(issuer)
        return Wizard.create({"user_id": user.id, "key_id": key.id, "expiration_days": days})

    def test_the_user_tab_issues_a_token_shown_once(self):
        action = self.alice.with_user(self.alice).action_rest_api_issue_token()
        self.assertEqual(action["context"], {"default_user_id": self.alice.id})
        wizard = self.wizard(self.alice, self.alice, self.alice_key, days=3)
        token = self.shown(wizard.action_issue())
        self.assertFalse(wizard.exists())
        state = self.env["rest.api.token"]._verify_access(token, self.alice_key.id)
        self.assertEqual(state.user_id, self.alice.id)
        record = self.env["rest.api.token"].browse(state.id)
        self.assertAlmostEqual(record.expiration_date, fields.Datetime.now() + timedelta(days=3),
                               delta=timedelta(minutes=5))  # fmt: skip

    def test_only_managers_issue_tokens_for_others(self):
        with self.assertRaises(AccessError):
            self.wizard(self.alice, self.bob, self.alice_key).action_issue()
        token = self.shown(self.wizard(self.manager, self.bob, self.alice_key).action_issue())
        self.assertEqual(
            self.env["rest.api.token"]._verify_access(token, self.alice_key.id).user_id, self.bob.id
        )

    def test_tokens_need_a_usable_key_of_ones_own(self):
        with self.assertRaises(AccessError):
            self.wizard(self.alice, self.alice, self.bob_key).action_issue()
        self.alice_key.action_archive()
        with self.assertRaises(UserError):
            self.wizard(self.alice, self.alice, self.alice_key).action_issue()
        self.alice_key.action_unarchive()
        with self.assertRaises(UserError):
            self.wizard(self.alice, self.alice, self.alice_key, days=0).action_issue()


@tagged("post_install", "-at_install")
class TestStatesAndSummaries(AdminCase):
    def test_key_states_are_computed_and_searchable(self):
        Key = self.env["rest.api.key"].with_context(active_test=False)
        fresh = Key.create({"name": "no secret", "user_id": self.alice.id})
        expired = self.new_key(self.alice, expiration_date="2001-01-01 00:00:00")
        archived = self.new_key(self.alice, active=False)
        expected = {"new": fresh, "active": self.alice_key, "expired": expired, "archived": archived}
        mine = Key.search([("user_id", "=", self.alice.id)])
        self.assertEqual(mine, fresh | self.alice_key | expired | archived)
        for state, key in expected.items():
            with self.subTest(state=state):
                self.assertEqual(key.state, state)
                self.assertEqual(Key.search([("user_id", "=", self.alice.id), ("state", "=", state)]), key)
        self.assertEqual(
            Key.search([("user_id", "=", self.alice.id), ("state", "!=", "active")]), mine - self.alice_key
        )

    def test_token_states_are_computed_and_searchable(self):
        _t, active = self.issue_token(self.alice, self.alice_key)
        _t, revoked = self.issue_token(self.alice, self.alice_key)
        _t, expired = self.issue_token(self.alice, self.alice_key)
        revoked.action_revoke()
        expired.expiration_date = "2001-01-01 00:00:00"
        Token = self.env["rest.api.token"]
        for state, token in {"active": active, "revoked": revoked, "expired": expired}.items():
            with self.subTest(state=state):
                self.assertEqual(token.state, state)
                self.assertEqual(
                    Token.search([("user_id", "=", self.alice.id), ("state", "=", state)]), token
                )

    def test_scope_summary_and_counts(self):
        self.assertEqual(self.alice_key.scope_summary, "All models")
        self.alice_key.write({
            "all_models": False,
            "scope_ids": [(0, 0, {"model_id": self.env.ref("base.model_res_partner").id, "perm_write": True}),
                          (0, 0, {"model_id": self.env.ref("base.model_res_country").id, "perm_execute": True})],
        })  # fmt: skip
        self.assertEqual(self.alice_key.scope_summary, "res.country (RX), res.partner (RW)")
        self.issue_token(self.alice, self.alice_key)
        self.assertEqual(self.alice_key.token_count, 1)
        self.assertEqual(self.alice_key.action_view_tokens()["domain"], [("key_id", "=", self.alice_key.id)])


@tagged("post_install", "-at_install")
class TestSettings(InTransaction, TransactionCase):
    def test_every_setting_is_a_config_parameter(self):
        fields_by_param = {
            f.config_parameter: name
            for name, f in self.env["res.config.settings"]._fields.items()
            if (getattr(f, "config_parameter", None) or "").startswith("rest_api.")
        }
        self.assertEqual(fields_by_param, {param: name for name, (param, _v, _s) in SETTINGS.items()})

    def test_fields_get_names_the_parameters(self):
        Settings = self.env["res.config.settings"]
        described = Settings.fields_get(list(SETTINGS), attributes=["config_parameter"])
        self.assertEqual(
            {name: description.get("config_parameter") for name, description in described.items()},
            {name: param for name, (param, _v, _s) in SETTINGS.items()},
        )
        typed = Settings.fields_get(["rest_api_max_page_size"], attributes=["type"])
        self.assertEqual(typed, {"rest_api_max_page_size": {"type": "integer"}})

    def test_both_user_forms_reach_the_rest_api(self):
        Users = self.env["res.users"]
        for view in (False, self.env.ref("base.view_users_form").id):
            arch = Users.get_views([(view, "form")])["views"]["form"]["arch"]
            self.assertIn('name="action_rest_api_issue_token"', arch)
            self.assertIn("REST API", arch)

    def test_saving_settings_writes_the_parameters(self):
        self.env["res.config.settings"].create(
            {name: value for name, (_p, value, _s) in SETTINGS.items()}
        ).execute()
        ICP = self.env["ir.config_parameter"]
        self.assertEqual({p: ICP.get_param(p) for p, _v, _s in SETTINGS.values()},
                         {p: stored for p, _v, stored in SETTINGS.values()})  # fmt: skip
        shown = self.env["res.config.settings"].default_get(list(SETTINGS))
        self.assertEqual(shown["rest_api_max_page_size"], 500)
        self.assertEqual(shown["rest_api_cors_origins"], "https://a.example")

    def test_docs_are_public_until_unticked(self):
        ICP = self.env["ir.config_parameter"]
        self.assertEqual(ICP.get_param("rest_api.docs_public"), "True")
        self.env["res.config.settings"].create({"rest_api_docs_public": False}).execute()
        self.assertFalse(ICP.get_param("rest_api.docs_public"))

    def test_defaults_match_the_code(self):
        shown = self.env["res.config.settings"].default_get(list(SETTINGS))
        self.assertEqual(
            [shown[n] for n in ("rest_api_max_page_size", "rest_api_access_token_ttl", "rest_api_refresh_token_ttl",
                                "rest_api_max_body_size", "rest_api_log_retention_days", "rest_api_default_rate_limit",
                                "rest_api_max_expand_depth")],
            [1000, 3600, 30 * 86400, 10 * 1024 * 1024, 30, 0, 3],
        )  # fmt: skip


@tagged("post_install", "-at_install")
class TestRevocationFromTheScreens(RestApiCase):
    """Archiving a key or revoking a token as the screens do stops it on the next call."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = new_test_user(cls.env, login="rest_alice", groups=REST_USER)

    def search_with(self, key, token=None):
        headers = {"token": token} if token else {}
        return self.get("/api/res.country/search", key=key, headers=headers, params={"limit": 1})

    def test_archiving_a_key_stops_it_at_once(self):
        secret = self.make_key(self.alice)
        self.assertEqual(self.search_with(secret).status_code, 200)
        key = use_key(self.env, secret).key.id
        self.env["rest.api.key"].with_user(self.alice).browse(key).action_archive()
        self.assertProblem(self.search_with(secret), 401)

    def test_revoking_a_token_stops_it_at_once(self):
        secret = self.make_key(self.alice)
        key = self.env["rest.api.key"].browse(use_key(self.env, secret).key.id)
        wizard = (
            self.env["rest.api.token.wizard"]
            .with_user(self.alice)
            .create({"user_id": self.alice.id, "key_id": key.id})
        )
        token = wizard.action_issue()["context"]["default_secret"]
        self.assertEqual(self.search_with(secret, token).status_code, 200)
        record = self.env["rest.api.token"].with_user(self.alice).search([("key_id", "=", key.id)])
        record.action_revoke()
        self.assertProblem(self.search_with(secret, token), 401)
