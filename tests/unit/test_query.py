"""Unit tests of lib.query: the parsers of the search query-string and the JSON body."""

import json
import time

import pytest

from lib import query
from lib.errors import BadRequest
from lib.fieldinfo import FieldInfo

SECRET = "s3cr3t-Pa55w0rd-XYZ"


def _model(*fields: FieldInfo) -> dict[str, FieldInfo]:
    return {info.name: info for info in fields}


MODELS = {
    "acc.item": _model(
        FieldInfo("id", "integer"),
        FieldInfo("name", "char"),
        FieldInfo("qty", "integer"),
        FieldInfo("amount", "float"),
        FieldInfo("state", "selection", selection=("draft", "done")),
        FieldInfo("active", "boolean"),
        FieldInfo("batch", "char"),
        FieldInfo("code", "char"),
        FieldInfo("day", "date"),
        FieldInfo("moment", "datetime"),
        FieldInfo("create_date", "datetime"),
        FieldInfo("partner_id", "many2one", relation="res.partner"),
        FieldInfo("parent_id", "many2one", relation="acc.item"),
        FieldInfo("tag_ids", "many2many", relation="acc.tag"),
        FieldInfo("line_ids", "one2many", relation="acc.line"),
        FieldInfo("double_qty", "integer", store=False, searchable=False, sortable=False),
    ),
    "res.partner": _model(FieldInfo("id", "integer"), FieldInfo("name", "char"), FieldInfo("email", "char")),
    "acc.tag": _model(FieldInfo("id", "integer"), FieldInfo("name", "char")),
    "acc.line": _model(FieldInfo("id", "integer"), FieldInfo("name", "char"), FieldInfo("qty", "integer")),
}


def fields_of(model: str) -> dict[str, FieldInfo]:
    return MODELS[model]


def refused(func, *args) -> str:
    """Call func, assert it refuses with BadRequest, and return the safe message."""
    with pytest.raises(BadRequest) as info:
        func(*args)
    assert info.value.status == 400
    return info.value.detail


# --------------------------------------------------------------------------- parse_domain: accepted


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_domain_blank_is_empty(text):
    assert query.parse_domain(text, "acc.item", fields_of) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[["id","in",[1,2]]]', [["id", "in", [1, 2]]]),
        (
            '["&", ["name","=",1], "|", ["qty","=",2], ["amount","=",3]]',
            ["&", ["name", "=", 1], "|", ["qty", "=", 2], ["amount", "=", 3]],
        ),
        ("[('id','in',(1,2)), ('active','=',True)]", [["id", "in", [1, 2]], ["active", "=", True]]),
        (
            "['|', ('qty','=',1), ('name','=like','Alpha%')]",
            ["|", ["qty", "=", 1], ["name", "=like", "Alpha%"]],
        ),
        ("[('code', '=', None), ('active', '!=', False)]", [["code", "=", None], ["active", "!=", False]]),
        ("[('qty', '>', -5), ('amount', '<', +2.5)]", [["qty", ">", -5], ["amount", "<", 2.5]]),
        ('[["code", "=", null], ["active", "=", false]]', [["code", "=", None], ["active", "=", False]]),
        ("[]", []),
    ],
)
def test_domain_accepts_json_and_python_literals(text, expected):
    assert query.parse_domain(text, "acc.item", fields_of) == expected


@pytest.mark.parametrize(
    "text",
    [
        "[('id', 'in', (1, 2))]",
        "(('id', 'in', (1, 2)),)",
        "[('line_ids', 'any', (('name', '=', 'x'),))]",
    ],
)
def test_domain_result_has_no_tuples_and_is_json(text):
    domain = query.parse_domain(text, "acc.item", fields_of)
    assert json.loads(json.dumps(domain)) == domain
    assert "(" not in repr(domain)


