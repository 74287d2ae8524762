"""How the OpenAPI document describes files and reports (API.md section 11).

Bytes are ``{"type": "string", "format": "binary"}``: a binary field's
answer and a raw upload as ``application/octet-stream``, an upload also as
``multipart/form-data`` (one ``file`` part, any type: ``encoding``), which
Swagger UI offers as a file picker and code generators as a file argument.
Per model, ``{field}`` lists the model's binary fields the caller reads and
``{report}`` the reports the caller may print (enums: a drop-down in
Swagger UI); ``lib.openapi`` puts them in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .fieldinfo import FieldInfo
from .routes import FIELD_RE, REPORT_RE

BINARY = {"type": "string", "format": "binary"}
OCTETS = "application/octet-stream"
MULTIPART = "multipart/form-data"
# what a route needs a model to have to be documented on it (Operation.needs)
NEEDS_BINARY, NEEDS_REPORT, NEEDS_ATTACHMENTS = "binary", "report", "attachments"


def _multipart(description: str, many: bool) -> dict:
    file = {**BINARY, "description": description}
    prop = {"type": "array", "items": file} if many else file
    return {
        "schema": {"type": "object", "properties": {"file": prop}, "required": ["file"]},
        "encoding": {"file": {"contentType": "*/*"}},
    }


# PUT /api/<model>/<id>/binary/<field>
UPLOAD_BODY = {
    OCTETS: {"schema": BINARY},
    MULTIPART: _multipart("The file (one part).", many=False),
}
# POST /api/<model>/<id>/attachments
ATTACHMENTS_BODY = {MULTIPART: _multipart("One part per file; each becomes an attachment.", many=True)}
# GET /api/<model>/<id>/binary/<field>
DOWNLOAD = {OCTETS: {"schema": BINARY}}
# GET /api/<model>/<id>/report/<report>
REPORT = {"application/pdf": {"schema": BINARY}, "text/html": {"schema": {"type": "string"}}}
SAVED = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "field": {"type": "string"},
        "size": {"type": "integer", "description": "Bytes written (0: the field was emptied)."},
        "message": {"type": "string"},
    },
    "required": ["id", "field", "size", "message"],
}
ATTACHED = {
    "type": "object",
    "properties": {"ids": {"type": "array", "items": {"type": "integer"}}},
    "required": ["ids"],
}
# a 1x1 GIF of ASCII bytes only: a Postman raw body can carry it (PNG and JPEG begin with bytes
# over 0x7f), and an image field takes it
TINY_GIF = "GIF89a\x01\x00\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
POSTMAN_BOUNDARY = "postman-example-boundary"
POSTMAN_MULTIPART = (
    f"--{POSTMAN_BOUNDARY}\r\n"
    'Content-Disposition: form-data; name="file"; filename="hello.txt"\r\n'
    "Content-Type: text/plain\r\n\r\n"
    "Hello from the Postman collection.\r\n"
    f"--{POSTMAN_BOUNDARY}--\r\n"
)


def parameters() -> dict:
    """The shared parameter components of the file and report routes."""

    def query(name, schema, description, example=None):
        param = {"name": name, "in": "query", "required": False, "description": description, "schema": schema}
        if example is not None:
            param["example"] = example
        return param

    return {
        "field": field_parameter(None),
        "report": report_parameter(None),
        "Range": {
            "name": "Range",
            "in": "header",
            "required": False,
            "description": "bytes=FIRST-LAST, bytes=FIRST- or bytes=-SUFFIX: 206 with those bytes "
            "(Content-Range); 416 when the content has none of them.",
            "schema": {"type": "string"},
        },
        "If-None-Match-file": {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": "The ETag of the content: 304 and no body while it is still the same.",
            "schema": {"type": "string"},
        },
        "format": query(
            "format", {"type": "string", "enum": ["pdf", "html"], "default": "pdf"}, "pdf or html.", "html"
        ),
        "ids": {
            **query(
                "ids",
                {"type": "string", "pattern": "^[0-9]+(,[0-9]+)*$"},
                "The records, by id, separated by commas (at most rest_api.max_page_size).",
                "1,2,3",
            ),
            "required": True,
        },
    }


def binary_fields(fields: Mapping[str, FieldInfo]) -> list[str]:
    """The binary fields the caller reads, writable ones first (a Postman example writes
    the first)."""
    names = sorted(name for name, info in fields.items() if info.type == "binary")
    return sorted(names, key=lambda name: fields[name].readonly or not fields[name].store)


def field_parameter(fields: Mapping[str, FieldInfo] | None) -> dict:
    """``{field}``: any field name, or the model's binary fields."""
    schema, example = {"type": "string", "pattern": FIELD_RE.pattern}, "image_128"
    if fields is not None:
        names = binary_fields(fields)
        schema, example = {"type": "string", "enum": names}, names[0] if names else None
    return {
        "name": "field",
        "in": "path",
        "required": True,
        "description": "A binary or image field (image_128 and Odoo's other sizes are fields too).",
        "schema": schema,
        "example": example,
    }


def report_parameter(reports: Sequence[str] | None) -> dict:
    """``{report}``: any report name, or the model's reports."""
    schema, example = {"type": "string", "pattern": REPORT_RE.pattern}, "base.report_irmodulereference"
    if reports is not None:
        schema, example = {"type": "string", "enum": list(reports)}, reports[0] if reports else None
    return {
        "name": "report",
        "in": "path",
        "required": True,
        "description": "A report of the model: its technical name (report_name) or its external id.",
        "schema": schema,
        "example": example,
    }


def has(needs: str | None, model) -> bool:
    """Whether a model (``lib.openapi.ModelDoc``) has what a route needs to be documented on it."""
    if needs == NEEDS_BINARY:
        return bool(binary_fields(model.fields))
    if needs == NEEDS_REPORT:
        return bool(model.reports)
    if needs == NEEDS_ATTACHMENTS:
        return model.attachable
    return True


def path_values(fields: Mapping[str, FieldInfo], reports: Sequence[str]) -> dict:
    """What a Postman example puts in ``{field}`` and ``{report}`` on one model."""
    values = {}
    if names := binary_fields(fields):
        values["field"] = names[0]
    if reports:
        values["report"] = reports[0]
    return values
