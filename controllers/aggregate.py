"""``GET /api/<model>/aggregate`` (API.md section 10): groups computed by Odoo's ``_read_group``.

Parsing and the shapes of values are ``lib/aggregates.py``'s; this runs the
query as the caller (access rights, record rules and field groups apply:
no sudo) and pages its groups like a search: ``limit`` (at most
``rest_api.max_page_size``), ``offset``, ``X-Total-Count`` (the number of
groups) and ``Link``.
"""

from odoo.models import BaseModel
from odoo.tools import SQL

from ..infra.search_page import told_by_page
from ..lib import aggregates, errors, query
from . import handlers, paging

RELATIONAL = frozenset({"many2one", "many2many"})


def aggregate(call):
    model, fields_of = call.model, call.fields_of()
    name = model._name
    model.check_access("read")  # a model the user may not read is 403, before its fields are named
    domain = query.parse_domain(call.args.get("domain"), name, fields_of)
    groupbys = aggregates.parse_groupby(call.args.get("groupby"), name, fields_of)
    measures = aggregates.parse_aggregates(call.args.get("aggregates"), name, fields_of)
    order = aggregates.parse_order(call.args.get("order"), groupbys, name, fields_of)
    limit = query.parse_limit(call.args.get("limit"), maximum=call.setting("rest_api.max_page_size"))
    offset = query.parse_offset(call.args.get("offset"))
    specs = [group.spec for group in groupbys]
    if wall := handlers._wall(call):
        wall.domain(name, domain).groupby(name, specs).aggregates(name, [m.spec for m in measures])
        wall.order(name, order).check()
    domain = handlers.narrowed(call, model, domain)
    try:
        rows = model._read_group(
            domain, specs, [m.spec for m in measures], offset=offset, limit=limit,
            order=aggregates.stable_order(order, groupbys),
        )  # fmt: skip
        total = told_by_page(len(rows), limit, offset)
        if total is None:
            total = count_groups(model, domain, specs)
    except ValueError as exc:
        # Odoo's message may quote the domain's values: say only what failed
        raise errors.BadRequest(
            "The domain, groupby, aggregates or order cannot be applied to this model."
        ) from exc
    headers = {"X-Total-Count": str(total)}
    if links := paging.offset_links(call, offset, limit, total):
        headers["Link"] = links
    return handlers.json_response(groups(groupbys, measures, rows), headers=headers)


def groups(groupbys, measures, rows):
    """``_read_group``'s rows (tuples: the groupby values, then the aggregates) as JSON objects."""
    columns = list(zip(*rows, strict=True))
    shaped = [
        _pairs(column)
        if group.field.type in RELATIONAL or group.field.name == "id"
        else map(group.shape, column)
        for group, column in zip(groupbys, columns, strict=False)
    ]
    shaped += [map(m.shape, column) for m, column in zip(measures, columns[len(groupbys) :], strict=False)]
    keys = [group.spec for group in groupbys] + [m.spec for m in measures]
    return [dict(zip(keys, values, strict=True)) for values in zip(*shaped, strict=True)]


def _pairs(records):
    """A relational group's values as ``read()`` gives a many2one: ``[id, display name]``,
    the name read as the superuser, as Odoo does (its records share one prefetch: one query)."""
    return [
        (value.id, value.sudo().display_name) if isinstance(value, BaseModel) and value else False
        for value in records
    ]


def count_groups(model, domain, specs):
    """How many groups ``_read_group(domain, specs)`` makes (a full page does not tell):
    its own query, counted without order, bounds or aggregates."""
    if not specs:
        return 1
    if type(model)._read_group is not BaseModel._read_group:  # a model that changes how it groups
        return len(model._read_group(domain, specs))
    found = model._search(domain)
    if found.is_empty():
        return 0
    found.groupby = SQL(", ").join(model._read_group_groupby(spec, found) for spec in specs)
    return model.env.execute_query(SQL("SELECT COUNT(*) FROM (%s) AS grouped", found.select(SQL("1"))))[0][0]
