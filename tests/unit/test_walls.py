"""Unit tests of lib/walls.py and lib/methods.py: what a call reaches, and the scope wall."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lib import methods, values  # noqa: E402
from lib.errors import BadRequest, Forbidden  # noqa: E402
from lib.fieldinfo import FieldInfo  # noqa: E402
from lib.walls import Reach  # noqa: E402


def _model(*fields):
    return {field.name: field for field in (FieldInfo("id", "integer"), *fields)}


MODELS = {
    "res.partner": _model(
        FieldInfo("name", "char"),
        FieldInfo("email", "char"),
        FieldInfo("parent_id", "many2one", relation="res.partner"),
        FieldInfo("child_ids", "one2many", relation="res.partner"),
        FieldInfo("category_id", "many2many", relation="res.partner.category"),
        FieldInfo("user_ids", "one2many", relation="res.users"),
        FieldInfo("country_id", "many2one", relation="res.country"),
        FieldInfo("country_code", "char", related_models=("res.country",)),
        FieldInfo("props", "properties"),
        FieldInfo("ref", "reference"),
        FieldInfo("res_id", "many2one_reference"),
    ),
    "res.partner.category": _model(FieldInfo("name", "char"), FieldInfo("parent_id", "many2one",
                                                                        relation="res.partner.category")),
    "res.country": _model(FieldInfo("name", "char"), FieldInfo("code", "char"), FieldInfo("display_name", "char")),
    "res.users": _model(
        FieldInfo("login", "char"),
        FieldInfo("partner_id", "many2one", relation="res.partner"),
        FieldInfo("rest_api_key_ids", "one2many", relation="rest.api.key"),
        FieldInfo("email", "char"),  # inherited from res.partner: no related_models
        FieldInfo("display_name", "char"),
    ),
    "rest.api.key": _model(FieldInfo("name", "char"), FieldInfo("all_models", "boolean")),
}  # fmt: skip


def fields_of(model):
    return MODELS[model]


def reach():
    return Reach(fields_of)


PARTNER = "res.partner"


def needs(r):
    return {model: set(ops) for model, ops in r.needs.items()}


# ---------------------------------------------------------------- the check
def test_check_passes_inside_the_scopes_and_names_the_first_model_outside():
    r = reach().need(PARTNER, "read").need("res.users", "write")
    r.check({PARTNER: {"read"}, "res.users": {"read", "write"}})
    r.check(None)  # an all-models key
    with pytest.raises(Forbidden) as info:
        r.check({PARTNER: {"read"}, "res.users": {"read"}})
    assert "write" in info.value.detail and "'res.users'" in info.value.detail
    assert r.missing({PARTNER: {"read"}}) == ("res.users", ("write",))


# ---------------------------------------------------------------- domains
def test_a_plain_domain_stays_on_its_model():
    r = reach().domain(
        PARTNER, [["name", "ilike", "a"], "|", ["parent_id", "=", 3], ["child_ids", "in", [1, 2]]]
    )
    assert needs(r) == {}


def test_a_path_reads_every_model_it_passes_through():
    r = reach().domain("res.users", [["partner_id.category_id.name", "=", "VIP"]])
    assert needs(r) == {PARTNER: {"read"}, "res.partner.category": {"read"}}


def test_a_name_search_on_a_relation_reads_the_related_model():
    assert needs(reach().domain(PARTNER, [["user_ids", "ilike", "adm"]])) == {"res.users": {"read"}}
    assert needs(reach().domain(PARTNER, [["country_id", "=", "Belgium"]])) == {"res.country": {"read"}}
    # ids and False name records without reading them
    assert needs(reach().domain(PARTNER, [["user_ids", "in", [2, False]], ["country_id", "=", False]])) == {}


def test_any_and_hierarchy_operators_read_the_related_model():
    r = reach().domain(PARTNER, [["user_ids", "any", [["login", "=", "admin"]]]])
    assert needs(r) == {"res.users": {"read"}}
    r = reach().domain(PARTNER, [["user_ids", "not any", [["partner_id.country_id.code", "=", "BE"]]]])
    assert needs(r) == {"res.users": {"read"}, PARTNER: {"read"}, "res.country": {"read"}}
    assert needs(reach().domain(PARTNER, [["category_id", "child_of", 3]])) == {
        "res.partner.category": {"read"}
    }


def test_a_non_stored_related_field_is_a_path_but_an_inherited_one_is_not():
    assert needs(reach().domain(PARTNER, [["country_code", "=", "BE"]])) == {"res.country": {"read"}}
    assert needs(reach().domain("res.users", [["email", "=", "a@b.c"]])) == {}


def test_domain_shapes_odoo_takes_and_shapes_it_does_not():
    assert needs(reach().domain(PARTNER, [(1, "=", 1), ("name", "=", "x"), (0, "=", 1)])) == {}
    assert needs(reach().domain(PARTNER, [["props.color", "=", "red"]])) == {}
    for bad in ("name", [["name", "="]], ["?"], [[3, "=", 1]], [["bogus", "=", 1]], [["name.x", "=", 1]]):
        with pytest.raises(BadRequest):
            reach().domain(PARTNER, bad)


# ---------------------------------------------------------------- order, fields, specifications
def test_order_by_a_many2one_or_a_path_reads_the_related_model():
    assert needs(reach().order(PARTNER, "name desc, id")) == {}
    assert needs(reach().order(PARTNER, "country_id desc")) == {"res.country": {"read"}}
    assert needs(reach().order("res.users", "partner_id.name")) == {PARTNER: {"read"}}
    assert needs(reach().order(PARTNER, "__count desc, name:max")) == {}


def test_group_by_and_aggregates_on_related_fields():
    assert needs(reach().groupby(PARTNER, ["country_id", "name"])) == {}
    assert needs(reach().groupby(PARTNER, ["country_code"])) == {"res.country": {"read"}}
    assert needs(reach().aggregates(PARTNER, ["__count", "id:count", "n:count_distinct(country_code)"])) == {
        "res.country": {"read"}
    }
    with pytest.raises(BadRequest):
        reach().groupby(PARTNER, ["bogus:month"])


def test_a_specification_reads_every_model_it_expands():
    assert needs(reach().spec(PARTNER, {"name": {}, "country_id": {}, "user_ids": {}})) == {}
    assert needs(reach().spec(PARTNER, {"country_id": {"fields": {"display_name": {}}}})) == {}
    assert needs(reach().spec(PARTNER, {"user_ids": {"fields": {"display_name": {}}}})) == {
        "res.users": {"read"}
    }
    r = reach().spec(
        PARTNER, {"user_ids": {"fields": {"login": {}, "partner_id": {"fields": {"email": {}}}}}}
    )
    assert needs(r) == {"res.users": {"read"}, PARTNER: {"read"}}
    r = reach().spec(PARTNER, {"category_id": {"order": "name", "domain": [["parent_id.name", "=", "x"]]}})
    assert needs(r) == {"res.partner.category": {"read"}}
    with pytest.raises(BadRequest):
        reach().spec(PARTNER, {"user_ids": {"fields": {"password": {}}}})


def test_linking_a_record_through_a_many2one_or_a_reference_needs_read_on_its_model():
    # API.md section 8: a value that links records of another model (section 10's {"id": N}
    # arrives here as the id lib.values made of it)
    assert needs(reach().values(PARTNER, {"country_id": 3}, "write")) == {
        PARTNER: {"write"},
        "res.country": {"read"},
    }
    assert needs(reach().values(PARTNER, {"country_id": False, "parent_id": None}, "write")) == {
        PARTNER: {"write"}
    }
    assert needs(reach().values(PARTNER, {"ref": "res.users,2"}, "write")) == {
        PARTNER: {"write"},
        "res.users": {"read"},
    }
    r = reach().values(PARTNER, {"child_ids": [[0, 0, {"name": "x", "country_id": 5}]]}, "write")
    assert needs(r) == {PARTNER: {"write", "create"}, "res.country": {"read"}}


def test_a_specifications_context_goes_through_the_allow_list():
    assert needs(
        reach().spec(PARTNER, {"child_ids": {"fields": {"name": {}}, "context": {"active_test": False}}})
    )
    for context in ({"rest_api_login_token": False}, {"bin_size": True}, "x"):
        with pytest.raises(BadRequest):
            reach().spec(PARTNER, {"child_ids": {"fields": {"name": {}}, "context": context}})


def test_a_reference_cannot_be_expanded_past_its_name():
    # web_read reads the referenced record whatever its model: no scope can be checked first
    assert needs(reach().spec(PARTNER, {"ref": {}, "res_id": {"fields": {"display_name": {}}}})) == {}
    for name in ("ref", "res_id"):
        with pytest.raises(Forbidden):
            reach().spec(PARTNER, {name: {"fields": {"display_name": {}, "login": {}}}})


def test_fields_and_export_paths():
    assert needs(reach().fields(PARTNER, ["name", "country_code"])) == {}  # values Odoo computes
    assert needs(reach().paths(PARTNER, ["name", "user_ids/login", "country_id/id", ".id"])) == {
        "res.users": {"read"}
    }
    with pytest.raises(BadRequest):
        reach().fields(PARTNER, ["name", "bogus"])


# ---------------------------------------------------------------- values
def test_plain_values_need_only_the_operation_on_the_record():
    assert needs(reach().values(PARTNER, {"name": "x", "email": "a@b.c", "country_id": False}, "write")) == {
        PARTNER: {"write"}
    }
    # a many2one that names a record reads that record's model, its own included
    assert needs(reach().values(PARTNER, {"parent_id": 3}, "write")) == {PARTNER: {"write", "read"}}


@pytest.mark.parametrize(
    "command, operations",
    [
        ([0, 0, {"name": "x"}], {"create"}),
        ([1, 7, {"name": "x"}], {"write"}),
        ([2, 7], {"delete"}),
        ([3, 7], {"delete"}),
        ([4, 7], {"write"}),
        ([5], {"delete"}),
        ([6, 0, [7]], {"write", "delete"}),
    ],
)
def test_one2many_commands(command, operations):
    r = reach().values("res.users", {"rest_api_key_ids": [command]}, "write")
    assert needs(r) == {"res.users": {"write"}, "rest.api.key": operations}


@pytest.mark.parametrize(
    "command, operations",
    [
        ([0, 0, {"name": "x"}], {"create"}),
        ([1, 7, {"name": "x"}], {"write"}),
        ([2, 7], {"delete"}),
        ([3, 7], {"read"}),
        ([4, 7], {"read"}),
        ([6, 0, [7]], {"read"}),
    ],
)
def test_many2many_commands(command, operations):
    r = reach().values(PARTNER, {"category_id": [command]}, "write")
    assert needs(r) == {PARTNER: {"write"}, "res.partner.category": operations}


def test_a_list_of_ids_and_a_clear_are_sets():
    assert needs(reach().values(PARTNER, {"user_ids": [2, 3]})) == {"res.users": {"write", "delete"}}
    assert needs(reach().values(PARTNER, {"user_ids": False})) == {"res.users": {"delete"}}
    assert needs(reach().values(PARTNER, {"category_id": [[5]]})) == {"res.partner.category": set()}


def test_nested_commands_are_walked_all_the_way_down():
    # the attack: a key scoped to res.partner rewrites itself through user_ids -> rest_api_key_ids
    vals = {"user_ids": [[1, 2, {"rest_api_key_ids": [[1, 5, {"all_models": True}]]}]]}
    r = reach().values(PARTNER, vals, "write")
    assert needs(r) == {PARTNER: {"write"}, "res.users": {"write"}, "rest.api.key": {"write"}}
    with pytest.raises(Forbidden):
        r.check({PARTNER: {"read", "write"}})
    # a record created with its lines: create on both
    r = reach().values_list(PARTNER, [{"child_ids": [[0, 0, {"name": "c"}]]}, {"name": "d"}], "create")
    assert needs(r) == {PARTNER: {"create"}}


def walked(model, body):
    """What an update's body reaches once lib.values converted it, as the handlers walk it."""
    return needs(
        reach().values(model, values.coerce_values(body, model, fields_of, values.Lines(), 1), "write")
    )


