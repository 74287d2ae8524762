"""Handlers of the file and report routes (API.md section 11).

Bytes go out through Odoo's ``ir.binary`` (the filestore file itself is
streamed: ``Range`` and ``If-None-Match`` are werkzeug's ``send_file``), and
come in through the ORM as the caller (``write``, ``ir.attachment.create``):
access rights, record rules and field groups are Odoo's. A multipart upload
is spooled to a temporary file by werkzeug's parser, not held in memory.
"""

import base64
import logging

import werkzeug.exceptions
from werkzeug.http import parse_options_header
from werkzeug.urls import url_encode

from odoo import fields
from odoo.exceptions import MissingError
from odoo.http import Response
from odoo.tools.mimetypes import guess_mimetype
from odoo.tools.safe_eval import safe_eval
from odoo.tools.safe_eval import time as safe_time

from ..infra import replica
from ..lib import errors, files, multipart, scopes, serialize
from .handlers import check_attachments, check_stored_images, json_response

_logger = logging.getLogger(__name__)
MULTIPART = "multipart/form-data"
CREATE = frozenset({"create"})
SNIFF_BYTES = 4096
CSP_FILE = "default-src 'none'"
# an HTML report: its own styles and images, no script
CSP_REPORT = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:"
)
# ir.attachment keeps its bytes in the filestore: `datas` (base64) and `raw` are two views of them
ATTACHMENT_BYTES = ("datas", "raw")


# ---------------------------------------------------------------- helpers
def _binary_field(call, operation):
    """The path's binary field: 404 when the model has none of that name, 403 when
    Odoo's field groups hide it from the caller."""
    model, name = call.model, call.params["field"]
    field = model._fields.get(name)
    if field is None or field.type != "binary":
        raise errors.NotFound(f"{model._name} has no binary field {name!r}.")
    if getattr(field, "rest_api_raw", False):
        # bytes kept as they are, not as Odoo's base64: not a file these routes can serve or take
        raise errors.NotFound(f"Field {name!r} of {model._name} holds raw bytes, not a file.")
    if name not in call.fields_of()(model._name):
        raise errors.Forbidden(f"Odoo's field groups do not let this user {operation} field {name!r}.")
    return field


def _record(call):
    record = call.model.browse(call.params["id"])
    if not record.exists():
        raise errors.NotFound(f"No {call.model._name} record with id {call.params['id']}.")
    return record


def _file_name(record, field_name, readable):
    """The record's file name for the field: an attachment's name, else a char field
    ``<field>_filename`` or ``<field>_name`` the caller can read (Odoo's convention
    for a binary field's file name); None: Odoo's ``<table>-<id>-<field>.<ext>``."""
    if record._name == "ir.attachment":
        return record.name or None
    for name in (f"{field_name}_filename", f"{field_name}_name"):
        info = readable.get(name)
        if info is not None and info.type == "char" and record[name]:
            return record[name]
    return None


def _upload(call):
    """(stream, declared type) of a PUT body: the raw body, or the one file part of a
    ``multipart/form-data`` body (spooled to a temporary file by werkzeug)."""
    mimetype, options = parse_options_header(call.httprequest.headers.get("Content-Type", ""))
    if mimetype != MULTIPART:
        return call.body_stream(), mimetype
    parts = _file_parts(call, mimetype, options)
    if len(parts) != 1:
        for part in parts:
            part.close()
        raise errors.BadRequest(f"A multipart body here carries exactly one file part; it has {len(parts)}.")
    return parts[0].stream, parts[0].mimetype


def _file_parts(call, mimetype, options):
    """The file parts of a ``multipart/form-data`` body (lib.multipart: each spooled to a
    temporary file, at most ``multipart.MAX_PARTS`` parts); 400 for a malformed body."""
    if not options.get("boundary"):
        raise errors.BadRequest("A multipart/form-data body needs its boundary (Content-Type).")
    parts = multipart.parse(call.body_stream(), options["boundary"])
    for part in parts:
        if part.filename is None:
            part.close()  # a text part: nothing here reads it
    return [part for part in parts if part.filename is not None]


