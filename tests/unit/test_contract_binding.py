"""Unit tests of lib/methods.py's binding to the ORM's base signature (API.md section 8),
and of the malformed inputs issue 23 found: Idempotency-Key values, batch references."""

import inspect
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from test_walls import PARTNER, needs, reach  # noqa: E402

from lib import batch, idempotency, methods  # noqa: E402
from lib.errors import BadRequest  # noqa: E402


def sig(function):
    """A method's signature without ``self``, as the handler gets it."""
    signature = inspect.signature(function)
    return signature.replace(parameters=list(signature.parameters.values())[1:])


def base_write(self, vals): ...
def renamed_write(self, values): ...
def hidden_save(self, *args, **kwargs): ...
def base_save(self, vals, specification, next_id=None): ...
def base_search_read(self, domain=None, fields=None, offset=0, limit=None, order=None, **read_kwargs): ...
def own_search_read(self, domain=None, fields=None, offset=0, limit=None, order=None, sneaky=None): ...
def base_panel(self, field_name, **kwargs): ...


def test_a_renamed_parameter_is_walked_by_position():
    values = {"company_ids": [[0, 0, {"name": "x"}]]}
    bound = methods.bind("write", sig(base_write), sig(renamed_write), [values], {})
    assert bound.arguments["vals"] is values and bound.args == [values]
    bound = methods.bind("write", sig(base_write), sig(renamed_write), [], {"vals": values})
    assert bound.arguments["vals"] is values and bound.args == [values] and bound.kwargs == {}


def test_an_overrides_own_name_is_refused():
    with pytest.raises(BadRequest):
        methods.bind("write", sig(base_write), sig(renamed_write), [], {"values": {}})
    with pytest.raises(BadRequest, match="sneaky"):  # a base keyword landing in the override's own parameter
        methods.bind("search_read", sig(base_search_read), sig(own_search_read), [], {"sneaky": []})


def test_hidden_parameters_get_the_base_positions():
    bound = methods.bind(
        "web_save", sig(base_save), sig(hidden_save), [], {"specification": {"a": {}}, "vals": {}}
    )
    assert bound.args == [{}, {"a": {}}] and bound.arguments["specification"] == {"a": {}}


def test_the_limit_is_capped_where_the_base_has_it():
    bound = methods.bind("search_read", sig(base_search_read), sig(base_search_read), [[]], {}, ("limit", 80))
    assert bound.args == [[], None, 0, 80]
    bound = methods.bind(
        "search_read", sig(base_search_read), sig(base_search_read), [], {"limit": 5}, ("limit", 80)
    )
    assert bound.arguments["limit"] == 5
    bound = methods.bind(
        "panel", sig(base_panel), sig(base_panel), ["country_id"], {"limit": 10**6}, ("limit", 80)
    )
    assert bound.kwargs == {"limit": 80}
    with pytest.raises(BadRequest):
        methods.bind(
            "search_read", sig(base_search_read), sig(base_search_read), [], {"limit": "9"}, ("limit", 80)
        )


def test_load_reads_the_models_its_columns_link():
    def walk(fields):
        r = reach()
        methods.method("load").walk(r, PARTNER, {"fields": fields, "data": []})
        return needs(r)

    assert walk(["name", "category_id/.id"]) == {"res.partner.category": {"read"}}
    assert walk(["name", "category_id"]) == {"res.partner.category": {"read"}}
    assert walk(["parent_id/id"]) == {PARTNER: {"read"}}
    assert walk(["user_ids/login"]) == {"res.users": {"read", "create", "write"}}
    assert walk(["user_ids/partner_id"]) == {"res.users": {"read", "create", "write"}, PARTNER: {"read"}}
    with pytest.raises(BadRequest):
        walk(["name/first"])


def test_group_answers_and_views_are_cut_to_size():
    assert methods.capped_answer({i: i for i in range(5)}, 3) == {0: 0, 1: 1, 2: 2}
    views = {"views": {}, "models": {"res.partner": {}, "res.users": {}}}
    shown = methods.method("get_views").shown(views, lambda model: model == "res.partner")
    assert shown["models"] == {"res.partner": {}}


@pytest.mark.parametrize("value", ["abc\xa0", "\x85abc", "\xe9", "a b"])
def test_idempotency_keys_with_any_other_byte_are_400(value):
    with pytest.raises(BadRequest):
        idempotency.key_of("POST", value)


def test_idempotency_keys_keep_http_white_space_only():
    assert idempotency.key_of("POST", " \tk-1\t ") == "k-1"


@pytest.mark.parametrize("path", ["/api/x/${-1.id}", "/api/x/${7.id}", "/api/x/${1.id}", "/api/x/${+0.id}"])
def test_a_reference_that_is_not_to_an_earlier_operation_is_400(path):
    document = {"operations": [{"method": "GET", "path": "/api/x/1"}, {"method": "GET", "path": path}]}
    with pytest.raises(BadRequest) as raised:
        batch.parse(document, 10)
    assert raised.value.extra["operation"] == 1


def test_a_malformed_reference_in_a_body_is_400_but_other_text_is_data():
    ops = [{"method": "GET", "path": "/api/x/1"}]
    with pytest.raises(BadRequest):
        batch.parse(
            {"operations": [*ops, {"method": "POST", "path": "/api/x/create", "body": {"a": "${-1.id}"}}]}, 9
        )
    parsed = batch.parse({"operations": [*ops, {"method": "POST", "path": "/api/x/create",
                                                 "body": {"a": "${name}", "b": "${0.id}"}}]}, 9)  # fmt: skip
    assert parsed[1].body == {"a": "${name}", "b": "${0.id}"}


def test_generic_record_methods_walk_their_paths():
    def walk(method, **arguments):
        r = reach()
        methods.method(method).walk(r, PARTNER, arguments)
        return needs(r)

    assert walk("mapped", func="user_ids.login") == {"res.users": {"read"}}
    assert walk("filtered", func="parent_id.name") == {PARTNER: {"read"}}
    assert walk("filtered_domain", domain=[["user_ids.login", "=", "x"]]) == {"res.users": {"read"}}
    assert walk("sorted", key="name") == {}
    for method, arguments in (("mapped", {"func": 3}), ("sorted", {"key": "user_ids.login"}),
                              ("grouped", {"key": "nosuch"}), ("get_property_definition", {"full_name": "name.x"})):  # fmt: skip
        with pytest.raises(BadRequest):
            walk(method, **arguments)
    assert {"mapped", "filtered", "filtered_domain", "sorted", "grouped"} <= {
        name for name, entry in methods.METHODS.items() if entry.operations == {"read"}
    }
