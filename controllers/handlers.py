"""Handlers of the data routes (API.md section 4): parse -> call the ORM -> serialise.

Each handler gets the ``Call`` (``call.model`` is the path's model, already
in the caller's environment; ``call.params`` the path's parameters) and
returns an ``odoo.http.Response``.
"""

import inspect

import psycopg2
from werkzeug.urls import url_encode

from odoo import api, fields, models
from odoo.http import Response
from odoo.tools import SQL
from odoo.tools.mimetypes import guess_mimetype

from ..infra import keyset, worker_cache
from ..infra.search_page import search_page
from ..lib import errors, etags, files, methods, nested, query, routes, scopes, serialize, values, walls
from .paging import Paging

READ = frozenset({"read"})
# what an ORM method raises on an argument it cannot take; the database's own refusals
# (values, too complex a query, serialisation failures) are mapped by controllers/errors.py
MALFORMED = (ValueError, AssertionError, TypeError, AttributeError, KeyError, IndexError, OverflowError)
MESSAGES = {
    "created": "Record created successfully.",
    "updated": "Record updated successfully.",
    "deleted": "Record deleted successfully.",
}
# what of an attachment makes it the value of an image field, or changes that value
STORED_VALUE = frozenset({"datas", "raw", "db_datas", "mimetype", "res_model", "res_field", "res_id", "type"})
SNIFF_BYTES = 4096
SCHEMA_ATTRIBUTES = [
    "type", "string", "help", "required", "readonly", "store", "relation", "selection",
    "searchable", "sortable", "size", "digits", "translate", "company_dependent",
]  # fmt: skip


# ---------------------------------------------------------------- helpers
def _recordset_to_ids(value):
    if isinstance(value, models.BaseModel):
        return value.ids
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_response(payload, status=200, headers=None):
    return Response(serialize.dumps(payload, _recordset_to_ids), status=status, headers=headers,
                    content_type="application/json; charset=utf-8")  # fmt: skip


def _default_fields(call):
    """Every field the caller can read except binaries (ask for those by name)."""
    return [name for name, info in call.fields_of()(call.model._name).items() if info.type != "binary"]


def _fields(call):
    """The ``fields`` parameter: a list of names (by default every readable field
    but binaries), or a ``lib.nested.Nested`` when it expands relations."""
    found = nested.parse(
        call.args.get("fields"), call.model._name, call.fields_of(), call.setting(nested.SETTING)
    )
    return found or _default_fields(call)


def _names(fields):
    """The names of the model's own fields that ``fields`` reads."""
    return fields.names if isinstance(fields, nested.Nested) else fields


def _as_json(fields):
    """The ``fields`` parameter as a cursor remembers it: None, the names, or the specification."""
    return fields.specification() if isinstance(fields, nested.Nested) else fields


def _walk_fields(wall, model, fields):
    """A nested read reaches every model it expands (API.md section 8): ``read`` on each."""
    if isinstance(fields, nested.Nested):
        wall.spec(model, fields.specification())
    return wall


def _domain(call):
    return query.parse_domain(call.args.get("domain"), call.model._name, call.fields_of())


def _wall(call):
    """This call's reach (API.md section 8): fill it with what goes to the ORM, then ``.check()``.

    None for an all-models key, which no wall limits: the handler skips the walk.
    """
    scope_map = call.scope_map
    return None if scope_map is None else walls.Reach(call.fields_of(), scope_map)


def narrowed(call, model, domain):
    """A search of ``ir.attachment`` by a key with scopes leaves out the attachments
    linked to models the key may not read (API.md section 8, lib.walls.attachment_domain)."""
    extra = walls.attachment_domain(call.scope_map) if model._name == walls.ATTACHMENT else None
    return domain if extra is None else extra + list(domain)


def check_attachments(call, records, operation):
    """Attachments linked to records (``res_model``) are read or changed within the key's
    scopes on those records' model (API.md section 8, lib.walls.Reach.linked); records
    of any other model, and an all-models key, pass."""
    if records._name != walls.ATTACHMENT or call.scope_map is None or not records:
        return
    res_models = {row["res_model"] for row in records.read(["res_model"])}
    walls.Reach(call.fields_of(), call.scope_map).linked(res_models, operation).check()


