"""The OpenAPI 3.1 document of the API (API.md section 5).

Built with apispec from the route table (each ``Route.openapi`` is an
``Operation``) and, per model, from
Odoo's own field metadata (lib.fieldinfo): each field becomes a marshmallow
field, which apispec's converter turns into JSON Schema. Three schemas per
model: ``<model>`` (a record as read), ``<model>-create`` and
``<model>-update`` (what may be written). Component names use the model name
itself with a ``-`` suffix, which no Odoo model name can contain.

Everything here is deterministic: the same input gives the same document.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from marshmallow import fields as mfields
from marshmallow import validate

from . import openapi_files
from .cursors import MAX_CURSOR_LENGTH
from .errors import PROBLEM_CONTENT_TYPE
from .fieldinfo import FieldInfo
from .routes import MAX_ID, MODEL_RE, XMLID_RE, Route
from .tokens import MAX_TOKEN_DAYS

OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
# Odoo reads an empty field of these types as ``false`` (numbers read as 0, x2many as []).
FALSY_TYPES = {
    "char",
    "text",
    "html",
    "selection",
    "date",
    "datetime",
    "many2one",
    "binary",
    "reference",
    "json",
}
# Filled in by Odoo on every record: never part of a write.
MAGIC_FIELDS = {"id", "display_name", "create_uid", "create_date", "write_uid", "write_date", "__last_update"}


# Odoo's empty value of a field that is not a number, a boolean or a list (API.md section 4)
# (``enum`` rather than ``const``: openapi-python-client 0.29 cannot parse a ``const`` in a union)
FALSE = {"type": "boolean", "enum": [False], "description": "Empty (Odoo's false)."}
NULL = {"type": "null"}
# An x2many command, [0, 0, {values}] ... [6, 0, [ids]]: its items are numbers, an object of
# values or a list of ids. Kept without prefixItems or bounds on purpose: per-item constraints
# make schemathesis' coverage phase hit a CPython 3.11 < 3.11.8 race in the fuzzer itself
# (gh-106905) about every other run; lib.values checks each command and answers 400.
X2MANY_COMMAND = {
    "type": "array",
    "title": "X2ManyCommand",
    "description": "An Odoo x2many command: [0, 0, {values}] create, [1, id, {values}] update, "
    "[2, id] delete, [3, id] unlink, [4, id] link, [5] unlink all, [6, 0, [ids]] replace.",
    "items": {
        "anyOf": [
            {"type": "integer"},
            {"type": "object", "additionalProperties": True},
            {"type": "array", "items": {"type": "integer"}},
        ]
    },
}
# A related record as a nested read gives it (API.md section 10, lib.nested): its id and the
# fields asked. One schema for every model: the model a field leads to may not be in the document.
EXPANDED_RECORD = {
    "type": "object",
    "title": "ExpandedRecord",
    "description": "A related record expanded by fields (name,partner_id{name,email}): its id and "
    "the fields asked, in the shapes of a read.",
    "properties": {"id": {"type": "integer"}},
    "required": ["id"],
    "additionalProperties": True,
}
# A line of a nested write (API.md section 10), whatever the related model: its fields are
# that model's (its ``-update`` schema), which one shared schema keeps documents small and
# generated clients to one class; lib.values refuses unknown fields with 400.
X2MANY_LINE = {
    "type": "object",
    "title": "X2ManyLine",
    "description": "A line of a nested write: the related model's field values. Without id, a new line; "
    "with id, an update of that line, which must be one of the record's own; with id and _delete, "
    "its removal (a one2many deletes the line, a many2many unlinks it).",
    "properties": {
        "id": {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": "A line of this record."},
        "_delete": {
            "type": "boolean",
            "enum": [True],
            "description": "Remove the line named by id (no other field with it).",
        },
    },
    "additionalProperties": True,
}
# A many2one as an object, {"id": 3} (API.md section 10)
RECORD_REF = {
    "type": "object",
    "title": "RecordRef",
    "description": "A record, by id.",
    "properties": {"id": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
    "required": ["id"],
    "additionalProperties": False,
}
# What the component schemas every document shares are called (model schemas never
# contain a capital letter, so the names cannot meet)
SHARED_SCHEMAS = {
    "ExpandedRecord": EXPANDED_RECORD,
    "RecordRef": RECORD_REF,
    "X2ManyCommand": X2MANY_COMMAND,
    "X2ManyLine": X2MANY_LINE,
}
EXPANDED = {"$ref": "#/components/schemas/ExpandedRecord"}
# an x2many as read: ids, or expanded records. Each item is one or the other, rather than the
# array being one of two arrays: generators tell two array types apart by their first check
# (openapi-python-client 0.29 casts any list to the first), an item by its own type.
X2MANY_READ_ITEM = {"anyOf": [{"type": "integer"}, EXPANDED]}
# an x2many as written: ids, line objects (a nested write) or commands
X2MANY_ITEM = {
    "anyOf": [
        {"type": "integer"},
        {"$ref": "#/components/schemas/X2ManyLine"},
        {"$ref": "#/components/schemas/X2ManyCommand"},
    ]
}
RECORD_REF_ITEM = {"$ref": "#/components/schemas/RecordRef"}
SAMPLES = {
    "char": "Example",
    "text": "Example",
    "html": "<p>Example</p>",
    "integer": 1,
    "float": 1.5,
    "monetary": 1.5,
    "boolean": True,
    "date": "2024-01-31",
    "datetime": "2024-01-31T12:00:00Z",
    "many2one": 1,
}
# status -> (component name, description)
ERRORS = {
    400: ("BadRequest", "Malformed JSON, a bad domain, fields, order, limit or value."),
    401: ("Unauthorized", "A missing, unknown, revoked or expired key or token."),
    403: ("Forbidden", "Outside the key's scopes, an address not allowed, or Odoo's access rules."),
    404: ("NotFound", "An unknown model, or a record that does not exist."),
    304: ("NotModified", "If-None-Match named the current version (of the record, or of the file): no body."),
    409: (
        "Conflict",
        "A concurrent update of the same rows, or the first request with this Idempotency-Key "
        "is still running (retry after Retry-After); on the change feed, a model whose changes are "
        "not tracked.",
    ),
    410: (
        "Gone",
        "A change feed cursor older than rest_api.sync_retention_days, or given before change tracking "
        "was turned off: start a full sync again.",
    ),
    412: ("PreconditionFailed", "If-Match named a version the record no longer has (or it does not exist)."),
    413: ("PayloadTooLarge", "The request body (or a batch's operations) is over the configured limit."),
    422: (
        "UnprocessableEntity",
        "Odoo refused the values (ValidationError or UserError), or this "
        "Idempotency-Key was used for another request.",
    ),
    416: (
        "RangeNotSatisfiable",
        "Range asked for bytes the content does not have (Content-Range: bytes */SIZE).",
    ),
    429: ("TooManyRequests", "Throttled: wait for Retry-After seconds."),
    503: (
        "ServiceUnavailable",
        "The server cannot do this now, or at all (a PDF without wkhtmltopdf): see detail.",
    ),
}


@dataclass(frozen=True)
class ModelDoc:
    """What the document says about one model the caller can reach.

    ``fields`` are the fields the caller can read; ``operations`` the scope
    operations (read, create, write, delete) the caller may use on it.
    """

    name: str
    description: str
    fields: Mapping[str, FieldInfo]
    operations: frozenset[str] = frozenset({"read", "create", "write", "delete"})
    rec_name: str | None = None
    reports: tuple[str, ...] = ()  # the reports of the model the caller may print (report_name)
    attachable: bool = True  # the caller may create attachments (ir.attachment: create)


Schema = dict | Callable[[str | None], dict]  # a JSON Schema, or one per model (None: any model)


@dataclass(frozen=True)
class Operation:
    """How one route is documented (``Route.openapi``).

    ``body`` and ``answer`` are JSON Schemas, or functions of the model name
    for routes documented per model (``Route.per_model``): they get None for
    the generic entry. ``answer_name`` names the shared success answer
    (``<answer_name>-<status>``, or ``<model>-<answer_name>`` when the answer
    is a function). ``example``: the request body's example.
    """

    parameters: tuple[str, ...] = ()
    body: Schema | None = None
    example: object = None
    body_required: bool = True
    answer: Schema = field(default_factory=lambda: MESSAGE)
    answer_name: str = "message"
    status: int = 200
    errors: tuple[int, ...] = (400, 401, 403, 429)
    description: str = ""
    headers: tuple[str, ...] = ()
    also: tuple[int, ...] = ()  # other success statuses with the same answer (an upsert: 201 too)
    # bytes, not JSON: the request body's and the success answer's ``content`` maps
    body_content: Mapping | None = None
    answer_content: Mapping | None = None
    # documented on a model only when it has binary fields, or reports (lib.openapi_files)
    needs: str | None = None


# ---------------------------------------------------------------- model schemas
@functools.cache
def _converter() -> OpenAPIConverter:
    spec = APISpec("fields", "1", OPENAPI_VERSION, plugins=[MarshmallowPlugin()])
    return spec.plugins[0].converter


def _marshmallow_field(info: FieldInfo, write: bool) -> mfields.Field:
    """The marshmallow field for an Odoo field, as read or as written."""
    kind = info.type
    if kind == "selection" and info.selection:
        return mfields.String(validate=validate.OneOf(list(info.selection)))
    if kind in ("integer", "many2one_reference"):
        # what is written must fit PostgreSQL's int4; a computed value read back may not
        return mfields.Integer(validate=validate.Range(-(2**31), MAX_ID) if write else None)
    if kind in ("float", "monetary"):
        return mfields.Float()
    if kind == "boolean":
        return mfields.Boolean()
    if kind == "date":
        return mfields.Date()
    if kind == "datetime":
        return mfields.DateTime(metadata={"description": "ISO 8601, in UTC."})
    if kind == "many2one":
        if write:
            return mfields.Integer(
                validate=validate.Range(1, MAX_ID),
                metadata={"description": f'A {info.relation} record: its id, or {{"id": id}}.'},
            )
        return mfields.Tuple(
            (mfields.Integer(), mfields.String()),
            metadata={"description": f"[id, display name]; a {info.relation} object when fields expands it."},
        )
    if kind in ("one2many", "many2many"):
        if write:
            described = (
                f"Ids of {info.relation} records (the set becomes exactly those), line objects and ids "
                "(a nested write: lines not named are left as they are), or x2many commands."
            )
            return mfields.List(mfields.Integer(), metadata={"description": described})
        return mfields.List(
            mfields.Integer(),
            metadata={"description": f"Ids of {info.relation} records; objects when fields expands them."},
        )
    if kind == "binary":
        return mfields.String(metadata={"format": "byte", "contentEncoding": "base64"})
    if kind in ("char", "text", "html", "selection", "reference"):
        return mfields.String()
    return mfields.Raw()


def enum_names(values: Sequence[str]) -> list[str]:
    """Code names for enum values (``x-enum-varnames``), unique once generators
    upper-case them: ``GMT+0``, ``GMT-0`` and ``GMT0`` must not become one name."""
    names: list[str] = []
    taken: set[str] = set()
    for value in values:
        words = re.findall(r"[A-Za-z0-9]+|[+-]", str(value))
        name = "_".join({"+": "PLUS", "-": "MINUS"}.get(word, word.upper()) for word in words) or "EMPTY"
        if not name[0].isalpha():
            name = f"V_{name}"
        unique, count = name, 1
        while unique in taken:
            count += 1
            unique = f"{name}_{count}"
        taken.add(unique)
        names.append(unique)
    return names


def _one_of_types(prop: dict, empties: Sequence[dict]) -> dict:
    """``prop`` that also admits the given empty values (``FALSE``, ``NULL``), as
    ``anyOf``: each member keeps one type, which is what generators type best
    (a TypeScript ``false``, a Python ``bool``)."""
    if not prop.get("type") and "$ref" not in prop:  # any value already
        return prop
    outer = {
        k: prop.pop(k)
        for k in list(prop)
        if k in ("title", "description", "readOnly") or k.startswith("x-odoo-")
    }
    return {"anyOf": [prop, *empties], **outer}


def field_property(info: FieldInfo, write: bool = False) -> dict:
    """JSON Schema of one field, with Odoo's own type, relation and label."""
    prop = dict(_converter().field2property(_marshmallow_field(info, write)))
    if info.type in ("one2many", "many2many"):
        prop["items"] = X2MANY_ITEM if write else X2MANY_READ_ITEM
    if not write and info.type == "many2one":  # apispec has no JSON Schema for marshmallow's Tuple
        prop.pop("items", None)  # draft 4's tuple form: JSON Schema 2020-12 says prefixItems
        prop.update(type="array", items={"type": ["integer", "string"]}, minItems=2, maxItems=2)
    if info.type == "selection" and info.selection:
        prop["x-enum-varnames"] = enum_names(prop["enum"])
    prop.setdefault("description", "")
    description = " ".join(part for part in (info.help.strip()[:300], prop["description"]) if part)
    prop["x-odoo-type"] = info.type
    if info.string and info.string != info.name:
        prop["title"] = info.string
    prop["description"] = description
    if not description:
        del prop["description"]
    if info.relation:
        prop["x-odoo-relation"] = info.relation
    if write:
        also = [RECORD_REF_ITEM] if info.type == "many2one" else []  # {"id": 3}
        if info.required:  # Odoo refuses to empty a required field
            return _one_of_types(prop, also) if also else prop
        if info.type == "boolean":
            return _one_of_types(prop, [NULL])
        if info.type in FALSY_TYPES or info.type in ("one2many", "many2many"):
            return _one_of_types(prop, [*also, FALSE, NULL])
        return prop
    if info.readonly:
        prop["readOnly"] = True
    if info.type == "many2one":  # a nested read expands it (lib.nested)
        return _one_of_types(prop, [EXPANDED, FALSE])
    if info.type in FALSY_TYPES:
        return _one_of_types(prop, [FALSE])
    return prop


