"""Unit tests of lib/values.py: JSON body values -> ORM create()/write() values."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lib import values  # noqa: E402
from lib.errors import BadRequest  # noqa: E402
from lib.fieldinfo import FieldInfo  # noqa: E402


def _model(*fields: FieldInfo) -> dict[str, FieldInfo]:
    return {field.name: field for field in fields}


MODELS = {
    "acc.item": _model(
        FieldInfo("id", "integer"),
        FieldInfo("name", "char", required=True),
        FieldInfo("qty", "integer"),
        FieldInfo("amount", "float"),
        FieldInfo("day", "date"),
        FieldInfo("moment", "datetime"),
        FieldInfo("state", "selection", selection=("draft", "done")),
        FieldInfo("active", "boolean"),
        FieldInfo("note", "text"),
        FieldInfo("data", "binary"),
        FieldInfo("partner_id", "many2one", relation="res.partner"),
        FieldInfo("parent_id", "many2one", relation="acc.item"),
        FieldInfo("tag_ids", "many2many", relation="acc.tag"),
        FieldInfo("line_ids", "one2many", relation="acc.line"),
        FieldInfo("ref", "reference"),
        FieldInfo("meta", "json"),
    ),
    "acc.line": _model(
        FieldInfo("id", "integer"),
        FieldInfo("name", "char"),
        FieldInfo("qty", "integer"),
        FieldInfo("item_id", "many2one", relation="acc.item"),
    ),
    "acc.tag": _model(FieldInfo("id", "integer"), FieldInfo("name", "char")),
    "res.partner": _model(FieldInfo("id", "integer"), FieldInfo("name", "char")),
    # Only for the nesting-depth test: an x2many onto its own model.
    "acc.node": _model(FieldInfo("child_ids", "one2many", relation="acc.node")),
}


def fields_of(model: str) -> dict[str, FieldInfo]:
    return MODELS[model]


def coerce(vals: object, model: str = "acc.item") -> dict:
    return values.coerce_values(vals, model, fields_of)


def refusal(vals: object, model: str = "acc.item") -> str:
    with pytest.raises(BadRequest) as info:
        coerce(vals, model)
    return str(info.value)


ACCEPTED = [
    ("name", "Widget", "Widget"),
    ("name", "", ""),
    ("name", None, False),
    ("name", False, False),
    ("note", "long\ntext", "long\ntext"),
    ("state", "draft", "draft"),
    ("state", None, False),
    ("qty", 0, 0),
    ("qty", -(2**31), -(2**31)),
    ("qty", 2**31 - 1, 2**31 - 1),
    ("amount", 1.5, 1.5),
    ("amount", 3, 3),
    ("amount", -1e299, -1e299),
    ("active", True, True),
    ("active", False, False),
    ("active", None, False),
    ("day", "2024-02-29", "2024-02-29"),
    ("day", None, False),
    ("moment", "2024-03-04T05:06:07Z", "2024-03-04 05:06:07"),
    ("moment", "2024-03-04 05:06:07", "2024-03-04 05:06:07"),
    ("moment", "2024-03-04T05:06:07", "2024-03-04 05:06:07"),
    ("moment", "2024-03-04T05:06:07+00:00", "2024-03-04 05:06:07"),
    ("moment", "2024-03-04T05:06:07.987654Z", "2024-03-04 05:06:07"),
    ("moment", "2024-03-04T01:00:00-05:30", "2024-03-04 06:30:00"),
    ("moment", "2024-01-01T01:00:00+02:00", "2023-12-31 23:00:00"),
    ("moment", "2024-01-02", "2024-01-02 00:00:00"),
    ("moment", None, False),
    ("partner_id", 7, 7),
    ("partner_id", [7, "Azure Interior"], 7),
    ("partner_id", (7, "Azure Interior"), 7),
    ("partner_id", {"id": 7}, 7),
    ("partner_id", False, False),
    ("partner_id", None, False),
    ("ref", "res.partner,12", "res.partner,12"),
    ("ref", False, False),
    ("data", "aGVsbG8=", "aGVsbG8="),
    ("data", "aGVsbG8", "aGVsbG8="),
    ("data", "", ""),
    ("data", None, False),
    ("meta", {"a": [1, None]}, {"a": [1, None]}),
    ("meta", "anything", "anything"),
    ("tag_ids", [3, 4], [(6, 0, [3, 4])]),
    ("tag_ids", [], [(6, 0, [])]),
    ("tag_ids", None, [(5, 0, 0)]),
]


@pytest.mark.parametrize(("field", "value", "expected"), ACCEPTED)
def test_accepted_values_are_converted(field, value, expected):
    assert coerce({field: value}) == {field: expected}


REFUSED = [
    ("name", 42),
    ("name", {"a": 1}),
    ("name", ["a"]),
    ("name", True),
    ("name", "nul\x00byte"),
    ("note", 1.5),
    ("state", "cancel"),
    ("state", 1),
    ("qty", "many"),
    ("qty", 1.5),
    ("qty", True),
    ("qty", 2**31),
    ("qty", 2**70),
    ("qty", None),
    ("amount", "1e999"),
    ("amount", "lots"),
    ("amount", float("inf")),
    ("amount", float("nan")),
    ("amount", 1e300),
    ("amount", 10**400),
    ("amount", False),
    ("active", "yes"),
    ("active", 1),
    ("day", "not-a-date"),
    ("day", "2024-02-30"),
    ("day", 20240101),
    ("day", "20240101"),
    ("day", "2024-W01-1"),
    ("day", "2024-01-02T00:00:00"),
    ("moment", "yesterday-ish"),
    ("moment", "2024-13-01T00:00:00Z"),
    ("moment", "2024-03-04T25:00:00Z"),
    ("moment", "2024-03-04T05:06:07+24:00"),
    ("moment", "0001-01-01T00:00:00+01:00"),
    ("moment", "2024-03-04T05:06:07Z\n"),
    ("moment", 1709528767),
    ("partner_id", "7"),
    ("partner_id", True),
    ("partner_id", 0),
    ("partner_id", -3),
    ("partner_id", 2**31),
    ("partner_id", {"id": 7, "name": "Azure"}),
    ("partner_id", {"id": "7"}),
    ("partner_id", {"id": 0}),
    ("partner_id", {"id": True}),
    ("partner_id", {"id": None}),
    ("partner_id", {}),
    ("partner_id", [7]),
    ("partner_id", [7, "x", "y"]),
    ("partner_id", ["7", "x"]),
    ("ref", "res.partner"),
    ("ref", "Res.Partner,1"),
    ("ref", "res.partner,1 "),
    ("ref", 12),
    ("data", "not base64!"),
    ("data", "a"),
    ("data", "aGVs\nbG8="),
    ("data", "é"),
    ("data", 123),
    ("tag_ids", "abc"),
    ("tag_ids", 3),
    ("tag_ids", {"ids": [3]}),
    ("tag_ids", [0]),
    ("tag_ids", [-1, 2]),
]


@pytest.mark.parametrize(("field", "value"), REFUSED)
def test_refused_values_name_the_field(field, value):
    message = refusal({field: value})
    assert f"Field {field!r}" in message
    assert "Traceback" not in message


def test_selection_refusal_lists_the_allowed_keys():
    message = refusal({"state": "cancel"})
    assert "'draft'" in message and "'done'" in message


def test_selection_without_known_keys_accepts_any_string():
    open_models = {"m": _model(FieldInfo("kind", "selection"))}
    assert values.coerce_values({"kind": "whatever"}, "m", open_models.__getitem__) == {"kind": "whatever"}
    with pytest.raises(BadRequest):
        values.coerce_values({"kind": 3}, "m", open_models.__getitem__)


@pytest.mark.parametrize(
    ("field_type", "value", "expected"),
    [
        ("html", "<p>x</p>", "<p>x</p>"),
        ("monetary", 9.99, 9.99),
        ("many2one_reference", 5, 5),
        ("properties", [{"name": "p"}], [{"name": "p"}]),
        ("properties_definition", [], []),
        ("some_future_type", {"x": 1}, {"x": 1}),
    ],
)
def test_other_field_types(field_type, value, expected):
    models = {"m": _model(FieldInfo("f", field_type))}
    assert values.coerce_values({"f": value}, "m", models.__getitem__) == {"f": expected}


@pytest.mark.parametrize(
    ("field_type", "value"), [("html", 3), ("monetary", "9.99"), ("many2one_reference", "5")]
)
def test_other_field_types_refused(field_type, value):
    models = {"m": _model(FieldInfo("f", field_type))}
    with pytest.raises(BadRequest, match="Field 'f'"):
        values.coerce_values({"f": value}, "m", models.__getitem__)


# What GET returns, written back, gives the ORM the same values.
READ_SHAPES = [
    ({"partner_id": [7, "Azure Interior"]}, {"partner_id": 7}),
    ({"parent_id": False}, {"parent_id": False}),
    ({"tag_ids": [1, 2, 3]}, {"tag_ids": [(6, 0, [1, 2, 3])]}),
    ({"line_ids": []}, {"line_ids": [(6, 0, [])]}),
    ({"moment": "2024-03-04T05:06:07Z"}, {"moment": "2024-03-04 05:06:07"}),
    ({"moment": "2024-03-04T07:06:07+02:00"}, {"moment": "2024-03-04 05:06:07"}),
    ({"day": "2024-03-04"}, {"day": "2024-03-04"}),
    ({"data": "aGVsbG8gd29ybGQ="}, {"data": "aGVsbG8gd29ybGQ="}),
    ({"state": "done", "active": True, "amount": 2.5}, {"state": "done", "active": True, "amount": 2.5}),
]


@pytest.mark.parametrize(("read", "orm"), READ_SHAPES)
def test_read_shapes_round_trip(read, orm):
    assert coerce(read) == orm


COMMANDS = [
    ([[0, 0, {"name": "L1", "qty": 2}]], [(0, 0, {"name": "L1", "qty": 2})]),
    ([(0, "virtual_12", {"name": "L1"})], [(0, 0, {"name": "L1"})]),
    ([[1, 5, {"qty": 3}]], [(1, 5, {"qty": 3})]),
    ([[2, 5], [3, 6, 0], [4, 7, None]], [(2, 5, 0), (3, 6, 0), (4, 7, 0)]),
    ([[5], [5, 0], [5, 0, 0]], [(5, 0, 0)] * 3),
    ([[6, 0, [1, 2]], [6, False, []]], [(6, 0, [1, 2]), (6, 0, [])]),
    ([[0, 0, {"item_id": [9, "Item"]}]], [(0, 0, {"item_id": 9})]),
]


@pytest.mark.parametrize(("commands", "expected"), COMMANDS)
def test_x2many_commands_are_normalised(commands, expected):
    assert coerce({"line_ids": commands}) == {"line_ids": expected}


BAD_COMMANDS = [
    ([4, [4, 5]], "command 0"),
    ([[4, 5], 4], "command 1"),
    ([[4, 5], [9, 0, 0]], "command 1"),
    ([[True, 5]], "command 0"),
    ([["4", 5]], "command 0"),
    ([[]], "command 0"),
    (["abc"], "command 0"),
    ([[4, 5, 0, 0]], "command 0"),
    ([[4]], "command 0"),
    ([[0, 0]], "command 0"),
    ([[6, 0]], "command 0"),
    ([[0, 0, "vals"]], "command 0"),
    ([[0, None, {}]], "command 0"),
    ([[1, "5", {}]], "command 0"),
    ([[1, 5, [1]]], "command 0"),
    ([[2, 0]], "command 0"),
    ([[4, "5"]], "command 0"),
    ([[6, 0, [1, "2"]]], "command 0"),
    ([[6, 0, 3]], "command 0"),
    ([[4, 1], [0, 0, {"qty": "many"}]], "command 1"),
]


@pytest.mark.parametrize(("commands", "where"), BAD_COMMANDS)
def test_bad_x2many_commands_say_field_and_index(commands, where):
    message = refusal({"line_ids": commands})
    assert message.startswith("Field 'line_ids'")
    assert where in message


def test_nested_create_is_validated_on_the_relation():
    message = refusal({"line_ids": [[0, 0, {"name": "ok", "qty": "many"}]]})
    assert "'line_ids' command 0" in message
    assert "Field 'qty' expects an integer" in message


def test_nested_create_refuses_fields_of_the_parent_model():
    message = refusal({"line_ids": [[0, 0, {"amount": 1.0}]]})
    assert "Unknown field 'amount' on model 'acc.line'" in message


def test_nested_update_validates_and_refuses_id():
    assert "cannot be written" in refusal({"line_ids": [[1, 4, {"id": 9}]]})
    assert coerce({"line_ids": [[1, 4, {"item_id": None}]]}) == {"line_ids": [(1, 4, {"item_id": False})]}


def _nested_nodes(levels: int) -> dict:
    vals: dict = {}
    for _ in range(levels):
        vals = {"child_ids": [[0, 0, vals]]}
    return vals


def test_nesting_up_to_the_limit_is_accepted():
    result = coerce(_nested_nodes(values.MAX_DEPTH), "acc.node")
    assert result["child_ids"][0][0] == 0


def test_nesting_beyond_the_limit_is_refused():
    assert "nested deeper" in refusal(_nested_nodes(values.MAX_DEPTH + 1), "acc.node")


@pytest.mark.parametrize(
    "items",
    [
        list(range(1, values.MAX_COMMANDS + 2)),
        [[4, 1]] * (values.MAX_COMMANDS + 1),
        [[6, 0, list(range(1, values.MAX_COMMANDS + 2))]],
    ],
)
def test_too_many_x2many_items_are_refused(items):
    assert "Field 'tag_ids'" in refusal({"tag_ids": items})


def test_x2many_limit_itself_is_accepted():
    ids = list(range(1, values.MAX_COMMANDS + 1))
    assert coerce({"tag_ids": ids}) == {"tag_ids": [(6, 0, ids)]}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([{"a": 1}], "The body must be a JSON object of field values."),
        ("name=x", "The body must be a JSON object of field values."),
        (None, "The body must be a JSON object of field values."),
        ({1: "x"}, "The body must be a JSON object of field values."),
        ({"id": 3}, "Field 'id' cannot be written."),
        ({"nope": 1}, "Unknown field 'nope' on model 'acc.item'."),
    ],
)
def test_body_and_field_names_are_checked(body, expected):
    assert refusal(body) == expected


def test_unknown_model_is_a_bad_request():
    assert refusal({"name": "x"}, "no.such.model") == "Unknown model 'no.such.model'."


def test_empty_body_is_allowed_for_write():
    assert coerce({}) == {}


def test_long_field_names_are_truncated():
    name = "x" * 500
    message = refusal({name: 1})
    assert repr("x" * 60) in message
    assert "x" * 61 not in message


def test_result_is_a_new_dict_and_input_is_untouched():
    body = {"partner_id": [7, "Azure"], "tag_ids": [1]}
    result = coerce(body)
    assert result is not body
    assert body == {"partner_id": [7, "Azure"], "tag_ids": [1]}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "a"}, [{"name": "a"}]),
        ([{"name": "a"}, {"qty": 2}], [{"name": "a"}, {"qty": 2}]),
        ([{}], [{}]),
    ],
)
def test_coerce_many_accepts_object_or_array(body, expected):
    assert values.coerce_many(body, "acc.item", fields_of) == expected


@pytest.mark.parametrize(
    ("body", "max_records", "fragment"),
    [
        ([], 1000, "non-empty array"),
        ("x", 1000, "non-empty array"),
        (None, 1000, "non-empty array"),
        ((({"name": "a"},)), 1000, "non-empty array"),
        ([{"name": "a"}, 3], 1000, "Record 1:"),
        ([{"name": "a"}, {"name": "b"}, {"qty": "many"}], 1000, "Record 2: Field 'qty'"),
        ([{"name": "a"}] * 3, 2, "At most 2 records"),
    ],
)
def test_coerce_many_refusals(body, max_records, fragment):
    with pytest.raises(BadRequest) as info:
        values.coerce_many(body, "acc.item", fields_of, max_records=max_records)
    assert fragment in str(info.value)


SECRET = "sk_live_9f8e7d6c5b4a"
SECRET_INT = 98765432109876
LEAKY_BODIES = [
    {"qty": SECRET},
    {"qty": SECRET_INT},
    {"amount": SECRET},
    {"active": SECRET},
    {"day": SECRET},
    {"moment": SECRET},
    {"moment": f"2024-01-01T00:00:00{SECRET}"},
    {"state": SECRET},
    {"partner_id": SECRET},
    {"partner_id": [SECRET, "x"]},
    {"partner_id": SECRET_INT},
    {"ref": SECRET},
    {"data": SECRET + "!"},
    {"name": {"password": SECRET}},
    {"name": f"{SECRET}\x00"},
    {"tag_ids": SECRET},
    {"tag_ids": [SECRET_INT]},
    {"tag_ids": [[9, SECRET, SECRET]]},
    {"tag_ids": [[4, SECRET]]},
    {"tag_ids": [[6, 0, [SECRET]]]},
    {"line_ids": [[0, 0, {"qty": SECRET}]]},
    {"line_ids": [[0, 0, SECRET]]},
    {"partner_id": {"id": SECRET}},
    {"partner_id": {"id": SECRET_INT}},
    {"line_ids": [{"qty": SECRET}]},
    {"line_ids": [{"id": SECRET}]},
    {"line_ids": [{"id": SECRET_INT}]},
    {"line_ids": [{"id": 1, "_delete": SECRET}]},
    {"line_ids": [{}, SECRET_INT]},
    {"line_ids": [{}, SECRET]},
]


@pytest.mark.parametrize("body", LEAKY_BODIES)
def test_submitted_values_never_appear_in_errors(body):
    for attempt in (lambda: coerce(body), lambda: values.coerce_many([{}, body], "acc.item", fields_of)):
        with pytest.raises(BadRequest) as info:
            attempt()
        assert SECRET not in str(info.value) and str(SECRET_INT) not in str(info.value)
        assert SECRET not in info.value.detail


# --- nested writes (API.md section 10) ---------------------------------------------------------------
def update(vals: object, model: str = "acc.item", record_id: int = 1) -> tuple[dict, dict]:
    """The ORM values of an update of record ``record_id``, and the lines it names by id."""
    lines = values.Lines()
    return values.coerce_values(vals, model, fields_of, lines, record_id), lines.named


def update_refusal(vals: object, model: str = "acc.item") -> str:
    with pytest.raises(BadRequest) as info:
        update(vals, model)
    return str(info.value)


ITEM_LINES = ("acc.item", 1, "line_ids")
ITEM_TAGS = ("acc.item", 1, "tag_ids")
NESTED_WRITES = [
    # an object without id creates a line; one with id updates it, and must be one of the record's
    ([{"name": "L1", "qty": 2}], [(0, 0, {"name": "L1", "qty": 2})], {}),
    ([{"id": 5, "qty": 3}], [(1, 5, {"qty": 3})], {ITEM_LINES: {5}}),
    ([{"id": 5}], [(1, 5, {})], {ITEM_LINES: {5}}),
    ([{}], [(0, 0, {})], {}),
    # a one2many deletes the line; a bare id moves a line here (Odoo's LINK)
    ([{"id": 5, "_delete": True}], [(2, 5, 0)], {ITEM_LINES: {5}}),
    (
        [{"_delete": True, "id": 5}, {"id": 6, "name": "x"}],
        [(2, 5, 0), (1, 6, {"name": "x"})],
        {ITEM_LINES: {5, 6}},
    ),
    ([7, {"name": "x"}], [(4, 7, 0), (0, 0, {"name": "x"})], {}),
    # values of a line get the same conversions: a many2one as {"id"}
    ([{"item_id": {"id": 9}}], [(0, 0, {"item_id": 9})], {}),
]


@pytest.mark.parametrize(("lines", "commands", "named"), NESTED_WRITES)
def test_line_objects_become_commands(lines, commands, named):
    assert update({"line_ids": lines}) == ({"line_ids": commands}, named)


MANY2MANY_WRITES = [
    ([{"id": 5, "_delete": True}], [(3, 5, 0)], {ITEM_TAGS: {5}}),  # unlinked, not deleted
    ([4, {"name": "new"}], [(4, 4, 0), (0, 0, {"name": "new"})], {}),
    ([{"id": 5, "name": "renamed"}, 6], [(1, 5, {"name": "renamed"}), (4, 6, 0)], {ITEM_TAGS: {5}}),
]


@pytest.mark.parametrize(("lines", "commands", "named"), MANY2MANY_WRITES)
def test_many2many_line_objects(lines, commands, named):
    assert update({"tag_ids": lines}) == ({"tag_ids": commands}, named)


def test_ids_alone_and_command_lists_keep_their_meaning():
    assert update({"tag_ids": [3, 4]}) == ({"tag_ids": [(6, 0, [3, 4])]}, {})
    assert update({"line_ids": [[1, 5, {"qty": 1}], [2, 6]]}) == (
        {"line_ids": [(1, 5, {"qty": 1}), (2, 6, 0)]},
        {},
    )


def test_lines_nest_and_each_level_names_its_own_record():
    body = {"child_ids": [{"id": 5, "child_ids": [{"id": 9, "_delete": True}, {"child_ids": [{}]}]}]}
    assert update(body, "acc.node") == (
        {"child_ids": [(1, 5, {"child_ids": [(2, 9, 0), (0, 0, {"child_ids": [(0, 0, {})]})]})]},
        {("acc.node", 1, "child_ids"): {5}, ("acc.node", 5, "child_ids"): {9}},
    )
    # inside an UPDATE command the line is the client's to name; its own line objects are checked
    assert update({"child_ids": [[1, 5, {"child_ids": [{"id": 9}]}]]}, "acc.node")[1] == {
        ("acc.node", 5, "child_ids"): {9}
    }
    # in a create body too
    lines = values.Lines()
    values.coerce_many(
        [{"child_ids": [[1, 5, {"child_ids": [{"id": 9}]}]]}], "acc.node", fields_of, lines=lines
    )
    assert lines.named == {("acc.node", 5, "child_ids"): {9}}


def _nested_objects(levels: int) -> dict:
    vals: dict = {}
    for _ in range(levels):
        vals = {"child_ids": [vals]}
    return vals


def test_line_objects_nest_up_to_the_limit():
    assert update(_nested_objects(values.MAX_DEPTH), "acc.node")[0]["child_ids"][0][0] == 0
    assert "nested deeper" in update_refusal(_nested_objects(values.MAX_DEPTH + 1), "acc.node")


@pytest.mark.parametrize(
    "body",
    [
        {"line_ids": [{"id": 5, "qty": 1}]},
        {"line_ids": [{"id": 5, "_delete": True}]},
        {"tag_ids": [{"id": 5}]},
    ],
)
def test_a_record_being_created_has_no_lines_to_name(body):
    assert "has no lines yet" in refusal(body)
    with pytest.raises(BadRequest, match="Record 0: .*has no lines yet"):
        values.coerce_many([body], "acc.item", fields_of, lines=values.Lines())


def test_a_new_line_has_no_lines_to_name_either():
    body = {"child_ids": [{"child_ids": [{"id": 9, "_delete": True}]}]}
    assert "has no lines yet" in update_refusal(body, "acc.node")
    assert "has no lines yet" in update_refusal(
        {"child_ids": [[0, 0, {"child_ids": [{"id": 9}]}]]}, "acc.node"
    )


def test_without_a_place_to_note_them_named_lines_are_refused():
    with pytest.raises(BadRequest, match="cannot be used here"):
        values.coerce_values({"line_ids": [{"id": 5}]}, "acc.item", fields_of, None, 1)


LINE_REFUSALS = [
    ([{"id": 5, "_delete": False}], "'_delete' can only be true"),
    ([{"id": 5, "_delete": 1}], "'_delete' can only be true"),
    ([{"id": 5, "_delete": "yes"}], "'_delete' can only be true"),
    ([{"id": 5, "_delete": True, "qty": 1}], "takes only 'id'"),
    ([{"_delete": True}], "'id' must be an integer"),
    ([{"id": "5", "qty": 1}], "'id' must be an integer"),
    ([{"id": 0}], "'id' must be an integer"),
    ([{"id": True}], "'id' must be an integer"),
    ([{"id": None, "qty": 1}], "'id' must be an integer"),
    ([{"id": 2**31}], "'id' must be an integer"),
    ([{"name": "x"}, 0], "item 1: record ids must be"),
    ([{"name": "x"}, -4], "item 1: record ids must be"),
    ([{"name": "x"}, "7"], "item 1: expected a line object or a record id"),
    ([{"name": "x"}, [0, 0, {}]], "item 1: expected a line object or a record id"),
    ([[0, 0, {}], {"name": "x"}], "item 0: expected a line object or a record id"),
    ([{"name": "x"}, None], "item 1: expected a line object"),
    ([{"bogus": 1}], "item 0: Unknown field 'bogus' on model 'acc.line'"),
    ([{"qty": "many"}], "item 0: Field 'qty' expects an integer"),
    ([{"id": 5, "amount": 1.0}], "Unknown field 'amount' on model 'acc.line'"),
    ([{"id": 5, "item_id": {"id": 3, "name": "x"}}], "Field 'item_id' expects"),
]


@pytest.mark.parametrize(("lines", "fragment"), LINE_REFUSALS)
def test_bad_line_objects_say_field_item_and_why(lines, fragment):
    message = update_refusal({"line_ids": lines})
    assert message.startswith("Field 'line_ids' item ") and fragment in message