def check_stored_images(records, vals=None):
    """An attachment that keeps the value of an image field (``res_model``, ``res_field``)
    holds an image, of the type it says (400; the call's transaction is rolled back):
    checked once written, when ``vals`` (None: any) changed its content, type or link."""
    if records._name != walls.ATTACHMENT or (vals is not None and not STORED_VALUE & set(vals)):
        return
    for record in records:
        if not record.res_field or record.res_model not in record.env or record.type != "binary":
            continue
        field = record.env[record.res_model]._fields.get(record.res_field)
        head = (record.raw or b"")[:SNIFF_BYTES]
        if isinstance(field, fields.Image) and head:
            files.check_image(record.mimetype, guess_mimetype(head, default="application/octet-stream"))


def check_reached(call, fields, rows):
    """A nested read that shows attachments linked to records: within the key's scopes on
    those records' models too (``check_attachments``)."""
    if call.scope_map is None or not isinstance(fields, nested.Nested):
        return
    ids = fields.reached(rows).get(walls.ATTACHMENT)
    if ids:
        check_attachments(call, call.model.env[walls.ATTACHMENT].browse(sorted(ids)), "read")


def _existing(model, record_id):
    record = model.browse(record_id)
    if not record.exists():
        raise errors.NotFound(f"No {model._name} record with id {record_id}.")
    return record


def _versioned(model):
    """Whether the model's records have versions (``write_date``, set on every write)."""
    return model._log_access and "write_date" in model._fields


def _locked_version(model, record_id):
    """The record's current ETag, its row locked until the transaction ends (None:
    no such record; "" for a record of a model without versions, which only
    ``If-Match: *`` matches). Of two writers holding the same ETag, the second
    waits here, then fails to serialise and is run again by Odoo: it sees the
    new version."""
    versioned = _versioned(model)
    column = SQL.identifier("write_date" if versioned else "id")
    model.env.cr.execute(
        SQL(
            "SELECT %s FROM %s WHERE id = %s FOR NO KEY UPDATE",
            column,
            SQL.identifier(model._table),
            record_id,
        )
    )
    row = model.env.cr.fetchone()
    if row is None:
        return None
    return etags.etag(record_id, row[0]) if versioned else ""


def _check_if_match(call, model, record_id):
    """``If-Match`` (API.md section 9): 412 unless the record still has one of the given versions."""
    tags = etags.parse(call.httprequest.headers.get("If-Match"))
    if tags is not None and not etags.match(tags, _locked_version(model, record_id)):
        raise errors.PreconditionFailed(
            f"{model._name} record {record_id} does not have the version of If-Match "
            "(it was written since, or does not exist): read it again."
        )


def _prefers_representation(call):
    """``Prefer: return=representation`` (RFC 7240), among other preferences; ignored,
    as a preference may be, when the key's scopes or the user's rights do not
    let the caller read the model (API.md section 8)."""
    value = call.httprequest.headers.get("Prefer")
    if not value:
        return False
    if not any(part.split(";")[0].strip().lower() == "return=representation" for part in value.split(",")):
        return False
    return scopes.allows(call.scope_map, call.model._name, READ) and call.model.has_access("read")


def _representation(call, records, fields=None):
    """The records as ``GET`` returns them (``fields`` applies), with their versions
    (``write_date`` is read in the same query)."""
    fields = fields or _fields(call)
    if isinstance(fields, nested.Nested):
        return _nested_representation(call, records, fields)
    names = fields
    if not _versioned(records):
        return records.read(names), {}
    rows = records.read(list(dict.fromkeys([*names, "write_date"])))
    versions = {}
    for row in rows:
        versions[row["id"]] = etags.etag(row["id"], records.browse(row["id"]).write_date)
        if "write_date" not in names:
            del row["write_date"]
    return rows, versions


def _nested_representation(call, records, fields):
    """The records read with their nested records, one batch per level, each with
    the weak ETag of its answer: a line or a product changes it as well as the
    record (lib.etags.of_answer)."""
    if wall := _wall(call):
        _walk_fields(wall, records._name, fields).check()
    rows = fields.shape(records.web_read(fields.web_read()))
    check_reached(call, fields, rows)
    if len(rows) != 1:  # a tag is only sent with one record
        return rows, {}
    return rows, {rows[0]["id"]: etags.of_answer(serialize.dumps(rows[0], _recordset_to_ids))}


def _invalid_query(exc):
    # Odoo's own message may quote domain values: say only what kind of input failed.
    return errors.BadRequest("The domain or order cannot be applied to this model.")