@pytest.mark.parametrize(
    "text",
    [
        '[["id", "in", "abc"]]',
        '[["id", "not in", 5]]',
        '[["create_date", ">", "not a date"]]',
        '[["partner_id.name", "=", 5]]',
        '[["parent_id.partner_id.email", "ilike", "@x"]]',
        '[["tag_ids", "=", [1, 2]]]',
        '[["name", "=?", null]]',
        '[["name", "not ilike", "x"], ["qty", ">=", 1], ["qty", "<=", 9], ["amount", "<", 1.5]]',
        '[["parent_id", "child_of", 3], ["parent_id", "parent_of", [1, "x"]], ["id", "child_of", "x"]]',
        '["!", ["name", "=", "x"]]',
        '["!", "!", ["name", "=", "x"]]',
        '[["name", "=", "a"], ["qty", "=", 1]]',
        '["|", ["name", "=", "a"], ["qty", "=", 1], ["amount", "=", 2]]',
    ],
)
def test_domain_structurally_valid(text):
    assert query.parse_domain(text, "acc.item", fields_of) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        '[["line_ids", "any", [["qty", ">", 1]]]]',
        '[["tag_ids", "not any", []]]',
        '[["partner_id", "any", ["|", ["name", "=", "a"], ["email", "=", "b"]]]]',
        '[["parent_id", "any", [["line_ids", "any", [["name", "=", "x"]]]]]]',
    ],
)
def test_domain_any_accepts_subdomain_of_relation(text):
    assert query.parse_domain(text, "acc.item", fields_of) == json.loads(text)


def test_domain_accepts_int64_bounds():
    text = f'[["qty", ">", {2**63 - 1}], ["qty", "<", {-(2**63)}]]'
    assert query.parse_domain(text, "acc.item", fields_of)[0][2] == 2**63 - 1


# --------------------------------------------------------------------------- parse_domain: refused


@pytest.mark.parametrize(
    "text",
    [
        '[["name", "like"]]',
        "not a domain",
        '{"name": "x"}',
        "[('name', '=', 'x'",
        '["&", ["name", "=", "x"]]',
        '["|"]',
        '["!"]',
        '["&", "!", ["name", "=", "x"]]',
        '[["name", "=", "x"], "!"]',
        "[[1, 2, 3]]",
        "[(1, 2)]",
        "42",
        '"name"',
        "null",
        '[["name", "=", "x", "y"]]',
        '["name"]',
        "[42]",
        "[null]",
        '[{"name": "x"}]',
        '["and", ["name", "=", "x"]]',
    ],
)
def test_domain_refuses_bad_structure(text):
    refused(query.parse_domain, text, "acc.item", fields_of)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('id')",
        "[('name','=',__import__('os'))]",
        "[().__class__]",
        "[('name', '=', x)]",
        "[('qty', '=', 1 + 1)]",
        "[('name', '=', 'a'[0])]",
        "[('name', '=', lambda: 1)]",
        "[('id', 'in', [i for i in range(3)])]",
        "[('name', '=', f'{1}')]",
        "[('id', 'in', {1, 2})]",
        "[('name', '=', b'x')]",
        "[('qty', '=', 1j)]",
        "[('qty', '=', ...)]",
        "[('qty', '=', --1)]",
        "[('active', '=', -True)]",
        "[('active', '=', not True)]",
        "[('name', '=', {'a': 1})]",
        "[('qty', '=', 1e999)]",
        '[["qty", "=", NaN]]',
        '[["qty", "=", Infinity]]',
        '[["qty", "=", -Infinity]]',
        '[["qty", "=", 1e999]]',
    ],
)
def test_domain_refuses_code_and_non_literals(text):
    assert "Traceback" not in refused(query.parse_domain, text, "acc.item", fields_of)


@pytest.mark.parametrize("op", ["~~", "like ", "LIKE", "In", "==", "", "<>", "not_in", "=any"])
def test_domain_refuses_unknown_operator(op):
    text = json.dumps([["name", op, "x"]])
    assert "operator" in refused(query.parse_domain, text, "acc.item", fields_of)


def test_domain_refuses_non_string_operator():
    refused(query.parse_domain, '[["name", 1, "x"]]', "acc.item", fields_of)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[["no_such_field", "=", 1]]', "Unknown field 'no_such_field' in domain"),
        ('[["partner_id.nope", "=", 1]]', "'nope'"),
        ('[["double_qty", "=", 1]]', "Field 'double_qty' is not searchable"),
        ('[["name.id", "=", 1]]', "'name' is not relational"),
        ('[["qty.name", "=", 1]]', "'qty' is not relational"),
        ('[["partner_id..name", "=", 1]]', "Invalid field name"),
        ('[["", "=", 1]]', "Invalid field name"),
        ('[["name;drop", "=", 1]]', "Invalid field name"),
        ('[["line_ids", "any", [["email", "=", 1]]]]', "Unknown field 'email'"),
    ],
)
def test_domain_refuses_bad_field_path_and_names_it(text, named):
    assert named in refused(query.parse_domain, text, "acc.item", fields_of)


