"""Reliability at the Odoo level: PostgreSQL's own errors (real ones, raised
by the test database) mapped to the API's statuses, bounds on one call, and
the database list kept between API calls."""

from unittest.mock import patch

import psycopg2

from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from ..controllers.errors import to_api_error
from ..infra import patches
from .common import InTransaction, RestApiCase


@tagged("post_install", "-at_install")
class TestPostgresErrors(InTransaction, TransactionCase):
    def pg_error(self, sql):
        """The psycopg2 error ``sql`` raises, inside a savepoint."""
        with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.Error) as caught, self.env.cr.savepoint():
            self.env.cr.execute(sql)
        return caught.exception

    def raised(self, sqlstate):
        return self.pg_error(f"DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '{sqlstate}'; END $$")

    def test_concurrency_failures_left_after_odoo_retries_are_409(self):
        for sqlstate in ("40001", "40P01", "55P03"):  # serialisation, deadlock, lock not available
            error = to_api_error(self.raised(sqlstate))
            self.assertEqual((error.status, error.headers["Retry-After"]), (409, "1"), sqlstate)

    def test_lost_connection_is_503_with_retry_after(self):
        error = to_api_error(self.raised("57P01"))  # admin shutdown: PostgreSQL is restarting
        self.assertEqual((error.status, error.headers["Retry-After"]), (503, "5"))
        self.assertEqual(to_api_error(psycopg2.InterfaceError("connection already closed")).status, 503)

    def test_queries_too_complex_for_postgresql_are_400(self):
        deep = self.pg_error("SELECT " + "(" * 20_000 + "1" + ")" * 20_000)
        self.assertEqual(to_api_error(deep).status, 400)
        self.assertEqual(to_api_error(self.raised("54001")).status, 400)  # statement too complex

    def test_other_postgres_errors_stay_unexpected(self):
        self.assertIsNone(to_api_error(self.pg_error("SELECT * FROM no_such_table_at_all")))
        self.assertIsNone(to_api_error(self.raised("42601")))  # a plain syntax error is a bug: 500


@tagged("post_install", "-at_install")
class TestCallBounds(RestApiCase):
    def test_execute_kw_takes_at_most_a_page_of_ids(self):
        ids = list(range(1, 1002))
        body = {"method": "exists", "args": [ids]}
        detail = self.assertProblem(self.call("POST", "/api/res.partner/execute_kw", body=body), 400)[
            "detail"
        ]
        self.assertIn("At most 1000 ids", detail)
        self.env["ir.config_parameter"].sudo().set_param("rest_api.max_page_size", "2000")
        self.assertEqual(self.call("POST", "/api/res.partner/execute_kw", body=body).status_code, 200)

    def test_ambiguous_body_framing_is_400(self):
        headers = {"Transfer-Encoding": "gzip", "Content-Type": "application/json"}
        response = self.call("POST", "/api/res.partner/create", headers=headers, data=b'{"name": "x"}')
        self.assertIn("framed ambiguously", self.assertProblem(response, 400)["detail"])
        self.assertFalse(self.env["res.partner"].search([("name", "=", "x")]))

    def test_missing_record_is_404_on_a_model_without_own_checks(self):
        # res.partner.category adds nothing to write()/unlink(): a missing id must still be 404
        missing = self.env["res.partner.category"].create({"name": "gone"})
        missing.unlink()
        path = f"/api/res.partner.category/{missing.id}"
        for method, body in (
            ("GET", None),
            ("PUT", {"name": "x"}),
            ("PATCH", {"name": "x"}),
            ("DELETE", None),
        ):
            with self.subTest(method=method):
                self.assertProblem(self.call(method, path, body=body), 404)
        response = self.call("GET", path, params={"fields": "id"})
        self.assertProblem(response, 404)


@tagged("post_install", "-at_install")
class TestDatabaseList(RestApiCase):
    def test_api_calls_list_the_databases_once_per_ttl_and_never_keep_an_empty_list(self):
        hosts = []

        def listing(names):
            def db_list(force=False, host=None):
                hosts.append(host)
                return names

            return db_list

        patches._lists.clear()
        with patch.object(patches._db_list_for_api, "wrapped", listing([self.env.cr.dbname])):
            for _ in range(3):
                self.assertEqual(self.get("/api/res.country/search", params={"limit": 1}).status_code, 200)
        self.assertEqual(len(hosts), 1)
        patches._lists.clear()
        with patch.object(patches._db_list_for_api, "wrapped", listing([])):
            self.get("/api/res.country/search")
        self.assertFalse(patches._lists)