# ---------------------------------------------------------------- routes
def search(call):
    model, paging = call.model, Paging(call)
    texts, fields_of = paging.texts(), call.fields_of()
    domain = query.parse_domain(texts["domain"], model._name, fields_of)
    asked = nested.parse(texts["fields"], model._name, fields_of, call.setting(nested.SETTING))
    order = query.parse_order(texts["order"], model._name, fields_of)
    searched = (domain, _as_json(asked), order, query.parse_context(texts["context"]) or None)
    fields = asked or _default_fields(call)
    limit = query.parse_limit(call.args.get("limit"), maximum=call.setting("rest_api.max_page_size"))
    offset = query.parse_offset(call.args.get("offset"))
    if wall := _wall(call):
        _walk_fields(wall.domain(model._name, domain).order(model._name, order), model._name, fields).check()
    domain = narrowed(call, model, domain)
    plan = keyset.plan(model, order, fields_of(model._name))
    model = paging.continued(model, searched, plan)
    expanded = isinstance(fields, nested.Nested)
    try:
        page = search_page(
            model, domain, _names(fields), offset, limit, order,
            fields.web_read() if expanded else None, plan, paging.cursor,
        )  # fmt: skip
    except ValueError as exc:
        raise _invalid_query(exc) from exc
    if expanded:
        fields.shape(page.rows)
        check_reached(call, fields, page.rows)
    headers = {"X-Total-Count": str(page.total)}
    if links := paging.links(page, searched, plan, offset, limit):
        headers["Link"] = links
    return json_response(page.rows, headers=headers)


def schema(call):
    call.model.check_access("read")
    return json_response(call.model.fields_get(attributes=SCHEMA_ATTRIBUTES))


def record_count(call):
    model, domain = call.model, _domain(call)
    if wall := _wall(call):
        wall.domain(model._name, domain).check()
    try:
        count = model.search_count(narrowed(call, model, domain))
    except ValueError as exc:
        raise _invalid_query(exc) from exc
    return json_response({"model": model._name, "domain": domain, "record_count": count})


def read(call):
    model, record_id = call.model, call.params["id"]
    if_none_match = etags.parse(call.httprequest.headers.get("If-None-Match"))
    # read() leaves out a record that does not exist (no exists() query
    # first); the version comes in the same query (write_date)
    fields = _fields(call)
    record = (
        model.browse(record_id)
        if _versioned(model) or set(_names(fields)) - {"id"}
        else _existing(model, record_id)
    )
    check_attachments(call, record, "read")
    rows, versions = _representation(call, record, fields)
    if not rows:
        raise errors.NotFound(f"No {model._name} record with id {record_id}.")
    headers = {"ETag": versions[record_id]} if versions else {}
    if versions and etags.none_match(if_none_match, versions[record_id]):
        return Response(status=304, headers=headers)
    return json_response(rows[0], headers=headers)


def checked_values(call, body, operation):
    """A create's values (one object or a list of them) coerced to Odoo's shapes,
    their reach checked against the key's scopes (API.md section 8), then the
    existing lines they name (API.md section 10)."""
    lines = values.Lines()
    vals_list = walled_values(call, body, operation, lines)
    check_lines(call.model.env, lines)
    return vals_list


def walled_values(call, body, operation, lines):
    """checked_values but for the lines, which it notes in ``lines`` unchecked: the checks
    that read no record (the database is read in ``check_lines``)."""
    model = call.model
    vals_list = values.coerce_many(body, model._name, call.fields_of(), lines=lines)
    if wall := _wall(call):
        wall.values_list(model._name, vals_list, operation).check()
    return vals_list


def check_lines(env, lines):
    """400 unless each line a nested write names by id (``values.Lines``) is a line of
    that field of that record (API.md section 10): one query per record and field,
    as the caller (record rules apply; archived lines count)."""
    for (model, record_id, name), ids in lines.named.items():
        record = env[model].browse(record_id).with_context(active_test=False, prefetch_fields=False)
        strangers = ids.difference(record[name].ids)
        if strangers:
            raise errors.BadRequest(
                f"Field {name!r}: record {min(strangers)} is not a line of {model} record {record_id}; "
                "an object with 'id' updates or removes one of the record's own lines."
            )


def create(call):
    body = call.json()
    records = call.model.create(checked_values(call, body, "create"))
    check_stored_images(records)
    return created_answer(call, records, many=isinstance(body, list))