@pytest.mark.parametrize(
    "text",
    [
        '[["name", "any", [["name", "=", "x"]]]]',
        '[["line_ids", "any", "x"]]',
        '[["line_ids", "not any", [["name", "=="]]]]',
        '[["line_ids", "any", [["name", "=", {"a": 1}]]]]',
    ],
)
def test_domain_refuses_bad_any(text):
    refused(query.parse_domain, text, "acc.item", fields_of)


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1},
        [[1, 2]],
        [{"a": 1}],
        2**63,
        -(2**63) - 1,
        [1, 2**64],
    ],
)
def test_domain_refuses_bad_values(value):
    text = json.dumps([["qty", "=", value]])
    refused(query.parse_domain, text, "acc.item", fields_of)


@pytest.mark.parametrize("value", [True, 1.5, None, [True], [1, [2]], {"a": 1}])
def test_domain_child_of_wants_ids_or_names(value):
    text = json.dumps([["parent_id", "child_of", value]])
    refused(query.parse_domain, text, "acc.item", fields_of)


@pytest.mark.parametrize("value", [[1, [2]], {"a": 1}, [{"a": 1}]])
def test_domain_in_wants_flat_list(value):
    refused(query.parse_domain, json.dumps([["id", "in", value]]), "acc.item", fields_of)


@pytest.mark.parametrize(
    "text",
    [
        json.dumps([["name", "=", SECRET], ["name", "~~", "x"]]),
        json.dumps([["name", "=", {"k": SECRET}]]),
        json.dumps([["name", "=", [SECRET, [SECRET]]]]),
        json.dumps([["parent_id", "child_of", [SECRET, 1.5]]]),
        json.dumps([["name", "=", SECRET, SECRET]]),
        json.dumps([SECRET, ["name", "=", "x"]]),
        f"[('name', '=', '{SECRET}'), __import__('os')]",
        f"[('name', '=', '{SECRET}')",
    ],
)
def test_domain_errors_never_echo_values(text):
    assert SECRET not in refused(query.parse_domain, text, "acc.item", fields_of)


def test_domain_echo_is_truncated():
    message = refused(query.parse_domain, json.dumps([["x" * 500, "=", 1]]), "acc.item", fields_of)
    assert "x" * 60 in message and "x" * 61 not in message


def test_domain_unknown_model_is_bad_request():
    assert "Unknown model" in refused(query.parse_domain, '[["id", "=", 1]]', "no.model", fields_of)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 10000,
        "(" * 10000,
        "[" * 10000 + "]" * 10000,
        "[" * 500 + "]" * 500,
        "[" * 33 + "]" * 33,
        "[" * 150 + "]" * 150,
        "-" * 60000 + "1",
        "1+" * 30000 + "1",
    ],
    ids=["open-10k", "paren-10k", "closed-10k", "closed-500", "closed-33", "closed-150", "signs", "sum"],
)
def test_domain_deep_or_huge_input_is_refused_fast(text):
    start = time.monotonic()
    assert "Malformed domain" in refused(query.parse_domain, text, "acc.item", fields_of)
    assert time.monotonic() - start < 2


def test_domain_depth_limit_counts_nested_any():
    inner: list = [["name", "=", "x"]]
    for _ in range(16):
        inner = [["parent_id", "any", inner]]
    text = json.dumps(inner)
    assert "nested too deeply" in refused(query.parse_domain, text, "acc.item", fields_of)
    assert query.parse_domain(json.dumps(inner[0][2][0][2]), "acc.item", fields_of)


def test_domain_too_long_is_refused():
    text = json.dumps([["name", "=", "x" * 70000]])
    assert "too long" in refused(query.parse_domain, text, "acc.item", fields_of)


def test_domain_refuses_lone_surrogate():
    refused(query.parse_domain, '[["name", "=", "\\ud800"]]', "acc.item", fields_of)


# --------------------------------------------------------------------------- safe_literal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(1, (2, 'a'), [None, True])", [1, [2, "a"], [None, True]]),
        ("-1.5", -1.5),
        ("  'a' 'b'  ", "ab"),
    ],
)
def test_safe_literal_reads_plain_literals(text, expected):
    assert query.safe_literal(text) == expected


@pytest.mark.parametrize(
    ("text", "allow_dict"),
    [
        ("{'a': 1}", False),
        ("{1: 2}", True),
        ("{**x}", True),
        ("{'a': open('f')}", True),
        ("open('f')", True),
        ("{1}", True),
        ("[1 if 1 else 2]", True),
        ("'" + "x" * 70000 + "'", False),
    ],
)
def test_safe_literal_refuses(text, allow_dict):
    refused(query.safe_literal, text, allow_dict)