def _writable(info: FieldInfo) -> bool:
    return info.name not in MAGIC_FIELDS and not info.readonly and info.type not in ("properties",)


def model_schemas(model: ModelDoc) -> dict[str, dict]:
    """The three component schemas of a model: as read, to create, to update.

    The create schema repeats the update schema's properties rather than
    referring to it (``allOf``): generators read an ``allOf`` of one schema
    as that schema, and the create body's required fields would be lost.
    """
    infos = sorted(model.fields.values(), key=lambda i: i.name)
    read = {i.name: field_property(i) for i in infos}
    write = {i.name: field_property(i, write=True) for i in infos if _writable(i)}
    required = sorted(i.name for i in infos if _writable(i) and i.required and not i.has_default)
    title = model.description or model.name
    create = {
        "type": "object",
        "title": f"{title} (create)",
        "properties": write,
        "additionalProperties": False,
    }
    if required:
        create["required"] = required
    create["example"] = _example(model, required)
    return {
        model.name: {"type": "object", "title": title, "properties": read, "required": ["id"]},
        f"{model.name}-create": create,
        f"{model.name}-update": {
            "type": "object",
            "title": f"{title} (update)",
            "properties": write,
            "additionalProperties": False,
            "example": _example(model, []),
        },
    }


def _example(model: ModelDoc, required: Iterable[str]) -> dict:
    """Sample values: the required fields, and the record's name field."""
    names = set(required)
    if model.rec_name in model.fields and _writable(model.fields[model.rec_name]):
        names.add(model.rec_name)
    sample = {}
    for name in sorted(names):
        info = model.fields[name]
        if info.type == "selection" and info.selection:
            sample[name] = info.selection[0]
        elif info.type in SAMPLES:
            sample[name] = SAMPLES[info.type]
    return sample


