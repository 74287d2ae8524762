"""The webhook outbox (API.md section 12): ``rest.api.webhook.event``.

A change is noted in the transaction that made it, in the change log that
the change feed reads too (``rest.api.change``: one row per transaction and
model, whatever its records and subscriptions), so a change that rolls back
sends nothing. After commit, the scheduled action ``_deliver`` (triggered at
once, on any server with a cron worker) works in batches, each its own
transaction, and stays awake while notes keep coming (``_run``: writers wake it
only when it sleeps, ``infra/webhook_locks.py``). A batch first turns new notes into events
(``_expand``): one per subscription and record, its payload the record as the
key's user reads it then (fields and records that user may not read, or the
key's scopes do not cover, are not sent; a record gone by then sends only its
``unlink``, to the subscriptions that could see it before it went). Then it
claims due events with ``FOR UPDATE SKIP LOCKED``, so that several senders
never send one event twice, signs and sends each (a connection kept per
destination), logs the attempts (``rest.api.webhook.delivery``, one statement)
and schedules a retry on failure. An event's
``webhook-id`` is derived from its note, subscription and record: were its
events made twice (a sender dying before its commit), they keep their ids.
"""

import logging
import threading
import time

import psycopg2
from psycopg2.extras import execute_values

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..infra import field_meta, webhook_sender
from ..infra import webhook_locks as locks
from ..lib import serialize, webhooks
from ..lib.errors import BadRequest

_logger = logging.getLogger(__name__)