@pytest.mark.parametrize(
    "lines, operations",
    [
        ([{"name": "k"}], {"create"}),
        ([{"id": 5, "all_models": True}], {"write"}),
        ([{"id": 5, "_delete": True}], {"delete"}),
        ([5, {"name": "k"}], {"write", "create"}),  # a bare id moves the line here: a write of it
    ],
)
def test_one2many_line_objects_are_walked_as_their_commands(lines, operations):
    assert walked("res.users", {"rest_api_key_ids": lines}) == {
        "res.users": {"write"},
        "rest.api.key": operations,
    }


@pytest.mark.parametrize(
    "lines, operations",
    [
        ([{"name": "vip"}], {"create"}),
        ([{"id": 5, "name": "vip"}], {"write"}),
        ([{"id": 5, "_delete": True}], {"read"}),  # unlinked, not deleted
        ([5, {"name": "vip"}], {"read", "create"}),
    ],
)
def test_many2many_line_objects_are_walked_as_their_commands(lines, operations):
    assert walked(PARTNER, {"category_id": lines}) == {PARTNER: {"write"}, "res.partner.category": operations}


def test_nested_line_objects_are_walked_all_the_way_down():
    body = {"user_ids": [{"id": 2, "rest_api_key_ids": [{"id": 5, "all_models": True}]}]}
    assert walked(PARTNER, body) == {PARTNER: {"write"}, "res.users": {"write"}, "rest.api.key": {"write"}}
    vals = values.coerce_values(body, PARTNER, fields_of, values.Lines(), 1)
    with pytest.raises(Forbidden, match="rest.api.key"):
        reach().values(PARTNER, vals, "write").check({PARTNER: {"write"}, "res.users": {"write"}})


