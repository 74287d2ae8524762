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

The page's own query reports the snapshot, so that knowing it costs no
round trip: its WHERE clause gets ``(SELECT rest_api_note_snapshot())``, a
function (created with the module, ``create_function``) that is true and
sends the snapshot as a NOTICE, which psycopg2 keeps in
``connection.notices``. PostgreSQL runs such an uncorrelated subquery once,
as a one-time filter, and the plan is otherwise the same. Where the
function is missing (code newer than the database's module) or no notice
comes (``client_min_messages`` above NOTICE), the snapshot is asked for by
a statement of its own.

A page of plain columns (numbers, booleans, texts, selections, dates; see
``PLAIN``) is made from the query's rows directly: the values ``read()``
would give, without putting the records in the cache and reading them back
field by field (``_fetch_query`` then ``_read_format``, a third of the
page's time). Any other field (relational, computed, binary,
company-dependent, translated by terms) is read through the ORM as before, and so is every field of a model that
changes how its records are fetched or formatted (``_fetch_query``,
``_read_format``: res.users hides fields that way). A model that changes
its search itself (``search_fetch``, ``search_read`` or ``search_count``:
ir.ui.menu shows only the menus the user may see) is searched and counted
by those methods. A nested read (``fields=child_ids{name}``, lib.nested)
takes the same query and reads its page with ``web_read``: one batch of
statements per level of its specification, whatever the number of records.

Cursor paging (API.md section 10): with a plan (``infra/keyset.py``) the
page is ordered by the plan's order, ``id`` last, and tells the order values
of its first and last rows, from which the caller makes cursors: in the
plain page they are more columns of the same statement, else one small
statement by id. A page after (or before) a cursor adds the keyset's
condition to the query (``_search``, record rules included) instead of an
OFFSET, reads one row more than it gives to know whether more follow, and
its total is the count of the domain's query without that condition (kept
per snapshot like any other).
"""

import re
from typing import NamedTuple
from xmlrpc.client import MAXINT

from odoo.models import BaseModel
from odoo.tools import SQL

from ..lib import cursors
from . import keyset, worker_cache

COUNTS = "rest_api.search_counts"
MAX_COUNTS = 1000  # kept totals per worker; all are dropped beyond
# the transaction's snapshot, unless it wrote (its own rows are not in the snapshot);
# PostgreSQL 12, which Odoo 18 still supports, has only the older names
SNAPSHOT_SQL = SQL("SELECT pg_current_snapshot()::text WHERE pg_current_xact_id_if_assigned() IS NULL")
SNAPSHOT_SQL_12 = SQL("SELECT txid_current_snapshot()::text WHERE txid_current_if_assigned() IS NULL")
# true; tells the snapshot of its transaction, empty once it wrote (txid_*: PostgreSQL 12 too)
FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION rest_api_note_snapshot() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE NOTICE 'rest_api_snapshot %',
        CASE WHEN txid_current_if_assigned() IS NULL THEN txid_current_snapshot()::text ELSE '' END;
    RETURN TRUE;
END $$
"""
HAS_FUNCTION = "rest_api.note_snapshot"
NOTE = SQL("(SELECT rest_api_note_snapshot())")
NOTICE_RE = re.compile(r"rest_api_snapshot (\S*)")
VOLATILE_RE = re.compile(
    r"\b(now|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday|random|"
    r"current_date|current_time|current_timestamp|localtime|localtimestamp|nextval|currval|"
    r"current_setting|current_user|session_user|txid_\w+|pg_\w+)\b",
    re.IGNORECASE,
)


class Page(NamedTuple):
    """One page of records: its rows in read() shapes and the number of records matching.

    Ordered by a cursor plan: ``first`` and ``last`` are the order values of
    its first and last rows (as ``lib.cursors.Cursor.values``; None for an
    empty page), and a page after (or before) a cursor tells whether rows
    follow it that way (``more``).
    """

    rows: list
    total: int
    first: tuple | None = None
    last: tuple | None = None
    more: bool = False


