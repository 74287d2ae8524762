"""Pins the Odoo behaviour that infra/patches.py and infra/search_page.py rely on.

When one of these fails after an Odoo upgrade, re-read the Odoo code the
failing patch's docstring names before changing anything else.
"""

import inspect
from collections import OrderedDict
from unittest.mock import patch

import psycopg2

from odoo import http
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from ..infra import company_paths, patches, worker_cache
from ..infra import search_page as search_page_module
from ..infra.search_page import search_page
from .common import RestApiTransactionCase, recorded_statements


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

    def test_a_memo_is_found_in_the_lru_s_dict_and_kept_as_recently_used(self):
        lru = self.env.registry._Registry__caches[worker_cache.CACHE]
        self.assertIsInstance(lru.d, OrderedDict)
        memo = worker_cache.memo(self.env.registry, "rest_api.test")
        lru[("rest_api.test", "later")] = 1  # another entry, used since
        self.assertIs(worker_cache.memo(self.env.registry, "rest_api.test"), memo)
        self.assertEqual(next(iter(lru.d)), ("rest_api.memo", "rest_api.test"))  # most recent first
        lru.count, count = 1, lru.count
        try:
            lru[("rest_api.test", "newest")] = 2  # a full LRU evicts its least recently used
        finally:
            lru.count = count
        self.assertEqual(worker_cache.memo(self.env.registry, "rest_api.test"), {})  # made again

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
                    rows, total, *_ = search_page(model, domain, fields, offset, limit, order)
                    expected = model.search_read(domain, fields, offset=offset, limit=limit, order=order)
                    self.assertEqual(rows, expected)
                    self.assertEqual(total, model.search_count(domain))

    def test_a_kept_search_statement_answers_what_a_new_one_would(self):
        """search_page keeps the ORM's statement of a plain search (COMPILED); what
        it answers from it follows record rules, users and data as a new one would."""
        Partner = self.env["res.partner"]
        user = new_test_user(self.env, login="rest_memo", groups="base.group_user")
        companies = Partner.create(
            [{"name": f"Memo co {i}", "is_company": True, "ref": "MEMO"} for i in range(3)]
        )
        domain, fields = [["ref", "=", "MEMO"], ["is_company", "=", True]], ["name", "ref"]
        kept = worker_cache.memo(self.env.registry, search_page_module.COMPILED)
        kept.clear()

        def page(model):
            rows, total, *_ = search_page(model, domain, fields, 0, 2, "name")
            self.assertEqual(rows, model.search_read(domain, fields, limit=2, order="name"))
            self.assertEqual(total, model.search_count(domain))
            return [row["name"] for row in rows], total

        as_user = Partner.with_user(user)
        self.assertEqual(page(as_user), (["Memo co 0", "Memo co 1"], 3))
        self.assertEqual(len(kept), 1)
        self.assertEqual(page(as_user), (["Memo co 0", "Memo co 1"], 3))  # from the kept statement
        self.assertEqual(len(kept), 1)
        companies[0].name = "Memo co 9"  # data: read anew, the statement is the same
        self.assertEqual(page(as_user), (["Memo co 1", "Memo co 2"], 3))
        self.assertEqual(page(Partner), (["Memo co 1", "Memo co 2"], 3))  # another user: its own
        self.assertEqual(len(kept), 2)
        self.env["ir.rule"].create({
            "name": "memo: not co 1", "model_id": self.env["ir.model"]._get_id("res.partner"),
            "domain_force": "[('name', '!=', 'Memo co 1')]", "groups": [(4, self.env.ref("base.group_user").id)],
        })  # fmt: skip
        kept = worker_cache.memo(self.env.registry, search_page_module.COMPILED)
        self.assertEqual(page(as_user), (["Memo co 2", "Memo co 9"], 2))  # the new rule holds at once

    def test_a_search_odoo_resolves_by_searching_is_not_kept(self):
        Partner = self.env["res.partner"]
        parent = Partner.create({"name": "Memo parent", "is_company": True})
        kept = worker_cache.memo(self.env.registry, search_page_module.COMPILED)
        kept.clear()
        for domain in (
            [["id", "child_of", parent.id]],  # ids found when the statement is made
            [["parent_id", "=", "Memo parent"]],  # a name, searched
            [["parent_id.name", "=", "Memo parent"]],  # a path
            [["display_name", "ilike", "Memo"]],  # a field searched by a method
        ):
            with self.subTest(domain=domain):
                rows, _total, *_ = search_page(Partner, domain, ["name"], 0, 5, None)
                self.assertEqual(rows, Partner.search_read(domain, ["name"], limit=5))
                self.assertEqual(kept, {})
        Partner.create({"name": "Memo child", "parent_id": parent.id})
        rows, _total, *_ = search_page(Partner, [["id", "child_of", parent.id]], ["name"], 0, 5, "id")
        self.assertEqual([row["name"] for row in rows], ["Memo parent", "Memo child"])

    def test_a_page_of_plain_columns_is_what_search_read_gives_on_every_model(self):
        """The page made from the query's rows (search_page._plain) against Odoo's
        read() for every plain column of every model of this database, in two languages."""
        self.env["res.lang"]._activate_lang("fr_FR")
        Country = self.env["res.country"]
        Country.search([("code", "=", "BE")]).with_context(lang="fr_FR").name = "Belgique"
        checked = 0
        for model_name in sorted(self.env.registry):
            model = self.env[model_name]
            if model._abstract or not model._auto or model._transient:
                continue
            names = ["id"] + [
                name
                for name, field in model._fields.items()
                if name != "id" and search_page_module._plain(model, [name]) is not None
            ]
            if len(names) == 1 or not model.search_count([], limit=1):
                continue
            for lang in ("en_US", "fr_FR"):
                localized = model.with_context(lang=lang)
                with self.subTest(model=model_name, lang=lang):
                    rows, total, *_ = search_page(localized, [], names, 0, 20, "id desc")
                    self.assertEqual(rows, localized.search_read([], names, limit=20, order="id desc"))
                    self.assertEqual(total, localized.search_count([]))
            checked += 1
        self.assertGreater(checked, 30)
        self.assertIn(
            "Belgique", str(search_page(Country.with_context(lang="fr_FR"), [], ["name"], 0, 300, "id"))
        )

    def test_a_page_of_plain_columns_gives_the_transaction_s_pending_writes(self):
        partner = self.env["res.partner"].create({"name": "pinned before", "color": 1})
        partner.write(
            {"name": "pinned after", "color": 7, "comment": "<p>hello</p>"}
        )  # in cache, not flushed
        fields = ["name", "color", "comment", "active", "partner_latitude", "type", "create_date"]
        self.assertIsNotNone(search_page_module._plain(partner, fields))
        rows, total, *_ = search_page(self.env["res.partner"], [("id", "=", partner.id)], fields, 0, 5, None)
        self.assertEqual(rows, partner.read(fields))
        self.assertEqual((rows[0]["name"], rows[0]["color"], total), ("pinned after", 7, 1))

    def test_only_plain_columns_of_the_model_s_own_table_are_read_from_the_rows(self):
        users, partners = self.env["res.users"], self.env["res.partner"]
        self.assertIsNone(search_page_module._plain(users, ["login", "name"]))  # name: _inherits res.partner
        self.assertIsNone(search_page_module._plain(partners, ["name", "parent_id"]))  # relational
        self.assertIsNone(search_page_module._plain(partners, ["display_name"]))  # computed
        self.assertIsNone(search_page_module._plain(partners, ["image_128"]))  # binary
        self.assertIsNotNone(search_page_module._plain(users, ["id", "login", "share", "create_date"]))
        self.assertTrue(search_page_module._overrides(users, "_fetch_query"))  # it hides fields that way
        self.assertFalse(
            search_page_module._overrides(partners, "_fetch_query", "_read_format", "search_fetch")
        )

    def test_a_model_that_changes_its_search_is_searched_and_counted_by_its_own_methods(self):
        user = new_test_user(self.env, login="pinned menus", groups="base.group_user")
        Menu = self.env["ir.ui.menu"].with_user(user)
        self.assertTrue(search_page_module._overrides(Menu, "search_fetch", "search_count"))
        rows, total, *_ = search_page(Menu, [], ["name"], 0, 1000, None)
        self.assertEqual(rows, Menu.search_read([], ["name"], limit=1000))
        self.assertEqual(total, Menu.search_count([]))
        self.assertLess(total, Menu.sudo().with_context(**{"ir.ui.menu.full_list": True}).search_count([]))

    def test_search_page_keeps_active_test_for_the_search_only(self):
        partner = self.env["res.partner"].create({"name": "pinned parent"})
        child = self.env["res.partner"].create(
            {"name": "pinned child", "parent_id": partner.id, "active": False}
        )
        model = self.env["res.partner"].with_context(active_test=False)
        rows, total, *_ = search_page(
            model, [["id", "in", [partner.id, child.id]]], ["child_ids"], 0, 10, "id"
        )
        self.assertEqual(total, 2)
        self.assertEqual(
            rows, model.search_read([["id", "in", [partner.id, child.id]]], ["child_ids"], order="id")
        )

    # ------------------------------------------------------------ infra/company_paths.py
    def test_a_company_s_parent_path_never_changes_and_a_new_company_clears_the_caches(self):
        main = self.env.ref("base.main_company")
        with self.assertRaises(UserError):
            main.write({"parent_id": self.env["res.company"].create({"name": "another root"}).id})
        company_paths.prefill(self.env)
        self.assertTrue(worker_cache.memo(self.env.registry, company_paths.MEMO))
        branch = self.env["res.company"].create({"name": "pinned branch", "parent_id": main.id})
        self.assertEqual(worker_cache.memo(self.env.registry, company_paths.MEMO), {})
        company_paths.prefill(self.env)
        self.assertIn(branch.id, worker_cache.memo(self.env.registry, company_paths.MEMO)["ids"])

    def test_with_the_paths_in_its_cache_a_multi_company_search_reads_no_company(self):
        user = self.env.ref("base.user_admin")
        domain = [("is_company", "=", True)]

        def statements(prefill):
            env = self.env(user=user)
            env.invalidate_all()
            if prefill:
                company_paths.prefill(env)
            with recorded_statements() as seen:
                found = env["res.partner"].search(domain)
            return found, seen

        company_paths.prefill(self.env)  # the worker's memo, read once
        statements(prefill=False)  # Odoo's own caches (the user's groups, companies, rules) filled
        plain, plain_sql = statements(prefill=False)
        filled, filled_sql = statements(prefill=True)
        self.assertEqual(filled, plain)
        reads = [sql for sql in plain_sql if sql.startswith('SELECT "res_company"')]  # parent_of reads them
        self.assertEqual(len(reads), 1, plain_sql)
        self.assertEqual(filled_sql, [sql for sql in plain_sql if sql not in reads])

    # ------------------------------------------------------------ infra/search_page.py: kept totals
    def test_a_total_is_kept_for_the_same_statement_in_the_same_snapshot_only(self):
        sql = SQL("SELECT COUNT(*) FROM res_country WHERE code IN %s", ("FR", "BE"))
        counts = worker_cache.memo(self.registry, search_page_module.COUNTS)
        with self.registry.cursor() as cr:  # a transaction that wrote nothing
            env = self.env(cr=cr)
            self.assertEqual(search_page_module.count(env, sql), 2)
            # the names of PostgreSQL 12 give the same snapshot
            self.assertEqual(
                env.execute_query(search_page_module.SNAPSHOT_SQL),
                env.execute_query(search_page_module.SNAPSHOT_SQL_12),
            )
            key = (sql.code, repr(sql.params))
            snapshot, total = counts[key]
            self.assertEqual(total, 2)
            counts[key] = (snapshot, 1000)  # what a kept total is given as, in that snapshot
            self.assertEqual(search_page_module.count(env, sql), 1000)
            other = SQL("SELECT COUNT(*) FROM res_country WHERE code IN %s", ("FR", "DE"))
            self.assertEqual(search_page_module.count(env, other), 2)  # other parameters: counted
            cr.execute("CREATE TEMPORARY TABLE rest_api_wrote (x int)")  # a write: no snapshot to match
            cr.execute("INSERT INTO rest_api_wrote VALUES (1)")
            self.assertEqual(search_page_module.count(env, sql), 2)
            counts[key] = ("1:1:", 1000)  # another snapshot's total
            cr.rollback()
            self.assertEqual(search_page_module.count(env, sql), 2)
        volatile = SQL("SELECT COUNT(*) FROM res_country WHERE create_date < now()")
        self.assertTrue(search_page_module.VOLATILE_RE.search(volatile.code))
        self.assertFalse(search_page_module.VOLATILE_RE.search(sql.code))

    def test_the_page_s_own_query_tells_its_snapshot_so_a_kept_total_costs_no_statement(self):
        fields = ["name"]
        with self.registry.cursor() as cr:  # a transaction that wrote nothing
            env = self.env(cr=cr, user=self.env.ref("base.user_admin"))
            Country = env["res.country"]

            def statements():
                with recorded_statements() as seen:
                    rows, total, *_ = search_page(Country, [], fields, 0, 5, "name")
                return rows, total, seen

            search_page(Country, [], fields, 0, 5, "name")  # caches filled
            worker_cache.memo(self.registry, search_page_module.COUNTS).clear()
            rows, total, first = statements()
            self.assertEqual(total, Country.search_count([]))
            self.assertEqual(rows, Country.search_read([], fields, limit=5, order="name"))
            self.assertEqual(len(first), 2, first)  # the page (telling its snapshot), the count
            self.assertIn("rest_api_note_snapshot()", first[0])
            self.assertEqual((rows, total), statements()[:2])
            self.assertEqual(len(statements()[2]), 1)  # the page; its total was kept
