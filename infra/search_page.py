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
"""


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
        total = len(query)
    if "active_test" in model.env.context:  # as search_read(): the flag filters the search, not x2many values
        records = records.with_context(active_test=True)
    return records._read_format(field_names), total