def test_line_objects_the_walls_were_not_given_converted_are_refused():
    for value in ([{"name": "x"}], [{"id": 5, "_delete": True}], [4, {"name": "x"}]):
        with pytest.raises(BadRequest):
            reach().values(PARTNER, {"child_ids": value})


def test_malformed_commands_are_refused():
    for value in ([[9, 1]], [["x"]], "abc", [[]], [1, [4, 2]]):
        with pytest.raises(BadRequest):
            reach().values(PARTNER, {"category_id": value})
    with pytest.raises(BadRequest):
        reach().values(PARTNER, {"bogus": 1})


# ---------------------------------------------------------------- execute_kw methods
def walk(method, **arguments):
    entry = methods.method(method)
    r = reach()
    if entry.walk:
        entry.walk(r, PARTNER, arguments)
    return entry, needs(r)


def test_methods_feed_their_arguments_to_the_walls():
    assert walk("search_read", domain=[["user_ids.login", "=", "admin"]], fields=["name"])[1] == {
        "res.users": {"read"}
    }
    assert walk("web_read", specification={"user_ids": {"fields": {"login": {}}}})[1] == {
        "res.users": {"read"}
    }
    assert walk("web_search_read", domain=[], specification={"country_id": {"fields": {"code": {}}}})[1] == {
        "res.country": {"read"}
    }
    assert walk("read_group", domain=[], fields=["__count"], groupby=["country_code"])[1] == {
        "res.country": {"read"}
    }
    assert walk("name_search", name="a", args=[["user_ids.login", "=", "x"]])[1] == {"res.users": {"read"}}
    assert walk("write", vals={"child_ids": [[2, 5]]})[1] == {PARTNER: {"write", "delete"}}
    assert walk("create", vals_list=[{"category_id": [[0, 0, {"name": "t"}]]}])[1] == {
        PARTNER: {"create"},
        "res.partner.category": {"create"},
    }
    assert walk("copy", default={"user_ids": [[0, 0, {"login": "x"}]]})[1] == {
        PARTNER: {"create"},
        "res.users": {"create"},
    }
    assert walk("web_save", vals={"category_id": [[1, 3, {"name": "t"}]]},
                specification={"user_ids": {"fields": {"login": {}}}})[1] == {
        "res.partner.category": {"write"}, "res.users": {"read"}
    }  # fmt: skip
    assert walk("load", fields=["name", "user_ids/login"], data=[])[1] == {
        "res.users": {"read", "create", "write"}
    }
    assert walk("export_data", fields_to_export=["user_ids/login"])[1] == {"res.users": {"read"}}
    assert walk("onchange", values={"user_ids": [[4, 2]]}, field_names=[],
                fields_spec={"category_id": {"fields": {"name": {}}}})[1] == {
        "res.users": {"read"}, "res.partner.category": {"read"}
    }  # fmt: skip
    assert walk("search_panel_select_range", field_name="country_id", kwargs={"comodel_domain": []})[1] == {
        "res.country": {"read"}
    }


