"""The webhook outbox (API.md section 12): ``rest.api.webhook.event``.

A change is noted in the transaction that made it, in the change log that
the change feed reads too (``rest.api.change``: one row per transaction and
model, whatever its records and subscriptions), so a change that rolls back
sends nothing. After commit, the scheduled action ``_deliver`` (triggered at
once, on any server with a cron worker) first turns new notes into events
(``_expand``): one per subscription and record, its payload the record as the
key's user reads it then (fields and records that user may not read, or the
key's scopes do not cover, are not sent; a record gone by then sends only its
``unlink``, to the subscriptions that could see it before it went). Then it
claims due events with ``FOR UPDATE SKIP LOCKED``, so that several senders
never send one event twice, signs and sends each, logs the attempt
(``rest.api.webhook.delivery``) and schedules a retry on failure. An event's
``webhook-id`` is derived from its note, subscription and record: were its
events made twice (a sender dying before its commit), they keep their ids.
"""

import logging
import time

import requests
from psycopg2.extras import execute_values

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..infra import field_meta, webhook_sender
from ..lib import serialize, webhooks
from ..lib.errors import BadRequest

_logger = logging.getLogger(__name__)

CRON = "rest_api.ir_cron_rest_api_webhook_deliver"
CLAIM = 25  # events one sender claims and sends per transaction
EXPAND = 500  # change notes one sender turns into events per transaction
INSERT_SQL = """
INSERT INTO rest_api_webhook_event
    (webhook_id, event, model, res_id, message_id, payload, state, attempts, next_attempt,
     create_date, write_date, create_uid, write_uid)
VALUES %s
"""


