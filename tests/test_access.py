from unittest.mock import patch

from odoo.tests import tagged

from ..infra import side_store
from ..infra.throttle import hits_sequence
from .common import RestApiCase, use_key, with_handlers


@tagged("post_install", "-at_install")
class TestAuthentication(RestApiCase):
    def test_every_header_form_works(self):
        for headers in (
            {"api-key": self.key},
            {"X-API-Key": self.key},
            {"Authorization": f"Bearer {self.key}"},
        ):
            response = self.get("/api/res.country/search", key=False, headers=headers, params={"limit": 1})
            self.assertEqual(response.status_code, 200, headers)

    def test_missing_unknown_archived_and_expired_keys_are_401(self):
        archived, expired = self.make_key(self.admin), self.make_key(self.admin, expiration_date="2001-01-01")
        Key = self.env["rest.api.key"].with_context(active_test=False)
        Key.search([("key_hint", "=", archived[:13] + "…")]).active = False
        altered = self.key[:-1] + ("B" if self.key.endswith("A") else "A")  # never the key itself
        for key in (False, "nope", altered, archived, expired):
            with self.subTest(key=str(key)[:16]):
                response = self.get("/api/res.country/search", key=key)
                self.assertProblem(response, 401)
                self.assertIn("WWW-Authenticate", response.headers)

    def test_key_in_the_query_string_is_refused(self):
        response = self.get("/api/res.country/search", key=False, params={"api-key": self.key})
        self.assertProblem(response, 401)

    def test_ip_allow_list(self):
        key = self.make_key(self.admin, allowed_ips="10.0.0.0/8")
        self.assertProblem(self.get("/api/res.country/search", key=key), 403)
        key = self.make_key(self.admin, allowed_ips="127.0.0.1/32, 10.0.0.0/8")
        self.assertEqual(self.get("/api/res.country/search", key=key).status_code, 200)

    def test_call_log(self):
        # (failed calls are logged too, outside their transaction: tests/e2e checks that on a live server)
        key = self.make_key(self.admin, log_requests=True)
        response = self.get("/api/res.country/search", key=key, params={"limit": 1})
        log = self.env["rest.api.log"].search([("key_id.key_hint", "=", key[:13] + "…")])
        self.assertEqual(
            (log.status, log.model, log.method, log.address), (200, "res.country", "GET", "127.0.0.1")
        )
        self.assertEqual((log.user_id, log.request_id), (self.admin, response.headers["X-Request-Id"]))
        self.assertGreater(log.duration, 0)

    def test_rate_limit_headers_and_429(self):
        key = self.make_key(self.admin, rate_limit=2, rate_limit_period=3600)
        first = self.get("/api/res.country/search", key=key, params={"limit": 1})
        self.assertEqual(first.headers["RateLimit-Remaining"], "1")
        self.assertEqual(self.get("/api/res.country/search", key=key).headers["RateLimit-Remaining"], "0")
        response = self.get("/api/res.country/search", key=key)
        self.assertProblem(response, 429)
        self.assertTrue(0 < int(response.headers["Retry-After"]) <= 3600)


@tagged("post_install", "-at_install")
class TestCallerRights(RestApiCase):
    """Every call runs as the key's user: access rights and record rules hold."""

    def test_calls_run_as_the_key_owner(self):
        response = self.call(
            "POST", "/api/res.partner/create", key=self.limited_key, body={"name": "by limited"}
        )
        partner = self.env["res.partner"].browse(response.json()["id"])
        self.assertEqual(partner.create_uid, self.limited)

    def test_models_outside_the_users_rights_are_403(self):
        param = self.env["ir.config_parameter"].search([("key", "=", "database.secret")])
        for response in (
            self.get("/api/ir.config_parameter/search", key=self.limited_key),
            self.get(f"/api/ir.config_parameter/{param.id}", key=self.limited_key),
            self.get("/api/ir.config_parameter/schema", key=self.limited_key),
            self.call(
                "PUT",
                f"/api/res.country/{self.env.ref('base.fr').id}",
                key=self.limited_key,
                body={"code": "XX"},
            ),
        ):
            self.assertNotIn(param.value, response.text)
            self.assertProblem(response, 403)
        self.assertEqual(self.env.ref("base.fr").code, "FR")

    def test_record_rules_filter_and_forbid(self):
        self.env["ir.rule"].create(
            {
                "name": "hide HIDDEN tags from employees",
                "model_id": self.env.ref("base.model_res_partner_category").id,
                "groups": [(4, self.env.ref("base.group_user").id)],
                "domain_force": "[('name', 'not like', 'HIDDEN')]",
            }
        )
        shown, hidden = self.env["res.partner.category"].create(
            [{"name": "REST shown"}, {"name": "REST HIDDEN"}]
        )
        params = {"domain": '[["name", "like", "REST "]]', "fields": "name"}
        response = self.get("/api/res.partner.category/search", key=self.limited_key, params=params)
        self.assertEqual([r["id"] for r in response.json()], shown.ids)
        self.assertEqual(response.headers["X-Total-Count"], "1")
        response = self.get(f"/api/res.partner.category/{hidden.id}", key=self.limited_key)
        self.assertProblem(response, 403)
        self.assertNotIn("HIDDEN", response.text)

    def test_fields_of_other_groups_are_hidden(self):
        # as if res.partner.comment were declared groups="base.group_system"
        self.patch(self.env["res.partner"]._fields["comment"], "groups", "base.group_system")
        partner = self.env["res.partner"].create({"name": "REST holder", "comment": "hush-hush"})
        body = self.get(f"/api/res.partner/{partner.id}", key=self.limited_key).json()
        self.assertIn("name", body)
        self.assertNotIn("comment", body)
        for params in ({"fields": "name,comment"}, {"domain": '[["comment", "!=", false]]'}):
            response = self.get("/api/res.partner/search", key=self.limited_key, params=params)
            self.assertNotIn("hush-hush", str(self.assertProblem(response, 400)))
        self.assertNotIn("comment", self.get("/api/res.partner/schema", key=self.limited_key).json())
        body = self.get(f"/api/res.partner/{partner.id}", params={"fields": "comment"}).json()
        self.assertIn("hush-hush", body["comment"])

    def test_the_secret_is_never_readable_through_the_api(self):
        secret = self.make_key(self.admin)
        for response in (
            self.get("/api/rest.api.key/search"),
            self.call("POST", "/api/rest.api.key/execute_kw", body={"method": "search_read", "args": [[]]}),
        ):
            self.assertEqual(response.status_code, 200)
            self.assertNotIn(secret, response.text)
            self.assertNotIn(secret[13:], response.text)


