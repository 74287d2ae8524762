"""Nested writes (API.md section 10) with the walls of section 8, through the routes.

An x2many value may be an array of line objects and ids: they become the
commands a client could have sent, walked by the walls as such; a line named
by id must already be a line of the record written.
"""

from odoo.tests import tagged

from ..controllers import handlers
from ..lib import errors, values
from .common import RestApiCase, recorded_statements


@tagged("post_install", "-at_install")
class TestNestedWrites(RestApiCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.company = Partner.create({"name": "Nest Inc", "is_company": True})
        cls.kid = Partner.create({"name": "Nest Kid", "parent_id": cls.company.id})
        cls.other_kid = Partner.create({"name": "Nest Kid", "parent_id": cls.company.id})
        cls.stranger = Partner.create(
            {"name": "Nest Stranger", "parent_id": Partner.create({"name": "Else"}).id}
        )
        cls.vip, cls.gold = cls.env["res.partner.category"].create(
            [{"name": "nest-vip"}, {"name": "nest-gold"}]
        )
        cls.company.category_id = cls.vip
        cls.path = f"/api/res.partner/{cls.company.id}"

    def put(self, body, key=None, path=None):
        return self.call("PUT", path or self.path, key=key, body=body)

    def scoped_key(self, **scopes):
        """A key of the admin reaching only ``scopes``: {"res_partner": "rw", ...}."""
        lines = [self.scope(model.replace("__", "."), letters) for model, letters in scopes.items()]
        return self.make_key(self.admin, all_models=False, scope_ids=lines)

    # ------------------------------------------------------------ what it does
    def test_create_with_lines_links_and_a_many2one_object(self):
        country = self.env.ref("base.be")
        body = {"name": "Nest New", "is_company": True, "country_id": {"id": country.id},
                "child_ids": [{"name": "Nest A", "email": "a@nest.test"}, {"name": "Nest B"}],
                "category_id": [self.vip.id, {"name": "nest-new"}]}  # fmt: skip
        response = self.call("POST", "/api/res.partner/create", body=body)
        self.assertEqual(response.status_code, 201, response.text)
        made = self.env["res.partner"].browse(response.json()["id"])
        self.assertEqual(made.country_id, country)
        self.assertEqual(sorted(made.child_ids.mapped("name")), ["Nest A", "Nest B"])
        self.assertEqual(sorted(made.category_id.mapped("name")), ["nest-new", "nest-vip"])

    def test_update_a_line_leaves_the_others_as_they_are(self):
        response = self.put(
            {"child_ids": [{"id": self.kid.id, "email": "kid@nest.test"}, {"name": "Nest C"}]}
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.kid.email, "kid@nest.test")
        self.assertEqual(len(self.company.child_ids), 3)
        self.assertIn(self.other_kid, self.company.child_ids)
        self.assertEqual(self.company.category_id, self.vip)  # not named: untouched

    def test_delete_a_line_of_a_one2many_removes_the_record(self):
        response = self.put({"child_ids": [{"id": self.kid.id, "_delete": True}]})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertFalse(self.kid.exists())
        self.assertEqual(self.company.child_ids, self.other_kid)

    def test_link_and_unlink_on_a_many2many(self):
        response = self.put({"category_id": [self.gold.id, {"id": self.vip.id, "_delete": True}]})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.company.category_id, self.gold)
        self.assertTrue(self.vip.exists())  # unlinked, not deleted
        # an array of ids alone still sets the whole set
        self.assertEqual(self.put({"category_id": [self.vip.id]}).status_code, 200)
        self.assertEqual(self.company.category_id, self.vip)

    def test_a_bare_id_on_a_one2many_moves_that_line_here(self):
        response = self.put({"child_ids": [self.stranger.id, {"name": "Nest D"}]})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.stranger.parent_id, self.company)

    def test_a_many2one_as_an_object(self):
        other = self.env["res.partner"].create({"name": "Nest Parent"})
        response = self.put({"parent_id": {"id": other.id}}, path=f"/api/res.partner/{self.kid.id}")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.kid.parent_id, other)
        body = self.assertProblem(self.put({"parent_id": {"id": other.id, "name": "x"}}), 400)
        self.assertIn("parent_id", body["detail"])

    def test_an_archived_line_is_still_a_line_of_the_record(self):
        self.vip.active = False
        response = self.put({"category_id": [{"id": self.vip.id, "active": True}]})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertTrue(self.vip.active)

    def test_command_lists_still_work(self):
        response = self.put({"child_ids": [[1, self.kid.id, {"ref": "K1"}], [0, 0, {"name": "Nest E"}]]})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.kid.ref, "K1")
        self.assertIn("Nest E", self.company.child_ids.mapped("name"))

    # ------------------------------------------------------------ what it refuses
    def test_a_line_of_another_record_is_400_and_nothing_changes(self):
        for lines in (
            [{"id": self.stranger.id, "name": "hijacked"}],
            [{"id": self.stranger.id, "_delete": True}],
            [{"id": self.kid.id, "name": "ok"}, {"id": self.stranger.id, "name": "hijacked"}],
        ):
            body = self.assertProblem(self.put({"child_ids": lines}), 400)
            self.assertIn(f"record {self.stranger.id} is not a line", body["detail"])
        self.assertEqual((self.stranger.name, self.kid.name), ("Nest Stranger", "Nest Kid"))
        # a many2many: a record that is not linked is not a line of it
        self.assertProblem(self.put({"category_id": [{"id": self.gold.id, "name": "renamed"}]}), 400)
        self.assertProblem(self.put({"category_id": [{"id": self.gold.id, "_delete": True}]}), 400)
        self.assertEqual(self.gold.name, "nest-gold")

    def test_lines_are_checked_at_every_level(self):
        grandchild = self.env["res.partner"].create({"name": "Nest Grandchild", "parent_id": self.kid.id})
        ok = {"child_ids": [{"id": self.kid.id, "child_ids": [{"id": grandchild.id, "ref": "G"}]}]}
        self.assertEqual(self.put(ok).status_code, 200)
        self.assertEqual(grandchild.ref, "G")
        # the stranger is nobody's line here; nor is the grandchild a line of the other kid
        bad = {"child_ids": [{"id": self.other_kid.id, "child_ids": [{"id": grandchild.id, "ref": "X"}]}]}
        self.assertProblem(self.put(bad), 400)
        self.assertEqual(grandchild.ref, "G")

    def test_one_query_per_record_and_field(self):
        env = self.env(user=self.admin)

        def statements(named):
            lines = values.Lines()
            for name, line in named:
                lines.add("res.partner", self.company.id, name, line.id)
            handlers.check_lines(env, lines)  # record rules' domains are computed once per worker
            env.invalidate_all()
            with recorded_statements() as seen:
                handlers.check_lines(env, lines)
            return len(seen)

        one = statements([("child_ids", self.kid)])
        self.assertEqual(statements([("child_ids", self.kid), ("child_ids", self.other_kid)]), one)
        both = [("child_ids", self.kid), ("child_ids", self.other_kid), ("category_id", self.vip)]
        self.assertEqual(statements(both), one + 1)
        lines = values.Lines()
        lines.add("res.partner", self.kid.id, "child_ids", self.stranger.id)
        with self.assertRaises(errors.BadRequest):
            handlers.check_lines(env, lines)

    def test_objects_naming_lines_on_create_are_400(self):
        for lines in ([{"id": self.kid.id, "name": "x"}], [{"id": self.kid.id, "_delete": True}]):
            body = self.assertProblem(
                self.call("POST", "/api/res.partner/create", body={"name": "Nest F", "child_ids": lines}), 400
            )
            self.assertIn("has no lines yet", body["detail"])
        self.assertEqual(self.kid.parent_id, self.company)
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Nest F")]))

    def test_on_create_the_lines_named_inside_an_update_command_are_checked(self):
        grandchild = self.env["res.partner"].create({"name": "Nest Grandchild", "parent_id": self.kid.id})
        for line, status in ((self.stranger, 400), (grandchild, 201)):
            inner = {"child_ids": [{"id": line.id, "ref": "C"}]}
            body = {"name": "Nest G", "child_ids": [[1, self.kid.id, inner]]}
            response = self.call("POST", "/api/res.partner/create", body=body)
            self.assertEqual(response.status_code, status, response.text)
        self.assertEqual((self.stranger.ref, grandchild.ref), (False, "C"))

    def test_malformed_line_objects_are_400(self):
        for lines in (
            [{"name": "x", "bogus": 1}],
            [{"id": self.kid.id, "_delete": True, "name": "x"}],
            [{"id": self.kid.id, "_delete": False}],
            [{"name": "x"}, [0, 0, {"name": "y"}]],
        ):
            self.assertProblem(self.put({"child_ids": lines}), 400)
        self.assertTrue(self.kid.exists())
        self.assertEqual(len(self.company.child_ids), 2)

    # ------------------------------------------------------------ walls (section 8)
    def test_creating_a_line_needs_create_on_its_model(self):
        key = self.scoped_key(res__partner="rw", res__partner__category="rw")
        self.assertProblem(self.put({"category_id": [{"name": "nest-walled"}]}, key=key), 403)
        self.assertFalse(self.env["res.partner.category"].search([("name", "=", "nest-walled")]))
        self.assertProblem(
            self.put({"child_ids": [{"name": "Nest walled"}]}, key=key), 403
        )  # create on itself
        # updating an own line needs write, which the key has
        response = self.put({"category_id": [{"id": self.vip.id, "name": "nest-vip2"}]}, key=key)
        self.assertEqual(response.status_code, 200, response.text)
        key = self.scoped_key(res__partner="rw", res__partner__category="rwc")
        self.assertEqual(self.put({"category_id": [{"name": "nest-walled"}]}, key=key).status_code, 200)

    def test_deleting_a_one2many_line_needs_delete_on_its_model(self):
        key = self.scoped_key(res__partner="rwc")
        self.assertProblem(self.put({"child_ids": [{"id": self.kid.id, "_delete": True}]}, key=key), 403)
        self.assertTrue(self.kid.exists())
        # unlinking a many2many line is no delete: reading the category is enough
        key = self.scoped_key(res__partner="rwc", res__partner__category="r")
        self.assertEqual(
            self.put({"category_id": [{"id": self.vip.id, "_delete": True}]}, key=key).status_code, 200
        )
        self.assertProblem(self.put({"child_ids": [{"id": self.kid.id, "_delete": True}]}, key=key), 403)
        key = self.scoped_key(res__partner="rwcd")
        self.assertEqual(
            self.put({"child_ids": [{"id": self.kid.id, "_delete": True}]}, key=key).status_code, 200
        )
        self.assertFalse(self.kid.exists())

    def test_a_key_cannot_reach_its_own_scopes_through_line_objects(self):
        key = self.scoped_key(res__partner="rw", res__users="rw")
        record = self.env["rest.api.key"].search([], order="id desc", limit=1)
        attack = {
            "user_ids": [{"id": self.admin.id, "rest_api_key_ids": [{"id": record.id, "all_models": True}]}]
        }
        self.assertProblem(
            self.put(attack, key=key, path=f"/api/res.partner/{self.admin.partner_id.id}"), 403
        )
        self.assertFalse(record.all_models)

    # ------------------------------------------------------------ the other writing routes
    def test_external_id_upsert_and_batch_take_line_objects(self):
        created = self.call("PUT", "/api/res.partner/xmlid/nest_sync.co", body={"name": "Nest X", "child_ids": [{"name": "Nest X1"}]})  # fmt: skip
        self.assertEqual(created.status_code, 201, created.text)
        made = self.env["res.partner"].browse(created.json()["id"])
        line = made.child_ids
        self.assertEqual(line.name, "Nest X1")
        updated = self.call("PUT", "/api/res.partner/xmlid/nest_sync.co", body={"child_ids": [{"id": line.id, "ref": "X1"}]})  # fmt: skip
        self.assertEqual(updated.status_code, 200, updated.text)
        self.assertEqual(line.ref, "X1")
        body = {"child_ids": [{"id": self.kid.id, "ref": "X"}]}
        self.assertProblem(self.call("PUT", "/api/res.partner/xmlid/nest_sync.co", body=body), 400)
        self.assertProblem(
            self.call("PUT", "/api/res.partner/xmlid/nest_sync.new", body=dict(body, name="N")), 400
        )
        operations = [
            {"method": "POST", "path": "/api/res.partner/create", "body": {"name": "Nest Y", "child_ids": [{"name": "Nest Y1"}]}},
            {"method": "PATCH", "path": f"/api/res.partner/{self.company.id}", "body": {"child_ids": [{"id": self.kid.id, "ref": "Y"}]}},
        ]  # fmt: skip
        response = self.call("POST", "/api/batch", body={"operations": operations})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.kid.ref, "Y")
        # a line of another record fails the batch: nothing is written
        operations[1]["body"] = {"child_ids": [{"id": self.stranger.id, "ref": "Z"}]}
        failed = self.assertProblem(self.call("POST", "/api/batch", body={"operations": operations}), 400)
        self.assertEqual(failed["operation"], 1)
        self.assertEqual(self.env["res.partner"].search_count([("name", "=", "Nest Y")]), 1)
        self.assertFalse(self.stranger.ref)