def _no_store(response):
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- binary fields
def binary_get(call):
    field = _binary_field(call, "read")
    record = _record(call)
    record.check_access("read")  # record rules, as the caller
    check_attachments(call, record, "read")  # an attachment of a record: within the scopes on its model
    readable = call.fields_of()(record._name)
    name = _file_name(record, field.name, readable)
    empty = errors.NotFound(f"Field {field.name!r} of {record._name} record {record.id} is empty.")
    try:
        # filename_field "": no other field names the file (Odoo's default would read `name`)
        stream = record.env["ir.binary"]._get_stream_from(
            record, field.name, filename=name, filename_field=""
        )
    except MissingError as exc:  # a field kept in an attachment: no attachment, an empty field
        raise empty from exc
    if stream.type not in ("data", "path") or not stream.size:
        raise empty
    _check_range(call, stream.size)
    try:
        response = stream.get_response(as_attachment=False, content_security_policy=CSP_FILE)
    except werkzeug.exceptions.RequestedRangeNotSatisfiable as exc:
        raise errors.RangeNotSatisfiable(stream.size) from exc
    response.headers["Content-Disposition"] = files.content_disposition(stream.download_name)
    response.headers["Accept-Ranges"] = "bytes"
    # one key's bytes stay out of shared caches; a client revalidates with the ETag
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _check_range(call, size):
    """``Range`` as RFC 9110 section 14.2 has it (lib.files.range_request): one this
    route does not serve (another unit, several ranges, a malformed one) is ignored
    (200 with the whole content), one that is not satisfiable is 416; werkzeug's
    ``send_file`` then serves the one range, as lib.files wrote it."""
    environ = call.httprequest.environ
    asked = files.range_request(environ.get("HTTP_RANGE"), size)
    if asked is files.UNSATISFIABLE:
        raise errors.RangeNotSatisfiable(size)
    if asked is files.IGNORED:
        environ.pop("HTTP_RANGE", None)
    elif asked is not None:
        environ["HTTP_RANGE"] = asked


def binary_put(call):
    field = _binary_field(call, "write")
    record = _record(call)
    check_attachments(call, record, "write")  # an attachment of a record: within the scopes on its model
    stream, declared = _upload(call)
    with stream:
        if record._name == "ir.attachment":
            if field.name not in ATTACHMENT_BYTES:
                raise errors.BadRequest("An attachment's content is written as 'datas' or 'raw'.")
            data = stream.read()
            _check_type(field, data, declared)
            record.write({"raw": data})  # raw bytes: the filestore takes them as they are
            check_stored_images(record)  # the attachment of an image field takes an image
            size = len(data)
        else:
            # Odoo takes a binary field's value as base64: made piece by piece from the
            # body, so that the raw bytes are never all in memory beside it
            value = files.encode_base64(stream)
            _check_type(field, value, declared, encoded=True)
            record.write({field.name: value or False})
            size = files.decoded_size(value)
    return json_response({"id": record.id, "field": field.name, "size": size, "message": "File saved."})


