"""Unit tests of lib.nested: ``fields`` as a web_read specification (API.md section 10)."""

import json

import pytest

from lib import nested, walls
from lib.errors import BadRequest, Forbidden
from lib.fieldinfo import FieldInfo

SECRET = "s3cr3t-Pa55w0rd-XYZ"


def _model(*fields: FieldInfo) -> dict[str, FieldInfo]:
    return {info.name: info for info in (FieldInfo("id", "integer"), *fields)}


MODELS = {
    "sale.order": _model(
        FieldInfo("name", "char"),
        FieldInfo("note", "text"),
        FieldInfo("partner_id", "many2one", relation="res.partner"),
        FieldInfo("order_line", "one2many", relation="sale.order.line"),
        FieldInfo("tag_ids", "many2many", relation="crm.tag"),
        FieldInfo("origin_ref", "reference"),
        FieldInfo("props", "properties"),
    ),
    "sale.order.line": _model(
        FieldInfo("name", "char"),
        FieldInfo("price_unit", "float"),
        FieldInfo("product_id", "many2one", relation="product.product"),
    ),
    "product.product": _model(
        FieldInfo("name", "char"), FieldInfo("categ_id", "many2one", relation="product.category")
    ),
    "product.category": _model(
        FieldInfo("name", "char"), FieldInfo("parent_id", "many2one", relation="product.category")
    ),
    "res.partner": _model(FieldInfo("name", "char"), FieldInfo("email", "char")),
    "crm.tag": _model(FieldInfo("name", "char")),
}
ORDER = "sale.order"


def fields_of(model):
    return MODELS[model]


def parse(text, depth=3):
    return nested.parse(text, ORDER, fields_of, depth)


def refused(text, depth=3):
    with pytest.raises(BadRequest) as info:
        parse(text, depth)
    assert info.value.status == 400
    return info.value.detail


# ---------------------------------------------------------------- plain fields keep the plain path
@pytest.mark.parametrize("text", [None, "", "  "])
def test_nothing_asked_is_the_default(text):
    assert parse(text) is None


@pytest.mark.parametrize(
    "text",
    ["name,partner_id", '["name", "partner_id"]', "('name', 'partner_id')", '{"name": {}, "partner_id": {}}'],
)
def test_what_expands_nothing_is_a_plain_list(text):
    assert parse(text) == ["name", "partner_id"]


def test_a_plain_list_deduplicates_as_before():
    assert parse("name,name,id") == ["name", "id"]


# ---------------------------------------------------------------- the compact form
def test_compact_nests_as_odoos_json_form():
    found = parse("name,partner_id{name,email},order_line{product_id{name},price_unit}")
    assert isinstance(found, nested.Nested) and found.names == ["name", "partner_id", "order_line"]
    assert found.specification() == {
        "name": {},
        "partner_id": {"fields": {"name": {}, "email": {}}},
        "order_line": {"fields": {"product_id": {"fields": {"name": {}}}, "price_unit": {}}},
    }


def test_compact_and_json_are_the_same_specification():
    compact = parse(" name , partner_id { name , email } ,\ttag_ids{ name }\n")
    spec = {
        "name": {},
        "partner_id": {"fields": {"name": {}, "email": {}}},
        "tag_ids": {"fields": {"name": {}}},
    }
    assert compact == parse(json.dumps(spec)) == parse(repr(spec))  # JSON, and the Python literal
    assert compact.specification() == spec


def test_closing_braces_in_a_row():
    found = parse("order_line{product_id{categ_id{name}}},name")
    assert found.specification() == {
        "order_line": {"fields": {"product_id": {"fields": {"categ_id": {"fields": {"name": {}}}}}}},
        "name": {},
    }


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("partner_id{}", "character 12: a field name is missing"),
        ("partner_id{name,}", "character 17: a field name is missing"),
        ("name,,partner_id{name}", "character 6: a field name is missing"),
        (",partner_id{name}", "character 1: a field name is missing"),
        ("partner_id{name}{email}", "character 17: '{' must follow a field name"),
        ("name,{email}", "character 6: '{' must follow a field name"),
        ("partner_id{name}}", "character 17: '}' closes nothing"),
        ("partner_id{name", "a '{' is not closed"),
        ("partner_id{name email}", "character 17: a ',' is missing"),
        ("partner_id{name},", "a field name is missing"),
        ("partner_id.name,tag_ids{name}", "written partner_id{name}"),
        ("partner_id{name;DROP}", "character 16: field names are letters"),
        ("partner_id{'name'}", "character 12: field names are letters"),
        ('partner_id{"name"}', "character 12: field names are letters"),
        ("partner_id{1name}", "character 12: field names are letters"),
        ("name,name{id},partner_id{name}", "'name' is named twice"),
    ],
)
def test_compact_syntax_errors_say_where(text, said):
    assert said in refused(text)