# ---------------------------------------------------------------- shared components
def _problem_schema() -> dict:
    return {
        "type": "object",
        "description": "An error (RFC 9457).",
        "required": ["type", "title", "status", "detail", "request_id"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "request_id": {"type": "string"},
            "operation": {"type": "integer", "description": "POST /api/batch: the operation that failed."},
        },
    }


def _headers() -> dict:
    integer = {"schema": {"type": "integer"}}
    return {
        "X-Request-Id": {"description": "Names this call in the server log.", "schema": {"type": "string"}},
        "X-Total-Count": {"description": "How many records match the domain.", **integer},
        "Link": {"description": 'RFC 8288 links, rel="next" and rel="prev".', "schema": {"type": "string"}},
        "Location": {
            "description": "Where the new record (or records) can be read.",
            "schema": {"type": "string"},
        },
        "Retry-After": {"description": "Seconds to wait before calling again.", **integer},
        "RateLimit-Limit": {"description": "Calls allowed per window, for a throttled key.", **integer},
        "RateLimit-Remaining": {"description": "Calls left in this window.", **integer},
        "RateLimit-Reset": {"description": "Seconds until the window ends.", **integer},
        "WWW-Authenticate": {"description": "The credentials expected.", "schema": {"type": "string"}},
        "ETag": {
            "description": "The record's version: send it back in If-Match to write only that version, "
            "or in If-None-Match to read only a newer one.",
            "schema": {"type": "string"},
        },
        "Preference-Applied": {
            "description": "return=representation: the body is the record.",
            "schema": {"type": "string"},
        },
        "Content-Disposition": {
            "description": "inline, with the file name (filename, and filename* when it is not ASCII).",
            "schema": {"type": "string"},
        },
        "Content-Range": {
            "description": "206: the bytes sent, bytes FIRST-LAST/SIZE.",
            "schema": {"type": "string"},
        },
        "Idempotent-Replayed": {
            "description": "true: this is the kept answer of the first request with this Idempotency-Key; "
            "nothing ran.",
            "schema": {"type": "string", "enum": ["true"]},
        },
    }