def search_page(model, domain, field_names, offset, limit, order, specification=None, plan=None, cursor=None):
    """One ``Page`` of the records matching ``domain``.

    ``specification``: Odoo's ``web_read`` specification of ``field_names`` (a
    nested read, lib.nested): the page's records are then read by ``web_read``,
    one batch per level, instead of ``read()``. ``plan`` (``infra.keyset.Plan``,
    for this ``order``): the page is ordered by it and tells its edges;
    ``cursor`` (``lib.cursors.Cursor``, with a plan): the page after, or
    before, its row, instead of ``offset``. Raises ValueError (from Odoo) for
    a domain or order it cannot apply.
    """
    if _overrides(model, "search_fetch", "search_read", "search_count"):
        if specification is None:
            rows = model.search_read(domain, field_names, offset=offset, limit=limit, order=order)
        else:  # what search_read does, with web_read's formatting
            records = model.search_fetch(domain, field_names, offset=offset, limit=limit, order=order)
            rows = _for_values(records).web_read(specification)
        total = told_by_page(len(rows), limit, offset)
        return Page(rows, model.search_count(domain) if total is None else total)
    if plan is not None:
        if cursor is not None:
            return _cursor_page(model, domain, field_names, limit, plan, cursor, specification)
        order = plan.order
    env = model.env
    terms = plan.terms if plan is not None else ()
    columns = _plain_columns(model, field_names) if specification is None else None
    key = _memo_key(model, domain, order, field_names, terms) if columns else None
    if columns and (compiled := worker_cache.memo(env.registry, COMPILED).get(key)) is not None:
        model.browse().check_access("read")  # as _search() does
        model._determine_fields_to_fetch(field_names)  # checks the fields' groups, as search_read()
        notices = _noting(env)
        if notices is not None:
            del notices[:]
        return _plain_page(model, compiled, limit, offset, notices)
    query = model._search(domain, offset=offset, limit=limit, order=order or model._order)
    if query.is_empty():
        return Page([], 0)
    notices = _noting(env)
    if notices is not None:
        query.add_where(NOTE)
        del notices[:]
    fields = model._determine_fields_to_fetch(field_names)  # checks the fields' groups, as search_read()
    if columns:
        compiled = _compile(model, query, columns, terms)
        _keep(model, domain, key, compiled)
        return _plain_page(model, compiled, limit, offset, notices)
    records = model._fetch_query(query, fields)
    total = _total(env, query, len(records), limit, offset, notices)
    first, last = keyset.edges(model, terms, records) if terms and records else (None, None)
    return Page(_formatted(records, field_names, specification), total, first, last)


def _cursor_page(model, domain, field_names, limit, plan, cursor, specification):
    """The page after (or before) the cursor's row: the rows of each keyset
    segment in turn (``lib.cursors.segments``), one more than the page holds
    to tell whether any follow. A page before the cursor is read in the
    reverse order, then turned round."""
    terms = tuple(term.reversed() for term in plan.terms) if cursor.backward else plan.terms
    order = plan.reverse if cursor.backward else plan.order
    env = model.env
    notices = _noting(env)
    if notices is not None:
        del notices[:]
    fields = model._determine_fields_to_fetch(field_names)
    columns = _plain_columns(model, field_names) if specification is None else None
    rows, anchors, records, counting = [], [], model.browse(), None
    for segment in cursors.segments(terms, cursor.values):
        query = model._search(domain, limit=limit + 1 - len(rows) - len(records), order=order)
        if query.is_empty():
            return Page([], 0)
        if counting is None:
            counting = _count_statement(query)  # the domain's, without the keyset
            if notices is not None:
                query.add_where(NOTE)
        query.add_where(keyset.condition(segment, keyset.expressions(model, terms, query)))
        if columns:
            bound = query.limit
            found, found_anchors = _plain_rows(model, _compile(model, query, columns, terms), bound, 0)
            rows += found
            anchors += found_anchors
        else:
            records += model._fetch_query(query, fields)
        if len(rows) + len(records) > limit:
            break
    flushed = counting is not None  # the page's statements flushed what the count reads, just now
    if counting is None:
        counting = _count_statement(model._search(domain))
    more = len(rows) + len(records) > limit
    step = -1 if cursor.backward else 1
    if columns:
        rows, anchors = rows[:limit][::step], anchors[:limit][::step]
        first, last = (anchors[0], anchors[-1]) if anchors else (None, None)
    else:
        records = records[:limit][::step]
        first, last = keyset.edges(model, plan.terms, records) if records else (None, None)
        rows = _formatted(records, field_names, specification)
    total = _count(env, counting, lambda: counting, _noted(notices), flushed=flushed)
    return Page(rows, total, first, last, more)


