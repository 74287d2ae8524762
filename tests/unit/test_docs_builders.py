"""lib/openapi.py and lib/postman.py: the generated documents, without Odoo."""

import json

import pytest
from conftest import load_route_table
from openapi_spec_validator import validate

from lib import openapi, postman, routes
from lib.fieldinfo import FieldInfo

TABLE = load_route_table()

ITEM = openapi.ModelDoc(
    name="x.item",
    description="Item",
    fields={
        "id": FieldInfo("id", "integer", readonly=True),
        "name": FieldInfo("name", "char", required=True, string="Name", help="What it is called"),
        "qty": FieldInfo("qty", "integer"),
        "price": FieldInfo("price", "float"),
        "done": FieldInfo("done", "boolean"),
        "state": FieldInfo(
            "state", "selection", selection=("draft", "done"), has_default=True, required=True
        ),
        "day": FieldInfo("day", "date"),
        "moment": FieldInfo("moment", "datetime"),
        "partner_id": FieldInfo("partner_id", "many2one", relation="res.partner"),
        "tag_ids": FieldInfo("tag_ids", "many2many", relation="x.tag"),
        "data": FieldInfo("data", "binary"),
        "total": FieldInfo("total", "float", readonly=True, store=False),
    },
    operations=frozenset({"read", "create"}),
    rec_name="name",
)


@pytest.fixture(scope="module")
def generic():
    return openapi.build(TABLE)


@pytest.fixture(scope="module")
def with_item():
    return openapi.build(TABLE, [ITEM], max_page_size=500)


def test_generic_document_is_valid_openapi_31(generic):
    validate(generic)
    assert generic["openapi"] == "3.1.0"


def test_every_data_and_token_route_is_documented(generic):
    documented = {(path, method.upper()) for path, item in generic["paths"].items() for method in item}
    for route in TABLE:
        if route.auth not in ("docs", "oauth"):
            assert (route.full_path, route.method) in documented, route.name
    # the OAuth routes answer forms with RFC 6749's JSON: the oauth2 scheme describes them
    assert not [path for path in generic["paths"] if "/oauth/" in path]


def test_docs_routes_are_not_operations(generic):
    assert not any(path.endswith(("openapi.json", "postman.json", "/docs")) for path in generic["paths"])


def test_generic_document_names_no_model(generic):
    shared = ("Problem", "ExpandedRecord", "RecordRef", "X2ManyCommand", "X2ManyLine")
    assert not [name for name in generic["components"]["schemas"] if name not in shared]
    assert not [path for path in generic["paths"] if "{model}" not in path and "/auth/" not in path
                and "generate_token" not in path and path != "/api/batch"
                and not path.startswith("/api/webhooks")]  # fmt: skip