def _header_refs(names: Iterable[str]) -> dict:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
# tag -> (description, display name: x-displayName, which Postman folders and Redoc show)
TAGS = {
    "authentication": ("Login tokens.", "Authentication"),
    "records": ("Any model the key may reach, named in the path.", "Records"),
    "batch": ("Several data operations in one transaction: all or nothing.", "Batch"),
    "webhooks": ("This API key's webhook subscriptions: signed POSTs of what changed.", "Webhooks"),
    "files": ("Binary fields as bytes, attachments, printed reports.", "Files and reports"),
}


def _error_responses() -> dict:
    out = {}
    for status, (name, description) in ERRORS.items():
        if status < 400:  # not an error: no problem+json body
            out[name] = {"description": description, "headers": _header_refs(["X-Request-Id", "ETag"])}
            continue
        headers = ["X-Request-Id", *RATE_HEADERS]
        headers += {401: ["WWW-Authenticate"], 429: ["Retry-After"]}.get(status, [])
        out[name] = {
            "description": description,
            "headers": _header_refs(headers),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    out["Error"] = {
        "description": "Any other error: 405 (with Allow), 500 (quote its request_id), 503.",
        "headers": _header_refs(["X-Request-Id"]),
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    return out


def _parameters(max_page_size: int) -> dict:
    def query(name, schema, description, example=None):
        param = {"name": name, "in": "query", "required": False, "description": description, "schema": schema}
        if example is not None:
            param["example"] = example
        return param

    return {
        **openapi_files.parameters(),
        "model": {
            "name": "model",
            "in": "path",
            "required": True,
            "description": "An Odoo model name, such as res.partner.",
            "schema": {"type": "string", "pattern": MODEL_RE.pattern},
            "example": "res.partner",
        },
        "id": {
            "name": "id",
            "in": "path",
            "required": True,
            "description": "A record id.",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        },
        "xmlid": {
            "name": "xmlid",
            "in": "path",
            "required": True,
            "description": "An external id, <module>.<name> (ir.model.data). New ones may not use the name "
            "of an installed module.",
            "schema": {"type": "string", "pattern": XMLID_RE.pattern},
            "example": "shop_sync.partner_4711",
        },
        "Idempotency-Key": {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "1-255 visible ASCII characters, new for each new request: a repeat of the same "
            "request with it replays the first answer (Idempotent-Replayed: true) and runs nothing; "
            "another request with it is 422; while the first runs, 409.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
        },
        "domain": query(
            "domain",
            {"type": "string"},
            'An Odoo domain, as JSON or as a Python literal: [["name", "ilike", "a"]].',
            '[["id", ">", 0]]',
        ),
        "fields": query(
            "fields",
            {"type": "string"},
            "Fields to return: name,email or a JSON list. Default: every readable field except binaries. "
            "Relations expand as Odoo's web_read specification, compact "
            "(name,partner_id{name,email},child_ids{name,country_id{name}}) or JSON "
            '({"name": {}, "partner_id": {"fields": {"name": {}}}}), at most rest_api.max_expand_depth '
            "levels deep (default 3): an expanded many2one is an object with id and the fields asked "
            "(false when empty), an expanded one2many or many2many an array of such objects.",
            "id,display_name",
        ),
        "limit": query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": max_page_size, "default": 80},
            f"Page size (at most {max_page_size}).",
        ),
        "offset": query("offset", {"type": "integer", "minimum": 0, "default": 0}, "Records to skip."),
        "cursor": query(
            "cursor",
            {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "maxLength": MAX_CURSOR_LENGTH},
            'Where the page starts: the opaque cursor of a Link rel="next" or rel="prev". It remembers '
            "the search (domain, fields, order, context): send it alone, or with the same ones. "
            "Not with offset.",
        ),
        "order": query(
            "order", {"type": "string"}, "Sort order: field names, each optionally asc or desc.", "id desc"
        ),
        "groupby": query(
            "groupby",
            {"type": "string"},
            "What to group by: field names, a date or datetime with its granularity (day, week, month, "
            "quarter, year; hour for a datetime; or a part: year_number, quarter_number, month_number, "
            "iso_week_number, day_of_year, day_of_month, day_of_week, hour_number, minute_number, "
            "second_number), comma-separated or a JSON list. None: one group of every record.",
            "create_date:month",
        ),
        "aggregates": query(
            "aggregates",
            {"type": "string"},
            "What to compute per group: __count, or field:function with sum, avg, min, max, count, "
            "count_distinct, bool_and or bool_or; comma-separated or a JSON list. Default: __count.",
            "__count",
        ),
        "changes_cursor": query(
            "cursor",
            {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "maxLength": MAX_CURSOR_LENGTH},
            "The cursor of the previous answer: what changed since. It remembers fields, domain and limit: "
            "send it alone, or with the same ones. None: a full sync starts.",
        ),
        "aggregate_order": query(
            "order",
            {"type": "string"},
            "Sort order of the groups: groupby items and aggregates, each optionally asc or desc "
            "(then nulls first or nulls last). Default: by the groupby items.",
            "__count desc",
        ),
        "If-None-Match": {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": "An ETag of this record: 304 and no body while it is still the current version.",
            "schema": {"type": "string"},
        },
        "If-Match": {
            "name": "If-Match",
            "in": "header",
            "required": False,
            "description": "An ETag of this record (or *): write only if the record still has that version, else 412.",
            "schema": {"type": "string"},
        },
        "Prefer": {
            "name": "Prefer",
            "in": "header",
            "required": False,
            "description": "return=representation: answer with the record as GET returns it (fields applies). "
            "Other preferences are ignored (RFC 7240).",
            "schema": {"type": "string"},
        },
        "context": query(
            "context",
            {"type": "string"},
            "A JSON object with any of lang, tz, active_test, allowed_company_ids.",
            '{"active_test": false}',
        ),
    }


def _security_schemes() -> dict:
    """The key, and a login token that travels with it (API.md section 1), and OAuth 2.0
    (section 14), whose access token travels alone.

    Three requirements: the key alone, the key and a token, or an OAuth token.
    Generators send every scheme they have a value for, so a client given
    only the key may send it as the token too: the server reads a token
    equal to the key as no token (lib.credentials).
    """
    return {
        "apiKey": {
            "type": "apiKey",
            "in": "header",
            "name": "api-key",
            "description": "The API key (odoorest_...). Also accepted in X-API-Key, or in "
            "Authorization: Bearer when no login token is sent.",
        },
        "loginToken": {
            "type": "apiKey",
            "in": "header",
            "name": "token",
            "description": "A user's login token (JWT), together with the key it was issued under: the "
            "call runs as that user. Also accepted in Login-Token, or in Authorization: Bearer.",
        },
        "oauth2": {
            "type": "oauth2",
            "description": "OAuth 2.0 (API.md section 14): a key with redirect URIs is a client (client_id: its "
            "oauth_client_id). The authorization code flow needs PKCE (S256); a key that requires a user "
            "token is a public client, any other authenticates with the key as client_secret and may use "
            "client credentials. The access token is sent alone in Authorization: Bearer; scope items are "
            "model:operation,operation (absent: the key's scopes). "
            "Metadata: /.well-known/oauth-authorization-server.",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": OAUTH_AUTHORIZE,
                    "tokenUrl": OAUTH_TOKEN,
                    "refreshUrl": OAUTH_TOKEN,
                    "scopes": {},
                },
                "clientCredentials": {"tokenUrl": OAUTH_TOKEN, "scopes": {}},
            },
        },
    }


