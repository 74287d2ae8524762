"""API.md section 10, nested reads: ``fields`` as Odoo's web_read specification,
on search and by id, within the key's scopes and the user's rights, one batch
of SQL per level whatever the number of records."""

import json
from unittest.mock import patch

from odoo.tests import tagged

from ..infra import search_page
from .common import RestApiCase, recorded_statements

SPEC = "name,country_id,child_ids{name,country_id{name,code},parent_id},category_id"


@tagged("post_install", "-at_install")
class TestNestedReads(RestApiCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.be, cls.fr = cls.env.ref("base.be"), cls.env.ref("base.fr")
        cls.company = cls.env["res.partner"].create(
            {"name": "Nested Co", "is_company": True, "country_id": cls.be.id}
        )
        cls.jane, cls.bob = cls.env["res.partner"].create([
            {"name": "Jane", "parent_id": cls.company.id, "country_id": cls.fr.id, "type": "invoice"},
            {"name": "Bob", "parent_id": cls.company.id, "type": "contact"},
        ])  # fmt: skip
        cls.lonely = cls.env["res.partner"].create({"name": "Nested Lonely", "is_company": True})
        cls.by_name = json.dumps([["name", "in", ["Nested Co", "Nested Lonely"]]])

    def search(self, fields, key=None, **params):
        params = dict({"domain": self.by_name, "fields": fields, "order": "name"}, **params)
        return self.get("/api/res.partner/search", key=key, params=params)

    def test_search_expands_many2ones_and_x2manys(self):
        response = self.search(SPEC)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.headers["X-Total-Count"], "2")
        company, lonely = response.json()
        self.assertEqual(company["country_id"], [self.be.id, self.be.display_name])  # not expanded: as read()
        self.assertEqual(
            sorted(company["child_ids"], key=lambda line: line["name"]),
            [
                {"id": self.bob.id, "name": "Bob", "country_id": {"id": self.be.id, "name": "Belgium", "code": "BE"},
                 "parent_id": [self.company.id, "Nested Co"]},
                {"id": self.jane.id, "name": "Jane", "country_id": {"id": self.fr.id, "name": "France", "code": "FR"},
                 "parent_id": [self.company.id, "Nested Co"]},
            ],
        )  # fmt: skip
        self.assertEqual(company["category_id"], [])
        self.assertEqual(lonely, {"id": self.lonely.id, "name": "Nested Lonely", "country_id": False,
                                  "child_ids": [], "category_id": []})  # fmt: skip

    def test_an_empty_many2one_expanded_is_false(self):
        rows = self.search("name,country_id{name}").json()
        self.assertEqual([row["country_id"] for row in rows], [{"id": self.be.id, "name": "Belgium"}, False])

    def test_by_id_json_and_compact_are_the_same(self):
        path = f"/api/res.partner/{self.jane.id}"
        compact = self.get(path, params={"fields": "name,parent_id{name,country_id{code}},category_id"})
        spec = {"name": {}, "parent_id": {"fields": {"name": {}, "country_id": {"fields": {"code": {}}}}},
                "category_id": {}}  # fmt: skip
        as_json = self.get(path, params={"fields": json.dumps(spec)})
        self.assertEqual(compact.status_code, 200, compact.text)
        expected = {"id": self.jane.id, "name": "Jane", "category_id": [],
                    "parent_id": {"id": self.company.id, "name": "Nested Co",
                                  "country_id": {"id": self.be.id, "code": "BE"}}}  # fmt: skip
        self.assertEqual(compact.json(), expected)
        self.assertEqual(as_json.json(), expected)
        self.assertEqual(compact.headers["ETag"], as_json.headers["ETag"])

    def test_plain_fields_keep_their_answer(self):
        plain = self.search("name,country_id,child_ids").json()
        self.assertEqual(self.search('{"name": {}, "country_id": {}, "child_ids": {}}').json(), plain)
        self.assertEqual(plain[0]["country_id"], [self.be.id, "Belgium"])
        self.assertEqual(sorted(plain[0]["child_ids"]), sorted([self.jane.id, self.bob.id]))
        path = f"/api/res.partner/{self.company.id}"
        tag = self.get(path, params={"fields": "name"}).headers["ETag"]
        self.assertTrue(tag.startswith('"'), tag)  # a plain read keeps the record's strong version

    def test_plain_fields_keep_the_plain_path(self):
        # plain columns are read from the query's rows (infra/search_page.py), not by web_read
        with patch.object(search_page, "_plain_page", wraps=search_page._plain_page) as plain:
            for fields in ("name,email", '["name", "email"]', '{"name": {}, "email": {}}'):
                self.assertEqual(self.search(fields).status_code, 200)
            self.assertEqual(plain.call_count, 3)
            self.assertEqual(self.search("name,country_id{name}").status_code, 200)
            self.assertEqual(plain.call_count, 3)

    def test_refusals_are_400_and_name_no_value(self):
        for fields, said in (
            ("name{id}", "'name' is a char field"),
            ("child_ids{nope}", "Unknown field 'nope'"),
            ("child_ids{name,}", "a field name is missing"),
            (
                '{"child_ids": {"fields": {"name": {}}, "context": {"active_test": false}}}',
                "only hold 'fields'",
            ),
        ):
            body = self.assertProblem(self.search(fields), 400)
            self.assertIn(said, body["detail"])
            self.assertNotIn("Nested Co", json.dumps(body))
        self.assertProblem(
            self.get(f"/api/res.partner/{self.jane.id}", params={"fields": "parent_id{x}"}), 400
        )

    def test_depth_follows_the_setting(self):
        three = "child_ids{parent_id{country_id{name}}}"
        self.assertEqual(self.search(three).status_code, 200)
        body = self.assertProblem(self.search("child_ids{parent_id{country_id{currency_id{name}}}}"), 400)
        self.assertIn("at most 3 levels", body["detail"])
        self.env["ir.config_parameter"].set_param("rest_api.max_expand_depth", "1")
        self.assertIn("at most 1 levels", self.assertProblem(self.search(three), 400)["detail"])
        self.assertEqual(self.search("child_ids{name}").status_code, 200)
        self.env["ir.config_parameter"].set_param("rest_api.max_expand_depth", "0")
        self.assertIn("turned off", self.assertProblem(self.search("child_ids{name}"), 400)["detail"])
        self.assertEqual(self.search("name,child_ids").status_code, 200)

    def test_a_model_that_searches_its_own_way(self):
        # ir.ui.menu overrides search_fetch (menus the user may see): read through it, then web_read
        menu = self.env.ref("base.menu_administration")
        response = self.get("/api/ir.ui.menu/search", params={
            "domain": json.dumps([["id", "=", menu.id]]), "fields": "name,parent_id,child_id{name,parent_id{name}}"})  # fmt: skip
        self.assertEqual(response.status_code, 200, response.text)
        (row,) = response.json()
        self.assertTrue(
            row["child_id"] and all(set(c) == {"id", "name", "parent_id"} for c in row["child_id"])
        )
        self.assertEqual({c["parent_id"]["id"] for c in row["child_id"]}, {menu.id})

    # ------------------------------------------------------------ versions and representations
    def test_an_expanded_read_has_a_weak_etag_that_follows_its_lines(self):
        path, fields = f"/api/res.partner/{self.company.id}", {"fields": "name,child_ids{name}"}
        first = self.get(path, params=fields)
        tag = first.headers["ETag"]
        self.assertTrue(tag.startswith('W/"'), tag)
        cached = self.get(path, params=fields, headers={"If-None-Match": tag})
        self.assertEqual((cached.status_code, cached.content, cached.headers["ETag"]), (304, b"", tag))
        plain_tag = self.get(path, params={"fields": "name"}).headers["ETag"]
        self.bob.name = "Robert"  # a line changes, the record does not
        self.env.flush_all()
        fresh = self.get(path, params=fields, headers={"If-None-Match": tag})
        self.assertEqual(fresh.status_code, 200)
        self.assertNotEqual(fresh.headers["ETag"], tag)
        self.assertIn("Robert", fresh.text)
        self.assertEqual(self.get(path, params={"fields": "name"}).headers["ETag"], plain_tag)
        # If-Match names the record's version: a weak tag never matches it
        self.assertProblem(self.call("PATCH", path, body={"comment": "x"}, headers={"If-Match": tag}), 412)

    def test_a_representation_is_nested_too(self):
        response = self.call("PATCH", f"/api/res.partner/{self.company.id}", body={"comment": "nested"},
                             params={"fields": "name,child_ids{name}"},
                             headers={"Prefer": "return=representation"})  # fmt: skip
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(sorted(line["name"] for line in response.json()["child_ids"]), ["Bob", "Jane"])
        self.assertTrue(response.headers["ETag"].startswith('W/"'))

    def test_a_missing_record_is_404(self):
        missing = self.env["res.partner"].search([], order="id desc", limit=1).id + 1000
        self.assertProblem(self.get(f"/api/res.partner/{missing}", params={"fields": "child_ids{name}"}), 404)

    # ------------------------------------------------------------ walls and rights
    def scoped_key(self, **scopes):
        lines = [self.scope(model.replace("__", "."), letters) for model, letters in scopes.items()]
        return self.make_key(self.admin, all_models=False, scope_ids=lines)

    def test_every_expanded_model_needs_read_in_the_scopes(self):
        partners = self.scoped_key(res__partner="r")
        self.assertEqual(self.search("name,child_ids{name,parent_id}", key=partners).status_code, 200)
        self.assertEqual(
            self.search("name,country_id", key=partners).status_code, 200
        )  # its name: a read gives it
        for fields in (
            "country_id{name}",
            "child_ids{country_id{code}}",
            '{"country_id": {"fields": {"name": {}}}}',
        ):
            body = self.assertProblem(self.search(fields, key=partners), 403)
            self.assertIn("res.country", body["detail"])
        path = f"/api/res.partner/{self.jane.id}"
        self.assertProblem(
            self.get(path, key=partners, params={"fields": "parent_id{country_id{name}}"}), 403
        )
        # create alone on the countries is not read
        creator = self.scoped_key(res__partner="r", res__country="c")
        self.assertProblem(self.search("country_id{name}", key=creator), 403)
        reader = self.scoped_key(res__partner="r", res__country="r")
        self.assertEqual(self.search("country_id{name}", key=reader).status_code, 200)

    def test_a_field_hidden_by_groups_is_unknown_in_a_nested_read(self):
        self.patch(self.env["res.partner"]._fields["comment"], "groups", "base.group_system")
        self.jane.comment = "hush-hush"
        body = self.assertProblem(self.search("child_ids{name,comment}", key=self.limited_key), 400)
        self.assertIn("Unknown field 'comment'", body["detail"])
        self.assertNotIn("hush-hush", json.dumps(body))
        self.assertIn("hush-hush", self.search("child_ids{name,comment}").text)  # the admin reads it

    def test_a_record_rule_on_an_expanded_record_is_403(self):
        self.env["ir.rule"].create({
            "name": "nested: no HIDDEN partners", "model_id": self.env.ref("base.model_res_partner").id,
            "groups": [(4, self.env.ref("base.group_user").id)], "domain_force": "[('name', 'not like', 'HIDDEN')]",
        })  # fmt: skip
        self.company.name = "Nested Co HIDDEN"
        path = f"/api/res.partner/{self.jane.id}"
        plain = self.get(path, key=self.limited_key, params={"fields": "name,parent_id"})
        self.assertEqual(
            plain.json()["parent_id"], [self.company.id, "Nested Co HIDDEN"]
        )  # a display name, as read()
        body = self.assertProblem(
            self.get(path, key=self.limited_key, params={"fields": "parent_id{email}"}), 403
        )
        self.assertNotIn("HIDDEN", json.dumps(body))


