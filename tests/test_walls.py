"""API.md section 8 at the Odoo level: scopes hold on every path a call takes.

Each test pairs an attack with the legitimate use next to it, so that a wall
that refuses everything fails as surely as a wall with a hole.
"""

import json
from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..infra import throttle
from .common import RestApiCase

LETTERS = {"r": "perm_read", "c": "perm_create", "w": "perm_write", "d": "perm_delete", "x": "perm_execute"}


@tagged("post_install", "-at_install")
class TestWalls(RestApiCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env["res.partner"].create({"name": "Walls Inc", "is_company": True})
        cls.child = cls.env["res.partner"].create({"name": "Walls Child", "parent_id": cls.company.id})
        cls.tag = cls.env["res.partner.category"].create({"name": "walls-vip"})
        cls.company.category_id = cls.tag

    @classmethod
    def scoped_key(cls, user=None, **scopes):
        """A key of ``user`` (admin) reaching only ``scopes``: {"res_partner": "rw", ...}."""
        lines = []
        for model, letters in scopes.items():
            model_id = cls.env["ir.model"]._get_id(model.replace("__", "."))
            lines.append((0, 0, {"model_id": model_id, **{LETTERS[c]: c in letters for c in LETTERS}}))
        values = {"name": "walls", "user_id": (user or cls.admin).id, "all_models": False, "rate_limit": 0,
                  "scope_ids": lines}  # fmt: skip
        answer = cls.env["rest.api.key"].generate(values)
        return answer["key"], cls.env["rest.api.key"].browse(answer["id"])

    def execute(self, key, model, method, args=(), kwargs=None):
        body = {"method": method, "args": list(args), "kwargs": kwargs or {}}
        return self.call("POST", f"/api/{model}/execute_kw", key=key, body=body)

    def search(self, key, model, **params):
        params = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in params.items()}
        return self.get(f"/api/{model}/search", key=key, params=params)

    # ------------------------------------------------------------ values
    def test_nested_commands_need_the_operation_on_the_related_model(self):
        key, _record = self.scoped_key(res__partner="rw")
        path = f"/api/res.partner/{self.company.id}"
        self.assertProblem(
            self.call("PUT", path, key=key, body={"category_id": [[0, 0, {"name": "walls-new"}]]}), 403
        )
        self.assertFalse(self.env["res.partner.category"].search([("name", "=", "walls-new")]))
        self.assertProblem(
            self.call("PUT", path, key=key, body={"category_id": [[1, self.tag.id, {"name": "x"}]]}), 403
        )
        self.assertEqual(self.tag.name, "walls-vip")
        # a one2many onto the same model: creating a child needs create on res.partner itself
        self.assertProblem(
            self.call("PUT", path, key=key, body={"child_ids": [[0, 0, {"name": "walls-kid"}]]}), 403
        )
        self.assertFalse(self.env["res.partner"].search([("name", "=", "walls-kid")]))
        # a one2many delete or detach needs delete
        self.assertProblem(self.call("PUT", path, key=key, body={"child_ids": [[2, self.child.id]]}), 403)
        self.assertProblem(self.call("PUT", path, key=key, body={"child_ids": [[3, self.child.id]]}), 403)
        self.assertEqual(self.child.parent_id, self.company)
        # fields of the key's own model, and updating its own lines, stay within the scopes
        response = self.call(
            "PUT",
            path,
            key=key,
            body={"comment": "ok", "child_ids": [[1, self.child.id, {"email": "c@x.test"}]]},
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.child.email, "c@x.test")

    def test_with_the_related_scopes_the_same_commands_work(self):
        key, _record = self.scoped_key(res__partner="rwcd", res__partner__category="rc")
        path = f"/api/res.partner/{self.company.id}"
        response = self.call("PUT", path, key=key, body={"category_id": [[0, 0, {"name": "walls-new"}]],
                                                          "child_ids": [[2, self.child.id]]})  # fmt: skip
        self.assertEqual(response.status_code, 200, response.text)
        self.assertTrue(self.env["res.partner.category"].search([("name", "=", "walls-new")]))
        self.assertFalse(self.child.exists())

    def test_a_key_cannot_rewrite_itself_through_nested_commands(self):
        key, record = self.scoped_key(res__partner="rw")
        attack = {
            "user_ids": [[1, self.admin.id, {"rest_api_key_ids": [[1, record.id, {"all_models": True}]]}]]
        }
        self.assertProblem(
            self.call("PUT", f"/api/res.partner/{self.admin.partner_id.id}", key=key, body=attack), 403
        )
        self.assertFalse(record.all_models)
        self.assertProblem(
            self.execute(key, "res.partner", "write", [[self.admin.partner_id.id], attack]), 403
        )
        self.assertFalse(record.all_models)
        self.assertProblem(self.get("/api/res.users/search", key=key), 403)

    def test_create_with_its_lines_needs_create_on_both(self):
        body = {"name": "Wallsland", "code": "WZ", "state_ids": [[0, 0, {"name": "North", "code": "N"}]]}
        key, _record = self.scoped_key(res__country="c")
        self.assertProblem(self.call("POST", "/api/res.country/create", key=key, body=body), 403)
        self.assertFalse(self.env["res.country"].search([("code", "=", "WZ")]))
        key, _record = self.scoped_key(res__country="c", res__country__state="c")
        response = self.call("POST", "/api/res.country/create", key=key, body=body)
        self.assertEqual(response.status_code, 201, response.text)
        self.assertEqual(
            self.env["res.country"].browse(response.json()["id"]).state_ids.mapped("code"), ["N"]
        )

    def test_execute_kw_writes_are_walked(self):
        key, _record = self.scoped_key(res__partner="rwc")
        new_tag = [[0, 0, {"name": "walls-kw"}]]
        for method, args, kwargs in (
            ("write", [[self.company.id], {"category_id": new_tag}], {}),
            ("create", [{"name": "p", "category_id": new_tag}], {}),
            ("copy", [[self.company.id]], {"default": {"category_id": new_tag}}),
            ("web_save", [[self.company.id], {"category_id": new_tag}], {"specification": {}}),
            ("load", [["name", "category_id/name"], [["p2", "walls-kw"]]], {}),
        ):
            self.assertProblem(self.execute(key, "res.partner", method, args, kwargs), 403)
        self.assertFalse(self.env["res.partner.category"].search([("name", "=", "walls-kw")]))
        response = self.execute(key, "res.partner", "write", [[self.company.id], {"comment": "fine"}])
        self.assertEqual(response.status_code, 200, response.text)

    # ------------------------------------------------------------ reads
    def test_reads_through_relations_need_read_on_every_model(self):
        key, _record = self.scoped_key(res__partner="r")
        admin_login = [["user_ids.login", "=", "admin"]]
        self.assertProblem(self.search(key, "res.partner", domain=admin_login), 403)
        self.assertProblem(self.search(key, "res.partner", domain=[["user_ids", "ilike", "adm"]]), 403)
        self.assertProblem(
            self.search(key, "res.partner", domain=[["user_ids", "any", [["login", "=", "admin"]]]]), 403
        )
        self.assertProblem(self.search(key, "res.partner", order="country_id desc"), 403)
        self.assertProblem(
            self.get("/api/res.partner/record_count", key=key, params={"domain": json.dumps(admin_login)}),
            403,
        )
        for method, args, kwargs in (
            ("search_read", [admin_login], {"fields": ["name"]}),
            ("search_count", [admin_login], {}),
            ("web_read", [[self.company.id]], {"specification": {"user_ids": {"fields": {"login": {}}}}}),
            ("web_search_read", [[]], {"specification": {"category_id": {"fields": {"name": {}}}}}),
            ("read_group", [[], ["__count"], ["country_code"]], {}),
            ("name_search", ["Walls"], {"args": admin_login}),
        ):
            self.assertProblem(self.execute(key, "res.partner", method, args, kwargs), 403)
        # on the key's own model everything answers, display names of relations included
        rows = self.search(
            key, "res.partner", domain=[["id", "=", self.company.id]], fields="name,category_id,parent_id"
        )
        self.assertEqual(rows.status_code, 200, rows.text)
        self.assertEqual(rows.json()[0]["category_id"], self.tag.ids)
        spec = {"parent_id": {"fields": {"display_name": {}}}, "category_id": {}, "country_id": {}}
        response = self.execute(key, "res.partner", "web_read", [[self.child.id]], {"specification": spec})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(
            response.json()[0]["parent_id"], {"id": self.company.id, "display_name": "Walls Inc"}
        )
        spec = {"category_id": {"fields": {"display_name": {}}}}  # names of lines: more than reading gives
        self.assertProblem(
            self.execute(key, "res.partner", "web_read", [[self.company.id]], {"specification": spec}), 403
        )

    def test_filtering_by_a_related_model_inside_the_scopes_works(self):
        key, _record = self.scoped_key(res__partner="r", res__partner__category="r")
        response = self.search(
            key, "res.partner", domain=[["category_id.name", "=", "walls-vip"]], fields="name"
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual([r["id"] for r in response.json()], self.company.ids)
        response = self.execute(key, "res.partner", "web_search_read", [[["category_id", "ilike", "walls-v"]]],
                                {"specification": {"category_id": {"fields": {"name": {}}}}})  # fmt: skip
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["records"][0]["category_id"][0]["name"], "walls-vip")

    # ------------------------------------------------------------ tokens and managers
    def test_a_login_token_cannot_mint_a_token(self):
        key = self.make_key(self.admin)
        token = self.call("POST", "/api/generate_token", key=key, body={"user_id": self.admin.id}).json()[
            "login_token"
        ]
        response = self.call("POST", "/api/generate_token", key=key, headers={"token": token},
                             body={"user_id": self.admin.id, "expiration_days": 3650})  # fmt: skip
        self.assertProblem(response, 403)
        self.assertNotIn("login_token", response.text)

    def test_a_manager_cannot_act_as_a_user_with_more_groups(self):
        manager = new_test_user(
            self.env, login="walls_manager", groups="base.group_user,rest_api.group_rest_api_manager"
        )
        plain = new_test_user(self.env, login="walls_plain", groups="base.group_user")
        key = self.make_key(manager)
        minted = self.call("POST", "/api/generate_token", key=key, body={"user_id": self.admin.id})
        self.assertProblem(minted, 403)
        self.assertNotIn("login_token", minted.text)
        self.assertEqual(
            self.call("POST", "/api/generate_token", key=key, body={"user_id": plain.id}).status_code, 200
        )
        record = self.env["rest.api.key"].search([("user_id", "=", manager.id)], limit=1)
        with self.assertRaises(AccessError):
            record.with_user(manager).write({"user_id": self.admin.id})
        record.with_user(manager).write({"user_id": plain.id})
        self.assertEqual(record.user_id, plain)
        with self.assertRaises(AccessError):
            self.env["rest.api.key"].with_user(manager).create(
                {"name": "for admin", "user_id": self.admin.id}
            )
        # a group nobody else holds: the manager may not reach its member, an admin of
        # access rights may (they could give themselves the group anyway)
        special = self.env["res.groups"].create({"name": "walls special"})
        member = new_test_user(self.env, login="walls_member", groups="base.group_user")
        member.groups_id |= special
        self.assertNotIn(special, self.admin.groups_id)
        with self.assertRaises(AccessError):
            self.env["rest.api.key"].with_user(manager).create({"name": "member", "user_id": member.id})
        self.assertProblem(
            self.call("POST", "/api/generate_token", key=key, body={"user_id": member.id}), 403
        )
        self.env["rest.api.key"].with_user(self.admin).create({"name": "member", "user_id": member.id})

    def test_an_owner_may_tighten_but_not_loosen_what_an_admin_set(self):
        owner = new_test_user(
            self.env, login="walls_owner", groups="base.group_user,rest_api.group_rest_api_user"
        )
        _key, record = self.scoped_key(owner, res__partner="r")
        # made by an admin in an earlier transaction (an owner sets the scopes of a key it creates)
        self.env.cr.execute(
            "UPDATE rest_api_key SET create_date = now() - interval '1 day' WHERE id = %s", [record.id]
        )
        record.invalidate_recordset(["create_date"])
        record.write({"rate_limit": 10, "rate_limit_period": 60, "allowed_ips": "10.0.0.0/8",
                      "expiration_date": "2030-01-01 00:00:00", "require_user_token": True})  # fmt: skip
        mine = record.with_user(owner)
        for loose in ({"rate_limit": 0}, {"rate_limit": 11}, {"rate_limit_period": 30}, {"allowed_ips": ""},
                      {"allowed_ips": "0.0.0.0/0"}, {"expiration_date": False},
                      {"expiration_date": "2031-01-01 00:00:00"}, {"require_user_token": False},
                      {"all_models": True}):  # fmt: skip
            with self.assertRaises(AccessError, msg=loose):
                mine.write(loose)
        line = mine.scope_ids
        with self.assertRaises(AccessError):
            line.write({"perm_write": True})
        with self.assertRaises(AccessError):
            mine.write({"scope_ids": [(0, 0, {"model_id": self.env["ir.model"]._get_id("res.users")})]})
        mine.write({"rate_limit": 5, "rate_limit_period": 120, "allowed_ips": "10.1.0.0/16",
                    "expiration_date": "2029-01-01 00:00:00", "name": "renamed"})  # fmt: skip
        line.write({"perm_read": False})
        self.assertEqual((record.rate_limit, record.allowed_ips, record.name), (5, "10.1.0.0/16", "renamed"))
        mine.write({"active": False})
        with self.assertRaises(AccessError):
            mine.write({"active": True})
        # an owner creating a key of their own sets its scopes, a manager may loosen anything
        new = self.env["rest.api.key"].with_user(owner).generate({"name": "own", "all_models": False, "scope_ids": [
            (0, 0, {"model_id": self.env["ir.model"]._get_id("res.country"), "perm_read": True})]})  # fmt: skip
        self.assertEqual(self.env["rest.api.key"].browse(new["id"]).scope_ids.model, "res.country")
        record.write({"active": True, "rate_limit": 0, "allowed_ips": False, "require_user_token": False})

    # ------------------------------------------------------------ counting
    def test_refused_calls_do_not_use_up_the_rate_limit(self):
        key = self.make_key(self.limited, rate_limit=2, rate_limit_period=3600, allowed_ips="10.9.9.9")
        # Under the test cursor a refused request rolls its throttle statements back with
        # it, so the count below cannot show a call counted before its refusal: the
        # counting call itself is watched (the e2e test sees the real counts).
        with patch.object(throttle, "count", wraps=throttle.count) as counted:
            for _i in range(4):
                self.assertProblem(self.get("/api/res.partner/search", key=key, params={"limit": 1}), 403)
            self.limited.active = False
            self.assertProblem(self.get("/api/res.partner/search", key=key, params={"limit": 1}), 401)
            self.limited.active = True
        self.assertEqual(counted.call_count, 0, "a refused call was counted against the key")
        self.env["rest.api.key"].search(
            [("user_id", "=", self.limited.id), ("rate_limit", "=", 2)]
        ).allowed_ips = False
        for _i in range(2):
            response = self.get("/api/res.partner/search", key=key, params={"limit": 1})
            self.assertEqual(response.status_code, 200, response.text)
        self.assertProblem(self.get("/api/res.partner/search", key=key, params={"limit": 1}), 429)

    # ------------------------------------------------------------ execute_kw limits
    def test_execute_kw_is_capped_to_the_page_size(self):
        self.env["ir.config_parameter"].set_param("rest_api.max_page_size", 3)
        self.env["res.partner"].create([{"name": f"walls-many-{i}"} for i in range(6)])
        many = [["name", "like", "walls-many-"]]
        for args, kwargs in (([many], {}), ([many], {"limit": 100}), ([many], {"limit": 0}),
                             ([many, ["name"], 0, 50], {})):  # fmt: skip
            response = self.execute(self.key, "res.partner", "search_read", args, kwargs)
            self.assertEqual(len(response.json()), 3, (args, kwargs, response.text))
        response = self.execute(self.key, "res.partner", "search", [many], {"limit": 2})
        self.assertEqual(len(response.json()), 2)
        for limit in ("x", -1, True, 2.5):
            self.assertProblem(self.execute(self.key, "res.partner", "search", [many], {"limit": limit}), 400)

    def test_execute_kw_context_goes_through_the_allow_list(self):
        for context in ({"tracking_disable": True}, {"install_mode": True}, {"active_test": "no"}):
            response = self.execute(self.key, "res.partner", "search", [[]], {"limit": 1, "context": context})
            self.assertProblem(response, 400)
        response = self.execute(
            self.key, "res.partner", "search", [[]], {"limit": 1, "context": {"lang": "en_US"}}
        )
        self.assertEqual(response.status_code, 200, response.text)

    def test_malformed_arguments_are_400_with_a_detail(self):
        scoped, _record = self.scoped_key(res__partner="r")
        for key in (self.key, scoped):
            for method, args, kwargs in (
                ("search", [[["bogus", "=", 1]]], {}),
                ("search", [[]], {"order": "bogus desc"}),
                ("search", ["not a domain"], {}),
                ("read", [[self.company.id], ["bogus"]], {}),
                ("read_group", [[], ["__count"], ["bogus"]], {}),
            ):
                response = self.execute(key, "res.partner", method, args, kwargs)
                body = self.assertProblem(response, 400)
                self.assertIn("bogus" if "bogus" in json.dumps(args + [kwargs]) else "domain", body["detail"])
