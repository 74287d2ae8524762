from odoo.tests import tagged

from .common import RestApiCase, with_handlers


@tagged("post_install", "-at_install")
class TestDataRoutes(RestApiCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partners = cls.env["res.partner"].create(
            [{"name": f"REST {name}", "ref": "REST-T", "email": f"{name}@example.com"} for name in "ABCDE"]
        )
        cls.domain = '[["ref", "=", "REST-T"]]'

    def search(self, **params):
        return self.get("/api/res.partner/search", params=dict({"domain": self.domain}, **params))

    # ------------------------------------------------------------ search
    def test_search_returns_read_shapes_and_paging_headers(self):
        response = self.search(fields="name,email,create_date", order="id", limit=2)
        self.assertEqual(response.status_code, 200)
        rows = response.json()
        self.assertEqual([r["id"] for r in rows], self.partners.ids[:2])
        self.assertEqual(set(rows[0]), {"id", "name", "email", "create_date"})
        self.assertRegex(rows[0]["create_date"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(response.headers["X-Total-Count"], "5")
        self.assertIn('rel="next"', response.headers["Link"])
        self.assertNotIn('rel="prev"', response.headers["Link"])

    def test_next_link_keeps_the_query(self):
        link = self.search(fields="name", order="id", limit=2).headers["Link"]
        url = link.split(">")[0].lstrip("<")
        rows = self.opener.get(self.base_url() + url, headers={"api-key": self.key}).json()
        self.assertEqual([r["id"] for r in rows], self.partners.ids[2:4])
        self.assertEqual(set(rows[0]), {"id", "name"})

    def test_domain_and_fields_syntaxes_agree(self):
        literal = "[('ref', '=', 'REST-T'), ('name', 'in', ('REST A', 'REST B'))]"
        as_json = '[["ref", "=", "REST-T"], ["name", "in", ["REST A", "REST B"]]]'
        for domain, fields in ((literal, "['name']"), (as_json, '["name"]'), (literal, "name")):
            rows = self.get("/api/res.partner/search", params={"domain": domain, "fields": fields}).json()
            self.assertEqual(sorted(r["name"] for r in rows), ["REST A", "REST B"])

    def test_default_page_is_80_and_maximum_is_configurable(self):
        self.assertEqual(len(self.get("/api/res.country/search", params={"fields": "name"}).json()), 80)
        self.env["ir.config_parameter"].set_param("rest_api.max_page_size", "100")
        response = self.get("/api/res.country/search", params={"limit": "101"})
        self.assertIn("100", self.assertProblem(response, 400)["detail"])

    def test_bad_query_values_are_400_without_echo(self):
        secret = "s3cr3t-value"
        for params in (
            {"domain": f'[["name", "~~", "{secret}"]]'},
            {"domain": f"[('name', '=', __import__('os').system('{secret}'))]"},
            {"domain": '[["no_such_field", "=", 1]]'},
            {"fields": "name,no_such_field"},
            {"order": "name; DROP TABLE res_partner"},
            {"order": "name sideways"},
            {"limit": "-1"},
            {"limit": "abc"},
            {"offset": "1.5"},
            {"context": '{"uid": 1}'},
        ):
            with self.subTest(params=params):
                self.assertNotIn(secret, str(self.assertProblem(self.search(**params), 400)))

    # ------------------------------------------------------------ other reads
    def test_read_one_and_unknown_record(self):
        partner = self.partners[0]
        body = self.get(
            f"/api/res.partner/{partner.id}", params={"fields": "name,parent_id,category_id"}
        ).json()
        self.assertEqual(body, {"id": partner.id, "name": "REST A", "parent_id": False, "category_id": []})
        self.assertProblem(self.get("/api/res.partner/2147483000"), 404)

    def test_schema_and_record_count(self):
        schema = self.get("/api/res.partner/schema").json()
        self.assertEqual(schema["parent_id"]["relation"], "res.partner")
        self.assertTrue(schema["name"]["searchable"] and schema["name"]["sortable"])
        body = self.get("/api/res.partner/record_count", params={"domain": "[('ref', '=', 'REST-T')]"}).json()
        self.assertEqual(
            body, {"model": "res.partner", "domain": [["ref", "=", "REST-T"]], "record_count": 5}
        )

    # ------------------------------------------------------------ writes
    def test_create_one_and_many(self):
        response = self.call("POST", "/api/res.partner/create", body={"name": "REST new", "ref": "REST-N"})
        self.assertEqual(response.status_code, 201)
        new_id = response.json()["id"]
        self.assertEqual(response.headers["Location"], f"/api/res.partner/{new_id}")
        self.assertEqual(response.json()["message"], "Record created successfully.")
        response = self.call("POST", "/api/res.partner/create", body=[{"name": "REST x"}, {"name": "REST y"}])
        self.assertEqual(len(response.json()["ids"]), 2)
        self.assertEqual(self.env["res.partner"].browse(new_id).create_uid, self.admin)

    def test_update_and_delete(self):
        partner = self.partners[1]
        for method in ("PUT", "PATCH"):
            response = self.call(method, f"/api/res.partner/{partner.id}", body={"comment": method})
            self.assertEqual(response.json(), {"id": partner.id, "message": "Record updated successfully."})
            self.assertEqual(str(partner.comment), f"<p>{method}</p>")
        response = self.call("DELETE", f"/api/res.partner/{partner.id}")
        self.assertEqual(response.json()["message"], "Record deleted successfully.")
        self.assertFalse(partner.exists())

    def test_wrong_bodies_change_nothing(self):
        partner = self.partners[2]
        for body in ({"name": {"nested": 1}}, {"no_such_field": 1}, {"parent_id": "abc"}):
            self.assertProblem(self.call("PUT", f"/api/res.partner/{partner.id}", body=body), 400)
        self.assertProblem(self.call("PUT", f"/api/res.partner/{partner.id}", data="{", headers={}), 400)
        self.assertEqual(partner.name, "REST C")

    def test_validation_error_is_422_and_rolled_back(self):
        partner = self.partners[3]
        response = self.call(
            "PUT", f"/api/res.partner/{partner.id}", body={"parent_id": partner.id, "name": "X"}
        )
        self.assertIn("recursive", self.assertProblem(response, 422)["detail"])
        self.assertEqual(partner.name, "REST D")

    # ------------------------------------------------------------ execute_kw
    def test_execute_kw(self):
        body = {"method": "search_read", "args": [[["ref", "=", "REST-T"]]], "kwargs": {"fields": ["name"]}}
        rows = self.call("POST", "/api/res.partner/execute_kw", body=body).json()
        self.assertEqual(len(rows), 5)
        body = {"method": "search", "args": [[["ref", "=", "REST-T"]]], "kwargs": {"order": "id"}}
        self.assertEqual(
            self.call("POST", "/api/res.partner/execute_kw", body=body).json(), self.partners.ids
        )

    def test_execute_kw_refusals(self):
        for body, status in (
            ({"method": "_compute_display_name", "args": [[1]]}, 403),
            ({"method": "init", "args": []}, 403),
            ({"method": "no_such_method", "args": []}, 400),
            ({"method": "search", "args": [], "kwargs": {"bogus": 1}}, 400),
            ({"method": "read", "args": [["x"]]}, 400),
            ({"method": "search", "args": "x"}, 400),
            ([1, 2], 400),
        ):
            with self.subTest(body=body):
                self.assertProblem(self.call("POST", "/api/res.partner/execute_kw", body=body), status)

    # ------------------------------------------------------------ errors and routing
    def test_unknown_model_route_and_method(self):
        self.assertProblem(self.get("/api/no.such.model/search"), 404)
        self.assertProblem(self.get("/api/res.partner/search/more"), 404)
        self.assertProblem(self.get("/api/nothing"), 404)
        self.assertProblem(
            self.call("PUT", "/api/%C2%BF/b%0Ac", headers={"If-Match": "*"}), 404
        )  # Odoo's router
        response = self.call("DELETE", "/api/res.partner/search")
        self.assertProblem(response, 405)
        self.assertIn("GET", response.headers["Allow"])

    def test_unexpected_error_is_500_with_the_request_id_logged(self):
        def boom(call):
            raise RuntimeError("private detail")

        with (
            with_handlers(self.env, {"record_count": lambda original: boom}),
            self.assertLogs("odoo.addons.rest_api.controllers.dispatcher", "ERROR") as logged,
        ):
            response = self.get("/api/res.partner/record_count")
        body = self.assertProblem(response, 500)
        self.assertNotIn("private detail", response.text)
        self.assertIn(body["request_id"], "\n".join(logged.output))

    def test_body_over_the_limit_is_413(self):
        self.env["ir.config_parameter"].set_param("rest_api.max_body_size", "1000")
        response = self.call("POST", "/api/res.partner/create", body={"name": "x" * 2000})
        self.assertProblem(response, 413)
