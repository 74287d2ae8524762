"""API.md section 13: change tracking and the change feed, inside Odoo.

Here everything runs in one test transaction, so what these tests see of the
feed is its full sync, its refusals and the notes themselves; changes
committed between calls, and transactions open across a page, are the e2e
tests' (tests/e2e/test_sync_live.py).
"""

import json
import threading
import time
import zlib

import psycopg2
from psycopg2 import IntegrityError

from odoo import sql_db
from odoo.exceptions import ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from ..lib import changes, cursors
from .common import RestApiCase

PATH = "/api/res.partner/changes"


@tagged("post_install", "-at_install")
class TestSync(RestApiCase):
    def setUp(self):
        super().setUp()
        self.Change = self.env["rest.api.change"].sudo()
        self.partner_model = self.env["ir.model"]._get_id("res.partner")

    def track(self, model="res.partner"):
        return self.env["rest.api.sync.model"].create({"model_id": self.env["ir.model"]._get_id(model)})

    def notes(self, before=()):
        self.env.cr.flush()  # the transaction's notes are written at pre-commit
        return self.Change.search([("id", "not in", list(before))], order="id")

    def walk(self, params, key=None):
        answers = [self.get(PATH, params=params, key=key)]
        while answers[-1].status_code == 200 and answers[-1].json()["more"]:
            self.assertLess(len(answers), 50)
            answers.append(self.get(PATH, params={"cursor": answers[-1].json()["cursor"]}, key=key))
        for answer in answers:
            self.assertEqual(answer.status_code, 200, answer.text[:300])
        return [answer.json() for answer in answers]

    # ------------------------------------------------------------ tracking and notes
    def test_only_stored_models_outside_the_api_can_be_tracked(self):
        for model in ("rest.api.key", "rest.api.change", "res.config.settings"):
            with self.assertRaises(ValidationError), mute_logger("odoo.sql_db"):
                self.track(model)
        self.track()
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), self.env.cr.savepoint():
            self.track()

    def test_changes_are_noted_once_per_transaction_and_model_at_pre_commit(self):
        before = self.notes().ids
        Partner = self.env["res.partner"]
        Partner.create({"name": "Untracked"})
        self.assertFalse(self.notes(before), "a model nobody tracks notes nothing")
        self.track()
        first = Partner.create([{"name": "One"}, {"name": "Two"}])
        first[0].write({"email": "one@example.com"})
        first[1].write({"name": "Two again", "phone": "2"})
        self.env["res.country"].search([], limit=1).write({"name": "Not tracked"})
        self.assertFalse(
            self.Change.search([("id", "not in", before)]), "nothing is written before pre-commit"
        )
        note = self.notes(before)
        self.assertEqual(len(note), 1, "one note for the transaction and model")
        self.env.cr.execute("SELECT ids, created, written, xid = pg_current_xact_id() FROM rest_api_change WHERE id = %s",
                            [note.id])  # fmt: skip
        ids, created, written, own = self.env.cr.fetchone()
        self.assertEqual((sorted(ids), sorted(created)), (sorted(first.ids), sorted(first.ids)))
        self.assertEqual(written, [[["email"], [first[0].id]], [["name", "phone"], [first[1].id]]])
        self.assertTrue(own, "the note carries the writing transaction's id")

    def test_a_savepoint_notes_the_top_level_transaction_and_a_rollback_drops_its_notes(self):
        self.track()
        before = self.notes().ids
        self.env.cr.execute("SELECT pg_current_xact_id()::text")
        top = self.env.cr.fetchone()[0]
        with self.env.cr.savepoint():
            kept = self.env["res.partner"].create({"name": "In a savepoint"})
            self.env.cr.execute("SELECT pg_current_xact_id()::text")
            self.assertEqual(self.env.cr.fetchone()[0], top, "inside a savepoint: the top-level id")
        with self.assertRaises(ValueError), self.env.cr.savepoint():
            self.env["res.partner"].create({"name": "Rolled back"})
            raise ValueError("roll it back")
        notes = self.notes(before)
        self.env.cr.execute("SELECT array_agg(i), array_agg(DISTINCT xid::text) FROM rest_api_change, unnest(ids) i "
                            "WHERE id = ANY(%s)", [notes.ids])  # fmt: skip
        ids, xids = self.env.cr.fetchone()
        self.assertEqual((ids, xids), ([kept.id], [top]))

    def test_a_deletion_keeps_the_records_company(self):
        self.track()
        company = self.env.company
        with_company = self.env["res.partner"].create({"name": "Co", "company_id": company.id})
        without = self.env["res.partner"].create({"name": "No co"})
        before = self.notes().ids
        (with_company | without).unlink()
        note = self.notes(before)
        self.env.cr.execute("SELECT unlinked, unlinked_company FROM rest_api_change WHERE id = %s", [note.id])
        unlinked, companies = self.env.cr.fetchone()
        self.assertEqual(
            dict(zip(unlinked, companies, strict=True)), {with_company.id: company.id, without.id: None}
        )

    def test_deletions_by_a_database_cascade_are_noted(self):
        self.track("res.partner.bank")
        company = self.env.company
        owner = self.env["res.partner"].create({"name": "Bank owner", "company_id": company.id})
        child = self.env["res.partner"].create({"name": "Its contact", "parent_id": owner.id})
        Bank = self.env["res.partner.bank"]
        banks = Bank.create([
            {"acc_number": "BE-CASCADE-1", "partner_id": owner.id},  # its company: its owner's
            {"acc_number": "BE-CASCADE-2", "partner_id": child.id},
        ])  # fmt: skip
        kept = Bank.create(
            {"acc_number": "BE-KEPT", "partner_id": self.env["res.partner"].create({"name": "K"}).id}
        )
        expected = {bank.id: bank.company_id.id or None for bank in banks}
        self.assertEqual(expected[banks[0].id], company.id)
        before = self.notes().ids
        (owner | child).unlink()  # res.partner is not tracked: the database deletes the accounts
        self.assertFalse(banks.exists())
        note = self.notes(before)
        self.assertEqual(note.mapped("model"), ["res.partner.bank"])
        self.env.cr.execute("SELECT unlinked, unlinked_company FROM rest_api_change WHERE id = %s", [note.id])
        unlinked, companies = self.env.cr.fetchone()
        self.assertEqual(dict(zip(unlinked, companies, strict=True)), expected)
        self.assertTrue(kept.exists())

    def test_stored_fields_recomputed_from_other_records_are_noted(self):
        user = new_test_user(self.env, login="rest_sync_share", groups="base.group_user")
        partner = user.partner_id
        self.assertFalse(partner.partner_share)
        self.track()
        before = self.notes().ids
        user.groups_id = [(6, 0, [self.env.ref("base.group_portal").id])]  # no write() of res.partner
        self.assertTrue(partner.partner_share)
        notes = self.notes(before)
        self.env.cr.execute("SELECT written FROM rest_api_change WHERE id = ANY(%s) AND model = 'res.partner'",
                            [notes.ids])  # fmt: skip
        written = [group for (groups,) in self.env.cr.fetchall() for group in groups or ()]
        self.assertIn([["partner_share"], [partner.id]], written)

    def test_a_full_sync_waits_for_transactions_begun_before_tracking(self):
        """A transaction open since before tracking was turned on may write without noting, then
        commit after the full sync's base: a full sync waits for it a few seconds, then is 503
        with Retry-After."""
        dbname, info = sql_db.connection_info_for(self.env.cr.dbname)
        held = psycopg2.connect(**info)
        self.addCleanup(held.close)
        held.set_session(isolation_level="REPEATABLE READ")
        with held.cursor() as cr:
            cr.execute("SELECT count(*) FROM res_partner")  # its snapshot is taken
        self.track()
        answer = self.get(PATH, params={"fields": "name"})
        body = self.assertProblem(answer, 503)
        self.assertIn("Retry-After", answer.headers)
        self.assertIn("Retry-After", body["detail"])
        # one that ends within a few seconds is waited for
        threading.Timer(0.5, held.rollback).start()
        started = time.monotonic()
        self.assertEqual(self.get(PATH, params={"fields": "name"}).status_code, 200)
        self.assertGreater(time.monotonic() - started, 0.4)

    def test_old_notes_go_in_one_job(self):
        self.track()
        self.env["res.partner"].create({"name": "Old"})
        note = self.notes()[-1:]
        self.env.cr.execute("UPDATE rest_api_change SET noted_at = noted_at - interval '40 days' WHERE id = %s",
                            [note.id])  # fmt: skip
        fresh = self.env["res.partner"].create({"name": "Fresh"})
        self.notes()
        self.Change._gc()
        left = self.Change.search([])
        self.assertNotIn(note, left)
        self.env.cr.execute("SELECT bool_or(%s = ANY(ids)) FROM rest_api_change", [fresh.id])
        self.assertTrue(self.env.cr.fetchone()[0])

    # ------------------------------------------------------------ the feed
    def test_untracked_model_is_409_naming_the_setting(self):
        body = self.assertProblem(self.get(PATH), 409)
        self.assertIn("rest.api.sync.model", body["detail"])
        self.assertProblem(self.get("/api/no.such.model/changes"), 404)

    def test_full_sync_in_pages_as_search_returns_records(self):
        self.track()
        made = self.env["res.partner"].create([{"name": f"Sync {n}", "ref": "SYNC"} for n in range(5)])
        made[4].active = False
        domain = json.dumps([["ref", "=", "SYNC"]])
        pages = self.walk({"domain": domain, "fields": "name,ref,parent_id{name}", "limit": 2})
        # the notes of the test transaction's own creates are not committed: never read
        self.assertEqual([len(p["changes"]) for p in pages], [2, 2])
        self.assertEqual([p["more"] for p in pages], [True, False])
        got = [change for page in pages for change in page["changes"]]
        self.assertEqual([c["id"] for c in got], made[:4].ids)
        searched = self.get(
            "/api/res.partner/search", params={"domain": domain, "fields": "name,ref,parent_id{name}"}
        )
        self.assertEqual([c["record"] for c in got], searched.json())
        self.assertTrue(all(c["op"] == "upsert" for c in got))

    def test_the_reading_transactions_own_changes_come_once_committed_never_before(self):
        # everything here is one transaction, as a batch that writes, then reads the feed
        self.track()
        made = self.env["res.partner"].create([{"name": f"Own {n}", "ref": "OWN"} for n in range(3)])
        query = {"domain": json.dumps([["ref", "=", "OWN"]]), "fields": "name", "limit": 2}
        pages = self.walk(query)
        self.assertEqual([c["id"] for p in pages for c in p["changes"]], made.ids)
        made[0].name = "Own again"
        made[2].unlink()
        after = self.walk({"cursor": pages[-1]["cursor"]})
        self.assertEqual(
            [(len(p["changes"]), p["more"]) for p in after], [(0, False)], "not committed: not sent yet"
        )
        self.env.cr.execute("SELECT pg_current_xact_id()::text::int8")
        own = self.env.cr.fetchone()[0]
        key = changes.derive_key(self.env["rest.api.token"].sudo()._signing_secret())
        data = cursors._signed_bytes(key, after[-1]["cursor"])
        base = json.loads(zlib.decompress(data[2 + cursors.CALLER_BYTES :]))[3]
        self.assertFalse(
            changes.Snapshot.parse(base).visible(own), "once it commits, the next call sends them"
        )

    def test_cursor_is_bound_to_caller_model_and_query(self):
        self.track()
        self.track("res.country")
        first = self.get(PATH, params={"fields": "name", "limit": 3}).json()
        cursor = first["cursor"]
        other_key = self.make_key(self.admin, name="other")
        self.assertProblem(self.get(PATH, params={"cursor": cursor}, key=other_key), 400)
        self.assertProblem(self.get("/api/res.country/changes", params={"cursor": cursor}), 400)
        for other in ({"fields": "name,email"}, {"limit": "4"}, {"domain": '[["id", ">", 1]]'}):
            self.assertProblem(self.get(PATH, params={"cursor": cursor, **other}), 400)
        middle = len(cursor) // 2
        tampered = cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]
        self.assertProblem(self.get(PATH, params={"cursor": tampered}), 400)
        self.assertEqual(
            self.get(PATH, params={"cursor": cursor, "fields": "name", "limit": "3"}).status_code, 200
        )

    def test_old_cursors_are_410_past_the_retention_or_once_untracked(self):
        tracking = self.track()
        cursor = self.get(PATH, params={"fields": "name"}).json()["cursor"]
        self.assertEqual(self.get(PATH, params={"cursor": cursor}).status_code, 200)
        time.sleep(0.05)
        self.env["ir.config_parameter"].sudo().set_param("rest_api.sync_retention_days", "0")
        self.assertProblem(self.get(PATH, params={"cursor": cursor}), 410)
        self.env["ir.config_parameter"].sudo().set_param("rest_api.sync_retention_days", "30")
        self.assertEqual(self.get(PATH, params={"cursor": cursor}).status_code, 200)
        tracking.active = False
        self.assertProblem(self.get(PATH, params={"cursor": cursor}), 410)
        self.assertProblem(self.get(PATH), 409)
        tracking.active = True  # tracked again: what was not noted meanwhile keeps old cursors out
        self.assertProblem(self.get(PATH, params={"cursor": cursor}), 410)
        self.assertEqual(self.get(PATH).status_code, 200)

    def test_changes_need_the_read_scope_and_walk_the_domain(self):
        self.track()
        writer = self.make_key(self.admin, all_models=False, scope_ids=[self.scope("res.partner", "cw")])
        self.assertProblem(self.get(PATH, key=writer), 403)
        reader = self.make_key(self.admin, all_models=False, scope_ids=[self.scope("res.partner", "r")])
        self.assertEqual(self.get(PATH, params={"fields": "name"}, key=reader).status_code, 200)
        self.assertProblem(
            self.get(PATH, params={"domain": '[["country_id.name", "=", "Belgium"]]'}, key=reader), 403
        )
        self.assertProblem(self.get(PATH, params={"fields": "country_id{name}"}, key=reader), 403)

    def test_a_cursor_serves_no_more_than_the_callers_scopes_now(self):
        """The cursor remembers its query, not a right to it: each call walks it against the
        key's scopes of that moment (a narrowed OAuth token, a key whose scopes shrank)."""
        self.track()
        scopes = [self.scope("res.partner", "r"), self.scope("res.country", "r")]
        reader = self.make_key(self.admin, all_models=False, scope_ids=scopes, name="narrowed")
        for params in (
            {"fields": "country_id{name}"},
            {"fields": "name", "domain": '[["country_id.name", "=", "X"]]'},
        ):
            cursor = self.get(PATH, params=dict(params, limit=1), key=reader).json()["cursor"]
            self.assertEqual(self.get(PATH, params={"cursor": cursor}, key=reader).status_code, 200)
            key = self.env["rest.api.key"].search([("name", "=", "narrowed")])
            key.scope_ids.filtered(lambda s: s.model_id.model == "res.country").unlink()
            self.assertProblem(self.get(PATH, params={"cursor": cursor}, key=reader), 403)
            key.write({"scope_ids": [scopes[1]]})

    def test_the_change_feed_never_reads_on_a_replica(self):
        from ..infra import replica

        class Request:
            method, path, headers = "GET", "/api/res.partner/changes", {}

        class Call:
            httprequest = Request()

        self.assertFalse(replica.reads_only(Call()))
        Request.path = "/api/res.partner/search"
        self.assertTrue(replica.reads_only(Call()))


@tagged("post_install", "-at_install")
class TestSnapshots(RestApiCase):
    """The ordering's one assumption, checked on this PostgreSQL: lib.changes.Snapshot
    decides visibility as pg_visible_in_snapshot does."""

    def test_visibility_is_postgresqls(self):
        for text in ("100:120:105,110", "7:7:", "5:9:5,6,8"):
            snapshot = changes.Snapshot.parse(text)
            self.assertEqual(snapshot.text, text)
            for xid in range(0, 130):
                self.env.cr.execute(
                    "SELECT pg_visible_in_snapshot(%s::text::xid8, %s::pg_snapshot)", [str(xid), text]
                )
                self.assertEqual(snapshot.visible(xid), self.env.cr.fetchone()[0], (text, xid))