@tagged("post_install", "-at_install")
class TestNestedReadCost(RestApiCase):
    """The records of each level are read in one batch: 80 companies with their contacts
    cost the SQL statements that 8 cost."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        countries = cls.env["res.country"].search([], limit=80)
        companies = cls.env["res.partner"].create([
            {"name": f"Cost Co {i:02}", "is_company": True, "ref": "cost-8" if i < 8 else "cost-72",
             "country_id": countries[i].id}
            for i in range(80)
        ])  # fmt: skip
        cls.env["res.partner"].create([
            {"name": f"{company.name} contact {n}", "parent_id": company.id}
            for company in companies for n in range(3)
        ])  # fmt: skip

    def statements(self, refs, fields):
        params = {"domain": json.dumps([["ref", "in", refs]]), "fields": fields, "limit": 100}
        with recorded_statements() as seen:
            response = self.get("/api/res.partner/search", params=params)
        self.assertEqual(response.status_code, 200, response.text)
        return len(response.json()), len(seen)

    def test_eighty_records_cost_what_eight_cost(self):
        fields = "name,country_id{name,code},child_ids{name,country_id{name},parent_id}"
        self.statements(["cost-8"], fields)  # caches warmed
        eight, few = self.statements(["cost-8"], fields)
        eighty, many = self.statements(["cost-8", "cost-72"], fields)
        self.assertEqual((eight, eighty), (8, 80))
        self.assertEqual(many, few)
