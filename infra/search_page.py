"""One page of records and the total count, from a single SQL statement.

``GET /api/<model>/search`` answers ``X-Total-Count`` with every page. Doing
that with search_read() and search_count() builds the domain and the record
rules twice and scans the matching rows twice. Here the query is built once
(``_search``, with the record rules) and the page is fetched the way Odoo's
``_fetch_query`` does it, plus one window column ``COUNT(*) OVER ()``: the
database counts the rows it already has to sort for the page.
"""

from odoo.tools import SQL, OrderedSet

TOTAL = SQL("COUNT(*) OVER ()")


def _column_sql(model, field, query):
    """A column of the SELECT, as Odoo's _fetch_query writes it."""
    if field.translate and model.env.context.get("prefetch_langs"):
        return SQL.identifier(model._table, field.name, to_flush=field)
    # flushing gives the en_US value of fields without a translation
    return model._field_to_sql(model._table, field.name, query, flush=field.translate)


def _fetch_with_total(model, query, fields):
    """(records, total): the fields of the page in cache, like _fetch_query()."""
    column_fields, other_fields = OrderedSet(), OrderedSet()
    for field in fields:
        if field.name != "id":
            (column_fields if field.column_type else other_fields).add(field)
    terms = [
        SQL.identifier(model._table, "id"),
        *(_column_sql(model, f, query) for f in column_fields),
        TOTAL,
    ]
    rows = model.env.execute_query(query.select(*terms))
    if not rows:
        return model.browse(), None
    columns = list(zip(*rows, strict=True))
    records = model.browse(columns[0])
    for field, values in zip(column_fields, columns[1:-1], strict=True):
        model.env.cache.insert_missing(records, field, values)
    for field in other_fields:
        field.read(records)
    return records, columns[-1][0]


def search_page(model, domain, field_names, offset, limit, order):
    """The rows of one page in read() shapes, and the number of records matching ``domain``.

    Raises ValueError (from Odoo) for a domain or order it cannot apply.
    """
    query = model._search(domain, offset=offset, limit=limit, order=order or model._order)
    records, total = model.browse(), 0
    if not query.is_empty():
        records, total = _fetch_with_total(model, query, model._determine_fields_to_fetch(field_names))
    if total is None:  # a page past the end: count on its own
        query.limit = query.offset = query.order = None
        total = len(query)
    if "active_test" in model.env.context:  # as search_read(): the flag filters the search, not x2many values
        records = records.with_context(active_test=True)
    return records._read_format(field_names), total