def created_answer(call, records, many):
    """201 with ``Location``: the new id (or ids), or the records themselves
    with ``Prefer: return=representation``."""
    model = call.model
    if many:
        location = f"/api/{model._name}/search?" + url_encode(
            {"domain": serialize.dumps([["id", "in", records.ids]])}
        )
        payload = {"ids": records.ids, "message": MESSAGES["created"]}
    else:
        location = f"/api/{model._name}/{records.id}"
        payload = {"id": records.id, "message": MESSAGES["created"]}
    headers = {"Location": location}
    if _prefers_representation(call):
        rows, versions = _representation(call, records)
        payload = rows if many else rows[0]
        headers["Preference-Applied"] = "return=representation"
        if versions and not many:
            headers["ETag"] = versions[records.id]
    return json_response(payload, status=201, headers=headers)


def update(call):
    model, record_id, lines = call.model, call.params["id"], values.Lines()
    vals = values.coerce_values(call.json(), model._name, call.fields_of(), lines, record_id)
    if wall := _wall(call):
        wall.values(model._name, vals, "write").check()
    _check_if_match(call, model, record_id)
    # exists() first: Odoo's write() and unlink() of a missing record raise
    # nothing for a user that no record rule limits
    record = _existing(model, record_id)
    check_attachments(call, record, "write")
    check_lines(model.env, lines)
    record.write(vals)
    check_stored_images(record, vals)
    if _prefers_representation(call):
        rows, versions = _representation(call, record)
        headers = {"Preference-Applied": "return=representation"}
        if versions:
            headers["ETag"] = versions[record_id]
        return json_response(rows[0], headers=headers)
    return json_response({"id": record_id, "message": MESSAGES["updated"]})


def delete(call):
    model, record_id = call.model, call.params["id"]
    _check_if_match(call, model, record_id)
    record = _existing(model, record_id)
    check_attachments(call, record, "delete")
    record.unlink()
    return json_response({"id": record_id, "message": MESSAGES["deleted"]})


# ---------------------------------------------------------------- execute_kw
def _parse_call(call):
    """(method, args, kwargs) of an execute_kw body, checked for shape and privacy."""
    model, body = call.model, call.json()
    if not isinstance(body, dict) or not isinstance(body.get("method"), str):
        raise errors.BadRequest('The body must be {"method": "...", "args": [...], "kwargs": {...}}.')
    method, args, kwargs = body["method"], body.get("args", []), body.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise errors.BadRequest('"args" must be a JSON array and "kwargs" a JSON object.')
    if scopes.is_private_method(method):
        raise errors.Forbidden(f"Method {method[:60]!r} is private and cannot be called.")
    if not callable(getattr(type(model), method, None)):
        raise errors.BadRequest(f"Model {model._name!r} has no method {method[:60]!r}.")
    return method, args, kwargs


def execute_kw_operations(call):
    """The scope operations this execute_kw call needs (its method decides).

    The checked call is kept for the handler, so the body is parsed once.
    """
    call.checked = _parse_call(call)
    return scopes.operations_for_method(call.checked[0])


def execute_kw_kept(call):
    """What an Idempotency-Key keeps of this call's answer: an ORM method's answer
    is records and values; any other method's may hold a secret (a key's
    ``generate``, an action showing a new secret), which is never stored."""
    method = call.checked[0] if call.checked else None
    return routes.WITHHELD if not method or methods.answer_may_hold_secret(method) else routes.KEPT


def _answer_ids(result):
    """The record ids an answer shows: rows (``search_read``), ``{"records": rows}``
    (``web_search_read``), ids (``search``), ``(id, name)`` pairs (``name_search``)."""
    if isinstance(result, dict):
        result = result.get("records")
    found = []
    for item in result if isinstance(result, list) else ():
        if isinstance(item, dict):
            item = item.get("id")
        elif isinstance(item, (list, tuple)) and item:
            item = item[0]
        if isinstance(item, int) and not isinstance(item, bool):
            found.append(item)
    return found


def _without_self(function):
    signature = inspect.signature(function)
    return signature.replace(parameters=list(signature.parameters.values())[1:])


def _base_signature(model, method):
    """The signature of ``method`` where Odoo first defines it (the ORM's contract,
    not an override's spelling), without ``self``; None for a model's own method."""
    for klass in reversed(type(model).__mro__):
        if method in vars(klass):
            function = vars(klass)[method]
            return _without_self(function) if callable(function) else None
    return None