class RestApiWebhookEvent(models.Model):
    _name = "rest.api.webhook.event"
    _description = "REST API webhook event (outbox)"
    _order = "id desc"
    _allow_sudo_commands = False

    webhook_id = fields.Many2one(
        "rest.api.webhook", required=True, ondelete="cascade", index=True, readonly=True
    )
    event = fields.Selection([(e, e) for e in webhooks.EVENTS], required=True, readonly=True)
    model = fields.Char(required=True, readonly=True)
    res_id = fields.Integer("Record id", readonly=True)
    message_id = fields.Char("webhook-id", required=True, readonly=True, index=True)
    payload = fields.Text(readonly=True)
    state = fields.Selection(
        [("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed")],
        default="pending", required=True, readonly=True, index=True,
    )  # fmt: skip
    attempts = fields.Integer(readonly=True)
    next_attempt = fields.Datetime(readonly=True, index=True)
    sent_at = fields.Datetime(readonly=True)
    delivery_ids = fields.One2many(
        "rest.api.webhook.delivery", "event_id", string="Delivery attempts", readonly=True
    )

    def write(self, vals):
        """Events are written by the sender only (``sudo()``): an event moved to another
        subscription, or given another payload, would be signed with its secret."""
        if not self.env.su:
            raise AccessError(_("Webhook events cannot be changed; resend them instead."))
        return super().write(vals)

    # ------------------------------------------------------------ events from the change log
    @api.model
    def _expand(self, limit=EXPAND):
        """Make the events of change notes still ``hooked`` (``rest.api.change``): claimed
        ``FOR UPDATE SKIP LOCKED``, so that of several senders one makes them, once. Each
        subscription the note names gets an event per record it may see now, read as its
        key's user; an ``unlink`` per record it could see before the record went (noted
        then). Returns the number of notes done."""
        cr = self.env.cr
        cr.flush()  # this transaction's own notes too (a script that changes, then sends)
        cr.execute(
            """SELECT id, model, noted_at, created, written, hook_ids, hook_unlinks FROM rest_api_change
                WHERE hooked ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED""",
            [limit],
        )
        notes = cr.fetchall()
        if not notes:
            return 0
        subscriptions = {
            sub.id: sub for subs in self.env["rest.api.webhook"]._subscriptions().values() for sub in subs
        }
        wanted = {}  # (model, subscription, event) -> ids
        plan = []  # (note id, when, model, subscription, event, ids) in the notes' order
        for note_id, model, noted_at, created, written, hook_ids, hook_unlinks in notes:
            if model not in self.env:
                continue
            for sub_id in hook_ids or ():
                sub = subscriptions.get(sub_id)
                if sub is None:  # inactive now, deleted, or its key revoked
                    continue
                found = {"create": created or ()}
                found["write"] = sorted({
                    i for names, ids in written or () if not sub.fields or set(names) & set(sub.fields) for i in ids
                })  # fmt: skip
                found["unlink"] = [int(i) for i in (hook_unlinks or {}).get(str(sub_id), ())]
                for event in webhooks.EVENTS:
                    if event in sub.events and found[event]:
                        plan.append((note_id, noted_at, model, sub, event, found[event]))
                        if event != "unlink":
                            wanted.setdefault((model, sub, event), set()).update(found[event])
        # one read per subscription, model and event, whatever the number of notes
        seen = {
            key: dict(self._visible(self.env[key[0]].browse(sorted(ids)), key[2], key[1]))
            for key, ids in wanted.items()
        }
        last = self._last_states(plan, seen)
        uuid = self.env["ir.config_parameter"].sudo().get_param("database.uuid") or ""
        now = fields.Datetime.now()  # due at once (the claim below compares with it, to the second)
        rows = []
        for note_id, noted_at, model, sub, event, ids in plan:
            records = seen.get((model, sub, event))
            for record_id in ids:
                if records is None:
                    record = None  # an unlink
                elif record_id in records:
                    record = records[record_id]
                elif (model, sub.id, record_id) in last:
                    record = last[model, sub.id, record_id]  # deleted since: as it was read then
                else:
                    continue  # out of its domain, or not readable by its user
                body = serialize.dumps(webhooks.payload(model, event, record_id, record, noted_at))
                message_id = webhooks.message_id(uuid, note_id, sub.id, event, record_id)
                rows.append((sub.id, event, model, record_id, message_id, body.decode(), "pending", 0,
                             now, now, now, self.env.uid, self.env.uid))  # fmt: skip
        if rows:
            execute_values(cr._obj, INSERT_SQL, rows)
        cr.execute("UPDATE rest_api_change SET hooked = false WHERE id = ANY(%s)", [[n[0] for n in notes]])
        return len(notes)

    @api.model
    def _last_states(self, plan, seen):
        """{(model, subscription id, id): state} of the records of create/write events that
        no longer exist: their state as the subscription read it when they were deleted."""
        gone = {}
        for _note, _when, model, sub, event, ids in plan:
            if event != "unlink":
                missing = [i for i in ids if i not in seen[model, sub, event]]
                gone.setdefault(model, set()).update(missing)
        found = {}
        for model, ids in gone.items():
            if not ids:
                continue
            self.env.cr.execute(
                """SELECT hook_unlinks FROM rest_api_change
                    WHERE model = %s AND unlinked && %s::int4[] AND hook_unlinks IS NOT NULL ORDER BY id""",
                [model, sorted(ids)],
            )
            for (hook_unlinks,) in self.env.cr.fetchall():
                for sub_id, states in hook_unlinks.items():
                    for record_id, state in states.items():
                        if state is not None and int(record_id) in ids:
                            found[model, int(sub_id), int(record_id)] = state
        return found

    @api.model
    def _visible(self, records, event, sub):
        """(id, record or None) of ``records`` as the subscription's user reads them,
        only those matching its domain; none when the key's scopes do not cover the model."""
        if sub.scopes is not None and "read" not in sub.scopes.get(records._name, ()):
            return []
        if not sub.usable(fields.Datetime.now()):
            return []  # its key expired: it reads nothing any more
        # as the user alone, in a context of its own: not the writer's (its allowed_company_ids,
        # companies the subscriber may lack, would make every read an AccessError)
        as_user = records.with_env(records.env(user=sub.user_id, context={"active_test": False}, su=False))
        domain = [("id", "in", records.ids), *sub.domain]
        try:
            if event == "unlink":
                return [(record_id, None) for record_id in as_user.search(domain).ids]
            readable = field_meta.fields_of(as_user.env)(records._name)
            names = [n for n in sub.fields if n in readable] if sub.fields else [
                name for name, info in readable.items() if info.type != "binary"
            ]  # fmt: skip
            # one query: the records the user may read that match, with their fields
            rows = as_user.search_read(domain, names, order="id")
        except (AccessError, ValueError, KeyError) as exc:
            _logger.info("webhook %s: no events for %s: %s", sub.id, records._name, exc)
            return []
        return [(row["id"], row) for row in rows]

    # ------------------------------------------------------------ delivery
    @api.model
    def _deliver(self, limit=CLAIM):
        """Make the events of new change notes, then send one claim of due events: the
        scheduled action. It tells Odoo how many remain (``ir.cron._notify_progress``):
        Odoo commits, and runs it again at once while some do."""
        self._expand()
        self.env.cr.execute(
            """SELECT id FROM rest_api_webhook_event
                WHERE state = 'pending' AND next_attempt <= %s
                ORDER BY next_attempt, id LIMIT %s FOR UPDATE SKIP LOCKED""",
            [fields.Datetime.now(), limit],
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        for event in self.browse(ids):
            event._send()
        self.env.cr.execute(
            "SELECT count(*) FROM rest_api_webhook_event WHERE state = 'pending' AND next_attempt <= %s",
            [fields.Datetime.now()],
        )
        remaining = self.env.cr.fetchone()[0]
        self.env.cr.execute("SELECT count(*) FROM rest_api_change WHERE hooked")
        remaining += self.env.cr.fetchone()[0]
        self.env["ir.cron"]._notify_progress(done=len(ids), remaining=remaining)
        if remaining:
            # Odoo runs the action again at once, but only 10 times; then it only marks
            # the job due, and the cron worker would sleep its minute first: a trigger
            # wakes it (NOTIFY at commit)
            self.env.ref(CRON).sudo()._trigger()
        else:
            self._schedule_next()
        return len(ids)

    @api.model
    def _schedule_next(self):
        self.env.cr.execute("SELECT min(next_attempt) FROM rest_api_webhook_event WHERE state = 'pending'")
        due = self.env.cr.fetchone()[0]
        if due:
            self.env.ref(CRON).sudo()._trigger(at=max(due, fields.Datetime.now()))

    def _send(self):
        """One attempt at this event: send, log, then sent, retried later or failed."""
        self.ensure_one()
        hook = self.webhook_id.sudo()
        attempt = self.attempts + 1
        status, excerpt, error = 0, "", ""
        started = time.monotonic()
        if not hook.active:
            error = "The subscription is inactive."
        elif not hook._pair_active():
            error = "The subscription's API key is revoked or expired, or its user is archived."
        else:
            when = fields.Datetime.now()
            headers = webhooks.headers(hook._signing_secrets(), self.message_id, when, self.payload)
            try:
                answer = webhook_sender.post(hook.url, self.payload.encode(), headers, hook._allow_private())
                status, excerpt = answer.status_code, answer.text[: webhooks.EXCERPT]
            except BadRequest as exc:
                error = exc.detail
            except requests.RequestException as exc:
                error = f"No answer: {type(exc).__name__}"
        duration = round((time.monotonic() - started) * 1000, 2)
        ok = 200 <= status < 300
        self.env["rest.api.webhook.delivery"].sudo().create({
            "event_id": self.id, "webhook_id": hook.id, "attempt": attempt, "status": status,
            "duration": duration, "response": excerpt, "error": error or False,
        })  # fmt: skip
        values = {"attempts": attempt}
        if ok:
            values.update(state="sent", sent_at=fields.Datetime.now())
            hook._delivered()
        else:
            delay = webhooks.retry_delay(attempt)
            if delay is None or not hook.active or not hook._pair_active():
                values["state"] = "failed"
                hook._failed_for_good(error or f"HTTP {status}")
            else:
                values["next_attempt"] = fields.Datetime.add(fields.Datetime.now(), seconds=delay)
        self.sudo().write(values)

    def action_resend(self):
        """Send these events again (from the screens), at once: only events the
        current user may read, of subscriptions whose pair it may act for."""
        self.check_access("read")
        self.webhook_id._check_pair()
        self.sudo().write({"state": "pending", "next_attempt": fields.Datetime.now()})
        self.env.ref(CRON).sudo()._trigger()
        return True