def test_every_operation_documents_4xx_and_problem_json(generic):
    for path, item in generic["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            codes = set(operation["responses"])
            assert "default" in codes and any(c.startswith("4") for c in codes), (path, method)
    error = generic["components"]["responses"]["NotFound"]["content"]
    assert list(error) == ["application/problem+json"]


def test_security_schemes(generic):
    schemes = generic["components"]["securitySchemes"]
    assert {k: v for k, v in schemes["apiKey"].items() if k != "description"} == {
        "type": "apiKey",
        "in": "header",
        "name": "api-key",
    }
    assert schemes["loginToken"]["name"] == "token" and set(schemes) == {"apiKey", "loginToken", "oauth2"}
    # the key alone, or the key and a token: never a login token alone (generators send every
    # scheme they have a value for; the server reads a token equal to the key as no token);
    # or an OAuth access token, alone (API.md section 14)
    assert generic["security"] == [{"apiKey": []}, {"apiKey": [], "loginToken": []}, {"oauth2": []}]
    flows = schemes["oauth2"]["flows"]
    assert set(flows) == {"authorizationCode", "clientCredentials"}
    assert flows["authorizationCode"]["authorizationUrl"] == "/api/oauth/authorize"
    assert (
        flows["authorizationCode"]["tokenUrl"] == flows["clientCredentials"]["tokenUrl"] == "/api/oauth/token"
    )


def test_limit_maximum_follows_the_setting(with_item):
    limit = with_item["components"]["parameters"]["limit"]["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 500, 80)


def test_fields_parameter_describes_nested_reads(with_item):
    fields = with_item["components"]["parameters"]["fields"]
    assert fields["schema"] == {"type": "string"} and fields["example"] == "id,display_name"
    for form in ("name,email", "partner_id{name,email}", '"partner_id": {"fields":', "max_expand_depth"):
        assert form in fields["description"], form


def test_search_takes_a_cursor_as_a_component_parameter(generic, with_item):
    cursor = with_item["components"]["parameters"]["cursor"]
    assert cursor["in"] == "query" and cursor["schema"]["pattern"] == "^[A-Za-z0-9_-]+$"
    for document, path in ((generic, "/api/{model}/search"), (with_item, "/api/x.item/search")):
        assert {"$ref": "#/components/parameters/cursor"} in document["paths"][path]["get"]["parameters"]


def test_model_document_is_valid_and_deterministic(with_item):
    validate(with_item)
    assert json.dumps(with_item) == json.dumps(openapi.build(TABLE, [ITEM], max_page_size=500))


def test_read_schema_follows_odoo_field_types(with_item):
    props = with_item["components"]["schemas"]["x.item"]["properties"]
    assert props["qty"] == {"type": "integer", "x-odoo-type": "integer"}
    assert props["price"]["type"] == "number" and props["done"]["type"] == "boolean"
    # Odoo's empty value is typed as such: one type per anyOf member, false as a const
    assert props["name"] == {
        "anyOf": [{"type": "string"}, openapi.FALSE],
        "x-odoo-type": "char",
        "title": "Name",
        "description": "What it is called",
    }
    assert props["state"]["anyOf"] == [
        {"type": "string", "enum": ["draft", "done"], "x-enum-varnames": ["DRAFT", "DONE"]},
        openapi.FALSE,
    ]
    day, moment = props["day"]["anyOf"][0], props["moment"]["anyOf"][0]
    assert (day["format"], moment["format"]) == ("date", "date-time")
    # a many2one: [id, name], an expanded record (a nested read), or false; one type per member
    partner, expanded, empty = props["partner_id"]["anyOf"]
    assert partner["type"] == "array" and (partner["minItems"], partner["maxItems"]) == (2, 2)
    assert expanded == {"$ref": "#/components/schemas/ExpandedRecord"} and empty == openapi.FALSE
    # an x2many: ids, or expanded records, item by item
    assert props["tag_ids"] == {
        "type": "array",
        "items": {"anyOf": [{"type": "integer"}, {"$ref": "#/components/schemas/ExpandedRecord"}]},
        "description": "Ids of x.tag records; objects when fields expands them.",
        "x-odoo-type": "many2many",
        "x-odoo-relation": "x.tag",
    }
    record = with_item["components"]["schemas"]["ExpandedRecord"]
    assert (record["type"], record["required"], record["additionalProperties"]) == ("object", ["id"], True)
    assert record["properties"] == {"id": {"type": "integer"}}
    assert props["data"]["anyOf"][0]["format"] == "byte" and props["total"]["readOnly"] is True
    assert with_item["components"]["schemas"]["x.item"]["required"] == ["id"]


def test_write_schemas(with_item):
    schemas = with_item["components"]["schemas"]
    update = schemas["x.item-update"]
    assert update["additionalProperties"] is False
    assert "id" not in update["properties"] and "total" not in update["properties"]
    partner = update["properties"]["partner_id"]["anyOf"]
    # a many2one: an id, or {"id": id} (API.md section 10), or empty
    assert partner[1:] == [{"$ref": "#/components/schemas/RecordRef"}, openapi.FALSE, openapi.NULL]
    assert partner[0] == {"type": "integer", "minimum": 1, "maximum": routes.MAX_ID}
    assert (
        schemas["RecordRef"]["required"] == ["id"] and schemas["RecordRef"]["additionalProperties"] is False
    )
    assert update["properties"]["name"]["type"] == "string"  # required: cannot be emptied
    assert update["properties"]["qty"]["maximum"] == routes.MAX_ID
    tags = update["properties"]["tag_ids"]["anyOf"][0]
    assert tags["items"] == {
        "anyOf": [
            {"type": "integer"},
            {"$ref": "#/components/schemas/X2ManyLine"},
            {"$ref": "#/components/schemas/X2ManyCommand"},
        ]
    }
    command = schemas["X2ManyCommand"]
    assert command["type"] == "array" and len(command["items"]["anyOf"]) == 3
    # a line object of any related model: id and _delete, and that model's fields
    line = schemas["X2ManyLine"]
    assert set(line["properties"]) == {"id", "_delete"} and line["additionalProperties"] is True
    assert line["properties"]["_delete"] == {
        "type": "boolean",
        "enum": [True],
        "description": "Remove the line named by id (no other field with it).",
    }
    # not an allOf of the update schema: generators read that as the update type, losing required
    create = schemas["x.item-create"]
    assert "allOf" not in create and create["properties"] == update["properties"]
    assert create["additionalProperties"] is False
    assert create["required"] == ["name"]  # state has a default
    assert create["example"] == {"name": "Example"}


def test_model_paths_list_only_the_operations_in_scope(with_item):
    # read and create: no update or delete of x.item, nor the generic ones (no model allows them)
    item = with_item["paths"]["/api/x.item/{id}"]
    assert set(item) == {"get", "parameters"}
    assert "description" not in item["get"]
    assert set(with_item["paths"]["/api/{model}/{id}"]) == {"get", "parameters"}
    assert set(with_item["paths"]["/api/x.item/xmlid/{xmlid}"]) == {"get", "put", "parameters"}
    assert "post" in with_item["paths"]["/api/x.item/create"]
    # the generic document lists every operation
    generic = openapi.build(TABLE)
    assert set(generic["paths"]["/api/{model}/{id}"]) == {"get", "put", "patch", "delete", "parameters"}
    search = with_item["paths"]["/api/x.item/search"]["get"]
    assert search["responses"]["200"] == {"$ref": "#/components/responses/x.item-records"}
    records = with_item["components"]["responses"]["x.item-records"]
    assert records["content"]["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/x.item"
    }
    assert {"X-Total-Count", "Link"} <= set(records["headers"])


def test_generic_paths_come_before_model_paths(with_item):
    paths = list(with_item["paths"])
    assert paths.index("/api/{model}/search") < paths.index("/api/x.item/search")
    assert [t["name"] for t in with_item["tags"]] == [
        "authentication",
        "records",
        "files",
        "batch",
        "webhooks",
        "x.item",
    ]


# ------------------------------------------------------------------ Postman
@pytest.fixture(scope="module")
def collection():
    doc = openapi.build(TABLE, [ITEM], max_page_size=500)
    return postman.build(doc, base_url="http://odoo.example:8069", user_id=7)


def test_collection_is_v21_with_variables_and_collection_auth(collection):
    assert collection["info"]["schema"] == postman.SCHEMA
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert variables["baseUrl"] == "http://odoo.example:8069" and variables["userId"] == "7"
    assert {"apiKey", "token", "refreshToken", "login", "password"} <= set(variables)
    assert {"key": "value", "value": "{{apiKey}}", "type": "string"} in collection["auth"]["apikey"]


def test_collection_has_a_folder_per_model_with_the_allowed_routes(collection):
    folders = {folder["name"]: folder for folder in collection["item"]}
    assert list(folders) == ["Authentication", "Batch", "Webhooks", "x.item"]
    methods = [item["request"]["method"] for item in folders["x.item"]["item"]]
    # read and create scopes only: no update or delete; the upsert may create; its binary field's bytes
    assert methods == ["GET", "GET", "GET", "GET", "GET", "GET", "POST", "POST", "GET", "PUT", "GET"]
    urls = [item["request"]["url"]["raw"] for item in folders["x.item"]["item"]]
    assert urls[0] == "{{baseUrl}}/api/x.item/search?limit=5"
    assert urls[3] == "{{baseUrl}}/api/x.item/aggregate?aggregates=__count"
    assert urls[4] == "{{baseUrl}}/api/x.item/changes?limit=5"
    assert urls[5] == "{{baseUrl}}/api/x.item/{{x_item_id}}"
    assert urls[8] == "{{baseUrl}}/api/x.item/{{x_item_id}}/binary/data"
    assert urls[9] == urls[10] == "{{baseUrl}}/api/x.item/xmlid/{{x_item_xmlid}}"
    changes = next(e for e in folders["x.item"]["item"][4]["event"] if e["listen"] == "test")["script"][
        "exec"
    ][0]
    assert "oneOf([200, 409])" in changes  # an untracked model's feed is 409: the collection still runs
    upsert, by_xmlid = folders["x.item"]["item"][9:11]
    setup = next(e for e in upsert["event"] if e["listen"] == "prerequest")["script"]["exec"]
    assert setup == ['if (!pm.collectionVariables.get("x_item_xmlid")) '
                     '{ pm.collectionVariables.set("x_item_xmlid", "postman_example.x_item"); }']  # fmt: skip
    check = next(e for e in upsert["event"] if e["listen"] == "test")["script"]["exec"][0]
    assert "oneOf([200, 201])" in check
    assert next(e for e in by_xmlid["event"] if e["listen"] == "prerequest")["script"]["exec"] == setup
    check = next(e for e in by_xmlid["event"] if e["listen"] == "test")["script"]["exec"][0]
    assert "oneOf([200, 404])" in check
    batch = folders["Batch"]["item"][0]
    assert batch["request"]["url"]["raw"] == "{{baseUrl}}/api/batch"
    operations = json.loads(batch["request"]["body"]["raw"])["operations"]
    assert [op["method"] for op in operations] == ["POST", "POST", "PATCH", "GET", "DELETE", "DELETE"]


def test_collection_requests_check_their_answers(collection):
    folder = next(folder for folder in collection["item"] if folder["name"] == "x.item")
    create = next(item for item in folder["item"] if item["request"]["method"] == "POST")
    tests = next(e for e in create["event"] if e["listen"] == "test")["script"]["exec"]
    assert tests[0].endswith("pm.response.to.have.status(201); });")
    assert json.loads(create["request"]["body"]["raw"]) == {"name": "Example"}
    token = next(h for h in create["request"]["header"] if h["key"] == "token")
    assert token["disabled"] is True


def test_generate_token_body_uses_the_user_variable_as_a_number(collection):
    generate = collection["item"][0]["item"][0]
    assert generate["request"]["body"]["raw"] == '{\n  "user_id": {{userId}},\n  "expiration_days": 1\n}'


def test_cached_fragments_give_the_same_document(with_item):
    fragments = {"x.item": openapi.model_fragment(ITEM, TABLE)}
    rebuilt = openapi.build(TABLE, [ITEM], max_page_size=500, fragments=fragments)
    assert json.dumps(rebuilt) == json.dumps(with_item)
    assert set(fragments["x.item"]["responses"]) == {
        "x.item-record", "x.item-records", "x.item-changes", "x.item-created", "x.item-upserted"
    }  # fmt: skip


def test_enum_names_stay_unique_once_upper_cased():
    names = openapi.enum_names(["GMT0", "GMT+0", "GMT-0", "gmt0", "", "1st", "Etc/GMT+1"])
    assert names == ["GMT0", "GMT_PLUS_0", "GMT_MINUS_0", "GMT0_2", "EMPTY", "V_1ST", "ETC_GMT_PLUS_1"]


def test_a_required_many2one_is_written_as_an_id_or_an_object_never_empty():
    required = FieldInfo("item_id", "many2one", relation="x.item", required=True)
    assert openapi.field_property(required, write=True)["anyOf"] == [
        {"type": "integer", "minimum": 1, "maximum": routes.MAX_ID},
        {"$ref": "#/components/schemas/RecordRef"},
    ]
