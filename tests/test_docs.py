import gzip

from odoo.tests import tagged

from ..lib.openapi import SHARED_SCHEMAS
from .common import RestApiCase

# every document carries the shared schemas (x2many commands, expanded records) and Problem
SHARED = ["Problem", *SHARED_SCHEMAS]


@tagged("post_install", "-at_install")
class TestDocs(RestApiCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        scope = {"model_id": cls.env["ir.model"]._get("res.partner").id, "perm_read": True}
        generated = cls.env["rest.api.key"].generate(
            {"name": "partners", "user_id": cls.admin.id, "all_models": False, "scope_ids": [(0, 0, scope)]}
        )
        cls.partner_key, cls.partner_key_record = (
            generated["key"],
            cls.env["rest.api.key"].browse(generated["id"]),
        )

    def schemas(self, response):
        self.assertEqual(response.status_code, 200, response.text[:300])
        return response.json()["components"]["schemas"]

    def test_anonymous_document_is_generic(self):
        doc = self.get("/api/openapi.json", key=False).json()
        self.assertEqual(list(doc["components"]["schemas"]), SHARED)
        self.assertIn("/api/{model}/search", doc["paths"])
        self.assertFalse([path for path in doc["paths"] if "res.partner" in path])
        self.assertFalse([tag for tag in doc["tags"] if tag["name"] == "res.partner"])

    def test_documents_are_gzipped_for_a_client_that_accepts_it(self):
        for path in ("/api/openapi.json", "/api/postman.json"):
            with self.subTest(path=path):
                plain = self.get(path, headers={"Accept-Encoding": "identity"})
                packed = self.opener.get(
                    self.base_url() + path,
                    headers={"api-key": self.key, "Accept-Encoding": "gzip"},
                    stream=True,
                    timeout=30,
                )
                self.assertNotIn("Content-Encoding", plain.headers)
                self.assertEqual(packed.headers["Content-Encoding"], "gzip")
                self.assertIn("Accept-Encoding", packed.headers["Vary"])
                raw = packed.raw.read()
                self.assertLess(len(raw), len(plain.content) / 5)
                self.assertEqual(gzip.decompress(raw), plain.content)
                refused = self.get(path, headers={"Accept-Encoding": "gzip;q=0"})
                self.assertNotIn("Content-Encoding", refused.headers)

    def test_a_read_only_key_sees_only_reads_in_its_document_and_in_allow(self):
        doc = self.get("/api/openapi.json", key=self.partner_key).json()
        self.assertEqual(set(doc["paths"]["/api/res.partner/{id}"]), {"get", "parameters"})
        self.assertNotIn("/api/res.partner/create", doc["paths"])
        self.assertNotIn("put", doc["paths"]["/api/res.partner/xmlid/{xmlid}"])
        # OPTIONS says the same to a caller with that key (schemathesis compares them)
        for key, allowed in (
            (self.partner_key, "GET, HEAD, OPTIONS"),
            (self.key, "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"),
        ):
            answer = self.opener.request(
                "OPTIONS", self.base_url() + "/api/res.partner/7", headers={"api-key": key}
            )
            self.assertEqual((answer.status_code, answer.headers["Allow"]), (204, allowed))
        # nothing said of the scopes to a caller the key would not serve (here: another address)
        self.partner_key_record.allowed_ips = "10.9.9.9/32"
        headers = {"api-key": self.partner_key}
        answer = self.opener.request("OPTIONS", self.base_url() + "/api/res.partner/7", headers=headers)
        self.assertEqual(answer.headers["Allow"], "DELETE, GET, HEAD, OPTIONS, PATCH, PUT")
        # a browser's preflight
        answer = self.opener.request("OPTIONS", self.base_url() + "/api/res.partner/7")
        self.assertEqual(answer.headers["Allow"], "DELETE, GET, HEAD, OPTIONS, PATCH, PUT")

    def test_docs_public_off_needs_a_key_or_a_login(self):
        self.env["ir.config_parameter"].sudo().set_param("rest_api.docs_public", "False")
        for path in ("/api/openapi.json", "/api/postman.json", "/api/docs"):
            self.assertProblem(self.get(path, key=False), 401)
        self.assertEqual(self.get("/api/openapi.json").status_code, 200)

    def test_key_document_has_only_its_scoped_models(self):
        schemas = self.schemas(self.get("/api/openapi.json", key=self.partner_key))
        self.assertEqual(
            sorted(schemas), sorted([*SHARED, "res.partner", "res.partner-create", "res.partner-update"])
        )

    def test_models_parameter_narrows_and_ignores_unreachable_names(self):
        response = self.get("/api/openapi.json", params={"models": "res.country,res.partner,no.such.model"})
        self.assertEqual(
            sorted(n for n in self.schemas(response) if "-" not in n),
            sorted([*SHARED, "res.country", "res.partner"]),
        )
        self.assertProblem(self.get("/api/openapi.json", params={"models": "res.partner;drop"}), 400)

    def test_odoo_session_gets_the_models_its_user_can_read(self):
        self.authenticate("rest_limited", "rest_limited")
        schemas = self.schemas(self.url_open("/api/openapi.json"))
        self.assertIn("res.partner", schemas)
        self.assertNotIn("ir.config_parameter", schemas)  # no access right for plain users
        self.assertIn("ir.config_parameter", self.schemas(self.get("/api/openapi.json")))

    def test_fields_hidden_by_groups_are_not_described(self):
        field = self.env["res.partner"]._fields["comment"]
        self.patch(field, "groups", "base.group_system")
        self.env.registry.clear_cache()  # as the registry reload that comes with a real change of groups
        params = {"models": "res.partner"}
        limited = self.schemas(self.get("/api/openapi.json", key=self.limited_key, params=params))
        self.assertNotIn("comment", limited["res.partner"]["properties"])
        self.assertIn(
            "comment", self.schemas(self.get("/api/openapi.json", params=params))["res.partner"]["properties"]
        )

    def test_a_scope_change_is_seen_on_the_next_call(self):
        key = self.partner_key_record
        self.assertNotIn("res.country", self.schemas(self.get("/api/openapi.json", key=self.partner_key)))
        key.write(
            {
                "scope_ids": [
                    (0, 0, {"model_id": self.env["ir.model"]._get("res.country").id, "perm_read": True})
                ]
            }
        )
        self.assertIn("res.country", self.schemas(self.get("/api/openapi.json", key=self.partner_key)))

    def test_postman_collection_has_a_folder_per_model(self):
        response = self.get("/api/postman.json", key=self.partner_key)
        self.assertEqual(response.status_code, 200)
        collection = response.json()
        self.assertEqual(
            [folder["name"] for folder in collection["item"]],
            ["Authentication", "Batch", "res.partner", "Webhooks"],
        )
        variables = {v["key"]: v["value"] for v in collection["variable"]}
        self.assertEqual(variables["userId"], str(self.admin.id))
        self.assertEqual(response.headers["Cache-Control"], "private, no-store")

    def test_swagger_ui_page_and_its_files_are_served_here(self):
        page = self.get("/api/docs", key=False)
        self.assertEqual(page.status_code, 200)
        self.assertIn("SwaggerUIBundle", page.text)
        self.assertIn('url: "/api/openapi.json"', page.text)
        self.assertNotIn("https://", page.text)
        with self.assertNoLogs("odoo.http", level="WARNING"):  # the page's ?v= is no unknown argument
            bundle = self.url_open("/rest_api/swagger-ui/swagger-ui-bundle.js?v=1")
        self.assertEqual(bundle.status_code, 200)
        self.assertGreater(len(bundle.content), 100_000)
        self.assertEqual(self.url_open("/rest_api/swagger-ui/index.html").status_code, 404)

    def test_swagger_ui_page_passes_a_models_filter_on_safely(self):
        page = self.get("/api/docs", key=False, params={"models": "res.partner"})
        self.assertIn('url: "/api/openapi.json?models=res.partner"', page.text)
        self.assertProblem(self.get("/api/docs", key=False, params={"models": "</script>"}), 400)

    def test_a_bad_key_on_a_docs_route_is_refused(self):
        self.assertProblem(self.get("/api/openapi.json", key="odoorest_" + "x" * 43), 401)
