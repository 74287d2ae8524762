"""API.md section 8, "What a call leaves behind acts as its caller" and "The wall follows the
ORM's contract": each attack of issue 23 replayed against the rule that stops it."""

import inspect
import time
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from ..controllers import handlers
from ..lib import errors, methods
from .common import RestApiCase
from .test_webhooks import Receiver

WALKED = {"write": "vals", "create": "vals_list", "web_save": "vals", "web_read": "specification",
          "copy": "default"}  # fmt: skip


@tagged("post_install", "-at_install")
class TestPairs(RestApiCase):
    """Kept answers, subscriptions, events and deliveries belong to their (key, user) pair."""

    def made(self):
        """The sender makes the events from the change log once the change commits: here, now."""
        self.env.cr.flush()
        self.env["rest.api.webhook.event"].sudo()._expand()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app_owner = new_test_user(cls.env, login="rest_app_owner", groups="base.group_user")
        cls.app_key = cls.make_key(cls.app_owner, require_user_token=True)
        cls.app_key_id = cls.env["rest.api.key"].search([("user_id", "=", cls.app_owner.id)]).id
        people = "base.group_user,base.group_partner_manager"
        cls.alice = new_test_user(cls.env, login="rest_alice", groups=people)
        cls.bob = new_test_user(cls.env, login="rest_bob", groups=people)
        Token = cls.env["rest.api.token"]
        cls.alice_token = Token._issue_access(cls.alice, cls.app_key_id, 3600)[0]
        cls.bob_token = Token._issue_access(cls.bob, cls.app_key_id, 3600)[0]
        cls.manager = new_test_user(
            cls.env, login="rest_pair_manager", groups=f"{people},rest_api.group_rest_api_manager"
        )
        cls.plain = new_test_user(cls.env, login="rest_plain", groups="base.group_user")

    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].sudo().set_param("rest_api.webhook_allow_private", "True")
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)

    def as_token(self, token, method, path, **kw):
        return self.call(
            method, path, key=self.app_key, headers={"token": token, **kw.pop("headers", {})}, **kw
        )

    def subscribe(self, token, **body):
        body = dict({"url": self.receiver.url, "model_id": "res.partner", "events": ["create"]}, **body)
        response = self.as_token(token, "POST", "/api/webhooks", body=body)
        self.assertEqual(response.status_code, 201, response.text)
        return self.env["rest.api.webhook"].sudo().browse(response.json()["id"])

    # ------------------------------------------------------------ kept answers
    def test_a_kept_answer_is_replayed_only_to_the_user_that_made_it(self):
        headers = {"Idempotency-Key": "shared-key-1"}
        body = {"name": "Made by Alice"}
        first = self.as_token(self.alice_token, "POST", "/api/res.partner/create", body=body, headers=headers)
        again = self.as_token(self.alice_token, "POST", "/api/res.partner/create", body=body, headers=headers)
        bobs = self.as_token(self.bob_token, "POST", "/api/res.partner/create", body=body, headers=headers)
        self.assertEqual((first.status_code, again.headers.get("Idempotent-Replayed")), (201, "true"))
        self.assertEqual(again.json()["id"], first.json()["id"])
        self.assertEqual(bobs.status_code, 201)
        self.assertNotIn("Idempotent-Replayed", bobs.headers)  # Bob's write ran: his own record
        self.assertNotEqual(bobs.json()["id"], first.json()["id"])
        kept = self.env["rest.api.idempotency"].sudo().search([("name", "=", "shared-key-1")])
        self.assertEqual(sorted(kept.mapped("user_id.login")), ["rest_alice", "rest_bob"])

    # ------------------------------------------------------------ subscriptions
    def test_a_token_users_subscription_is_theirs_and_reads_as_them(self):
        hook = self.subscribe(self.alice_token, field_ids=["name"])
        self.assertEqual((hook.user_id, hook.key_id.user_id), (self.alice, self.app_owner))
        path = f"/api/webhooks/{hook.id}"
        self.assertEqual(self.as_token(self.bob_token, "GET", "/api/webhooks").json(), [])
        for method, body in (("GET", None), ("PATCH", {"url": self.receiver.url + "/bob"}), ("DELETE", None)):
            self.assertProblem(self.as_token(self.bob_token, method, path, body=body), 404)
        self.assertEqual(self.as_token(self.alice_token, "GET", path).status_code, 200)
        # a partner of a company Alice is not in: the key's owner could read it, Alice cannot
        other = self.env["res.company"].create({"name": "Elsewhere"})
        self.app_owner.write({"company_ids": [(4, other.id)]})
        hidden = self.env["res.partner"].create({"name": "Hidden from Alice", "company_id": other.id})
        seen = self.env["res.partner"].create({"name": "Seen by Alice"})
        self.made()
        events = self.env["rest.api.webhook.event"].sudo().search([("webhook_id", "=", hook.id)])
        self.assertIn(seen.id, events.mapped("res_id"))
        self.assertNotIn(hidden.id, events.mapped("res_id"))

    def test_a_subscription_cannot_be_moved_to_another_key(self):
        hook = self.subscribe(self.alice_token)
        admin_key = self.env["rest.api.key"].search([("user_id", "=", self.admin.id)], limit=1)
        for user in (self.manager, self.alice):
            with self.assertRaises(AccessError):
                hook.with_user(user).write({"key_id": admin_key.id})
        with self.assertRaises(AccessError):
            hook.with_user(self.manager).write({"user_id": self.admin.id})
        # created for someone else's key, or for another user: refused as well
        values = {"name": "x", "url": self.receiver.url, "model_id": hook.model_id.id, "events": "create"}
        self.manager.write({"groups_id": [(4, self.env.ref("rest_api.group_rest_api_user").id)]})
        with self.assertRaises(AccessError):
            self.env["rest.api.webhook"].with_user(self.manager).create(dict(values, key_id=admin_key.id))

    def test_subscriptions_stop_when_the_key_expires_or_its_user_is_archived(self):
        hook = self.subscribe(self.alice_token)
        Event = self.env["rest.api.webhook.event"].sudo()
        self.env["res.partner"].create({"name": "Before"})
        self.made()
        pending = Event.search([("webhook_id", "=", hook.id)])
        self.assertEqual(len(pending), 1)
        key = hook.key_id.sudo()
        # it expires while the workers keep the subscription: no change of it clears their caches
        key.expiration_date = fields.Datetime.now() + timedelta(seconds=2)
        self.env["res.partner"].create({"name": "Kept by the worker"})
        self.made()
        self.assertEqual(Event.search_count([("webhook_id", "=", hook.id)]), 2)
        time.sleep(2.1)
        self.env["res.partner"].create({"name": "After expiry"})
        self.made()
        self.assertEqual(Event.search_count([("webhook_id", "=", hook.id)]), 2)
        pending |= Event.search([("webhook_id", "=", hook.id)])
        Event._deliver()
        self.assertEqual(set(pending.mapped("state")), {"failed"})
        self.assertEqual(self.receiver.got, [])
        key.expiration_date = False
        self.alice.active = False
        self.env["res.partner"].create({"name": "After archiving"})
        self.made()
        self.assertEqual(Event.search_count([("webhook_id", "=", hook.id)]), 2)

    def test_only_the_pair_or_a_manager_holding_its_groups_resends_or_reads_events(self):
        admin_hook = self.env["rest.api.webhook"].create({
            "name": "admin's", "key_id": self.env["rest.api.key"].search([("user_id", "=", self.admin.id)],
                                                                          limit=1).id,
            "url": self.receiver.url, "model_id": self.env["ir.model"]._get_id("res.partner"), "events": "create",
        })  # fmt: skip
        self.env["res.partner"].create({"name": "Admin's event"})
        self.made()
        event = self.env["rest.api.webhook.event"].search([("webhook_id", "=", admin_hook.id)])
        self.assertTrue(event)
        for user in (self.plain, self.manager):
            with self.assertRaises(AccessError):
                event.with_user(user).action_resend()
        # the manager lacks the admin's groups: none of the admin's products are visible or changeable
        Hook = self.env["rest.api.webhook"].with_user(self.manager)
        self.assertFalse(Hook.search([("id", "=", admin_hook.id)]))
        self.assertFalse(
            self.env["rest.api.webhook.event"].with_user(self.manager).search([("id", "=", event.id)])
        )
        with self.assertRaises(AccessError):
            admin_hook.with_user(self.manager).write({"url": self.receiver.url + "/stolen"})
        with self.assertRaises(AccessError):
            admin_hook.with_user(self.manager).action_rotate_secret()
        # a pair whose groups the manager holds: visible, resendable
        alices = self.subscribe(self.alice_token)
        self.env["res.partner"].create({"name": "Alice's event"})
        self.made()
        own_event = (
            self.env["rest.api.webhook.event"]
            .with_user(self.manager)
            .search([("webhook_id", "=", alices.id)])
        )
        self.assertEqual(len(own_event), 1)
        self.assertTrue(own_event.action_resend())

    def test_events_are_never_rewritten_and_refusals_name_nothing(self):
        hook = self.subscribe(self.alice_token, name="https://example.com/secret-capability")
        self.env["res.partner"].create({"name": "Event"})
        self.made()
        event = (
            self.env["rest.api.webhook.event"].with_user(self.manager).search([("webhook_id", "=", hook.id)])
        )
        self.assertTrue(event)  # the manager holds Alice's groups: sees it, but cannot forge it
        with self.assertRaises(AccessError):
            event.write({"payload": "{}", "state": "pending"})
        with self.assertRaises(AccessError) as refused:
            hook.with_user(self.plain).write({})
        self.assertNotIn("secret-capability", str(refused.exception))

    def test_a_moved_domain_is_walled_again(self):
        key = self.make_key(self.admin, all_models=False, scope_ids=[
            self.scope("res.partner", "r"), self.scope("res.partner.category", "r"), self.scope("res.groups", "rw")])  # fmt: skip
        made = self.call("POST", "/api/webhooks", key=key, body={
            "url": self.receiver.url, "model_id": "res.partner", "events": ["write"],
            "domain": [["category_id.name", "=", "x"]]})  # fmt: skip
        self.assertEqual(made.status_code, 201, made.text)
        moved = self.call(
            "PATCH", f"/api/webhooks/{made.json()['id']}", key=key, body={"model_id": "res.groups"}
        )
        self.assertProblem(moved, 403)  # category_id of res.groups is ir.module.category: outside the scopes
        # a subscription whose key's scopes narrowed below its domain sends nothing
        hook = self.env["rest.api.webhook"].sudo().browse(made.json()["id"])
        self.assertTrue(hook._within_scopes(hook.key_id._scope_map()))
        self.assertFalse(hook._within_scopes({"res.partner": frozenset({"read"})}))

    def test_answers_that_may_hold_a_secret_are_never_kept(self):
        def post(path, body, key=None, **headers):
            return self.call(
                "POST", path, key=key, body=body, headers={"Idempotency-Key": "secret-1", **headers}
            )

        made = post("/api/rest.api.key/execute_kw", {"method": "generate", "args": [{"name": "by API"}]})
        self.assertEqual(made.status_code, 200, made.text)
        again = post("/api/rest.api.key/execute_kw", {"method": "generate", "args": [{"name": "by API"}]})
        self.assertIn("already ran", self.assertProblem(again, 422)["detail"])  # ran once, not shown again
        kept = self.env["rest.api.idempotency"].sudo().search([("name", "=", "secret-1")])
        self.assertEqual((kept.withheld, kept.body), (True, False))
        self.assertEqual(self.env["rest.api.key"].search_count([("name", "=", "by API")]), 1)
        # the login routes keep nothing: a retried login logs in again; a spent refresh token stays spent
        login = {"login": "rest_alice", "password": "rest_alice"}
        first = post("/api/auth/login", login, key=self.app_key, **{"Idempotency-Key": "login-1"})
        second = post("/api/auth/login", login, key=self.app_key, **{"Idempotency-Key": "login-1"})
        self.assertEqual((first.status_code, second.status_code), (200, 200), first.text)
        self.assertNotEqual(first.json()["access_token"], second.json()["access_token"])
        refresh = {"refresh_token": first.json()["refresh_token"]}
        self.assertEqual(post("/api/auth/refresh", refresh, key=self.app_key, **{"Idempotency-Key": "r"}).status_code,
                         200)  # fmt: skip
        self.assertProblem(
            post("/api/auth/refresh", refresh, key=self.app_key, **{"Idempotency-Key": "r"}), 401
        )

    def test_a_batch_that_may_answer_a_secret_is_withheld(self):
        operation = {"method": "POST", "path": "/api/rest.api.key/execute_kw",
                     "body": {"method": "generate", "args": [{"name": "in a batch"}]}}  # fmt: skip
        headers = {"Idempotency-Key": "batch-secret"}
        first = self.call("POST", "/api/batch", body={"operations": [operation]}, headers=headers)
        self.assertEqual(first.status_code, 200, first.text)
        again = self.call("POST", "/api/batch", body={"operations": [operation]}, headers=headers)
        self.assertProblem(again, 422)
        kept = self.env["rest.api.idempotency"].sudo().search([("name", "=", "batch-secret")])
        self.assertEqual((kept.withheld, kept.body), (True, False))

    def test_a_login_token_mints_no_credential(self):
        carol = new_test_user(
            self.env, login="rest_carol", groups="base.group_user,rest_api.group_rest_api_user"
        )
        token = self.env["rest.api.token"]._issue_access(carol, self.app_key_id, 3600)[0]
        key_id = self.env["rest.api.key"].search([("user_id", "=", carol.id)], limit=1).id or self.app_key_id
        for path, body in (
            ("/api/rest.api.key/execute_kw", {"method": "generate", "args": [{"name": "minted"}]}),
            ("/api/rest.api.token.wizard/execute_kw",
             {"method": "create", "args": [{"user_id": carol.id, "key_id": key_id, "expiration_days": 30}]}),
        ):  # fmt: skip
            answer = self.as_token(token, "POST", path, body=body)
            if path.endswith("wizard/execute_kw") and answer.status_code == 200:
                answer = self.as_token(
                    token, "POST", path, body={"method": "action_issue", "args": [[answer.json()]]}
                )
            self.assertProblem(answer, 403)
        self.assertFalse(self.env["rest.api.key"].search([("name", "=", "minted")]))

    def test_a_manager_reads_no_kept_answer_made_above_them(self):
        self.call(
            "POST", "/api/res.partner/create", body={"name": "k"}, headers={"Idempotency-Key": "admin-k"}
        )
        self.as_token(self.alice_token, "POST", "/api/res.partner/create", body={"name": "k"},
                      headers={"Idempotency-Key": "alice-k"})  # fmt: skip
        seen = self.env["rest.api.idempotency"].with_user(self.manager).search([]).mapped("name")
        self.assertIn("alice-k", seen)
        self.assertNotIn("admin-k", seen)


