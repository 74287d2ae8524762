"""Aggregates (API.md section 10): ``GET /api/<model>/aggregate``'s parameters, and its groups' values.

``groupby`` names what to group by, ``aggregates`` what to compute per group,
``order`` how to sort the groups; each is parsed here into what Odoo's
``_read_group`` takes, or refused with 400 (a message that names a field or a
function, never a value). Odoo computes the groups; ``GroupBy.shape`` and
``Aggregate.shape`` give their values the API's JSON shape:

- a group's key is its spec as sent: ``partner_id``, ``date_order:month``;
  an aggregate's too: ``amount_total:sum``, ``__count``;
- a date or datetime grouped by a period is that period as ISO 8601 text:
  ``2024`` (year), ``2024-Q1`` (quarter), ``2024-03`` (month), ``2024-02-26``
  (week: the day it starts, on the first day of the week of the user's
  language, as Odoo groups weeks), ``2024-03-01`` (day), ``2024-03-01T13:00``
  (hour); datetimes are grouped in the caller's time zone (Odoo's ``tz``);
- by a part (``month_number``, ``iso_week_number``, ``day_of_week``...): that
  number;
- counts are integers, ``sum`` of nothing is 0, other aggregates of nothing
  and empty group values are ``false`` (Odoo's empty value); relational
  values (``[id, display name]``) are the controller's to make.

Pure Python: field metadata comes in as ``fields_of``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .errors import BadRequest
from .fieldinfo import FieldInfo, FieldsOf
from .query import model_fields, parse_name_list, show, valid_modifiers

COUNT = "__count"
MAX_GROUPBY = 10
MAX_AGGREGATES = 100
MAX_ORDER_LENGTH = 1000

NUMBERS = frozenset({"integer", "float", "monetary"})
DATES = frozenset({"date", "datetime"})
# field types with one SQL value per record: what can be counted and grouped by
COLUMNS = NUMBERS | DATES | frozenset({"char", "text", "selection", "boolean", "many2one", "reference",
                                       "many2one_reference"})  # fmt: skip
GROUPABLE = COLUMNS | frozenset({"many2many"})
# the aggregate functions and the field types each takes (Odoo's READ_GROUP_AGGREGATE, less
# array_agg and recordset: an array per group would be a page without a limit)
FUNCTIONS = {
    "sum": NUMBERS,
    "avg": NUMBERS,
    "min": NUMBERS | DATES,
    "max": NUMBERS | DATES,
    "count": COLUMNS,
    "count_distinct": COLUMNS,
    "bool_and": frozenset({"boolean"}),
    "bool_or": frozenset({"boolean"}),
}
# Odoo's READ_GROUP_NUMBER_GRANULARITY: a number per record
PARTS = (
    "year_number", "quarter_number", "month_number", "iso_week_number", "day_of_year", "day_of_month",
    "day_of_week", "hour_number", "minute_number", "second_number",
)  # fmt: skip
TIME_OF_DAY = frozenset({"hour", "hour_number", "minute_number", "second_number"})  # datetimes only


def _quarter(value: dt.date) -> str:
    return f"{value.year:04d}-Q{(value.month - 1) // 3 + 1}"


def _day(value: dt.date) -> str:
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


# Odoo's READ_GROUP_TIME_GRANULARITY: the start of each period -> its name
PERIODS: dict[str, Callable[[dt.date], str]] = {
    "hour": lambda value: f"{_day(value)}T{getattr(value, 'hour', 0):02d}:00",
    "day": _day,
    "week": _day,
    "month": lambda value: f"{value.year:04d}-{value.month:02d}",
    "quarter": _quarter,
    "year": lambda value: f"{value.year:04d}",
}
GRANULARITIES = (*PERIODS, *PARTS)

_SPEC_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::([a-z_]+))?")


@dataclass(frozen=True)
class GroupBy:
    """One ``groupby`` item: ``spec`` is how Odoo and the answer name it."""

    spec: str
    field: FieldInfo
    granularity: str | None = None

    def shape(self, value: object) -> object:
        """A group's value from ``_read_group`` in the API's shape (not relational values)."""
        if value is None or value is False:
            return False
        if self.granularity in PERIODS and isinstance(value, dt.date):
            return PERIODS[self.granularity](value)
        return value


@dataclass(frozen=True)
class Aggregate:
    """One ``aggregates`` item: ``__count``, or ``field:function``."""

    spec: str
    field: FieldInfo | None = None
    function: str | None = None

    def shape(self, value: object) -> object:
        """An aggregate's value from ``_read_group`` (None or False when there was nothing to aggregate)."""
        if self.field is None or self.function in ("count", "count_distinct"):
            return value or 0
        if value is None or value is False:
            if self.function == "sum":
                return 0 if self.field.type == "integer" else 0.0
            return False
        if self.field.type == "integer" and self.function in ("sum", "min", "max"):
            return int(value)
        if self.field.type in NUMBERS:
            return float(value)  # PostgreSQL's numeric (monetary, avg) comes as a Decimal
        return value


def _field(model: str, name: str, fields_of: FieldsOf, where: str) -> FieldInfo:
    info = model_fields(model, fields_of).get(name)
    if info is None:  # a field the caller may not read is one it does not know
        raise BadRequest(f"Unknown field {show(name)} in {where}.")
    return info