OAUTH_AUTHORIZE = "/api/oauth/authorize"
OAUTH_TOKEN = "/api/oauth/token"
SECURITY = [{"apiKey": []}, {"apiKey": [], "loginToken": []}, {"oauth2": []}]


# ---------------------------------------------------------------- bodies and answers
def _object(properties: dict, required: Sequence[str] = (), **extra) -> dict:
    schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    return schema


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


USER_INFO = _object(
    {"user_id": {"type": "integer"}, "user_name": {"type": "string"}, "user_login": {"type": "string"}},
    ["user_id", "user_name", "user_login"],
)
STRING = {"type": "string"}
# a domain: terms [field, operator, value] and the operators "&", "|", "!"
DOMAIN = {
    "type": "array",
    "items": {"anyOf": [{"type": "string"}, {"type": "array", "items": {}}]},
    "description": 'An Odoo domain: [["name", "ilike", "a"]].',
}
TEXT = {"type": "string", "minLength": 1}
INTEGER = {"type": "integer"}


# The bodies and answers of the routes of controllers/route_table.py (schemas, or per-model functions)
def records(model: str | None) -> dict:
    return {"type": "array", "items": record(model)}


def record(model: str | None) -> dict:
    return _ref(model) if model else {"type": "object", "properties": {"id": INTEGER}, "required": ["id"]}


def change_page(model: str | None) -> dict:
    """A page of the change feed (API.md section 13)."""
    upsert = {
        "type": "object",
        "title": "Upsert",
        "properties": {"op": {"type": "string", "enum": ["upsert"]}, "id": INTEGER, "record": record(model)},
        "required": ["op", "id", "record"],
    }
    delete = {
        "type": "object",
        "title": "Delete",
        "properties": {"op": {"type": "string", "enum": ["delete"]}, "id": INTEGER},
        "required": ["op", "id"],
    }
    return {
        "type": "object",
        "properties": {
            "changes": {"type": "array", "items": {"anyOf": [upsert, delete]}},
            "cursor": {"type": "string", "description": "Send it back as `cursor` for what changed since."},
            "more": {"type": "boolean", "description": "Whether the next call with `cursor` has more now."},
        },
        "required": ["changes", "cursor", "more"],
    }


