"""``GET /api/<model>/changes`` (API.md section 13): the change feed.

Without a cursor it starts a full sync: pages of the records the caller can
read that match ``domain``, by id. With one it continues: what changed since
the cursor, each record once at the place of its last change, oldest first,
in its present state (``upsert``), or ``delete``. ``lib/changes.py`` says what
a cursor holds and why its ordering is sound; this runs it.

One call, with ``C`` its own snapshot (``pg_current_snapshot()``: Odoo's
transactions are REPEATABLE READ, so every statement of the call reads at
``C``):

1. the changes to records already covered (all of them, or during a full
   sync those up to ``scan``): the notes not visible in the cursor's ``base``
   and visible in ``upto`` (``C`` when the cursor has no ``upto``), grouped by
   record, ordered by each record's last note. More than a page: the page
   ends there and the next cursor keeps ``upto`` and the place reached
   (``pos``); a record that changed again after ``upto`` waits for the next
   round (it would be read newer than ``upto``, then sent again);
2. when those are all sent and ``upto`` was ``C``: the next records of a
   full sync, by id after ``scan``, as many as the page still holds.

The next cursor's ``base`` is ``upto`` once step 1 ran out: every record it
covers is current up to it. Records are read as the caller (record rules,
``active_test``), with the search's shapes (nested specifications
included); a record noted that the caller's search no longer finds is a
``delete``, listed only when it has no company or one of the caller's
(its company at the unlink for a record deleted, else its company now).

It runs on the primary, never on a read replica (``infra.replica.reads_only``):
a cursor's snapshot and the next call's must come from one server, whose
visibility only grows. A lagging replica's snapshot can be older than the
cursor's: the changes it has not replayed would be seen as before the cursor
and skipped, or, taken as the new base, sent twice.
"""

import json
import logging
import time

from odoo.tools import SQL

from ..infra import worker_cache
from ..infra.search_page import search_page
from ..lib import changes, errors, nested, query
from . import handlers

_logger = logging.getLogger(__name__)

DELTA_SQL = """
SELECT r.res_id, max(c.id) AS note, NULL AS snapshot
  FROM rest_api_change c CROSS JOIN LATERAL unnest(c.ids) AS r(res_id)
 WHERE c.model = %(model)s AND c.xid >= %(base_xmin)s::text::xid8
   AND NOT pg_visible_in_snapshot(c.xid, %(base)s::pg_snapshot)
   AND (%(scan)s::int4 IS NULL OR r.res_id <= %(scan)s::int4)
 GROUP BY r.res_id
HAVING bool_and(pg_visible_in_snapshot(c.xid, %(upto)s::pg_snapshot))
   AND (max(c.id), r.res_id) > (%(pos_note)s::int8, %(pos_id)s::int4)
 ORDER BY 2, 1
 LIMIT %(limit)s
"""
FRESH_DELTA_SQL = """
(SELECT r.res_id, max(c.id) AS note, NULL AS snapshot
  FROM rest_api_change c CROSS JOIN LATERAL unnest(c.ids) AS r(res_id)
 WHERE c.model = %(model)s AND c.xid >= %(base_xmin)s::text::xid8
   AND NOT pg_visible_in_snapshot(c.xid, %(base)s::pg_snapshot)
   AND c.xid IS DISTINCT FROM pg_current_xact_id_if_assigned()
   AND (%(scan)s::int4 IS NULL OR r.res_id <= %(scan)s::int4)
 GROUP BY r.res_id
 ORDER BY 2, 1
 LIMIT %(limit)s)
UNION ALL
SELECT NULL, NULL, pg_current_snapshot()::text || ';' || coalesce(pg_current_xact_id_if_assigned()::text, '')
"""
SNAPSHOT_SQL = (
    "SELECT pg_current_snapshot()::text || ';' || coalesce(pg_current_xact_id_if_assigned()::text, '')"
)
# transactions of this database, other than this one, whose snapshot may not see tracking turned
# on (the tracking row's xmin): they may have written without noting. A transaction's snapshot
# xmin is at most any id running or not assigned yet when it was taken, and one that wrote has
# its own id (a READ COMMITTED one holds no snapshot between statements); age(): 32-bit ids.
# (pg_stat_activity is read once per transaction unless cleared: a batch's calls read it anew.)
UNNOTED_SQL = """
SELECT pg_stat_clear_snapshot();
SELECT a.pid, a.application_name, a.state, a.xact_start, left(a.query, 80) FROM pg_stat_activity a, rest_api_sync_model t
 WHERE t.id = %(tracking)s AND a.datname = current_database() AND a.pid != pg_backend_pid()
   AND greatest(age(a.backend_xmin), age(a.backend_xid)) >= age(t.xmin)
"""
RETRY_AFTER = 2
WAIT_S, POLL_S = 3.0, 0.05  # how long a full sync's first call waits for them, and how often it looks
DELETED_SQL = """
SELECT u.id, u.company
  FROM rest_api_change c CROSS JOIN LATERAL unnest(c.unlinked, c.unlinked_company) AS u(id, company)
 WHERE c.model = %(model)s AND c.xid >= %(base_xmin)s::text::xid8 AND c.unlinked && %(ids)s::int4[]
   AND u.id = ANY(%(ids)s::int4[])
 ORDER BY c.id
"""


