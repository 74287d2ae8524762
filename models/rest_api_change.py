"""The change log (API.md sections 12 and 13): ``rest.api.change``, one note per
transaction and model.

``base``'s ``create``/``write``/``unlink`` (``models/base.py``) of a model that
is tracked (``rest.api.sync.model``) or has webhook subscriptions collect the
ids they touched in the transaction's pre-commit data; when the transaction
commits (or enters a savepoint: Odoo flushes pre-commit hooks there too), one
``INSERT`` writes one note per model: its transaction id
(``pg_current_xact_id()``), the ids created, written (grouped by the fields
written), deleted (with their company at the time, for section 13's rule on
deletes), and, for webhooks, the subscriptions that wanted it and, for
deletions, which records each of them could see before they went, as it
read them then. A change
that rolls back notes nothing: the note rolls back with it.

Both readers read these notes:

- the change feed (``controllers/changes.py``) orders them by transaction
  visibility (``lib/changes.py``);
- the webhook sender (``rest.api.webhook.event._deliver``) turns each note
  still ``hooked`` into the outbox's events, claimed ``FOR UPDATE SKIP
  LOCKED`` so that one sender does it once, then sends them.

Old notes go in one scheduled job (``_gc``): notes no webhook still needs, of
models no longer tracked, or older than ``rest_api.sync_retention_days`` and a
day (cursors are refused at the retention itself: a transaction noted just
before a cursor's snapshot may commit just after it).
"""

import json
import logging
from dataclasses import dataclass, field

from psycopg2.extras import execute_values

from odoo import api, fields, models
from odoo.tools import SQL

from ..infra import webhook_locks as locks
from ..infra import worker_cache
from ..lib import changes, serialize

_logger = logging.getLogger(__name__)

PENDING = "rest_api.change_notes"  # the transaction's pre-commit data: model -> Pending
HOOK_CRON = "rest_api.ir_cron_rest_api_webhook_deliver"
GC_MARGIN_DAYS = 1
INSERT_SQL = """
INSERT INTO rest_api_change
    (xid, noted_at, model, ids, created, written, unlinked, unlinked_company, hook_ids, hook_unlinks, hooked)
VALUES %s
"""
# The sender's wake-up, decided in the note's own statement. A running sender holds the
# advisory lock AWAKE (models/rest_api_webhook_event.py, _run); a writer holds IN_FLIGHT shared
# until it commits, then tries AWAKE shared. Granted: no sender runs, so it adds a trigger row
# for the sender's scheduled action and has the cron workers notified once it commits (a sender
# starting meanwhile waits for its commit on AWAKE). Refused: the running sender sees its note,
# as it waits for IN_FLIGHT (every writer that found it awake) before it last looks for notes.
# So a burst of writes wakes the sender once, not once per transaction.
WAKE_SQL = """
WITH flight AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(%(space)s, %(flight)s)),
     asleep AS MATERIALIZED (SELECT pg_try_advisory_xact_lock_shared(%(space)s, %(awake)s) AS yes FROM flight),
     wake AS (
        INSERT INTO ir_cron_trigger (cron_id, call_at, create_uid, write_uid, create_date, write_date)
        SELECT %(cron)s, now() AT TIME ZONE 'UTC', %(uid)s, %(uid)s, now() AT TIME ZONE 'UTC',
               now() AT TIME ZONE 'UTC'
          FROM asleep WHERE yes
        RETURNING 1
     )"""
WOKEN = " RETURNING (SELECT count(*) FROM wake)"
INSERT_TEMPLATE = (
    "(pg_current_xact_id(), (clock_timestamp() AT TIME ZONE 'UTC'), %s, %s::int4[], %s::int4[], %s::jsonb,"
    " %s::int4[], %s::int4[], %s::int4[], %s::jsonb, %s)"
)


@dataclass(frozen=True)
class Watch:
    """What a model's changes are noted for, kept per worker: tracking and webhook subscriptions."""

    tracked: bool = False
    subscriptions: tuple = ()

    def hooks(self, event):
        return [sub for sub in self.subscriptions if event in sub.events]