def _check_type(field, data, declared, encoded=False):
    """An image field takes images only, of the type they were declared as (400)."""
    if not data or not isinstance(field, fields.Image):
        return
    head = base64.b64decode(data[: 4 * (SNIFF_BYTES // 3)]) if encoded else data[:SNIFF_BYTES]
    files.check_image(declared, guess_mimetype(head, default="application/octet-stream"))


# ---------------------------------------------------------------- attachments
def attachments(call):
    if not scopes.allows(call.scope_map, "ir.attachment", CREATE):
        raise errors.Forbidden("This API key's scopes do not allow create on 'ir.attachment'.")
    record = _record(call)
    # Odoo's own rule (attaching changes the record), asked of the record itself: ir.attachment's
    # check skips what is not linked to a record, and an attachment may be the record here
    record.check_access("write")
    if record._name == "ir.attachment":
        record.check("write")  # an attachment's own rule: its record's access, or its creator's
    check_attachments(call, record, "write")
    mimetype, options = parse_options_header(call.httprequest.headers.get("Content-Type", ""))
    if mimetype != MULTIPART:
        raise errors.BadRequest("Attachments are uploaded as multipart/form-data, one file part per file.")
    parts = _file_parts(call, mimetype, options)
    created = record.env["ir.attachment"].browse()
    try:
        if not parts:
            raise errors.BadRequest("The multipart body has no file part (a part with a filename).")
        for part in parts:  # one at a time: a single file is in memory at once
            values = {"name": files.clean_name(part.filename) or "upload", "raw": part.stream.read(),
                      "res_model": record._name, "res_id": record.id}  # fmt: skip
            part.close()
            created |= created.create(values)
            del values
    finally:
        for part in parts:
            part.close()
    return json_response({"ids": created.ids}, status=201, headers=_location(created))


def _location(created):
    """``Location`` of the new attachments: the one record, or a search of them (at most
    ``multipart.MAX_PARTS`` ids: the header stays short)."""
    if len(created) == 1:
        return {"Location": f"/api/ir.attachment/{created.id}"}
    return {
        "Location": "/api/ir.attachment/search?"
        + url_encode({"domain": serialize.dumps([["id", "in", created.ids]])})
    }


# ---------------------------------------------------------------- reports
def _report(call):
    """The report the path names (its technical name, or its external id), of the
    path's model: 404 otherwise; 403 when Odoo's report groups leave the user out."""
    env, model, ref = call.model.env, call.model._name, call.params["report"]
    reports = env["ir.actions.report"].sudo()  # the report's definition, as Odoo's own _get_report reads it
    report = reports.search([("report_name", "=", ref), ("model", "=", model)], limit=1)
    if not report and "." in ref:
        found = env["ir.model.data"].sudo()._xmlid_to_res_model_res_id(ref, raise_if_not_found=False)
        if found and found[0] == "ir.actions.report":
            report = reports.browse(found[1]).exists().filtered(lambda r: r.model == model)
    if not report or report.report_type not in files.REPORT_TYPES:
        raise errors.NotFound(f"No report {ref!r} of model {model!r}.")
    if report.groups_id and not report.groups_id & env.user.groups_id:
        raise errors.Forbidden("Odoo's report groups do not let this user print this report.")
    return report


def _wkhtmltopdf_missing(report_env):
    return report_env.get_wkhtmltopdf_state() in ("install", "broken")


def _render(call, ids):
    report_format = files.parse_format(call.args.get("format"))
    report = _report(call)
    records = call.model.browse(ids)
    files.missing(call.model._name, ids, records.exists().ids)
    records.check_access("read")  # record rules, as the caller
    report_env = call.model.env["ir.actions.report"]  # renders as the caller; reads the report as Odoo does
    if replica.on_replica(report_env.env.cr):
        report_env = report_env.with_context(report_pdf_no_attachment=True)  # nothing to save on a replica
    if report_format == "pdf":
        if _wkhtmltopdf_missing(report_env):
            error = errors.ServiceUnavailable(
                "PDF reports are unavailable: wkhtmltopdf is not installed on the server. "
                "The HTML of the report is (format=html)."
            )
            error.headers.pop("Retry-After", None)  # not a matter of waiting
            raise error
        content, kind = report_env._render_qweb_pdf(report, ids)
    else:
        content, kind = report_env._render_qweb_html(report, ids)
    # Odoo's test mode renders HTML where PDF is asked (no wkhtmltopdf in tests): say what is sent
    kind = "pdf" if kind == "pdf" else "html"
    headers = {
        "Content-Disposition": files.content_disposition(files.report_file_name(_name(report, records), kind))
    }
    if kind == "html":
        headers["Content-Security-Policy"] = CSP_REPORT
    mimetype = "application/pdf" if kind == "pdf" else "text/html; charset=utf-8"
    return _no_store(Response(content, status=200, headers=headers, content_type=mimetype))


def _name(report, records):
    """The report's file name: its ``print_report_name`` for one record (as Odoo's
    report controller names it), else its name."""
    if report.print_report_name and len(records) == 1:
        try:
            return safe_eval(report.print_report_name, {"object": records, "time": safe_time}) or report.name
        except Exception:  # noqa: BLE001 - a broken expression names nothing; the report is still sent
            _logger.warning("report %s: print_report_name failed", report.report_name, exc_info=True)
    return report.name


def report(call):
    return _render(call, [call.params["id"]])


def report_many(call):
    return _render(call, files.parse_ids(call.args.get("ids"), call.setting("rest_api.max_page_size")))
