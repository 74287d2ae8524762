"""Keyset paging in SQL for ``infra/search_page.py`` (API.md section 10, cursor paging).

``plan`` tells whether a search's order pages by cursor: every term a
column of the model's own table, of a type compared as PostgreSQL orders
it (numbers, booleans, plain texts, selections, dates), that the caller may
read (the cursor carries its values). Translated texts (jsonb), company-
dependent values, many2one orders (the comodel's order, through a join) and
``_inherits`` fields are expressions or relations: those orders keep
``offset``. So do models that change how they order (res.device) or
search (ir.ui.menu) in their own way.

The order's expressions are the ones Odoo's ORDER BY uses
(``_field_to_sql``; a boolean as ``COALESCE(column, FALSE)``), so the
keyset's comparisons and the ORDER BY agree on every row, NULLs included.
A row's order values travel as PostgreSQL's text of them and come back as
untyped literals that PostgreSQL reads as the column's type: numbers,
dates and times keep every digit.
"""

from dataclasses import dataclass, replace

from odoo.models import BaseModel
from odoo.tools import SQL

from ..lib import cursors

# column types whose order is PostgreSQL's comparison of the column itself
TYPES = frozenset({"char", "selection", "integer", "float", "monetary", "date", "datetime", "boolean"})
# BaseModel methods that, when a model has its own, may order or search otherwise
OWN_WAYS = ("search_fetch", "search_read", "search_count", "_order_to_sql", "_order_field_to_sql")
OPERATORS = {operator: SQL(operator) for operator in ("<", ">", "<=", ">=", "=")}


@dataclass(frozen=True)
class Plan:
    """How a search pages by cursor: its terms (``id`` last), its order, and that order reversed."""

    terms: tuple
    order: str
    reverse: str


def plan(model, order, readable):
    """The cursor plan of ``order`` (None: Odoo's default order of the model), or None
    when it pages by offset. ``readable``: the names of the fields the caller may read."""
    if any(getattr(type(model), name) is not getattr(BaseModel, name) for name in OWN_WAYS):
        return None
    terms = cursors.order_terms(order or model._order or "id")
    if terms is None:
        return None
    planned = []
    for term in terms:
        if term.name != "id":
            field = model._fields.get(term.name)
            if field is None or term.name not in readable or not _plain_column(field):
                return None
            if field.type == "boolean":  # ordered as COALESCE(column, FALSE): never NULL
                term = replace(term, nullable=False)
        planned.append(term)
    return Plan(tuple(planned), cursors.order_text(planned), cursors.order_text(planned, reverse=True))


def _plain_column(field):
    return (
        field.type in TYPES
        and field.store
        and bool(field.column_type)
        and not field.inherited
        and not field.translate
        and not field.company_dependent
    )


def expressions(model, terms, query):
    """The SQL of each term's value, as the ORDER BY of ``query`` has it."""
    found = []
    for term in terms:
        sql = model._field_to_sql(model._table, term.name, query)
        if term.name != "id" and model._fields[term.name].type == "boolean":
            sql = SQL("COALESCE(%s, FALSE)", sql)
        found.append(sql)
    return found


def as_text(expressions_):
    """The columns that give a row's order values as a cursor carries them."""
    return [SQL("(%s)::text", sql) for sql in expressions_]


def condition(tree, expressions_):
    """The SQL of a ``lib.cursors.segments`` condition on these expressions."""
    kind = tree[0]
    if kind == "cmp":
        _kind, index, operator, value = tree
        return SQL("%s %s %s", expressions_[index], OPERATORS[operator], value)
    if kind == "null":
        return SQL("%s IS NULL", expressions_[tree[1]])
    if kind == "notnull":
        return SQL("%s IS NOT NULL", expressions_[tree[1]])
    joiner = SQL(" AND " if kind == "and" else " OR ")
    return SQL("(%s)", joiner.join(condition(part, expressions_) for part in tree[1:]))


def edges(model, terms, records):
    """The order values (as text) of the first and the last of ``records``."""
    first, last = records[0].id, records[-1].id
    query = model.browse(list(dict.fromkeys((first, last))))._as_query(ordered=False)
    rows = model.env.execute_query(
        query.select(SQL.identifier(model._table, "id"), *as_text(expressions(model, terms, query)))
    )
    values = {row[0]: tuple(row[1:]) for row in rows}
    return values[first], values[last]