CRON = "rest_api.ir_cron_rest_api_webhook_deliver"
CLAIM = 100  # events one sender claims and sends per transaction
EXPAND = 500  # change notes one sender turns into events per transaction
RUN = 20  # seconds one run of the scheduled action sends at most (then it triggers itself)
LINGER = 2.0  # seconds it stays awake with nothing to do, for the next notes
PAUSE = 0.2  # seconds between two batches: a burst of single writes makes fewer, larger batches
BATCH_SECONDS = 10  # a batch starts no send after this long (a receiver may take 10 s to answer)
INSERT_SQL = """
INSERT INTO rest_api_webhook_event
    (webhook_id, event, model, res_id, message_id, payload, state, attempts, next_attempt,
     create_date, write_date, create_uid, write_uid)
VALUES %s
"""
DELIVERY_SQL = """
INSERT INTO rest_api_webhook_delivery
    (event_id, webhook_id, user_id, attempt, status, duration, response, error,
     create_uid, write_uid, create_date, write_date)
VALUES %s
"""
OUTCOME_SQL = """
UPDATE rest_api_webhook_event AS e
   SET state = o.state, attempts = o.attempts, next_attempt = COALESCE(o.next_attempt, e.next_attempt),
       sent_at = COALESCE(o.sent_at, e.sent_at), write_uid = o.uid, write_date = now() AT TIME ZONE 'UTC'
  FROM (VALUES %s) AS o (id, state, attempts, next_attempt, sent_at, uid)
 WHERE e.id = o.id
"""
OUTCOME_TEMPLATE = "(%s, %s, %s, %s::timestamp, %s::timestamp, %s)"


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
        """The scheduled action: make the events of new change notes, send the events due.

        Run as the cron job (``_run``), it stays awake while notes keep coming, in batches,
        each committed; otherwise (a test, a script) it does one batch, tells Odoo how many
        remain (``ir.cron._notify_progress``) and triggers itself while some do."""
        if self._may_run_on():
            return self._run(limit)
        sent = self._batch(limit)[0]
        self.env.cr.execute(
            "SELECT count(*) FROM rest_api_webhook_event WHERE state = 'pending' AND next_attempt <= %s",
            [fields.Datetime.now()],
        )
        remaining = self.env.cr.fetchone()[0]
        self.env.cr.execute("SELECT count(*) FROM rest_api_change WHERE hooked")
        remaining += self.env.cr.fetchone()[0]
        self.env["ir.cron"]._notify_progress(done=sent, remaining=remaining)
        if remaining:
            # Odoo runs the action again at once, but only 10 times; then it only marks
            # the job due, and the cron worker would sleep its minute first: a trigger
            # wakes it (NOTIFY at commit)
            self.env.ref(CRON).sudo()._trigger()
        else:
            self._schedule_next()
        return sent

    def _may_run_on(self):
        """Whether this is the cron job itself, which may commit and keep running."""
        if self.env.registry.in_test_mode() or getattr(threading.current_thread(), "testing", False):
            return False
        return self.env.context.get("cron_id") == self.env["ir.model.data"]._xmlid_to_res_id(CRON)

    @api.model
    def _run(self, limit):
        """Send in batches while notes keep coming: awake (``infra.webhook_locks``), writers
        do not wake it again; it stops once it found nothing to do for LINGER seconds and
        nobody is in flight, or after RUN seconds (then it triggers itself: other jobs run)."""
        cr = self.env.cr
        self._commit()
        started = time.monotonic()
        sent = 0
        with webhook_sender.Sender() as sender:
            while True:
                if not self._wake(cr):  # another sender runs, or writers keep waking us
                    sent += self._batch(limit, sender)[0]
                    self._commit()
                    break
                try:
                    count, current = self._awake(limit, sender, started)
                except Exception:
                    self._release(cr, locks.AWAKE, failed=True)
                    raise
                self._release(cr, locks.AWAKE)
                sent += count
                if not current or time.monotonic() - started >= RUN:
                    self.env.ref(CRON).sudo()._trigger()  # the next run (in the new registry)
                    break
                if locks.try_lock(cr, locks.IN_FLIGHT):  # every writer that found us awake committed
                    locks.unlock(cr, locks.IN_FLIGHT)
                    self._commit()  # a new snapshot: their notes are in it
                    if not self._waiting():
                        break
        self._schedule_next()
        return sent

    @api.model
    def _commit(self):
        """Commit a batch of the cron job (``_run`` only, never in a request or a test): its
        events are sent and logged for good, the notes it claimed are free again, and its next
        look at the change log sees what committed meanwhile (as Odoo's mail queue does)."""
        self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _wake(self, cr):
        """Take AWAKE: writers holding it shared (they woke us) commit within moments."""
        deadline = time.monotonic() + 1
        while not locks.try_lock(cr, locks.AWAKE):
            self._commit()
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    @api.model
    def _release(self, cr, key, failed=False):
        """Commit (roll back after an error), then unlock ``key``; a broken connection took it already."""
        try:
            if failed:
                cr.rollback()
            else:
                self._commit()
            locks.unlock(cr, key)
            self._commit()
        except psycopg2.Error as exc:
            _logger.info("webhook sender: its lock went with its connection (%s)", exc)

    @api.model
    def _awake(self, limit, sender, started):
        """Batches until nothing came for LINGER seconds, or RUN seconds passed: (events sent,
        whether the registry is still current). Each batch first takes the changes other
        workers signalled (a subscription deactivated, a key revoked: Odoo's caches cleared)."""
        sent, idle, registry = 0, None, self.env.registry
        while time.monotonic() - started < RUN:
            if registry.check_signaling(self.env.cr) is not registry:
                return sent, False  # the modules changed: the next run works in the new registry
            count, worked, more = self._batch(limit, sender)
            self._commit()
            sent += count
            if more:
                continue
            if worked:
                idle = None
            elif idle is None:
                idle = time.monotonic()
            elif time.monotonic() - idle >= LINGER:
                break
            time.sleep(PAUSE)  # the notes of a burst of writes come in batches
        return sent, True

    @api.model
    def _waiting(self):
        """Whether notes or due events wait."""
        self.env.cr.execute(
            """SELECT EXISTS(SELECT 1 FROM rest_api_change WHERE hooked)
                   OR EXISTS(SELECT 1 FROM rest_api_webhook_event WHERE state = 'pending' AND next_attempt <= %s)""",
            [fields.Datetime.now()],
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _batch(self, limit, sender=None):
        """Make the events of new notes, then send one claim of due events, claimed ``FOR
        UPDATE SKIP LOCKED``: (events sent, whether there was anything to do, whether more
        is due at once)."""
        notes = self._expand()
        self.env.cr.execute(
            """SELECT id FROM rest_api_webhook_event
                WHERE state = 'pending' AND next_attempt <= %s
                ORDER BY next_attempt, id LIMIT %s FOR UPDATE SKIP LOCKED""",
            [fields.Datetime.now(), limit],
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        if sender is None:
            with webhook_sender.Sender() as sender:
                sent = self._send_all(ids, sender)
        else:
            sent = self._send_all(ids, sender)
        return sent, bool(notes or ids), notes >= EXPAND or len(ids) >= limit

    @api.model
    def _schedule_next(self):
        self.env.cr.execute("SELECT min(next_attempt) FROM rest_api_webhook_event WHERE state = 'pending'")
        due = self.env.cr.fetchone()[0]
        if due:
            self.env.ref(CRON).sudo()._trigger(at=max(due, fields.Datetime.now()))

    @api.model
    def _send_all(self, ids, sender):
        """One attempt at each of these events (claimed), in order: send, then log every
        attempt in one statement, and mark them sent, retried later or failed in one more."""
        if not ids:
            return 0
        cr = self.env.cr
        cr.execute(
            """SELECT id, webhook_id, message_id, payload, attempts FROM rest_api_webhook_event
                WHERE id = ANY(%s) ORDER BY next_attempt, id""",
            [ids],
        )
        rows = cr.fetchall()
        sender.new_batch()
        Hook = self.env["rest.api.webhook"].sudo()
        allow_private = Hook._allow_private()
        hooks, delivered, deliveries, outcomes = {}, set(), [], []
        budget = time.monotonic() + BATCH_SECONDS
        for event_id, hook_id, message_id, payload, attempts in rows:
            if time.monotonic() > budget:
                break  # slow receivers: the others stay due, for the next batch
            if hook_id not in hooks:
                hooks[hook_id] = self._hook_state(Hook.browse(hook_id))
            hook, error, secrets = hooks[hook_id]
            attempt, status, excerpt = attempts + 1, 0, ""
            started = time.monotonic()
            if not error:
                headers = webhooks.headers(secrets, message_id, fields.Datetime.now(), payload)
                try:
                    status, excerpt = sender.post(hook.url, payload.encode(), headers, allow_private)
                    excerpt = excerpt[: webhooks.EXCERPT]
                except BadRequest as exc:
                    error = exc.detail
                except webhook_sender.NoAnswer as exc:
                    error = f"No answer: {exc}"
            now = fields.Datetime.now()
            deliveries.append((event_id, hook_id, hook.user_id.id, attempt, status,
                               round((time.monotonic() - started) * 1000, 2), excerpt, error or None,
                               self.env.uid, self.env.uid, now, now))  # fmt: skip
            if 200 <= status < 300:
                outcomes.append((event_id, "sent", attempt, None, now, self.env.uid))
                delivered.add(hook_id)
                continue
            delay = webhooks.retry_delay(attempt)
            if delay is None or hooks[hook_id][1]:  # out of retries, or the subscription cannot send
                outcomes.append((event_id, "failed", attempt, None, None, self.env.uid))
                if hook_id in delivered:  # its successes of this batch came first
                    delivered.discard(hook_id)
                    hook._delivered()
                hook._failed_for_good(error or f"HTTP {status}")
                hooks[hook_id] = self._hook_state(hook)  # it may be deactivated now
            else:
                outcomes.append(
                    (
                        event_id,
                        "pending",
                        attempt,
                        fields.Datetime.add(now, seconds=delay),
                        None,
                        self.env.uid,
                    )
                )
        execute_values(cr._obj, DELIVERY_SQL, deliveries)
        execute_values(cr._obj, OUTCOME_SQL, outcomes, template=OUTCOME_TEMPLATE)
        if delivered:
            Hook.browse(sorted(delivered))._delivered()
        self.invalidate_model(["state", "attempts", "next_attempt", "sent_at", "delivery_ids"])
        return len(outcomes)

    @api.model
    def _hook_state(self, hook):
        """(subscription, why it cannot send or "", its signing secrets), read once a batch."""
        if not hook.active:
            return hook, "The subscription is inactive.", []
        if not hook._pair_active():
            return hook, "The subscription's API key is revoked or expired, or its user is archived.", []
        return hook, "", hook._signing_secrets()

    def action_resend(self):
        """Send these events again (from the screens), at once: only events the
        current user may read, of subscriptions whose pair it may act for."""
        self.check_access("read")
        self.webhook_id._check_pair()
        self.sudo().write({"state": "pending", "next_attempt": fields.Datetime.now()})
        self.env.ref(CRON).sudo()._trigger()
        return True