@pytest.mark.parametrize(
    "text",
    [
        f"partner_id{{name={SECRET}}}",
        f"partner_id{{name}} {SECRET}",
        f"partner_id{{name}},tag_ids{{{SECRET[:6]}.{SECRET[7:]}}}",
        f'{{"partner_id": "{SECRET}"}}',
        f'{{"partner_id": {{"fields": "{SECRET}"}}}}',
        f'{{"partner_id": {{"fields": {{"name": {{}}}}, "context": "{SECRET}"}}}}',
        f'{{"partner_id": {{"fields": {{"name": {{}}}}, "{SECRET}": 1}}}}',
        f'{{"partner_id": "{SECRET}"',
    ],
)
def test_errors_never_echo_values(text):
    assert SECRET not in refused(text)


def test_a_long_name_is_cut_short():
    name = "x" * 500
    assert len(refused(f"partner_id{{{name}}}")) < 200


def test_quoted_forms_are_json_not_compact():
    assert "specification such as" in refused('"name"')
    assert "specification such as" in refused("'partner_id{name}'")


# ---------------------------------------------------------------- depth
def test_three_levels_by_default_four_refused():
    assert parse("order_line{product_id{categ_id{name}}}")
    assert "at most 3 levels" in refused("order_line{product_id{categ_id{parent_id{name}}}}")
    deep = {"order_line": {"fields": {"product_id": {"fields": {"categ_id": {"fields": {"parent_id": {
        "fields": {"name": {}}}}}}}}}}  # fmt: skip
    assert "rest_api.max_expand_depth" in refused(json.dumps(deep))


def test_the_setting_decides_the_depth():
    assert "at most 1 levels" in refused("order_line{product_id{name}}", depth=1)
    assert parse("partner_id{name}", depth=1)
    assert parse("order_line{product_id{categ_id{parent_id{name}}}}", depth=4)


def test_zero_turns_nested_reads_off_but_not_plain_specifications():
    assert "turned off" in refused("partner_id{name}", depth=0)
    assert "turned off" in refused('{"partner_id": {"fields": {"name": {}}}}', depth=0)
    assert parse('{"name": {}}', depth=0) == ["name"]


def test_no_setting_goes_past_the_hard_maximum():
    def chain(levels):  # order_line, product_id, categ_id, then parent_id as often as needed
        return "order_line{product_id{categ_id{" + "parent_id{" * (levels - 3) + "name" + "}" * levels

    assert parse(chain(16), depth=1000)
    assert "at most 16 levels" in refused(chain(17), depth=1000)


def test_a_deep_text_is_refused_before_it_is_read():
    assert "at most 3 levels" in refused("order_line{" * 5000 + "name" + "}" * 5000)


# ---------------------------------------------------------------- size
def test_at_most_max_fields_names_in_all():
    names = ",".join(f"f{i}" for i in range(nested.MAX_FIELDS + 1))
    assert "Too many fields" in refused(f"partner_id{{{names}}}")


def test_at_most_max_expanded_expansions():
    spec = {"order_line": {"fields": {"product_id": {"fields": {"name": {}}}}}}
    wide = {f"x{i}": spec["order_line"] for i in range(nested.MAX_EXPANDED)}
    assert "Too many expanded" in refused(json.dumps({"order_line": {"fields": wide}}), depth=16)


def test_a_long_text_is_refused():
    assert "too long" in refused("name," * 20_000)


# ---------------------------------------------------------------- the JSON form
@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ({}, "non-empty object"),
        ({"partner_id": {"fields": {}}}, "non-empty object"),
        ({"partner_id": {"fields": ["name"]}}, "non-empty object"),
        ({"partner_id": True}, "must be {}"),
        ({"partner_id": None}, "must be {}"),
        (
            {"partner_id": {"fields": {"name": {}}, "context": {"active_test": False}}},
            "may only hold 'fields'",
        ),
        ({"order_line": {"fields": {"name": {}}, "limit": 3}}, "may only hold 'fields'"),
        ({"order_line": {"fields": {"name": {}}, "order": "name"}}, "may only hold 'fields'"),
    ],
)
def test_json_shapes_refused(spec, said):
    assert said in refused(json.dumps(spec))


def test_malformed_json_is_400():
    assert "Malformed fields" in refused('{"partner_id": {"fields": ')
    assert "Malformed fields" in refused("{'partner_id': __import__('os')}")