def test_safe_literal_dict_only_when_allowed():
    assert query.safe_literal("{'a': (1, 2)}", allow_dict=True) == {"a": [1, 2]}
    refused(query.safe_literal, "{'a': 1}")


# --------------------------------------------------------------------------- parse_fields


@pytest.mark.parametrize("text", [None, "", "  "])
def test_fields_blank_is_default(text):
    assert query.parse_fields(text, "acc.item", fields_of) is None


@pytest.mark.parametrize(
    "text",
    ['["name","qty"]', "['name', 'qty']", "('name', 'qty')", "name,qty", " name , qty ", "name,qty,name"],
)
def test_fields_accepted_syntaxes(text):
    assert query.parse_fields(text, "acc.item", fields_of) == ["name", "qty"]


def test_fields_deduplicates_keeping_order():
    assert query.parse_fields("qty,name,qty,id", "acc.item", fields_of) == ["qty", "name", "id"]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('["name", 3]', "must be strings"),
        ("[[[", "Malformed fields"),
        ('{"a": 1}', "fields must be"),
        ('"name"', "fields must be"),
        ("name,no_such_field", "'no_such_field'"),
        ("name,,qty", "Empty field name"),
        ("name,", "Empty field name"),
        ('["name", ""]', "Empty field name"),
        ("[]", "at least one"),
        ("('name')", "fields must be"),
        ("name qty", "'name qty'"),
        ("partner_id.name", "'partner_id.name'"),
        ("[('name',)]", "must be strings"),
        ("__import__('os')", "Unknown field"),
    ],
)
def test_fields_refused(text, named):
    assert named in refused(query.parse_fields, text, "acc.item", fields_of)


def test_fields_max_count():
    assert "max 1000" in refused(query.parse_fields, ",".join(["name"] * 1001), "acc.item", fields_of)
    assert query.parse_fields(",".join(["name"] * 1000), "acc.item", fields_of) == ["name"]


# --------------------------------------------------------------------------- parse_order


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        ("state desc, qty asc", "state desc, qty asc"),
        ("amount, id desc", "amount, id desc"),
        ("name DESC", "name desc"),
        ("name  Asc   NULLS   Last", "name asc nulls last"),
        ("name nulls first", "name nulls first"),
        ("  qty  ", "qty"),
    ],
)
def test_order_accepted_and_normalised(text, expected):
    assert query.parse_order(text, "acc.item", fields_of) == expected


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("name,,", "Empty term"),
        ("name,", "Empty term"),
        ("name sideways", "Invalid order for field 'name'"),
        ("name desc desc", "Invalid order"),
        ("name nulls", "Invalid order"),
        ("name nulls middle", "Invalid order"),
        ("name asc nulls first extra", "Invalid order"),
        ("(", "Unknown field"),
        ("name; drop table", "Unknown field 'name;'"),
        ("no_such_field", "Unknown field 'no_such_field'"),
        ("double_qty", "Field 'double_qty' is not sortable"),
        ("partner_id.name", "Unknown field"),
        ("name" + " " * 1000, "too long"),
    ],
)
def test_order_refused(text, named):
    assert named in refused(query.parse_order, text, "acc.item", fields_of)


# --------------------------------------------------------------------------- limit, offset, id


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 80), ("1", 1), (" 50 ", 50), ("1000", 1000), ("007", 7)]
)
def test_limit_accepted(value, expected):
    assert query.parse_limit(value) == expected


@pytest.mark.parametrize(
    "value", ["abc", "1.5", "-1", "", " ", "1e3", "0x10", "+5", "0", "1001", "9" * 40, "١٢", "1 0"]
)
def test_limit_refused_states_maximum(value):
    assert "1000" in refused(query.parse_limit, value)


def test_limit_custom_default_and_maximum():
    assert query.parse_limit(None, default=10, maximum=20) == 10
    assert "20" in refused(query.parse_limit, "21", 10, 20)


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 0), ("0", 0), (" 12 ", 12), (str(2**31 - 1), 2**31 - 1)]
)
def test_offset_accepted(value, expected):
    assert query.parse_offset(value) == expected


@pytest.mark.parametrize("value", ["abc", "1.5", "-1", "", "1e3", "0x10", "+5", str(2**31), "9" * 40])
def test_offset_refused(value):
    refused(query.parse_offset, value)