def create_body(model: str | None) -> dict:
    if model:
        # One record here (an array of them is accepted too, as the generic route says): the
        # alternative would nest every field schema one level deeper for no gain in precision.
        return _ref(f"{model}-create")
    one = {"type": "object"}
    return {"anyOf": [one, {"type": "array", "items": one, "minItems": 1, "maxItems": 1000}]}


def created(model: str | None) -> dict:
    """A create's answer: the new id (or ids), or with Prefer: return=representation the record (or records)."""
    return {"anyOf": [*CREATED["anyOf"], record(model), records(model)]}


def updated(model: str | None) -> dict:
    """An update's answer: its id, or with Prefer: return=representation the record."""
    return {"anyOf": [MESSAGE, record(model)]}


def upserted(model: str | None) -> dict:
    """An upsert's answer: created (201) or updated (200)."""
    return {"anyOf": [*CREATED["anyOf"], record(model)]}


def update_body(model: str | None) -> dict:
    return _ref(f"{model}-update") if model else {"type": "object"}


MESSAGE = _object({"id": INTEGER, "message": STRING}, ["id", "message"])
SCHEMA_ANSWER = {"type": "object", "additionalProperties": {"type": "object", "properties": {"type": STRING}}}
COUNT = _object(
    {"model": STRING, "domain": DOMAIN, "record_count": INTEGER},
    ["model", "domain", "record_count"],
)
CREATED = {
    "anyOf": [
        _object({"id": INTEGER, "message": STRING}, ["id", "message"]),
        _object({"ids": {"type": "array", "items": INTEGER}, "message": STRING}, ["ids", "message"]),
    ]
}
# a group of GET /api/<model>/aggregate: its groupby values and aggregates, keyed as asked
AGGREGATE_GROUPS = {
    "type": "array",
    "items": {
        "type": "object",
        "title": "Group",
        "description": 'Keyed by the groupby items and aggregates as sent: {"partner_id": [3, "Azure"], '
        '"date_order:month": "2024-03", "amount_total:sum": 1234.5, "__count": 5}. Relational values are '
        "[id, display name], periods ISO 8601 text, parts and aggregates numbers, empty values false.",
        "additionalProperties": {
            "anyOf": [
                {"type": "number"},
                {"type": "string"},
                {"type": "boolean"},
                {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]}},
            ]
        },
    },
}
ANY: dict = {}
EXECUTE_KW_BODY = _object(
    {"method": STRING, "args": {"type": "array", "items": {}}, "kwargs": {"type": "object"}}, ["method"]
)
GENERATE_TOKEN_BODY = _object(
    {
        "user_id": {**INTEGER, "minimum": 1, "maximum": MAX_ID},
        "expiration_days": {**INTEGER, "minimum": 1, "maximum": MAX_TOKEN_DAYS},
    },
    ["user_id"],
)
GENERATED_TOKEN = _object(
    {
        "login_token": STRING,
        "message": STRING,
        "token_type": STRING,
        "expires_in_days": {"type": "number"},
        "expiration_date": {"type": "string", "format": "date-time"},
        "user_info": USER_INFO,
    },
    ["login_token", "token_type", "expiration_date", "user_info"],
)
LOGIN_BODY = _object({"login": TEXT, "password": TEXT}, ["login", "password"])
REFRESH_BODY = _object({"refresh_token": TEXT}, ["refresh_token"])
LOGOUT_BODY = _object({"refresh_token": TEXT})
LOGGED_IN = _object(
    {
        "access_token": STRING,
        "token_type": STRING,
        "expires_in": INTEGER,
        "refresh_token": STRING,
        "user_info": USER_INFO,
    },
    ["access_token", "token_type", "expires_in", "refresh_token"],
)
LOGGED_OUT = _object({"message": STRING}, ["message"])
BATCH_BODY = _object(
    {
        "operations": {
            "type": "array",
            "minItems": 1,
            "items": _object(
                {
                    "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                    "path": {"type": "string", "pattern": "^/api/"},
                    "body": {},
                    "headers": {"type": "object", "additionalProperties": STRING},
                },
                ["method", "path"],
            ),
        }
    },
    ["operations"],
)
WEBHOOK = _object(
    {
        "id": INTEGER, "name": STRING, "url": STRING, "model": STRING, "model_id": INTEGER,
        "events": {"type": "array", "items": {"type": "string", "enum": ["create", "write", "unlink"]}},
        "fields": {"type": "array", "items": STRING}, "domain": DOMAIN, "active": {"type": "boolean"},
        "failure_count": INTEGER, "last_success": {"type": ["string", "null"]},
        "last_error": {"type": ["string", "null"]},
    },
    ["id", "name", "url", "model", "events", "active"],
)  # fmt: skip
WEBHOOKS = {"type": "array", "items": WEBHOOK}
SUBSCRIBED = {**WEBHOOK, "properties": {**WEBHOOK["properties"], "secret": STRING}}
WEBHOOK_BODY = _object(
    {
        "name": STRING, "url": STRING,
        "model_id": {"anyOf": [STRING, INTEGER]},
        "events": {"type": "array", "items": {"type": "string", "enum": ["create", "write", "unlink"]}},
        "field_ids": {"type": "array", "items": {"anyOf": [STRING, INTEGER]}},
        "domain": {"anyOf": [DOMAIN, STRING]},
        "active": {"type": "boolean"},
    },
)  # fmt: skip
WEBHOOK_EXAMPLE = {
    "name": "CRM sync", "url": "https://hooks.example.com/odoo", "model_id": "res.partner",
    "events": ["create", "write"], "field_ids": ["name", "email"], "domain": [["is_company", "=", True]],
}  # fmt: skip
BATCH_ANSWER = _object(
    {
        "results": {
            "type": "array",
            "items": _object(
                {
                    "status": INTEGER,
                    "headers": {"type": "object", "additionalProperties": STRING},
                    "body": {},
                },
                ["status", "headers", "body"],
            ),
        }
    },
    ["results"],
)
BATCH_EXAMPLE = {
    "operations": [
        {"method": "POST", "path": "/api/res.partner/create", "body": {"name": "ACME", "is_company": True}},
        {
            "method": "POST",
            "path": "/api/res.partner/create",
            "body": {"name": "Jane", "parent_id": "${0.id}"},
        },
        {"method": "PATCH", "path": "/api/res.partner/${1.id}", "body": {"email": "jane@acme.test"}},
        {"method": "GET", "path": "/api/res.partner/${1.id}?fields=name,parent_id,email"},
    ]
}