def changes_route(call):
    model, fields_of = call.model, call.fields_of()
    name, env = model._name, model.env
    model.check_access("read")
    signing = _signing_key(env)
    caller = changes.caller_mark(
        signing, call.key.id if call.key is not None else 0, env.uid, call.grant_scope
    )
    text = call.args.get("cursor")
    cursor = None if text is None else changes.decode(signing, text, caller, name)
    tracking = env["rest.api.sync.model"].sudo()._tracked().get(name)
    if tracking is None:
        if cursor is not None:
            raise errors.Gone(changes.EXPIRED)
        raise errors.Conflict(changes.NOT_TRACKED)
    now = time.time()
    if cursor is not None and (
        cursor.tracking != tracking[0]
        or cursor.at < tracking[1]
        or changes.expired(cursor, now, call.setting("rest_api.sync_retention_days"))
    ):
        raise errors.Gone(changes.EXPIRED)

    args = call.args
    domain_text = args.get("domain")
    fields_text = args.get("fields")
    if cursor is not None:
        domain_text = domain_text if domain_text is not None else _text(cursor.query[0])
        fields_text = fields_text if fields_text is not None else _text(cursor.query[1])
    domain = query.parse_domain(domain_text, name, fields_of)
    asked = nested.parse(fields_text, name, fields_of, call.setting(nested.SETTING))
    limit_text = (
        args.get("limit") if args.get("limit") is not None or cursor is None else str(cursor.query[2])
    )
    limit = query.parse_limit(limit_text, maximum=call.setting("rest_api.max_page_size"))
    remembered = (domain, handlers._as_json(asked), limit)
    if cursor is not None and remembered != cursor.query:
        raise errors.BadRequest(changes.OTHER_QUERY)
    fields = asked or handlers._default_fields(call)
    if wall := handlers._wall(call):
        handlers._walk_fields(wall.domain(name, domain), name, fields).check()

    if cursor is None:  # a full sync starts: nothing covered yet, every record after id 0
        _wait_all_noted(env, tracking[0])
        env.cr.execute(SNAPSHOT_SQL)
        start = _snapshot(env.cr.fetchone()[0])
        cursor = changes.SyncCursor(name, tracking[0], remembered, start, now, scan=0)
    feed = _Feed(call, model, handlers.narrowed(call, model, domain), fields, limit)
    try:
        page, after = feed.page(cursor, now)
    except ValueError as exc:
        raise handlers._invalid_query(exc) from exc
    more = after.scan is not None or after.upto is not None
    body = {"changes": page, "cursor": changes.encode(signing, after, caller), "more": more}
    return handlers.json_response(body)


def _text(value):
    """A remembered parameter as the text it came as (None: it was not sent)."""
    return None if value is None else json.dumps(value)


def _wait_all_noted(env, tracking):
    """Wait (a little) until no transaction begun before tracking was turned on still runs: it
    may write without noting, and commit after the base is taken (its change never sent). 503
    with Retry-After past ``WAIT_S``. Then the base and the records are read in a transaction
    begun after that (the request's was, maybe, before one that ended meanwhile), unless this
    one wrote already (a batch's call after writes): it cannot start again."""
    deadline = time.monotonic() + WAIT_S
    while True:
        env.cr.execute(UNNOTED_SQL, {"tracking": tracking})
        running = env.cr.fetchall()
        if not running:
            break
        if time.monotonic() >= deadline:
            _logger.info("rest_api: a full sync waits for transactions begun before tracking: %s", running)
            raise errors.ServiceUnavailable(changes.NOT_NOTED_YET, retry_after=RETRY_AFTER)
        time.sleep(POLL_S)
    env.flush_all()
    env.cr.execute("SELECT pg_current_xact_id_if_assigned() IS NULL")
    if env.cr.fetchone()[0]:  # nothing written: read on in a transaction begun now
        env.cr.rollback()


def _snapshot(text):
    """The reading transaction's snapshot, ``snapshot;own id``, with its own transaction in
    progress: what it wrote itself is not committed (a batch that writes, then reads the feed),
    it must come again once it is, and its notes are never read before (they would come back
    on every page: none of the transaction's snapshots sees them)."""
    snapshot, _sep, own = text.partition(";")
    return changes.Snapshot.parse(snapshot).running(int(own) if own else None)


def _signing_key(env):
    """The change cursors' signing key, derived once per worker from the database's secret."""
    memo = worker_cache.memo(env.registry, "rest_api.change_cursor_key")
    if "key" not in memo:
        memo["key"] = changes.derive_key(env["rest.api.token"].sudo()._signing_secret())
    return memo["key"]