@pytest.mark.parametrize(("text", "expected"), [("1", 1), ("42", 42), (str(2**31 - 1), 2**31 - 1)])
def test_id_accepted(text, expected):
    assert query.parse_id(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "abc", "", "1.0", " 1", str(2**31), "9" * 40, "+1", "1e2"])
def test_id_refused(text):
    assert refused(query.parse_id, text) == "Record id must be a positive integer."


# --------------------------------------------------------------------------- parse_context


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, {}),
        ("", {}),
        ('{"lang": "fr_FR", "tz": "Europe/Brussels"}', {"lang": "fr_FR", "tz": "Europe/Brussels"}),
        (
            "{'active_test': False, 'allowed_company_ids': [1, 2]}",
            {"active_test": False, "allowed_company_ids": [1, 2]},
        ),
        ('{"lang": "sr@latin", "tz": "UTC"}', {"lang": "sr@latin", "tz": "UTC"}),
        ('{"lang": "en"}', {"lang": "en"}),
        ('{"lang": "es_419"}', {"lang": "es_419"}),
        ("{'allowed_company_ids': (3,)}", {"allowed_company_ids": [3]}),
    ],
)
def test_context_accepted(text, expected):
    assert query.parse_context(text) == expected


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('{"uid": 1}', "'uid'"),
        ('{"lang": "fr_FR", "su": true}', "'su'"),
        ('{"lang": "french"}', "'lang'"),
        ('{"lang": "fr_fr"}', "'lang'"),
        ('{"lang": 1}', "'lang'"),
        ('{"tz": "Mars/Olympus"}', "'tz'"),
        ('{"tz": 0}', "'tz'"),
        ('{"active_test": 0}', "'active_test'"),
        ('{"active_test": "false"}', "'active_test'"),
        ('{"allowed_company_ids": []}', "'allowed_company_ids'"),
        ('{"allowed_company_ids": [0]}', "'allowed_company_ids'"),
        ('{"allowed_company_ids": [true]}', "'allowed_company_ids'"),
        ('{"allowed_company_ids": ["1"]}', "'allowed_company_ids'"),
        ('{"allowed_company_ids": 1}', "'allowed_company_ids'"),
        (json.dumps({"allowed_company_ids": list(range(1, 102))}), "'allowed_company_ids'"),
        ('["lang", "fr_FR"]', "must be an object"),
        ("42", "must be an object"),
        ("{'lang': __import__('os')}", "Malformed context"),
        ("{1: 2}", "Malformed context"),
    ],
)
def test_context_refused(text, named):
    assert named in refused(query.parse_context, text)


def test_context_never_echoes_values():
    assert SECRET not in refused(query.parse_context, json.dumps({"tz": SECRET}))


# --------------------------------------------------------------------------- parse_json_body


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"a": [1, 2.5, null]}', {"a": [1, 2.5, None]}),
        (b'\xef\xbb\xbf{"a": 1}', {"a": 1}),
        ('{"name": "caf\u00e9"}'.encode(), {"name": "caf\u00e9"}),
        (b" [] ", []),
    ],
)
def test_json_body_accepted(raw, expected):
    assert query.parse_json_body(raw) == expected


@pytest.mark.parametrize("raw", [b"", b"   \n", b"\xef\xbb\xbf"])
def test_json_body_empty(raw):
    assert refused(query.parse_json_body, raw) == "Request body is empty; a JSON document is required."


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        (b'{"a": "\xff"}', "UTF-8"),
        (b'{"a": NaN}', "NaN"),
        (b'{"a": -Infinity}', "NaN"),
        (b'{"a": 1e999}', "finite"),
        (b'{"a": 1', "line 1 column"),
        (b"[" * 100000, "Malformed JSON body"),
        (b"[" * 65 + b"]" * 65, "nested too deeply"),
        (b'{"a": "\\udc00"}', "Unicode"),
    ],
    ids=["bad-utf8", "nan", "minus-infinity", "overflow", "truncated", "open-100k", "depth-65", "surrogate"],
)
def test_json_body_refused(raw, named):
    assert named in refused(query.parse_json_body, raw)


def test_json_body_depth_64_is_accepted():
    assert query.parse_json_body(b"[" * 64 + b"]" * 64) is not None


def test_json_body_error_never_echoes_content():
    raw = json.dumps({"password": SECRET}).encode()[:-1] + b" x"
    assert SECRET not in refused(query.parse_json_body, raw)
