"""API.md section 12: webhooks, inside Odoo. The outbox is written in the transaction of the
change; delivery is run by hand here against a receiver on loopback (the e2e tests run the
scheduled action of a live server)."""

import json
import threading
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

from odoo import sql_db
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from ..infra import webhook_locks as locks
from .common import RestApiCase


class Receiver:
    """An HTTP server on 127.0.0.1 that records what it gets; ``fail`` answers 500 that many times."""

    def __init__(self):
        self.got, self.fail = [], 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append((dict(self.headers), body))
                status = 500 if receiver.fail > 0 else 200
                receiver.fail -= 1
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"down")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@tagged("post_install", "-at_install")
class TestWebhooks(RestApiCase):
    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].sudo().set_param("rest_api.webhook_allow_private", "True")
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)
        self.Event = self.env["rest.api.webhook.event"].sudo()

    def subscribe(self, key=None, **body):
        body = dict({"url": self.receiver.url, "model_id": "res.partner", "events": ["create", "write", "unlink"],
                     "field_ids": ["name", "email"], "domain": [["ref", "=", "WH"]]}, **body)  # fmt: skip
        response = self.call("POST", "/api/webhooks", key=key, body=body)
        self.assertEqual(response.status_code, 201, response.text)
        return response.json()

    def events(self, hook):
        """The subscription's events, once the sender made them from the change log: the
        transaction's notes are written at pre-commit (a flush here), its events after."""
        self.env.cr.flush()
        self.Event._expand()
        return self.Event.search([("webhook_id", "=", hook["id"])], order="id")

    def test_events_are_written_with_the_change_and_sent_signed(self):
        hook = self.subscribe()
        self.assertTrue(hook["secret"].startswith("whsec_"))
        partner = self.env["res.partner"].create({"name": "Hooked", "email": "h@example.com", "ref": "WH"})
        self.env["res.partner"].create({"name": "Not matching", "ref": "other"})
        partner.write({"phone": "123"})  # not a watched field
        partner.write({"email": "new@example.com"})
        self.assertEqual(self.events(hook).mapped("event"), ["create", "write"])
        partner.unlink()
        events = self.events(hook)
        self.assertEqual(events.mapped("event"), ["create", "write", "unlink"])
        # the record as the key's user reads it when the events are made, after the commit
        self.assertEqual(json.loads(events[1].payload)["data"]["record"],
                         {"id": partner.id, "name": "Hooked", "email": "new@example.com"})  # fmt: skip
        self.assertEqual(self.Event._deliver(), 3)
        self.assertEqual(events.mapped("state"), ["sent"] * 3)
        bodies = []
        for headers, body in self.receiver.got:
            bodies.append(Webhook(hook["secret"]).verify(body.decode(), headers))
        self.assertEqual([b["type"] for b in bodies], ["res.partner.created", "res.partner.updated",
                                                       "res.partner.deleted"])  # fmt: skip
        self.assertNotIn("record", bodies[2]["data"])
        self.assertEqual(len({h["webhook-id"] for h, _b in self.receiver.got}), 3)
        hook_record = self.env["rest.api.webhook"].browse(hook["id"])
        self.assertTrue(hook_record.last_success)
        self.assertEqual(
            self.env["rest.api.webhook.delivery"].search_count([("webhook_id", "=", hook["id"])]), 3
        )

    def test_one_note_per_transaction_serves_events_and_the_change_feed(self):
        """A model both tracked and subscribed to is noted once per transaction: the sender
        makes the events from that very note (marked done), the change feed reads it too."""
        hook = self.subscribe(events=["create", "write"])
        self.env["rest.api.sync.model"].create({"model_id": self.env["ir.model"]._get_id("res.partner")})
        Change = self.env["rest.api.change"].sudo()
        before = Change.search([]).ids
        first = self.env["res.partner"].create({"name": "Once", "ref": "WH"})
        second = self.env["res.partner"].create({"name": "Twice", "ref": "WH"})
        first.write({"email": "once@example.com"})
        self.env.cr.flush()
        notes = Change.search([("id", "not in", before)])
        self.assertEqual(
            (len(notes), notes.model, notes.record_count, notes.hooked), (1, "res.partner", 2, True)
        )
        events = self.events(hook)
        self.assertEqual(sorted(events.mapped("event")), ["create", "create", "write"])
        self.assertEqual(sorted(set(events.mapped("res_id"))), sorted([first.id, second.id]))
        notes.invalidate_recordset()
        self.assertFalse(notes.hooked, "the note's events are made: it is marked done")
        self.assertEqual(len(self.events(hook)), 3, "events are made once")
        ids = {e.message_id for e in events}
        self.assertEqual(len(ids), 3)

    def test_a_running_sender_is_not_woken_again(self):
        """Writers wake the sender (a trigger row for its scheduled action, a NOTIFY once
        committed) only while it sleeps: a running sender holds the advisory lock AWAKE, and
        sees their notes itself (infra/webhook_locks.py)."""
        hook = self.subscribe(events=["create"])
        cron = self.env.ref("rest_api.ir_cron_rest_api_webhook_deliver")
        Trigger, Change = self.env["ir.cron.trigger"].sudo(), self.env["rest.api.change"].sudo()

        def triggers():
            return Trigger.search_count([("cron_id", "=", cron.id)])

        before, notes = triggers(), Change.search_count([("hooked", "=", True)])
        with closing(sql_db.db_connect(self.env.cr.dbname).cursor()) as sender:
            sender.execute("SELECT pg_advisory_lock(%s, %s)", [locks.SPACE, locks.AWAKE])
            try:
                self.env["res.partner"].create({"name": "Seen by the running sender", "ref": "WH"})
                self.env.cr.flush()
            finally:
                sender.execute("SELECT pg_advisory_unlock(%s, %s)", [locks.SPACE, locks.AWAKE])
        self.assertEqual(triggers(), before, "a running sender is not woken again")
        self.assertEqual(Change.search_count([("hooked", "=", True)]), notes + 1, "the note is written")
        # (a search by a field flushes the model: its pre-commit writer must not be BaseModel._flush)
        self.env["res.partner"].create({"name": "Wakes the sender", "ref": "WH"})
        self.env.cr.flush()
        self.assertEqual(triggers(), before + 1, "a sleeping sender is woken")
        self.assertEqual(len(self.events(hook)), 2)

    def test_a_failed_attempt_is_logged_and_retried_with_the_same_id(self):
        hook = self.subscribe(events=["create"])
        self.receiver.fail = 1
        self.env["res.partner"].create({"name": "Retried", "ref": "WH"})
        event = self.events(hook)
        self.Event._deliver()
        self.assertEqual((event.state, event.attempts), ("pending", 1))
        self.assertGreater(event.next_attempt, event.create_date)
        event.next_attempt = event.create_date  # as if its time had come
        self.Event._deliver()
        self.assertEqual((event.state, event.attempts), ("sent", 2))
        self.assertEqual(event.delivery_ids.sorted("attempt").mapped("status"), [500, 200])
        first, second = self.receiver.got
        self.assertEqual(first[0]["webhook-id"], second[0]["webhook-id"])
        self.assertEqual(first[1], second[1])

    def test_what_the_key_cannot_read_is_not_sent(self):
        limited_key = self.make_key(
            self.limited, all_models=False, scope_ids=[self.scope("res.partner", "r")]
        )
        hook = self.subscribe(key=limited_key, field_ids=["name"])
        no_scope = self.make_key(self.admin, all_models=False, scope_ids=[self.scope("res.partner", "r")])
        other = self.subscribe(key=no_scope, field_ids=["name"])
        # the key's scopes change: its subscription sends nothing any more
        self.env["rest.api.key"].search([("user_id", "=", self.admin.id), ("all_models", "=", False)]).write(
            {"scope_ids": [(5, 0, 0), self.scope("res.country", "r")]}
        )
        self.env["res.partner"].create({"name": "Seen", "ref": "WH"})
        self.assertEqual(len(self.events(hook)), 1)
        self.assertFalse(self.events(other))

    def test_a_key_manages_only_its_own_subscriptions(self):
        hook = self.subscribe()
        path = f"/api/webhooks/{hook['id']}"
        other = self.make_key(self.admin, name="other")
        self.assertProblem(self.get(path, key=other), 404)
        self.assertEqual(self.get("/api/webhooks", key=other).json(), [])
        shown = self.get(path).json()
        self.assertNotIn("secret", shown)
        self.assertEqual((shown["model"], shown["events"], sorted(shown["fields"])),
                         ("res.partner", ["create", "write", "unlink"], ["email", "name"]))  # fmt: skip
        self.assertEqual(self.call("PATCH", path, body={"active": False}).json()["active"], False)
        self.assertProblem(self.call("PATCH", path, body={"events": ["read"]}), 400)
        self.assertProblem(self.call("PATCH", path, body={"secret": "x"}), 400)
        self.assertEqual(self.call("DELETE", path).status_code, 200)
        self.assertProblem(self.get(path), 404)

    def test_subscriptions_are_checked(self):
        read_only = self.make_key(self.admin, all_models=False, scope_ids=[self.scope("res.country", "r")])
        self.assertProblem(self.call("POST", "/api/webhooks", key=read_only,
                                     body={"url": self.receiver.url, "model_id": "res.partner",
                                           "events": ["create"]}), 403)  # fmt: skip
        for body in ({"url": self.receiver.url, "model_id": "no.such", "events": ["create"]},
                     {"url": self.receiver.url, "model_id": "res.partner", "events": []},
                     {"url": "ftp://x", "model_id": "res.partner", "events": ["create"]},
                     {"url": self.receiver.url, "model_id": "res.partner", "events": ["create"], "field_ids": ["nope"]},
                     {"url": self.receiver.url, "model_id": "res.partner", "events": ["create"], "domain": [["nope", "=", 1]]}):  # fmt: skip
            self.assertProblem(self.call("POST", "/api/webhooks", body=body), 400)
        self.env["ir.config_parameter"].sudo().set_param("rest_api.webhook_allow_private", "")
        self.assertProblem(self.call("POST", "/api/webhooks", body={"url": self.receiver.url, "model_id": "res.partner",
                                                                    "events": ["create"]}), 400)  # fmt: skip
        with mute_logger("odoo.addons.rest_api.models.rest_api_webhook_event"):
            made = self.env["rest.api.webhook"].sudo().search([])
        self.assertFalse(made)

    def test_a_rotation_signs_with_both_secrets_for_a_day(self):
        hook = self.subscribe(events=["create"])
        record = self.env["rest.api.webhook"].browse(hook["id"])
        action = record.action_rotate_secret()
        new = action["context"]["default_secret"]
        self.env["res.partner"].create({"name": "Rotated", "ref": "WH"})
        self.Event._deliver()
        headers, body = self.receiver.got[0]
        self.assertTrue(Webhook(hook["secret"]).verify(body.decode(), headers))
        self.assertTrue(Webhook(new).verify(body.decode(), headers))
        self.assertNotIn(new, json.dumps(record.sudo().read()[0], default=str))

    def test_a_subscription_made_by_a_script_signs_too(self):
        key = self.env["rest.api.key"].search([], limit=1)
        hook = self.env["rest.api.webhook"].create({
            "name": "by script", "key_id": key.id, "url": self.receiver.url, "events": "create",
            "model_id": self.env["ir.model"]._get_id("res.partner"), "domain": '[["ref", "=", "WH"]]',
        })  # fmt: skip
        self.env["res.partner"].create({"name": "Scripted", "ref": "WH"})
        self.Event._deliver()
        headers, _body = self.receiver.got[0]
        self.assertEqual(headers["webhook-signature"].count("v1,"), 1)
        rotated = hook.action_rotate_secret()["context"]["default_secret"]
        self.assertTrue(rotated.startswith("whsec_"))
        self.assertEqual(len(hook._signing_secrets()), 2)

    def test_a_delete_in_companies_the_subscriber_lacks_still_reaches_it(self):
        """The subscription reads as its user, in its own context: not with the deleter's
        allowed_company_ids (a company the subscriber lacks made every read an AccessError)."""
        company_a = self.env.company
        company_b = self.env["res.company"].create({"name": "Company the subscriber lacks"})
        self.admin.company_ids |= company_b
        user = new_test_user(
            self.env, login="rest_company_a", groups="base.group_user,base.group_partner_manager",
            company_id=company_a.id, company_ids=[(6, 0, company_a.ids)],
        )  # fmt: skip
        hook = self.subscribe(key=self.make_key(user))
        partner = self.env["res.partner"].create({"name": "Shared", "ref": "WH"})
        self.events(hook)
        deleter = self.env(user=self.admin.id, context={"allowed_company_ids": [company_a.id, company_b.id]})
        partner.with_env(deleter).write({"email": "shared@example.com"})
        partner.with_env(deleter).unlink()
        self.assertEqual(self.events(hook).mapped("event"), ["create", "write", "unlink"])
        # the write's event, made after the delete, carries the state the subscriber read then
        self.assertEqual(
            json.loads(self.events(hook)[1].payload)["data"]["record"]["email"], "shared@example.com"
        )

    def test_subscriptions_per_key_and_user_are_capped(self):
        self.env["ir.config_parameter"].sudo().set_param("rest_api.max_webhooks_per_key", "2")
        first = self.subscribe()
        self.subscribe(events=["create"])
        body = self.assertProblem(
            self.call("POST", "/api/webhooks", body={"url": self.receiver.url, "model_id": "res.partner",
                                                     "events": ["create"]}), 409,
        )  # fmt: skip
        self.assertIn("rest_api.max_webhooks_per_key", body["detail"])
        self.call("PATCH", f"/api/webhooks/{first['id']}", body={"active": False})
        self.assertProblem(
            self.call("POST", "/api/webhooks", body={"url": self.receiver.url, "model_id": "res.partner",
                                                     "events": ["create"]}), 409,
        )  # fmt: skip
        self.subscribe(key=self.make_key(self.admin, name="another key"))  # the cap is per key
        self.assertEqual(self.call("DELETE", f"/api/webhooks/{first['id']}").status_code, 200)
        self.subscribe()
