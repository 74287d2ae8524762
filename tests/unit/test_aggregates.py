"""Unit tests of lib/aggregates.py: the parameters of GET /api/<model>/aggregate and its values."""

import datetime as dt
from decimal import Decimal

import pytest

from lib import aggregates
from lib.aggregates import Aggregate, GroupBy
from lib.errors import BadRequest
from lib.fieldinfo import FieldInfo
from lib.query import parse_name_list

SECRET = "s3cr3t-Pa55w0rd-XYZ"
ITEM = "acc.item"
FIELDS = {
    info.name: info
    for info in (
        FieldInfo("id", "integer"),
        FieldInfo("name", "char"),
        FieldInfo("qty", "integer"),
        FieldInfo("amount", "float"),
        FieldInfo("price", "monetary"),
        FieldInfo("state", "selection", selection=("draft", "done")),
        FieldInfo("active", "boolean"),
        FieldInfo("day", "date"),
        FieldInfo("moment", "datetime"),
        FieldInfo("partner_id", "many2one", relation="res.partner"),
        FieldInfo("tag_ids", "many2many", relation="acc.tag"),
        FieldInfo("line_ids", "one2many", relation="acc.line"),
        FieldInfo("data", "binary"),
        FieldInfo("props", "properties"),
        FieldInfo("body", "html"),
        FieldInfo("double_qty", "integer", store=False, groupable=False, aggregatable=False),
        FieldInfo("country_code", "char", related_models=("res.country",)),
    )
}


def fields_of(model):
    if model != ITEM:
        raise KeyError(model)
    return FIELDS


def refused(func, *args):
    with pytest.raises(BadRequest) as info:
        func(*args)
    assert info.value.status == 400
    return info.value.detail


def groupby(text):
    return aggregates.parse_groupby(text, ITEM, fields_of)


def measures(text):
    return aggregates.parse_aggregates(text, ITEM, fields_of)


def order(text, groups="state,partner_id,day:month"):
    return aggregates.parse_order(text, groupby(groups), ITEM, fields_of)


# ---------------------------------------------------------------- lists
@pytest.mark.parametrize(
    "text", ["state,partner_id", " state , partner_id ", '["state", "partner_id"]', "('state', 'partner_id')"]
)
def test_name_lists_in_every_syntax(text):
    assert parse_name_list(text, "groupby", 10) == ["state", "partner_id"]


@pytest.mark.parametrize("text", ["state,,qty", '["state", 3]', '["state", null]', "[[]]", '[""]', "[1"])
def test_name_lists_of_something_else_are_refused(text):
    assert "groupby" in refused(parse_name_list, text, "groupby", 10)


def test_name_lists_are_bounded():
    assert "max 2" in refused(parse_name_list, "a,b,c", "groupby", 2)
    assert "too long" in refused(parse_name_list, "a," * 40000, "groupby", 10)
    assert parse_name_list("  ", "groupby", 10) == [] and parse_name_list(None, "groupby", 10) == []


# ---------------------------------------------------------------- groupby
def test_groupby_items_keep_their_order_and_specs():
    groups = groupby("partner_id,day:month,moment:hour,state,tag_ids,moment:day_of_week,state")
    assert [g.spec for g in groups] == ["partner_id", "day:month", "moment:hour", "state", "tag_ids",
                                        "moment:day_of_week"]  # fmt: skip
    assert groups[1] == GroupBy("day:month", FIELDS["day"], "month")
    assert groupby(None) == () and groupby("") == ()


@pytest.mark.parametrize("granularity", aggregates.GRANULARITIES)
def test_every_odoo_granularity_of_a_datetime(granularity):
    assert groupby(f"moment:{granularity}")[0].granularity == granularity


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("day", "name a granularity, such as day:month"),
        ("moment", "name a granularity"),
        ("day:fortnight", "Unknown granularity 'fortnight'"),
        ("day:hour", "is a date: it has no hour"),
        ("day:minute_number", "is a date"),
        ("qty:month", "takes no granularity"),
        ("nope", "Unknown field 'nope' in groupby"),
        ("line_ids", "'line_ids' (one2many) cannot be grouped by"),
        ("data", "(binary) cannot be grouped by"),
        ("props", "(properties) cannot be grouped by"),
        ("body", "(html) cannot be grouped by"),
        ("double_qty", "cannot be grouped by"),
        ("partner_id.name", "Invalid groupby item"),
        ("state:sum:x", "Invalid groupby item"),
        ("a" * 100, "Unknown field"),
    ],
)
def test_bad_groupby_items_say_why(text, says):
    assert says in refused(groupby, text)


def test_groupby_errors_never_echo_values():
    for text in (SECRET, f"state:{SECRET.lower()}", f'["{SECRET}"]', f"state;{SECRET}", '{"a": 1}'):
        assert "Invalid groupby item:" in refused(groupby, text)
        assert SECRET.lower() not in refused(groupby, text).lower()


def test_too_many_groupby_items():
    assert "max 10" in refused(groupby, ",".join(["state"] * 11))


# ---------------------------------------------------------------- aggregates
def test_aggregates_default_to_the_count():
    assert measures(None) == (Aggregate("__count"),)