def _split(spec: str, where: str) -> tuple[str, str | None]:
    match = _SPEC_RE.fullmatch(spec.strip())
    if not match:
        # not even a name: it may be anything, so it is not shown
        raise BadRequest(f"Invalid {where} item: use a field name, or 'field:function'.")
    return match.group(1), match.group(2)


# ---------------------------------------------------------------- groupby
def parse_groupby(text: str | None, model: str, fields_of: FieldsOf) -> tuple[GroupBy, ...]:
    """``partner_id,date_order:month`` (or a JSON list): what to group by, in order;
    nothing: a single group of every matching record."""
    groups: dict[str, GroupBy] = {}
    for spec in parse_name_list(text, "groupby", MAX_GROUPBY):
        group = _groupby(spec.strip(), model, fields_of)
        groups.setdefault(group.spec, group)
    return tuple(groups.values())


def _groupby(spec: str, model: str, fields_of: FieldsOf) -> GroupBy:
    name, granularity = _split(spec, "groupby")
    info = _field(model, name, fields_of, "groupby")
    if info.type not in GROUPABLE or not info.groupable:
        raise BadRequest(f"Field {show(name)} ({info.type}) cannot be grouped by.")
    if info.type in DATES:
        if granularity is None:
            raise BadRequest(
                f"Field {show(name)} is a {info.type}: name a granularity, such as {name}:month "
                f"({', '.join(GRANULARITIES)})."
            )
        if granularity not in GRANULARITIES:
            raise BadRequest(
                f"Unknown granularity {show(granularity)}: use one of {', '.join(GRANULARITIES)}."
            )
        if info.type == "date" and granularity in TIME_OF_DAY:
            raise BadRequest(f"Field {show(name)} is a date: it has no {granularity}.")
    elif granularity is not None:
        raise BadRequest(f"Field {show(name)} is not a date or datetime: it takes no granularity.")
    return GroupBy(name if granularity is None else f"{name}:{granularity}", info, granularity)


# ---------------------------------------------------------------- aggregates
def parse_aggregates(text: str | None, model: str, fields_of: FieldsOf) -> tuple[Aggregate, ...]:
    """``amount_total:sum,__count`` (or a JSON list): what to compute per group; nothing: ``__count``."""
    measures: dict[str, Aggregate] = {}
    for spec in parse_name_list(text, "aggregates", MAX_AGGREGATES) or [COUNT]:
        measure = _aggregate(spec.strip(), model, fields_of, "aggregates")
        measures.setdefault(measure.spec, measure)
    return tuple(measures.values())


def _aggregate(spec: str, model: str, fields_of: FieldsOf, where: str) -> Aggregate:
    if spec == COUNT:
        return Aggregate(COUNT)
    name, function = _split(spec, where)
    if function is None:
        raise BadRequest(f"Name a function for {show(name)} in {where}: {name}:sum ({', '.join(FUNCTIONS)}).")
    if function not in FUNCTIONS:
        raise BadRequest(f"Unknown aggregate function {show(function)}: use one of {', '.join(FUNCTIONS)}.")
    info = _field(model, name, fields_of, where)
    if info.type not in FUNCTIONS[function] or not info.aggregatable:
        raise BadRequest(f"Field {show(name)} ({info.type}) cannot be aggregated with {function}.")
    return Aggregate(f"{name}:{function}", info, function)


# ---------------------------------------------------------------- order
def parse_order(text: str | None, groupbys: Sequence[GroupBy], model: str, fields_of: FieldsOf) -> str | None:
    """``amount_total:sum desc, partner_id``: terms that are this call's groupby items or
    aggregates (any aggregate, not only those asked for), each optionally ``asc`` or
    ``desc`` then ``nulls first`` or ``nulls last``. None when blank."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_ORDER_LENGTH:
        raise BadRequest(f"order is too long (max {MAX_ORDER_LENGTH} characters).")
    grouped = {group.spec for group in groupbys}
    terms = []
    for term in text.split(","):
        words = term.split()
        if not words:
            raise BadRequest("Empty term in order.")
        spec, modifiers = words[0], [word.lower() for word in words[1:]]
        if spec not in grouped:
            _order_aggregate(spec, model, fields_of)
        if not valid_modifiers(modifiers):
            raise BadRequest(
                f"Invalid order for {show(spec)}: use 'asc' or 'desc', then 'nulls first' or 'nulls last'."
            )
        terms.append(" ".join([spec, *modifiers]))
    return ", ".join(terms)


def _order_aggregate(spec: str, model: str, fields_of: FieldsOf) -> None:
    """An order term that is not a groupby item of the call must be an aggregate."""
    name, function = _split(spec, "order")
    if spec != COUNT and (function is None or function in GRANULARITIES):
        raise BadRequest(
            f"Order term {show(spec)} is neither a groupby item of this call nor an aggregate "
            "such as 'amount:sum' or '__count'."
        )
    _aggregate(spec, model, fields_of, "order")


def stable_order(order: str | None, groupbys: Sequence[GroupBy]) -> str | None:
    """``order`` followed by the groupby items it leaves out, so that groups it ties keep
    one order from page to page. None (no order asked for) lets Odoo order by the groupby
    items. A many2one left out is ordered by its id (``field:max``, its own value in its
    group): named as such, Odoo would order it by its model's order, reading that model."""
    if order is None:
        return None
    named = {term.split()[0] for term in order.split(",")}
    rest = [
        f"{group.field.name}:max" if group.field.type == "many2one" else group.spec
        for group in groupbys
        if group.spec not in named
    ]
    return ", ".join([order, *rest])