@dataclass
class Pending:
    """One model's changes in the running transaction, not written yet."""

    created: list = field(default_factory=list)
    writes: list = field(default_factory=list)  # (field names, ids)
    unlinked: dict = field(default_factory=dict)  # id -> company id or None
    hook_ids: set = field(default_factory=set)
    hook_unlinks: dict = field(default_factory=dict)  # subscription id -> {id: its last state or None}


class RestApiChange(models.Model):
    _name = "rest.api.change"
    _description = "REST API change note"
    _order = "id desc"
    _log_access = False
    _allow_sudo_commands = False

    model = fields.Char(required=True, readonly=True)  # indexed with xid (init): one index less to write
    noted_at = fields.Datetime(readonly=True, index=True, help="When the transaction wrote it (UTC).")
    record_count = fields.Integer("Records", compute="_compute_record_count")
    hooked = fields.Boolean(
        "Webhook events to make", readonly=True, help="Its webhook events are not made yet."
    )

    def init(self):
        """The columns the ORM has no types for: the transaction id and the arrays of ids."""
        self.env.cr.execute("""
            ALTER TABLE rest_api_change
                ADD COLUMN IF NOT EXISTS xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
                ADD COLUMN IF NOT EXISTS ids int4[] NOT NULL DEFAULT '{}',
                ADD COLUMN IF NOT EXISTS created int4[],
                ADD COLUMN IF NOT EXISTS written jsonb,
                ADD COLUMN IF NOT EXISTS unlinked int4[],
                ADD COLUMN IF NOT EXISTS unlinked_company int4[],
                ADD COLUMN IF NOT EXISTS hook_ids int4[],
                ADD COLUMN IF NOT EXISTS hook_unlinks jsonb;
            CREATE INDEX IF NOT EXISTS rest_api_change_model_xid ON rest_api_change (model, xid);
            DROP INDEX IF EXISTS rest_api_change__model_index;
            CREATE INDEX IF NOT EXISTS rest_api_change_hooked ON rest_api_change (id) WHERE hooked;
        """)  # fmt: skip

    def _compute_record_count(self):
        if not self.ids:
            return
        self.env.cr.execute(
            SQL("SELECT id, cardinality(ids) FROM rest_api_change WHERE id IN %s", tuple(self.ids))
        )
        counts = dict(self.env.cr.fetchall())
        for note in self:
            note.record_count = counts.get(note.id, 0)

    # ------------------------------------------------------------ what is watched
    @api.model
    def _watched(self):
        """model -> Watch: the models tracked or subscribed to, read once per worker
        (any change of tracking, subscriptions, keys, scopes or users clears it everywhere)."""
        memo = worker_cache.memo(self.env.registry, "rest_api.watched")
        if "models" not in memo:
            tracked = set(self.env["rest.api.sync.model"].sudo()._tracked())
            hooks = self.env["rest.api.webhook"]._subscriptions()
            memo["models"] = {
                model: Watch(tracked=model in tracked, subscriptions=hooks.get(model, ()))
                for model in tracked | set(hooks)
            }
        return memo["models"]

    @api.model
    def _cascades(self):
        """model -> ((model, column), ...): the stored many2one columns ``ondelete='cascade'``
        through which the database deletes, with that model's records, records of a tracked
        or subscribed model (directly or through others), read once per worker."""
        memo = worker_cache.memo(self.env.registry, "rest_api.watched")
        if "cascades" not in memo:
            edges = [
                (model._name, field.name, field.comodel_name)
                for model in self.env.registry.values()
                if not model._abstract and not model._transient and model._auto
                for field in model._fields.values()
                if field.type == "many2one" and field.store and field.ondelete == "cascade"
                and field.column_type and not field.inherited
            ]  # fmt: skip
            reaching = set(self._watched())  # models whose deletion reaches a watched one
            grown = True
            while grown:
                grown = False
                for model, _column, target in edges:
                    if model in reaching and target not in reaching:
                        reaching.add(target)
                        grown = True
            cascades = {}
            for model, column, target in edges:
                if model in reaching:
                    cascades.setdefault(target, []).append((model, column))
            memo["cascades"] = {target: tuple(found) for target, found in cascades.items()}
        return memo["cascades"]

    # ------------------------------------------------------------ noting (in the writing transaction)
    @api.model
    def _pending(self, model):
        cr = self.env.cr
        notes = cr.precommit.data.get(PENDING)
        if notes is None:
            notes = cr.precommit.data[PENDING] = {}
            cr.precommit.add(self._write_notes)
        found = notes.get(model)
        if found is None:
            found = notes[model] = Pending()
        return found

    @api.model
    def _note(self, model, watch, event, ids, names=(), companies=None, seen=None, recomputed=False):
        """Note that ``event`` touched ``ids`` of ``model`` in this transaction.

        ``names``: the fields a write wrote; ``companies``: {id: company id} of deleted
        records; ``seen``: {subscription id: {id: its last state or None}} of deleted records it could see;
        ``recomputed``: a write of stored computed fields only (not noted for records this
        transaction created: their create is read after it, computed fields included)."""
        ids = [i for i in ids if isinstance(i, int)]
        if not ids:
            return
        pending = self._pending(model)
        if recomputed and pending.created:
            created = set(pending.created)
            ids = [i for i in ids if i not in created]
            if not ids:
                return
        if event == "create":
            pending.created.extend(ids)
        elif event == "write":
            pending.writes.append((tuple(names), ids))
        else:
            companies = companies or {}
            pending.unlinked.update((i, companies.get(i)) for i in ids)
            for sub_id, visible in (seen or {}).items():
                pending.hook_unlinks.setdefault(sub_id, {}).update(visible)
        for sub in watch.hooks(event):
            if event != "write" or not sub.fields or set(names).intersection(sub.fields):
                pending.hook_ids.add(sub.id)

    @api.model
    def _write_notes(self):
        """Write this transaction's notes: one INSERT, one row per model (pre-commit)."""
        notes = self.env.cr.precommit.data.pop(PENDING, None)
        if not notes:
            return
        rows, hooked = [], False
        for model, pending in notes.items():
            written = changes.merge_groups(pending.writes)
            everything = set(pending.created).union(pending.unlinked, *(ids for _names, ids in written))
            unlinked = sorted(pending.unlinked)
            hook_unlinks = {
                str(sub): {str(i): row for i, row in found.items()}
                for sub, found in pending.hook_unlinks.items()
                if found
            }
            rows.append((
                model, sorted(everything), sorted(set(pending.created)) or None,
                json.dumps(written) if written else None,
                unlinked or None, [pending.unlinked[i] for i in unlinked] or None,
                sorted(pending.hook_ids) or None, serialize.dumps(hook_unlinks).decode() if hook_unlinks else None,
                bool(pending.hook_ids),
            ))  # fmt: skip
            hooked = hooked or bool(pending.hook_ids)
        cr = self.env.cr
        if not hooked:
            execute_values(cr._obj, INSERT_SQL, rows, template=INSERT_TEMPLATE)
            return
        cron_id = self.env["ir.model.data"]._xmlid_to_res_id(HOOK_CRON)
        wake = cr._obj.mogrify(WAKE_SQL, dict(locks.SENDER, cron=cron_id, uid=self.env.uid)).decode()
        woken = execute_values(cr._obj, wake + INSERT_SQL + WOKEN, rows, template=INSERT_TEMPLATE, fetch=True)
        if any(count for (count,) in woken):
            # Odoo's NOTIFY to the cron workers, once committed (ir.cron._trigger)
            cr.postcommit.add(self.env["ir.cron"].sudo().browse(cron_id)._notifydb)

    # ------------------------------------------------------------ keeping
    @api.model
    def _gc(self):
        """Delete the notes nobody needs any more: the scheduled job."""
        tracked = list(self.env["rest.api.sync.model"].sudo()._tracked())
        days = self.env["rest.api.pipeline"]._settings()["rest_api.sync_retention_days"] + GC_MARGIN_DAYS
        self.env.cr.execute(
            SQL(
                """DELETE FROM rest_api_change
                    WHERE NOT hooked AND (model != ALL(%s::varchar[])
                          OR noted_at < (now() AT TIME ZONE 'UTC') - make_interval(days => %s))""",
                tracked, days,
            )
        )  # fmt: skip
        _logger.info("rest_api: %s change notes deleted", self.env.cr.rowcount)
        return self.env.cr.rowcount