def test_each_method_names_its_operation_and_page_limit():
    assert walk("search_read")[0].operations == {"read"}
    assert walk("unlink")[0].operations == {"delete"}
    assert walk("web_save")[0].operations == {"create", "write"}
    assert methods.method("action_confirm") is methods.EXECUTE
    assert methods.method("message_post").operations == {"execute"}
    limited = {name for name, entry in methods.METHODS.items() if entry.limit}
    assert {
        "search",
        "search_read",
        "search_fetch",
        "web_search_read",
        "name_search",
        "read_group",
    } <= limited


# ------------------------------------------------------------------ attachments of records
ATTACHMENT_FIELDS = {
    "ir.attachment": _model(
        FieldInfo("name", "char"), FieldInfo("res_model", "char"), FieldInfo("res_field", "char"),
        FieldInfo("res_id", "many2one_reference"), FieldInfo("datas", "binary"),
    ),
    "mail.message": _model(FieldInfo("attachment_ids", "many2many", relation="ir.attachment")),
}  # fmt: skip


def test_an_attachment_of_a_record_needs_that_model_s_operation():
    from lib.walls import LINKED_OPERATIONS

    assert LINKED_OPERATIONS == {"read": "read", "write": "write", "create": "write", "delete": "write"}
    assert needs(reach().linked(["res.partner", False, None, "res.partner"], "read")) == {PARTNER: {"read"}}
    assert needs(reach().linked(["res.partner"], "delete")) == {PARTNER: {"write"}}
    with pytest.raises(Forbidden, match="write on 'res.partner'"):
        reach().linked(["res.partner"], "write").check({"ir.attachment": {"read", "write"}})
    reach().linked([False], "write").check({"ir.attachment": {"write"}})  # linked to nothing
    reach().linked(["res.partner"], "read").check(None)  # an all-models key