def _signatures(model, method, entry):
    """(base, override) signatures of ``method`` on ``model``, worked out once per worker
    (``inspect.signature`` costs tens of µs; a registry reload drops the memo)."""
    memo = worker_cache.memo(model.env.registry, "rest_api.signatures")
    found = memo.get((model._name, method))
    if found is None:
        override = inspect.signature(getattr(model, method))  # bound: a classmethod's too
        # a business method of the model's own: its arguments are its own business ("execute")
        base = _base_signature(model, method) if entry is not methods.EXECUTE else None
        found = memo[(model._name, method)] = (base or override, override)
    return found


def _bind_arguments(model, method, args, kwargs, entry, maximum):
    """(ids or None, ``lib.methods.Bound``): the call bound to the method's base
    signature, its page-size argument capped (400 when the arguments do not fit)."""
    function = getattr(type(model), method)
    positional, ids = list(args), None
    kwargs = {k: v for k, v in kwargs.items() if k != "context"}
    if not getattr(function, "_api", None):  # a record method: the first argument is the ids
        ids = positional.pop(0) if positional else None
        if not (isinstance(ids, int) and not isinstance(ids, bool)) and not (
            isinstance(ids, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
        ):
            raise errors.BadRequest(f"The first argument of {method!r} must be a record id or a list of ids.")
        if isinstance(ids, list) and len(ids) > maximum:
            # the page size bounds what one call reads or changes, as for search
            raise errors.BadRequest(
                f"At most {maximum} ids per call (rest_api.max_page_size); got {len(ids)}."
            )
    base, override = _signatures(model, method, entry)
    limit = (entry.limit, maximum) if entry.limit else None
    return ids, methods.bind(method, base, override, positional, kwargs, limit)


def execute_kw(call):
    model = call.model
    # taken, not just read: a retried transaction parses afresh (a method may change its arguments)
    checked, call.checked = call.checked, None
    method, args, kwargs = checked or _parse_call(call)
    maximum = call.setting("rest_api.max_page_size")
    entry = methods.method(method)
    ids, bound = _bind_arguments(model, method, args, kwargs, entry, maximum)
    context = query.check_context(kwargs.get("context") or {})
    if wall := _wall(call):
        if entry.walk:
            entry.walk(wall, model._name, bound.arguments)
        wall.check()
    if ids is not None:  # the attachments named: within the scopes on their records' models
        for operation in sorted(entry.operations & walls.LINKED_OPERATIONS.keys() or {"write"}):
            check_attachments(call, model.browse(ids), operation)  # a business method changes them
    args = bound.args if ids is None else [ids, *bound.args]
    kwargs = dict(bound.kwargs, context=dict(model.env.context, **context))
    try:
        result = api.call_kw(model, method, args, kwargs)
    except psycopg2.ProgrammingError as exc:
        if entry is methods.EXECUTE or exc.pgcode is not None:
            raise
        # psycopg2 could not even send a value (an object as a limit): nothing reached PostgreSQL
        raise errors.BadRequest(f"Odoo refused the arguments of {method!r}: {str(exc)[:300]}") from exc
    except MALFORMED as exc:
        if entry is methods.EXECUTE:  # a business method's own failure: unexpected
            raise
        # the ORM refusing a malformed argument (unknown field, bad domain or order, wrong type)
        raise errors.BadRequest(f"Odoo refused the arguments of {method!r}: {str(exc)[:300]}") from exc
    if "read" in entry.operations and model._name == walls.ATTACHMENT:
        check_attachments(call, model.browse(_answer_ids(result)), "read")  # search_read, name_search...
    if entry.operations & {"create", "write"} and model._name == walls.ATTACHMENT:
        touched = ids if ids is not None else _answer_ids(result if isinstance(result, list) else [result])
        check_stored_images(model.browse(touched))
    if entry.capped_answer:
        result = methods.capped_answer(result, maximum)
    if entry.shown is not None and call.scope_map is not None:
        result = entry.shown(result, lambda name: scopes.allows(call.scope_map, name, READ))
    try:
        return json_response(result)
    except TypeError as exc:  # grouped(): records as keys; any answer JSON cannot hold
        raise errors.BadRequest(f"The answer of {method!r} cannot be written as JSON.") from exc