def _count_statement(query):
    """``SELECT COUNT(*)`` of the query's rows, its order and bounds left as they are."""
    kept = query.order, query.limit, query.offset
    query.order = query.limit = query.offset = None
    statement = query.select("COUNT(*)")
    query.order, query.limit, query.offset = kept
    return statement


def _plain_columns(model, field_names):
    """``_plain``'s columns when the page can be made from the query's rows, else None."""
    if _overrides(model, "_fetch_query", "_read_format"):
        return None
    return _plain(model, field_names)


def _formatted(records, field_names, specification):
    """The records' rows: ``web_read`` of a nested read's specification, else read() shapes."""
    records = _for_values(records)
    if specification is not None:
        return records.web_read(specification)
    return records._read_format(field_names)


def _for_values(records):
    """As search_read(): a context's ``active_test`` filters the search, not x2many values."""
    return records.with_context(active_test=True) if "active_test" in records.env.context else records


def _overrides(model, *names):
    """Whether the model's class has its own version of one of these BaseModel methods."""
    cls = type(model)
    return any(getattr(cls, name) is not getattr(BaseModel, name) for name in names)


def told_by_page(found, limit, offset):
    """The total when a page of ``found`` rows tells it (a short page ends the
    result), else None: a full page, or one past the end, is counted on its own."""
    return offset + found if limit and found < limit and (found or not offset) else None


def _total(env, query, found, limit, offset, notices):
    if (total := told_by_page(found, limit, offset)) is not None:
        return total
    snapshot = _noted(notices)
    query.limit = query.offset = query.order = None
    return count(env, query.select("COUNT(*)"), snapshot)


# read() values from the database's values of plain columns: Odoo 18 keeps a column's
# value in its cache as the database gives it (Cache.insert_missing), then read() gives
# field.convert_to_read(field.convert_to_record(value)) (odoo/fields.py, per type)
def _as_is(value):  # Field: None is False
    return False if value is None else value


def _integer(value):  # Integer: None is 0; beyond XML-RPC's int, a float
    return float(value) if value and value > MAXINT else (value or 0)


def _float(value):  # Float, Monetary: None is 0.0
    return value or 0.0


PLAIN = {
    "boolean": _as_is, "char": _as_is, "text": _as_is, "html": _as_is, "selection": _as_is,
    "date": _as_is, "datetime": _as_is, "integer": _integer, "float": _float, "monetary": _float,
}  # fmt: skip


def _plain(model, field_names):
    """[(name, field or None for "id", convert)] when every field is a plain column
    of the model's own table, else None.

    Translated texts count (the query gives the text in the context's language,
    with Odoo's fallbacks, as the cache would), except translations by terms
    (``translate`` a function) and all languages at once (``prefetch_langs``).
    """
    columns = []
    for name in field_names:
        if name == "id":
            columns.append((name, None, None))
            continue
        field = model._fields[name]
        convert = PLAIN.get(field.type)
        if (
            convert is None
            or not field.store
            or not field.column_type
            or field.company_dependent
            or callable(field.translate)
            or (field.translate and model.env.context.get("prefetch_langs"))
        ):
            return None
        columns.append((name, field, convert))
    return columns


class Compiled(NamedTuple):
    """A plain page's statements, once Odoo made them (``_compile``): the page's
    without its bounds, the count's, how a row becomes read() values, and where
    the row's order values for a cursor start (None without terms)."""

    unbounded: SQL
    counting: SQL
    shape: tuple
    width: int | None