@tagged("post_install", "-at_install")
class TestThrottleTiming(RestApiCase):
    """A read's count is read after its handler; a refused call still changes nothing,
    and a worker that saw a key's window used up refuses before doing any work."""

    def setUp(self):
        super().setUp()
        self.runs = []

        def counting(name):
            def wrap(original):
                def handler(call):
                    self.runs.append(name)
                    return original(call)

                return handler

            return wrap

        patcher = with_handlers(self.env, {name: counting(name) for name in ("search", "read", "create")})
        patcher.start()
        self.addCleanup(patcher.stop)

    def _key(self, limit, **values):
        secret = self.make_key(self.admin, rate_limit=limit, rate_limit_period=3600, **values)
        use = use_key(self.env, secret)
        use.verdict()  # counts one call, in the window it opens
        return secret, use.key.id

    def _others_used(self, key_id, hits):
        """Another worker (or server) counted ``hits`` calls of this window."""
        self.env.cr.execute(
            "SELECT setval(%s, window_base + %s) FROM rest_api_key_usage WHERE key_id = %s",
            [hits_sequence(key_id), hits, key_id],
        )

    def test_a_read_over_the_limit_is_refused_once_its_count_is_known(self):
        secret, key_id = self._key(3)
        self.assertEqual(
            self.get("/api/res.country/search", key=secret, params={"limit": 1}).status_code, 200
        )
        self.assertEqual(self.runs, ["search"])
        self._others_used(key_id, 3)
        response = self.get("/api/res.country/search", key=secret, params={"limit": 1})
        self.assertProblem(response, 429)  # the handler ran alongside the count, its answer is dropped
        self.assertEqual(response.headers["RateLimit-Remaining"], "0")
        self.assertEqual(self.runs, ["search", "search"])
        self.assertProblem(self.get("/api/res.country/search", key=secret), 429)
        self.assertEqual(self.runs, ["search", "search"], "this worker knows the window is used up")

    def test_a_refused_read_rolls_back_what_it_did(self):
        secret, key_id = self._key(1)
        self._others_used(key_id, 1)

        def writing(original):
            def writing_search(call):
                call.model.env["res.partner"].sudo().create({"name": "written by a refused read"})
                return original(call)

            return writing_search

        with with_handlers(self.env, {"search": writing}):
            self.assertProblem(self.get("/api/res.country/search", key=secret), 429)
        self.assertFalse(self.env["res.partner"].search([("name", "=", "written by a refused read")]))

    def test_an_error_over_the_limit_is_still_429(self):
        secret, key_id = self._key(2)
        self._others_used(key_id, 2)
        self.assertProblem(self.get("/api/res.country/2147483647", key=secret), 429)  # not 404
        self.assertEqual(self.runs, ["read"])

    def test_writes_are_counted_before_any_work(self):
        secret, key_id = self._key(2)
        self._others_used(key_id, 2)
        response = self.call("POST", "/api/res.partner/create", key=secret, body={"name": "over the limit"})
        self.assertProblem(response, 429)
        self.assertEqual(self.runs, [])
        self.assertFalse(self.env["res.partner"].search([("name", "=", "over the limit")]))

    def test_refused_reads_are_not_logged(self):
        secret, key_id = self._key(3, log_requests=True)
        # on an error answer the log line is written once the test transaction is rolled back: watch the writer
        with patch.object(side_store, "queue_log", wraps=side_store.queue_log) as queue_log:
            self.assertEqual(self.get("/api/res.country/2147483647", key=secret).status_code, 404)
            self._others_used(key_id, 3)
            self.assertProblem(self.get("/api/res.country/search", key=secret), 429)
        self.assertEqual(self.runs, ["read", "search"])
        self.assertEqual([call.args[1]["status"] for call in queue_log.call_args_list], [404])