def test_every_function_on_the_types_it_takes():
    found = measures("qty:sum,amount:avg,price:max,day:min,moment:max,partner_id:count_distinct,"
                     "name:count,active:bool_and,active:bool_or,__count,qty:sum")  # fmt: skip
    assert [m.spec for m in found] == ["qty:sum", "amount:avg", "price:max", "day:min", "moment:max",
                                       "partner_id:count_distinct", "name:count", "active:bool_and",
                                       "active:bool_or", "__count"]  # fmt: skip
    assert found[0] == Aggregate("qty:sum", FIELDS["qty"], "sum")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("qty", "Name a function for 'qty'"),
        ("qty:median", "Unknown aggregate function 'median'"),
        ("qty:array_agg", "Unknown aggregate function"),
        ("partner_id:recordset", "Unknown aggregate function"),
        ("name:sum", "'name' (char) cannot be aggregated with sum"),
        ("day:avg", "(date) cannot be aggregated with avg"),
        ("state:max", "(selection) cannot be aggregated with max"),
        ("qty:bool_or", "(integer) cannot be aggregated with bool_or"),
        ("tag_ids:count", "(many2many) cannot be aggregated"),
        ("double_qty:sum", "cannot be aggregated"),
        ("nope:sum", "Unknown field 'nope' in aggregates"),
        ("qty:sum(amount)", "Invalid aggregates item"),
    ],
)
def test_bad_aggregates_say_why(text, says):
    assert says in refused(measures, text)


# ---------------------------------------------------------------- order
def test_order_on_groupby_items_and_any_aggregate():
    assert (
        order("qty:sum DESC, state, __count asc nulls LAST") == "qty:sum desc, state, __count asc nulls last"
    )
    assert order("day:month desc") == "day:month desc"
    assert order(None) is None and order("  ") is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("name", "'name' is neither a groupby item of this call nor an aggregate"),
        ("day:year", "neither a groupby item"),
        ("qty:sum sideways", "Invalid order for 'qty:sum'"),
        ("qty:sum desc nulls", "Invalid order"),
        ("state,", "Empty term in order"),
        ("qty:mode", "Unknown aggregate function"),
        ("name:sum", "cannot be aggregated with sum"),
        ("state; DROP TABLE x", "Invalid order item"),
    ],
)
def test_bad_order_terms_say_why(text, says):
    assert says in refused(order, text)


def test_order_is_bounded_and_never_echoes():
    assert "too long" in refused(order, "state," * 300)
    assert SECRET not in refused(order, f"state {SECRET}")


def test_a_stable_order_ends_with_the_groupby_items_it_leaves_out():
    groups = groupby("state,partner_id,day:month")
    assert aggregates.stable_order(None, groups) is None
    # a many2one left out is ordered by its own value (its id), not by its model's order
    assert aggregates.stable_order("__count desc", groups) == "__count desc, state, partner_id:max, day:month"
    assert aggregates.stable_order("partner_id desc, state", groups) == "partner_id desc, state, day:month"


# ---------------------------------------------------------------- shapes
@pytest.mark.parametrize(
    ("granularity", "value", "shown"),
    [
        ("year", dt.date(2024, 3, 1), "2024"),
        ("quarter", dt.date(2024, 4, 1), "2024-Q2"),
        ("quarter", dt.datetime(2024, 12, 1), "2024-Q4"),
        ("month", dt.date(2024, 3, 1), "2024-03"),
        ("week", dt.date(2024, 2, 26), "2024-02-26"),
        ("week", dt.datetime(2024, 2, 25), "2024-02-25"),
        ("day", dt.datetime(2024, 3, 1), "2024-03-01"),
        ("hour", dt.datetime(2024, 3, 1, 13), "2024-03-01T13:00"),
        ("month", dt.date(987, 1, 1), "0987-01"),
        ("month_number", 3, 3),
        ("day_of_week", 0, 0),
        ("month", False, False),
        ("month_number", None, False),
    ],
)
def test_periods_are_iso_8601_text_and_parts_numbers(granularity, value, shown):
    assert GroupBy(f"moment:{granularity}", FIELDS["moment"], granularity).shape(value) == shown


def test_other_group_values_as_read_gives_them():
    assert GroupBy("state", FIELDS["state"]).shape("draft") == "draft"
    assert GroupBy("state", FIELDS["state"]).shape(False) is False
    assert GroupBy("qty", FIELDS["qty"]).shape(0) == 0
    assert GroupBy("active", FIELDS["active"]).shape(False) is False


@pytest.mark.parametrize(
    ("spec", "value", "shown"),
    [
        ("__count", 5, 5),
        ("qty:sum", 12, 12),
        ("qty:sum", Decimal("12"), 12),
        ("qty:sum", False, 0),
        ("amount:sum", None, 0.0),
        ("price:sum", Decimal("1234.50"), 1234.5),
        ("qty:avg", Decimal("2.5"), 2.5),
        ("qty:avg", False, False),
        ("amount:max", False, False),
        ("day:min", dt.date(2024, 1, 2), dt.date(2024, 1, 2)),
        ("partner_id:count_distinct", 0, 0),
        ("name:count", None, 0),
        ("active:bool_and", True, True),
        ("active:bool_or", None, False),
    ],
)
def test_aggregates_are_numbers_and_nothing_is_zero_or_false(spec, value, shown):
    found = measures(spec)[0].shape(value)
    assert found == shown and type(found) is type(shown)