def _plain_page(model, compiled, limit, offset, notices):
    page, anchors = _plain_rows(model, compiled, limit, offset)
    first, last = (anchors[0], anchors[-1]) if anchors else (None, None)
    if (total := told_by_page(len(page), limit, offset)) is not None:
        return Page(page, total, first, last)
    # the page's statement flushed what the count reads, just now
    total = _count(model.env, compiled.unbounded, lambda: compiled.counting, _noted(notices), flushed=True)
    return Page(page, total, first, last)


def _compile(model, query, columns, terms):
    """The ``Compiled`` statements of a plain page of ``query`` (whose bounds it drops)."""
    table = model._table
    selected = [SQL.identifier(table, "id")]
    places = {}
    for _name, field, _convert in columns:
        if field is not None and field.name not in places:
            places[field.name] = len(selected)
            # flushed first (to_flush): the values come from the database, not the cache
            selected.append(model._field_to_sql(table, field.name, query))
    width = len(selected)
    if terms:
        selected += keyset.as_text(keyset.expressions(model, terms, query))
    # the statement without its bounds is also the key of its total: the same for every page
    query.limit = query.offset = None
    unbounded = query.select(*selected)
    query.order = None
    counting = query.select("COUNT(*)")
    shape = tuple(
        (name, 0, None) if field is None else (name, places[name], convert)
        for name, field, convert in columns
    )
    return Compiled(unbounded, counting, shape, width if terms else None)


# What the ORM makes of a search is kept per worker for the plain pages of searches
# whose statement depends only on what keys it (``_compiled``): leaves on the model's
# own stored columns, with values, and record rules likewise (their domains are
# Odoo's ormcache, as is this memo: a changed rule, group, user or company drops
# both). An operator that Odoo resolves by searching when it makes the statement
# (child_of, parent_of) is kept only on companies, whose tree Odoo's caches follow.
COMPILED = "rest_api.compiled_searches"
MAX_COMPILED = 500  # kept statements per worker; all are dropped beyond
MAX_KEPT_DOMAIN = 2000  # characters of a domain's text: longer ones (long lists of ids) are not kept
KEPT_OPERATORS = frozenset(
    {"=", "!=", "<>", "<", ">", "<=", ">=", "in", "not in", "like", "not like", "ilike", "not ilike",
     "=like", "=ilike", "child_of", "parent_of"}
)  # fmt: skip
COMPANY_ONLY = frozenset({"child_of", "parent_of"})
SCALARS = (str, int, float, bool, type(None))
RELATIONAL_VALUES = (int, bool, type(None))  # ids and False: never a name to search


def _memo_key(model, domain, order, field_names, terms):
    env = model.env
    return (
        model._name, repr(domain), order, tuple(field_names), terms,
        env.uid, env.su, env.lang, repr(env.context),
    )  # fmt: skip


def _keep(model, domain, key, compiled):
    """Keep ``compiled`` for this search (``key``: its ``_memo_key``) when its statement
    depends on nothing else (see COMPILED)."""
    if _overrides(model, "_search", "_where_calc", "_apply_ir_rules", "_flush_search"):
        return
    if len(key[1]) > MAX_KEPT_DOMAIN or not _stable(model, domain):
        return
    rules = model.env["ir.rule"]._compute_domain(model._name, "read")
    if rules and not _stable(model, rules):
        return
    memo = worker_cache.memo(model.env.registry, COMPILED)
    if len(memo) >= MAX_COMPILED:
        memo.clear()
    memo[key] = compiled