# ---------------------------------------------------------------- against the models
@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("partner_id{nope}", "Unknown field 'nope'"),
        ("nope{name}", "Unknown field 'nope'"),
        ("order_line{product_id{nope}}", "Unknown field 'nope'"),
        ("name{id}", "'name' is a char field"),
        ("origin_ref{name}", "'origin_ref' is a reference field"),
        ("props{name}", "'props' is a properties field"),
        ("partner_id{email{name}}", "'email' is a char field"),
    ],
)
def test_names_are_checked_against_each_model(text, said):
    assert said in refused(text)


def test_a_field_the_caller_cannot_read_is_unknown():
    hidden = dict(MODELS, **{"res.partner": _model(FieldInfo("name", "char"))})  # email: field groups
    with pytest.raises(BadRequest, match="Unknown field 'email'"):
        nested.parse("partner_id{email}", ORDER, hidden.__getitem__, 3)


def test_a_model_outside_the_scopes_is_403_as_fields_of_says():
    def scoped(model):
        if model == "res.partner":
            raise Forbidden("This API key's scopes do not allow read on 'res.partner'.")
        return MODELS[model]

    with pytest.raises(Forbidden):
        nested.parse("partner_id{name}", ORDER, scoped, 3)
    assert nested.parse("order_line{name}", ORDER, scoped, 3)


def test_the_wall_needs_read_on_every_expanded_model():
    found = parse("partner_id{name},order_line{product_id{name}},tag_ids")
    reach = walls.Reach(fields_of).spec(ORDER, found.specification())
    assert reach.needs == {"res.partner": {"read"}, "sale.order.line": {"read"}, "product.product": {"read"}}
    with pytest.raises(Forbidden, match="product.product"):
        reach.check({ORDER: ["read"], "res.partner": ["read"], "sale.order.line": ["read"]})


# ---------------------------------------------------------------- what web_read is given, and its answer
def test_web_read_asks_display_names_of_many2ones_not_expanded():
    found = parse("name,partner_id,order_line{product_id,name},tag_ids")
    assert found.web_read() == {
        "name": {},
        "partner_id": {"fields": {"display_name": {}}},
        "order_line": {"fields": {"product_id": {"fields": {"display_name": {}}}, "name": {}}},
        "tag_ids": {},
    }


def test_shape_gives_read_shapes_to_many2ones_not_expanded():
    found = parse("partner_id,order_line{product_id,name},tag_ids")
    product = {"id": 7, "display_name": "Desk"}
    line = {"id": 5, "product_id": product, "name": "desk"}
    rows = [
        {"id": 1, "partner_id": {"id": 3, "display_name": "Azure"}, "order_line": [line], "tag_ids": [4]},
        {"id": 2, "partner_id": False, "order_line": [line, {"id": 6, "product_id": False, "name": "x"}],
         "tag_ids": []},
    ]  # fmt: skip
    assert found.shape(rows) is rows
    assert rows[0]["partner_id"] == [3, "Azure"] and rows[1]["partner_id"] is False
    assert rows[0]["order_line"] == [{"id": 5, "product_id": [7, "Desk"], "name": "desk"}]
    assert rows[1]["order_line"][1]["product_id"] is False and rows[0]["tag_ids"] == [4]


def test_shape_keeps_expanded_many2ones_as_objects():
    found = parse("partner_id{name,email}")
    rows = [
        {"id": 1, "partner_id": {"id": 3, "name": "Azure", "email": False}},
        {"id": 2, "partner_id": False},
    ]
    assert found.shape(rows) == [
        {"id": 1, "partner_id": {"id": 3, "name": "Azure", "email": False}},
        {"id": 2, "partner_id": False},
    ]


def test_reached_lists_the_records_an_expanded_answer_shows():
    from lib.nested import Nested

    inner = Nested("res.country", {"name": (FieldInfo("name", "char"), None)})
    outer = Nested("res.partner", {
        "name": (FieldInfo("name", "char"), None),
        "country_id": (FieldInfo("country_id", "many2one", relation="res.country"), inner),
        "child_ids": (FieldInfo("child_ids", "one2many", relation="res.partner"),
                      Nested("res.partner", {"country_id": (FieldInfo("country_id", "many2one", relation="res.country"), inner)})),
    })  # fmt: skip
    rows = [
        {"id": 1, "name": "a", "country_id": {"id": 7, "name": "BE"}, "child_ids": [{"id": 2, "country_id": {"id": 8, "name": "FR"}}]},
        {"id": 3, "name": "b", "country_id": False, "child_ids": []},
    ]  # fmt: skip
    assert outer.reached(rows) == {"res.country": {7, 8}, "res.partner": {2}}
    assert outer.reached([]) == {}
