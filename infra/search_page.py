"""One page of records and the number of records matching, for ``GET /api/<model>/search``.

``X-Total-Count`` comes with every page. The query is built once
(``_search``, with the record rules) and serves both: the page is fetched
the way ``search_fetch()`` fetches it (``_fetch_query``), and the total is
counted by the same query without its order and bounds, only when the page
cannot tell it: a page shorter than the limit ends the result, so the total
is its offset plus its length. (A ``COUNT(*) OVER ()`` column would make
PostgreSQL read every matching row in order even for a first page; in our
measurements the page and a separate count cost less, and a short page
costs no count at all.)

A total that was counted is kept per worker with the snapshot of the
transaction that counted it (``pg_current_snapshot()``: which transactions
it sees as committed), and is given again, without counting, to a call
whose transaction has the same snapshot and has written nothing: the same
statement with the same parameters over the same committed data counts
the same. Any commit anywhere on the PostgreSQL server gives later
transactions another snapshot, so a kept total is never stale; a statement
that reads the clock or another volatile function is always counted.
"""

import re

from odoo.tools import SQL

from . import worker_cache

COUNTS = "rest_api.search_counts"
MAX_COUNTS = 1000  # kept totals per worker; all are dropped beyond
# the transaction's snapshot, unless it wrote (its own rows are not in the snapshot);
# PostgreSQL 12, which Odoo 18 still supports, has only the older names
SNAPSHOT_SQL = SQL("SELECT pg_current_snapshot()::text WHERE pg_current_xact_id_if_assigned() IS NULL")
SNAPSHOT_SQL_12 = SQL("SELECT txid_current_snapshot()::text WHERE txid_current_if_assigned() IS NULL")
VOLATILE_RE = re.compile(
    r"\b(now|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday|random|"
    r"current_date|current_time|current_timestamp|localtime|localtimestamp|nextval|currval|"
    r"current_setting|current_user|session_user|txid_\w+|pg_\w+)\b",
    re.IGNORECASE,
)


def search_page(model, domain, field_names, offset, limit, order):
    """The rows of one page in read() shapes, and the number of records matching ``domain``.

    Raises ValueError (from Odoo) for a domain or order it cannot apply.
    """
    query = model._search(domain, offset=offset, limit=limit, order=order or model._order)
    if query.is_empty():
        return [], 0
    records = model._fetch_query(query, model._determine_fields_to_fetch(field_names))
    if limit and len(records) < limit and (records or not offset):
        total = offset + len(records)
    else:  # a full page, or one past the end: count on its own
        query.limit = query.offset = query.order = None
        total = count(model.env, query.select("COUNT(*)"))
    if "active_test" in model.env.context:  # as search_read(): the flag filters the search, not x2many values
        records = records.with_context(active_test=True)
    return records._read_format(field_names), total


def count(env, sql):
    """The value of ``sql``, a ``SELECT COUNT(*)``: kept for the same statement in the same snapshot."""
    if VOLATILE_RE.search(sql.code):
        return env.execute_query(sql)[0][0]
    env.flush_query(sql)  # a pending write that the count would flush makes this transaction one that wrote
    snapshot = env.execute_query(
        SNAPSHOT_SQL if env.cr.connection.server_version >= 130000 else SNAPSHOT_SQL_12
    )
    if not snapshot:  # this transaction wrote
        return env.execute_query(sql)[0][0]
    counts = worker_cache.memo(env.registry, COUNTS)
    key = (sql.code, repr(sql.params))
    kept = counts.get(key)
    if kept is not None and kept[0] == snapshot[0][0]:
        return kept[1]
    total = env.execute_query(sql)[0][0]
    if len(counts) >= MAX_COUNTS:
        counts.clear()
    counts[key] = (snapshot[0][0], total)
    return total