def _stable(model, domain):
    """Whether Odoo makes the same SQL of ``domain`` until its caches are cleared."""
    for leaf in domain:
        if isinstance(leaf, str):
            if leaf not in ("&", "|", "!"):
                return False
            continue
        if not isinstance(leaf, (list, tuple)) or len(leaf) != 3:
            return False
        name, operator, value = leaf
        if name in (0, 1) and operator == "=" and value in (0, 1):  # TRUE_LEAF, FALSE_LEAF
            continue
        field = model._fields.get(name) if isinstance(name, str) else None
        if (
            field is None
            or not field.store
            or not field.column_type
            or field.inherited
            or field.company_dependent
            or not isinstance(operator, str)
            or operator.lower() not in KEPT_OPERATORS
        ):
            return False
        if operator.lower() in COMPANY_ONLY and field.comodel_name != "res.company":
            return False
        values = value if isinstance(value, (list, tuple)) else (value,)
        kinds = RELATIONAL_VALUES if field.relational else SCALARS
        if not all(isinstance(item, kinds) for item in values):
            return False
    return True


def _plain_rows(model, compiled, limit, offset):
    """The page's rows, and their order values as text for a cursor (None without terms)."""
    rows = model.env.execute_query(
        SQL(
            "%s%s%s",
            compiled.unbounded,
            SQL(" LIMIT %s", limit) if limit else SQL(),
            SQL(" OFFSET %s", offset) if offset else SQL(),
        )
    )
    shape, page = compiled.shape, []
    for row in rows:
        values = {"id": row[0]}
        for name, place, convert in shape:
            values[name] = row[0] if convert is None else convert(row[place])
        page.append(values)
    width = compiled.width
    return page, None if width is None else [tuple(row[width:]) for row in rows]


def create_function(cr):
    cr.execute(FUNCTION_SQL)


def drop_function(cr):
    cr.execute("DROP FUNCTION IF EXISTS rest_api_note_snapshot()")


def _noting(env):
    """The connection's notices when the database has the function (asked once per worker), else None."""
    memo = worker_cache.memo(env.registry, HAS_FUNCTION)
    if "has" not in memo:
        env.cr.execute("SELECT to_regprocedure('rest_api_note_snapshot()') IS NOT NULL")
        memo["has"] = env.cr.fetchone()[0]
    return env.cr.connection.notices if memo["has"] else None


def _noted(notices):
    """The snapshot the page's query told (None if it told none; "" once the transaction wrote)."""
    for notice in reversed(notices or ()):
        if found := NOTICE_RE.search(notice):
            return found.group(1)
    return None


def count(env, sql, snapshot=None):
    """The value of ``sql``, a ``SELECT COUNT(*)``: kept for the same statement in the same
    snapshot. ``snapshot``: the transaction's, as its page told it; None: ask for it."""
    return _count(env, sql, lambda: sql, snapshot)


def _count(env, key, counting, snapshot, flushed=False):
    """The value of the statement ``counting()`` makes, kept with ``key`` (a statement
    whose rows decide the count) in the same snapshot. ``flushed``: ``key`` was
    executed just now, so what the count reads is flushed already."""
    if _volatile(key.code):
        return env.execute_query(counting())[0][0]
    if not flushed:
        statements = env.cr.sql_log_count
        env.flush_query(
            key
        )  # a pending write that the count would flush makes this transaction one that wrote
        if env.cr.sql_log_count != statements:
            snapshot = None
    if snapshot is None:  # none told, or it wrote since
        found = env.execute_query(
            SNAPSHOT_SQL if env.cr.connection.server_version >= 130000 else SNAPSHOT_SQL_12
        )
        snapshot = found[0][0] if found else ""
    if not snapshot:  # this transaction wrote: its own rows are in no snapshot
        return env.execute_query(counting())[0][0]
    counts = worker_cache.memo(env.registry, COUNTS)
    kept_key = (key.code, repr(key.params))
    kept = counts.get(kept_key)
    if kept is not None and kept[0] == snapshot:
        return kept[1]
    total = env.execute_query(counting())[0][0]
    if len(counts) >= MAX_COUNTS:
        counts.clear()
    counts[kept_key] = (snapshot, total)
    return total


_VOLATILE = {}  # statement -> whether it calls a volatile function, per worker


def _volatile(code):
    found = _VOLATILE.get(code)
    if found is None:
        if len(_VOLATILE) >= MAX_COUNTS:
            _VOLATILE.clear()
        found = _VOLATILE[code] = bool(VOLATILE_RE.search(code))
    return found