def test_attaching_to_a_record_by_values_needs_write_there():
    def of(model):
        return ATTACHMENT_FIELDS[model]

    created = Reach(of).values_list(
        "ir.attachment", [{"name": "a", "res_model": "res.partner", "res_id": 4}], "create"
    )
    assert {m: set(o) for m, o in created.needs.items()} == {"ir.attachment": {"create"}, PARTNER: {"write"}}
    moved = Reach(of).values("ir.attachment", {"res_model": "res.users"}, "write")
    assert moved.needs["res.users"] == {"write"}
    unlinked = Reach(of).values("ir.attachment", {"name": "x", "res_model": False}, "write")
    assert set(unlinked.needs) == {"ir.attachment"}
    # an attachment made through another model's lines: the same
    nested = Reach(of).values(
        "mail.message", {"attachment_ids": [[0, 0, {"name": "n", "res_model": "res.partner"}]]}
    )
    assert nested.needs[PARTNER] == {"write"} and nested.needs["ir.attachment"] == {"create"}


def test_a_search_of_attachments_is_narrowed_to_the_models_the_key_reads():
    from lib.walls import attachment_domain

    assert attachment_domain(None) is None
    scopes = {"ir.attachment": {"read"}, "res.partner": {"read", "write"}, "res.users": {"write"}}
    assert attachment_domain(scopes) == [
        "|", ["res_model", "=", False], ["res_model", "in", ["ir.attachment", "res.partner"]],
    ]  # fmt: skip