class _Feed:
    def __init__(self, call, model, domain, fields, limit):
        self.call, self.model, self.domain, self.fields, self.limit = call, model, domain, fields, limit
        self.cr = model.env.cr

    def page(self, cursor, now):
        """(the changes of this page, the next cursor)."""
        fresh = cursor.upto is None
        if cursor.scan == 0:  # the first page of a full sync: no change to look for yet
            upto, found = cursor.base, []
        else:
            upto, found = self._delta(cursor, fresh)
        if len(found) > self.limit:  # more changes than a page: the next call goes on through them
            found = found[: self.limit]
            last = found[-1]
            after = cursor.after_page(
                upto=upto, upto_at=now if fresh else cursor.upto_at, pos=(last[1], last[0])
            )
            return self._records([res_id for res_id, _note in found], cursor), after
        page = self._records([res_id for res_id, _note in found], cursor)
        base_at = now if fresh else cursor.upto_at
        after = cursor.after_page(base=upto, at=base_at, upto=None, upto_at=None, pos=None)
        room = self.limit - len(page)
        if fresh and cursor.scan is not None and room > 0:
            rows, more = self._next_records(cursor.scan, room)
            page += [{"op": "upsert", "id": row["id"], "record": row} for row in rows]
            scan = rows[-1]["id"] if rows else cursor.scan
            after = after.after_page(scan=scan if more else None)
        return page, after

    def _delta(self, cursor, fresh):
        """(``upto``, [(record id, its last note)]): the changes since ``cursor.base`` up to
        ``upto`` (this call's snapshot when the cursor has none), after ``cursor.pos``, a
        page and one more. This call's snapshot comes with the rows, in the same statement."""
        pos = cursor.pos or (0, 0)
        upto = cursor.upto
        params = {
            "model": self.model._name, "base_xmin": str(cursor.base.xmin), "base": cursor.base.text,
            "upto": upto.text if upto else None, "scan": cursor.scan, "pos_note": pos[0], "pos_id": pos[1],
            "limit": self.limit + 1,
        }  # fmt: skip
        self.cr.execute(FRESH_DELTA_SQL if fresh else DELTA_SQL, params)
        rows = self.cr.fetchall()
        if fresh:
            upto = _snapshot(next(snap for res_id, _note, snap in rows if res_id is None))
        found = sorted((note, res_id) for res_id, note, _snap in rows if res_id is not None)
        return upto, [(res_id, note) for note, res_id in found]

    def _read(self, records):
        """The records as a search returns them, in the order given."""
        fields = self.fields
        if isinstance(fields, nested.Nested):
            rows = fields.shape(records.web_read(fields.web_read()))
            handlers.check_reached(self.call, fields, rows)
            return rows
        return records.read(fields)

    def _records(self, ids, cursor):
        """The changes of these records, in this order: upsert what the caller finds, delete the rest."""
        if not ids:
            return []
        model, fields = self.model, self.fields
        expanded = isinstance(fields, nested.Nested)
        page = search_page(
            model, [("id", "in", ids), *self.domain], handlers._names(fields), 0, len(ids) + 1, "id",
            fields.web_read() if expanded else None,
        )  # fmt: skip
        if expanded:
            fields.shape(page.rows)
            handlers.check_reached(self.call, fields, page.rows)
        rows = {row["id"]: row for row in page.rows}
        gone = [i for i in ids if i not in rows]
        listed = self._deletes_listed(gone, cursor) if gone else set()
        page = []
        for res_id in ids:
            if res_id in rows:
                page.append({"op": "upsert", "id": res_id, "record": rows[res_id]})
            elif res_id in listed:
                page.append({"op": "delete", "id": res_id})
        return page

    def _deletes_listed(self, ids, cursor):
        """Of these records (noted, not found by the caller), those whose delete the caller
        may be told of: no company, or one the caller is allowed in (API.md section 13)."""
        model = self.model
        field = model._fields.get("company_id")
        if field is None or not field.store or field.type != "many2one":
            return set(ids)
        self.cr.execute(
            SQL("SELECT id, company_id FROM %s WHERE id = ANY(%s)", SQL.identifier(model._table), ids)
        )
        companies = dict(self.cr.fetchall())
        deleted = [i for i in ids if i not in companies]
        if deleted:
            self.cr.execute(
                DELETED_SQL, {"model": model._name, "base_xmin": str(cursor.base.xmin), "ids": deleted}
            )
            companies.update(self.cr.fetchall())  # the last unlink of each wins
        allowed = set(model.env.user.company_ids.ids)
        return {i for i in ids if not companies.get(i) or companies[i] in allowed}

    def _next_records(self, scan, room):
        """The next records of a full sync after id ``scan``: (rows, whether more follow)."""
        found = self.model.search([("id", ">", scan), *self.domain], order="id", limit=room + 1)
        return self._read(found[:room]), len(found) > room