# ---------------------------------------------------------------- paths
def _schema(schema: Schema, model: str | None) -> dict:
    return schema(model) if callable(schema) else schema


def _success_name(spec: Operation, model: str | None) -> str:
    return (
        f"{model}-{spec.answer_name}"
        if callable(spec.answer) and model
        else f"{spec.answer_name}-{spec.status}"
    )


def _success_response(spec: Operation, model: str | None) -> dict:
    content = spec.answer_content or {JSON: {"schema": _schema(spec.answer, model)}}
    return {
        "description": "Success.",
        "headers": _header_refs(["X-Request-Id", *RATE_HEADERS, *spec.headers]),
        "content": dict(content),
    }


def _request_body(spec: Operation, model: str | None) -> dict | None:
    if spec.body_content is not None:
        return {"required": spec.body_required, "content": dict(spec.body_content)}
    if spec.body is None:
        return None
    media = {"schema": _schema(spec.body, model)}
    if spec.example is not None:
        media["example"] = spec.example
    return {"required": spec.body_required, "content": {JSON: media}}


def _operation(
    route: Route, model: str | None, tag: str, successes: dict, order: int = 0, doc: ModelDoc | None = None
) -> dict:
    """The operation object; its success answer is added to ``successes`` (shared components).
    ``doc``: the model it is documented on, if any."""
    spec = route.openapi
    summary = f"{route.summary} ({model})" if model else route.summary
    op = {
        "operationId": f"{route.name}_{model}" if model else route.name,
        "summary": summary,
        "tags": [tag],
    }
    if spec.description:
        op["description"] = spec.description
    if spec.parameters:
        op["parameters"] = list(spec.parameters)  # apispec: a component name is a reference
    if (body := _request_body(spec, model)) is not None:
        op["requestBody"] = body
    success = _success_name(spec, model)
    if success not in successes:
        successes[success] = _success_response(spec, model)
    responses = {str(spec.status): {"$ref": f"#/components/responses/{success}"}}
    for status in spec.also:
        responses[str(status)] = {"$ref": f"#/components/responses/{success}"}
    for status in spec.errors:
        responses[str(status)] = {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
    responses["default"] = {"$ref": "#/components/responses/Error"}
    op["responses"] = responses
    if route.postman is not None and (model or not route.has_model):
        op["x-postman"] = dict(route.postman.extension(), order=order)
        if doc is not None and (values := openapi_files.path_values(doc.fields, doc.reports)):
            op["x-postman"]["path"] = values
    return op


def _concrete(route: Route, model: str) -> str:
    return route.full_path.replace("{model}", model)


def _visible(route: Route, model: ModelDoc) -> bool:
    if route.openapi is not None and not openapi_files.has(route.openapi.needs, model):
        return False
    if route.operation is not None:
        return route.operation in model.operations
    return not route.one_of or any(operation in model.operations for operation in route.one_of)


def _spec(title: str, version: str, openapi_description: str, server_url: str) -> APISpec:
    return APISpec(
        title=title,
        version=version,
        openapi_version=OPENAPI_VERSION,
        info={"description": openapi_description},
        servers=[{"url": server_url}],
        security=SECURITY,
    )


def model_fragment(model: ModelDoc, routes: Sequence[Route]) -> dict:
    """What one model adds to the document: its schemas, answers, tag and paths.

    Built with apispec on its own, so a caller can cache it per model and
    ``build`` only merges: a document naming hundreds of models costs one
    apispec pass per model once, not per document.
    """
    spec = _spec("fragment", "1", "", "/")
    for name, schema in model_schemas(model).items():
        spec.components.schema(name, schema)
    successes: dict[str, dict] = {}
    _add_paths(
        spec, [r for r in routes if r.openapi is not None and r.per_model], model, model.name, successes
    )
    for name, response in successes.items():
        if name.startswith(f"{model.name}-"):
            spec.components.response(name, response)
    doc = spec.to_dict()
    return {
        "schemas": doc["components"]["schemas"],
        "responses": doc["components"].get("responses", {}),
        "tag": {"name": model.name, "description": model.description or model.name},
        "paths": doc["paths"],
    }


def build(
    routes: Sequence[Route],
    models: Sequence[ModelDoc] = (),
    *,
    title: str = "Odoo REST API",
    version: str = "1.0.0",
    max_page_size: int = 1000,
    server_url: str = "/",
    fragments: Mapping[str, Mapping[str, dict]] | None = None,
) -> dict:
    """The OpenAPI document of ``routes``: every documented route once, then
    the ``records`` routes again under one tag per model.

    ``fragments`` maps a model name to its ``model_fragment`` (the caller may
    cache them); missing ones are computed here.
    """
    spec = _spec(title, version, _description(models), server_url)
    for name, scheme in _security_schemes().items():
        spec.components.security_scheme(name, scheme)
    spec.components.schema("Problem", _problem_schema())
    for name, schema in SHARED_SCHEMAS.items():
        spec.components.schema(name, schema)
    for name, header in _headers().items():
        spec.components.header(name, header)
    for name, param in _parameters(max_page_size).items():
        spec.components.parameter(name, param["in"], param)
    for name, response in _error_responses().items():
        spec.components.response(name, response)
    documented = [r for r in routes if r.openapi is not None]
    if models:  # a caller's document: the generic routes it may use on some model it reaches
        anywhere = ModelDoc("", "", {}, frozenset().union(*(m.operations for m in models)))
        # ... and has what it needs there (binary fields, reports)
        binaries = {name: info for m in models for name, info in m.fields.items() if info.type == "binary"}
        reports = tuple(report for m in models for report in m.reports)
        attachable = any(m.attachable for m in models)
        anywhere = ModelDoc("", "", binaries, anywhere.operations, reports=reports, attachable=attachable)
        documented = [r for r in documented if not r.has_model or _visible(r, anywhere)]
    for name in dict.fromkeys(tag for r in documented for tag in r.tags[:1]):
        description, display = TAGS.get(name, (name, name))
        spec.tag({"name": name, "description": description, "x-displayName": display})
    successes: dict[str, dict] = {}
    for tag in dict.fromkeys(r.tags[0] if r.tags else "other" for r in documented):
        _add_paths(
            spec, [r for r in documented if (r.tags[0] if r.tags else "other") == tag], None, tag, successes
        )
    for name, response in successes.items():
        spec.components.response(name, response)
    doc = spec.to_dict()
    doc["webhooks"] = _webhooks()
    components = doc["components"]
    for model in sorted(models, key=lambda m: m.name):
        fragment = (fragments or {}).get(model.name) or model_fragment(model, routes)
        components["schemas"].update(fragment["schemas"])
        components["responses"].update(fragment["responses"])
        doc["tags"].append(fragment["tag"])
        doc["paths"].update(fragment["paths"])
    return doc


def _add_paths(
    spec: APISpec, routes: Sequence[Route], model: ModelDoc | None, tag: str, successes: dict
) -> None:
    """The operations of ``routes``, on ``model``'s paths when one is given:
    only those the caller may use on it (a key's document lists what its
    scopes allow, API.md section 5)."""
    by_path: dict[str, dict] = {}
    for order, route in enumerate(routes):
        if model is not None and not _visible(route, model):
            continue
        path = _concrete(route, model.name) if model else route.full_path
        operation = _operation(route, model.name if model else None, tag, successes, order, model)
        by_path.setdefault(path, {})[route.method.lower()] = operation
    for path, operations in by_path.items():
        parameters: list = [name for name in ("model", "id", "xmlid") if f"{{{name}}}" in path]
        if "{field}" in path:
            parameters.append(openapi_files.field_parameter(model.fields) if model else "field")
        if "{report}" in path:
            parameters.append(openapi_files.report_parameter(model.reports) if model else "report")
        spec.path(path=path, operations=operations, parameters=parameters or None)


def _webhooks() -> dict:
    """The requests a webhook subscription receives (OpenAPI 3.1 ``webhooks``)."""
    header = {"required": True, "schema": {"type": "string"}}
    payload = _object(
        {
            "type": {"type": "string", "description": "<model>.created, <model>.updated or <model>.deleted"},
            "timestamp": {"type": "string", "format": "date-time"},
            "data": _object(
                {
                    "model": STRING,
                    "id": INTEGER,
                    "record": {"type": "object", "description": "The subscription's fields as its key's user "
                               "read them at the event; absent for a deletion."},
                },
                ["model", "id"],
            ),
        },
        ["type", "timestamp", "data"],
    )  # fmt: skip
    return {
        "recordChanged": {
            "post": {
                "summary": "A record was created, updated or deleted",
                "description": "Sent after commit, signed by the Standard Webhooks scheme: `webhook-signature` is "
                "`v1,` and the base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>`, keyed with the "
                "base64-decoded part of the subscription's `whsec_` secret (two signatures during a rotation). "
                "Any answer but 2xx, or none within 10 s, is retried for more than 24 h; de-duplicate on "
                "`webhook-id`.",
                "parameters": [
                    {"name": "webhook-id", "in": "header", **header},
                    {"name": "webhook-timestamp", "in": "header", **header},
                    {"name": "webhook-signature", "in": "header", **header},
                ],
                "requestBody": {"required": True, "content": {JSON: {"schema": payload}}},
                "responses": {"200": {"description": "Received (any 2xx)."}},
            }
        }
    }


def _description(models: Sequence[ModelDoc]) -> str:
    text = (
        "Odoo's models over REST. Every call needs an API key (header `api-key`); a user's login "
        "token (header `token`, or `Authorization: Bearer`) makes the call run as that user. "
        "Errors are `application/problem+json` (RFC 9457)."
    )
    if not models:
        text += " Call with a key (or an Odoo session) to see a schema per model you can reach."
    return text