@tagged("post_install", "-at_install")
class TestManagerPower(RestApiCase):
    """A manager's power over a key stops at keys whose owner holds a group the manager lacks."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env, login="rest_power_manager", groups="base.group_user,rest_api.group_rest_api_manager"
        )
        Key = cls.env["rest.api.key"]
        cls.admin_key = Key.search([("user_id", "=", cls.admin.id)], limit=1)
        cls.below = new_test_user(cls.env, login="rest_power_below", groups="base.group_user")
        cls.make_key(cls.below)
        cls.below_key = Key.search([("user_id", "=", cls.below.id)], limit=1)

    def test_no_new_secret_scope_or_limit_on_a_key_acting_above_the_manager(self):
        key = self.admin_key.with_user(self.manager)
        for attempt in (
            key.action_generate_key,
            lambda: key.write({"rate_limit": 0, "all_models": True}),
            lambda: key.write({"active": False}),
            lambda: (
                self.env["rest.api.scope"]
                .with_user(self.manager)
                .create({"key_id": key.id, "model_id": self.env["ir.model"]._get_id("res.users")})
            ),
            key.unlink,
        ):
            with self.assertRaises(AccessError):
                attempt()
        self.assertEqual(self.call("GET", "/api/res.country/search", params={"limit": 1}).status_code, 200)

    def test_no_token_is_issued_under_a_key_acting_above_the_manager(self):
        Wizard = self.env["rest.api.token.wizard"].with_user(self.manager)
        wizard = Wizard.create({"user_id": self.below.id, "key_id": self.admin_key.id})
        with self.assertRaises(AccessError):
            wizard.action_issue()
        wizard = Wizard.create({"user_id": self.below.id, "key_id": self.below_key.id})
        self.assertEqual(wizard.action_issue()["context"]["default_kind"], "token")

    def test_tokens_of_users_above_the_manager_are_only_revoked(self):
        Token = self.env["rest.api.token"]
        token = Token.browse(Token._issue_access(self.admin, self.admin_key.id, 60)[2].id)
        token.revoked = True
        as_manager = token.with_user(self.manager)
        for values in ({"revoked": False}, {"expiration_date": "2099-01-01 00:00:00"}):
            with self.assertRaises(AccessError):
                as_manager.write(values)
        below = Token.browse(Token._issue_access(self.below, self.below_key.id, 60)[2].id)
        with self.assertRaises(AccessError):
            below.with_user(self.manager).write({"key_id": self.admin_key.id})
        below.with_user(self.manager).write({"expiration_date": "2099-01-01 00:00:00"})
        as_manager.write({"revoked": True})

    def test_a_token_works_only_with_the_key_its_claims_name(self):
        Token = self.env["rest.api.token"]
        jwt, _expiry, record = Token._issue_access(self.below, self.below_key.id, 600)
        record.sudo().key_id = self.env["rest.api.key"]._find_key(self.key).id  # as if its row were moved
        self.assertProblem(self.get("/api/res.country/search", key=self.key, headers={"token": jwt}), 401)

    def test_refusals_name_no_key_to_a_user_without_access(self):
        plain = new_test_user(self.env, login="rest_power_plain", groups="base.group_user")
        self.below_key.sudo().write({"rate_limit": 50, "name": "PAYROLL-EXPORT"})  # a loosening names it
        secret_name = self.below_key.name
        for attempt in (
            lambda: (
                self.env["rest.api.scope"]
                .with_user(plain)
                .create({"key_id": self.below_key.id, "model_id": self.env["ir.model"]._get_id("res.users")})
            ),
            lambda: self.below_key.with_user(plain).write({"rate_limit": 0}),
            lambda: self.below_key.with_user(plain).write({"rate_limit": 10**6}),
        ):
            with self.assertRaises(AccessError) as refused:
                attempt()
            self.assertNotIn(secret_name, str(refused.exception))

    def test_a_key_of_a_user_whose_groups_the_manager_holds_is_managed(self):
        key = self.below_key.with_user(self.manager)
        self.assertEqual(key.action_generate_key()["context"]["default_kind"], "key")
        key.write({"rate_limit": 5})
        self.assertEqual(key.rate_limit, 5)


@tagged("post_install", "-at_install")
class TestExecuteKwContract(RestApiCase):
    """What execute_kw walks is decided by the ORM's base signature, not an override's names."""

    def scoped(self, *lines):
        return self.make_key(self.admin, all_models=False, scope_ids=[self.scope(m, "rcwdx") for m in lines])

    def execute(self, key, model, method, args, kwargs=None):
        return self.call("POST", f"/api/{model}/execute_kw", key=key,
                         body={"method": method, "args": args, "kwargs": kwargs or {}})  # fmt: skip

    def test_every_override_with_other_parameters_is_walked_or_refused(self):
        # every model's write/create/web_save/web_read/copy whose parameters differ from Odoo's own
        marker = {"marker": True}
        differing = []
        for name in sorted(self.env.registry):
            model = self.env[name]
            if model._abstract:
                continue
            for method, walked in WALKED.items():
                base = handlers._base_signature(model, method)
                override = inspect.signature(getattr(model, method))
                if list(base.parameters) == list(override.parameters):
                    continue
                differing.append((name, method))
                args = [] if getattr(getattr(type(model), method), "_api", None) else [[1]]
                try:
                    ids, bound = handlers._bind_arguments(
                        model, method, [*args, marker], {}, methods.method(method), 80
                    )
                except errors.BadRequest:
                    continue  # refused
                self.assertIs(bound.arguments[walked], marker, (name, method))  # walked under the base name
                self.assertIs(bound.args[0], marker, (name, method))  # where the override takes it
                # by the override's own name: refused, never waved through
                own = [p for p in override.parameters if p not in base.parameters]
                if own:
                    with self.assertRaises(errors.BadRequest):
                        handlers._bind_arguments(
                            model, method, args, {own[0]: marker}, methods.method(method), 80
                        )
        self.assertIn(("res.users", "write"), differing)
        self.assertIn(("res.company", "write"), differing)

    def test_res_users_write_is_walked(self):
        key = self.scoped("res.users")
        for args, kwargs in (
            ([[self.limited.id], {"company_ids": [[0, 0, {"name": "Made through res.users"}]]}], {}),
            ([[self.limited.id]], {"vals": {"company_ids": [[0, 0, {"name": "Made through res.users"}]]}}),
        ):
            self.assertProblem(self.execute(key, "res.users", "write", args, kwargs), 403)
        self.assertProblem(self.execute(key, "res.users", "write", [[self.limited.id]],
                                        {"values": {"company_ids": [[0, 0, {"name": "x"}]]}}), 400)  # fmt: skip
        group = self.env.ref("base.group_system")
        self.assertProblem(self.execute(self.scoped("res.groups"), "res.groups", "write",
                                        [[group.id], {"users": [[4, self.limited.id]]}]), 403)  # fmt: skip
        self.assertFalse(self.env["res.company"].search([("name", "=", "Made through res.users")]))
        self.assertFalse(self.limited.has_group("base.group_system"))

    def test_load_needs_read_on_the_models_its_columns_link(self):
        key = self.scoped("res.partner")
        category = self.env["res.partner.category"].create({"name": "Secret tag"})
        for fields_, row in ((["name", "category_id/.id"], ["x", str(category.id)]),
                             (["name", "category_id"], ["x", "Secret tag"]),
                             (["name", "country_id"], ["x", "Belgium"])):  # fmt: skip
            self.assertProblem(self.execute(key, "res.partner", "load", [fields_, [row]]), 403)
        allowed = self.scoped("res.partner", "res.partner.category")
        answer = self.execute(
            allowed, "res.partner", "load", [["name", "category_id/.id"], [["y", str(category.id)]]]
        )
        self.assertEqual(answer.status_code, 200, answer.text)

    def test_group_and_panel_methods_are_capped(self):
        self.env["ir.config_parameter"].sudo().set_param("rest_api.max_page_size", "3")
        for index in range(5):
            self.env["res.partner"].create({"name": f"Capped {index}", "ref": f"cap-{index}"})
        bar = self.execute(self.key, "res.partner", "read_progress_bar",
                           [[["ref", "like", "cap-"]], "ref", {"field": "type", "colors": {"contact": "success"}}])  # fmt: skip
        self.assertEqual(bar.status_code, 200, bar.text)
        self.assertEqual(len(bar.json()), 3)
        for method in ("search_panel_select_range", "search_panel_select_multi_range"):
            # every country (250) uncapped; over the cap Odoo answers its own "too many" message
            panel = self.execute(
                self.key, "res.partner", method, ["country_id"], {"limit": 10000, "expand": True}
            )
            self.assertEqual(panel.status_code, 200, panel.text)
            self.assertLessEqual(len(panel.json().get("values", [])), 3, method)
            self.assertIn("error_msg", panel.json())

    def test_errors_and_views_describe_nothing_outside_the_scopes(self):
        key = self.scoped("res.partner")
        known = self.get(
            "/api/res.partner/search", key=key, params={"domain": '[["user_ids.login", "=", "x"]]'}
        )
        unknown = self.get(
            "/api/res.partner/search", key=key, params={"domain": '[["user_ids.nope", "=", "x"]]'}
        )
        self.assertProblem(known, 403)
        self.assertProblem(unknown, 403)
        views = self.execute(self.scoped("res.country"), "res.country", "get_views", [[[False, "form"]]])
        self.assertEqual(views.status_code, 200, views.text)
        self.assertEqual(set(views.json()["models"]), {"res.country"})  # not res.country.state
        self.assertProblem(self.execute(key, "res.partner", "fields_get", [], {"attributes": 5}), 400)

    def test_generic_record_methods_are_walled(self):
        key = self.make_key(self.admin, all_models=False, scope_ids=[self.scope("res.partner", "rx")])
        admin_partner = [self.admin.partner_id.id]
        for method, args in (("mapped", [admin_partner, "user_ids.login"]),
                             ("filtered", [admin_partner, "user_ids.active"]),
                             ("filtered_domain", [admin_partner, [["user_ids.login", "=", "admin"]]])):  # fmt: skip
            self.assertProblem(self.execute(key, "res.partner", method, args), 403)
        self.assertEqual(self.execute(key, "res.partner", "mapped", [admin_partner, "name"]).json(),
                         [self.admin.partner_id.name])  # fmt: skip
        self.assertProblem(self.execute(key, "res.partner", "mapped", [admin_partner, "nosuch"]), 400)
        self.assertProblem(self.execute(key, "res.partner", "grouped", [admin_partner, "country_id"]), 400)
        self.assertProblem(self.execute(key, "res.partner", "get_property_definition", ["x.y"]), 400)

    def test_translations_need_the_scope_of_what_they_read_or_write(self):
        key = self.make_key(self.admin, all_models=False, scope_ids=[self.scope("res.partner.category", "x")])
        category = self.env["res.partner.category"].create({"name": "Tag"})
        for method, args in (("update_field_translations", [[category.id], "name", {"en_US": "Changed"}]),
                             ("web_override_translations", [[category.id], {"name": "Changed"}]),
                             ("get_field_translations", [[category.id], "name"])):  # fmt: skip
            self.assertProblem(self.execute(key, "res.partner.category", method, args), 403)
        self.assertEqual(category.name, "Tag")

    def test_malformed_orm_arguments_are_400(self):
        admin_partner = [self.admin.partner_id.id]
        with mute_logger("odoo.sql_db"):  # Odoo logs the statement psycopg2 could not adapt
            self.assertProblem(
                self.execute(self.key, "res.partner", "search", [[], [["name", "=", {}]]]), 400
            )
        for method, args in (("search", [[[]]]), ("search_count", [["x"]]), ("name_search", ["a", [[]]]),
                             ("get_view", [True]),
                             ("get_field_translations", [admin_partner, "no_such_field"]),
                             ("sorted", [admin_partner, "name", 2**40])):  # fmt: skip
            self.assertProblem(self.execute(self.key, "res.partner", method, args), 400)
        key = self.scoped("res.partner")
        bar = {"field": "country_code", "colors": {"BE": "success"}}
        self.assertProblem(self.execute(key, "res.partner", "read_progress_bar", [[], "type", bar]), 403)

    def test_an_external_id_of_a_model_the_key_cannot_read_is_not_found(self):
        key = self.scoped("res.partner")
        self.assertProblem(self.get("/api/res.partner/xmlid/base.group_system", key=key), 404)
        self.assertProblem(self.get("/api/res.partner/xmlid/base.no_such_thing", key=key), 404)
        for xmlid in ("base.group_system", "base.no_such_thing"):  # an installed module's: 400 either way
            self.assertProblem(
                self.call("PUT", f"/api/res.partner/xmlid/{xmlid}", key=key, body={"name": "x"}), 400
            )
        both = self.scoped("res.partner", "res.groups")
        self.assertProblem(self.get("/api/res.partner/xmlid/base.group_system", key=both), 409)

    def test_prefer_representation_is_ignored_without_read(self):
        key = self.make_key(self.admin, all_models=False, scope_ids=[self.scope("res.partner", "cw")])
        made = self.call("POST", "/api/res.partner/create", key=key, body={"name": "Write only"},
                         headers={"Prefer": "return=representation"})  # fmt: skip
        self.assertEqual(made.status_code, 201, made.text)
        self.assertEqual(set(made.json()), {"id", "message"})
        self.assertNotIn("Preference-Applied", made.headers)

    def test_odd_idempotency_keys_and_batch_references_are_malformed(self):
        for value in ("abc\xa0", "abc\x85", "\xe9t\xe9"):
            response = self.call("POST", "/api/res.partner/create", body={"name": "x"},
                                 headers={"Idempotency-Key": value.encode("latin-1")})  # fmt: skip
            self.assertProblem(response, 400)
        for path in ("/api/res.partner/${-1.id}", "/api/res.partner/${7.id}"):
            body = {"operations": [{"method": "POST", "path": "/api/res.partner/create", "body": {"name": "a"}},
                                   {"method": "GET", "path": path}]}  # fmt: skip
            self.assertEqual(
                self.assertProblem(self.call("POST", "/api/batch", body=body), 400)["operation"], 1
            )
