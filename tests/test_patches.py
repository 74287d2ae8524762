"""Pins the Odoo behaviour that infra/patches.py and infra/search_page.py rely on.

When one of these fails after an Odoo upgrade, re-read the Odoo code the
failing patch's docstring names before changing anything else.
"""

import inspect
from unittest.mock import patch

import psycopg2

from odoo import http
from odoo.tests import tagged

from ..infra import patches, worker_cache
from ..infra.search_page import search_page
from .common import RestApiTransactionCase


@tagged("post_install", "-at_install")
class TestOdooBehaviourThePatchesRelyOn(RestApiTransactionCase):
    def test_the_patches_are_applied_once_and_keep_odoo_s_functions(self):
        for owner, name, wrapper in patches.PATCHES:
            self.assertIs(getattr(owner, name), wrapper, name)
            self.assertFalse(getattr(wrapper.wrapped, "rest_api_wrapper", False), name)
        patches.install()  # a second time changes nothing
        for _owner, name, wrapper in patches.PATCHES:
            self.assertFalse(getattr(wrapper.wrapped, "rest_api_wrapper", False), name)

    def test_a_request_without_a_session_lists_the_databases_with_its_host(self):
        self.assertEqual(list(inspect.signature(http.db_list.wrapped).parameters), ["force", "host"])
        source = inspect.getsource(http.Request._get_session_and_dbname)
        self.assertIn("db_list(force=True, host=host)", source)

    def test_an_unreachable_registry_raises_registry_error_from_serve_db(self):
        source = inspect.getsource(http.Request._serve_db.wrapped)
        self.assertIn("self._open_registry()", source)

        class Stub:
            db = "rest_api_no_such_database"

        with (
            patch.object(http, "Registry", side_effect=psycopg2.OperationalError("down")),
            self.assertRaises(http.RegistryError),
        ):
            http.Request._open_registry(Stub())

    def test_a_request_without_a_database_is_served_by_serve_nodb(self):
        source = inspect.getsource(http.Application.__call__)
        self.assertIn("request._serve_nodb()", source)
        self.assertIn("except RegistryError", source)

    def test_a_clear_of_odoo_s_caches_drops_the_worker_memos(self):
        memo = worker_cache.memo(self.env.registry, "rest_api.test")
        memo["x"] = 1
        self.assertIs(worker_cache.memo(self.env.registry, "rest_api.test"), memo)
        self.env.registry.clear_cache()
        self.assertEqual(worker_cache.memo(self.env.registry, "rest_api.test"), {})
        self.env["ir.config_parameter"].set_param("rest_api.max_page_size", 7)  # a system parameter clears it
        self.assertEqual(self.env["rest.api.pipeline"]._settings()["rest_api.max_page_size"], 7)

    def test_search_page_answers_what_search_read_and_search_count_answer(self):
        Country = self.env["res.country"]
        fields = ["name", "code", "currency_id", "state_ids", "display_name"]
        cases = [
            ([], 0, 5, "name"),
            ([["code", "in", ["FR", "BE", "DE"]]], 1, 5, "code desc"),
            ([["name", "ilike", "land"]], 0, 3, None),
            ([], 10_000, 5, None),  # past the end: the total still comes
        ]
        self.env["res.lang"]._activate_lang("fr_FR")
        Country.browse(Country.search([("code", "=", "BE")]).id).with_context(lang="fr_FR").name = "Belgique"
        for lang in ("en_US", "fr_FR"):
            model = Country.with_context(lang=lang)
            for domain, offset, limit, order in cases:
                with self.subTest(domain=domain, offset=offset, lang=lang):
                    rows, total = search_page(model, domain, fields, offset, limit, order)
                    expected = model.search_read(domain, fields, offset=offset, limit=limit, order=order)
                    self.assertEqual(rows, expected)
                    self.assertEqual(total, model.search_count(domain))

    def test_search_page_keeps_active_test_for_the_search_only(self):
        partner = self.env["res.partner"].create({"name": "pinned parent"})
        child = self.env["res.partner"].create(
            {"name": "pinned child", "parent_id": partner.id, "active": False}
        )
        model = self.env["res.partner"].with_context(active_test=False)
        rows, total = search_page(model, [["id", "in", [partner.id, child.id]]], ["child_ids"], 0, 10, "id")
        self.assertEqual(total, 2)
        self.assertEqual(
            rows, model.search_read([["id", "in", [partner.id, child.id]]], ["child_ids"], order="id")
        )
