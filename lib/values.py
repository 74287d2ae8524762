"""Validate JSON field values and convert them into what Odoo's ORM accepts.

A REST body is untrusted JSON: a wrong type must become a clear 400 here
instead of a crash deep inside ``create()``/``write()``, and what GET returns
(the "read shapes": ``[id, "name"]`` for a many2one, a list of ids for an
x2many, ISO 8601 datetimes...) must be accepted back unchanged.

An x2many value may also be a nested write (API.md section 10): an array of
line objects and ids, converted here to the commands a client could have sent
(``{...}`` -> ``(0, 0, vals)``, ``{"id": 5, ...}`` -> ``(1, 5, vals)``, a bare
id -> ``(4, id)``, ``{"id": 5, "_delete": true}`` -> ``(2, 5)`` on a one2many,
``(3, 5)`` on a many2many), so that the walls (lib.walls) walk exactly those
commands. An object with an ``id`` must name a line the record already has:
only the database can tell, so such ids are noted in a ``Lines`` for the
caller to check before the write.

Every error message may name the field and the expected type, but never
echoes the submitted value: it goes to the client as-is and may be a secret.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from .errors import BadRequest
from .fieldinfo import FieldInfo, FieldsOf

# PostgreSQL int4: Odoo stores integer fields and record ids in it.
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
FLOAT_LIMIT = 1e300
MAX_DEPTH = 8
MAX_COMMANDS = 10000
MAX_RECORDS = 1000  # records one create call makes at most (a batch groups creates up to this too)
NAME_LIMIT = 60
# A selection can have hundreds of keys (time zones); the message stays short.
SELECTION_SHOWN = 20

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_RE = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[T ](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.[0-9]+)?(?P<tz>Z|[+-][0-9]{2}:[0-9]{2})?)?"
)
_REFERENCE_RE = re.compile(r"[a-z0-9_.]+,[0-9]+")


@dataclass
class Lines:
    """The existing lines a body names by id in its line objects (API.md section 10).

    ``named[(model, record id, field)]`` holds the ids that must already be
    lines of that x2many field of that record. The caller checks them against
    the database before the write (one query per key), and refuses the body
    with 400 when one is not.
    """

    named: dict[tuple[str, int, str], set[int]] = dataclasses.field(default_factory=dict)

    def add(self, model: str, record_id: int, name: str, line_id: int) -> None:
        self.named.setdefault((model, record_id, name), set()).add(line_id)


@dataclass(frozen=True)
class _Context:
    """What a converter needs beyond the field and the value."""

    fields_of: FieldsOf
    depth: int = 0
    lines: Lines | None = None  # where line objects naming an existing line are noted
    model: str = ""  # the model of the record whose values these are
    record_id: int | None = None  # that record's id; None: a record being created

    def line(self, model: str, record_id: int | None) -> _Context:
        """The context of a line's own values: one level deeper."""
        return dataclasses.replace(self, depth=self.depth + 1, model=model, record_id=record_id)


Converter = Callable[[FieldInfo, object, _Context], object]


def coerce_values(
    values: object, model: str, fields_of: FieldsOf, lines: Lines | None = None, record_id: int | None = None
) -> dict:
    """Validate one JSON object of field values of ``model``; return a new dict of ORM values.

    ``record_id``: the record the values update (None: they create one, which
    has no lines yet). Line objects that name an existing line by id are noted
    in ``lines``; without ``lines`` they are refused.

    Raises BadRequest for a non-object body, an unknown model or field, the
    ``id`` field, or a value of the wrong type.
    """
    return _coerce_record(values, _Context(fields_of, 0, lines, model, record_id))


def coerce_many(
    values: object,
    model: str,
    fields_of: FieldsOf,
    max_records: int = MAX_RECORDS,
    lines: Lines | None = None,
) -> list[dict]:
    """Validate a create body: one object, or a non-empty array of at most ``max_records`` objects."""
    if isinstance(values, dict):
        return [coerce_values(values, model, fields_of, lines)]
    if not isinstance(values, list) or not values:
        raise BadRequest("The body must be a JSON object or a non-empty array of objects.")
    if len(values) > max_records:
        raise BadRequest(f"At most {max_records} records can be created at once.")
    return [_coerce_item(index, item, model, fields_of, lines) for index, item in enumerate(values)]


def _coerce_item(index: int, item: object, model: str, fields_of: FieldsOf, lines: Lines | None) -> dict:
    """One element of a create array; errors say which (0-based) index."""
    if not isinstance(item, dict):
        raise BadRequest(f"Record {index}: must be a JSON object of field values.")
    try:
        return coerce_values(item, model, fields_of, lines)
    except BadRequest as exc:
        raise BadRequest(f"Record {index}: {exc.detail}") from None


def _coerce_record(values: object, ctx: _Context) -> dict:
    """coerce_values of the record ``ctx`` names, at its nesting depth."""
    if not isinstance(values, dict) or not all(isinstance(key, str) for key in values):
        raise BadRequest("The body must be a JSON object of field values.")
    fields = _fields(ctx.model, ctx.fields_of)
    return {name: _coerce_field(fields, ctx.model, name, value, ctx) for name, value in values.items()}


def _fields(model: str, fields_of: FieldsOf) -> Mapping[str, FieldInfo]:
    """The fields of ``model``, or a 400 for a model that does not exist."""
    try:
        return fields_of(model)
    except KeyError:
        raise BadRequest(f"Unknown model {_label(model)}.") from None


def _coerce_field(
    fields: Mapping[str, FieldInfo], model: str, name: str, value: object, ctx: _Context
) -> object:
    """Check that ``name`` is writable on ``model`` and convert its value."""
    if name == "id":
        raise BadRequest("Field 'id' cannot be written.")
    field = fields.get(name)
    if field is None:
        raise BadRequest(f"Unknown field {_label(name)} on model {_label(model)}.")
    return _CONVERTERS.get(field.type, _passthrough)(field, value, ctx)


# --- helpers -------------------------------------------------------------------------------------------


def _label(name: object) -> str:
    """A field or model name fit for a message: truncated, quoted by repr()."""
    return repr(str(name)[:NAME_LIMIT])


def _expects(field: FieldInfo, expected: str) -> BadRequest:
    """The error for a value of the wrong type; deliberately without the value."""
    return BadRequest(f"Field {_label(field.name)} expects {expected}.")


def _is_int(value: object) -> bool:
    # bool is a subclass of int, but True is never meant as 1 in a JSON body.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_id(value: object) -> bool:
    return _is_int(value) and 0 < value <= INT_MAX


def _is_empty(value: object) -> bool:
    # Odoo reads an empty value as False; JSON clients often send null instead.
    return value is False or value is None


# --- scalar converters ---------------------------------------------------------------------------------


def _passthrough(field: FieldInfo, value: object, ctx: _Context) -> object:
    """json, properties and unknown types: the ORM gets the JSON value as it is."""
    return value


def _to_string(field: FieldInfo, value: object, ctx: _Context) -> object:
    if _is_empty(value):
        return False
    # PostgreSQL refuses NUL in text; catching it here keeps it a 400, not a 500.
    if not isinstance(value, str) or "\x00" in value:
        raise _expects(field, "a string (without NUL characters) or null")
    return value


def _to_selection(field: FieldInfo, value: object, ctx: _Context) -> object:
    if _is_empty(value):
        return False
    allowed = field.selection
    if isinstance(value, str) and "\x00" not in value and (allowed is None or value in allowed):
        return value
    if allowed is None:
        raise _expects(field, "a string or null")
    shown = ", ".join(repr(key) for key in allowed[:SELECTION_SHOWN])
    more = ", ..." if len(allowed) > SELECTION_SHOWN else ""
    raise _expects(field, f"one of {shown}{more} or null")


def _to_integer(field: FieldInfo, value: object, ctx: _Context) -> object:
    if not _is_int(value) or not INT_MIN <= value <= INT_MAX:
        raise _expects(field, f"an integer between {INT_MIN} and {INT_MAX}")
    return value


def _to_float(field: FieldInfo, value: object, ctx: _Context) -> object:
    # abs() < limit is False for NaN and infinities too, and never overflows on huge ints.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) < FLOAT_LIMIT:
        raise _expects(field, "a finite number")
    return value


def _to_boolean(field: FieldInfo, value: object, ctx: _Context) -> object:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _expects(field, "true or false")
    return value


def _to_date(field: FieldInfo, value: object, ctx: _Context) -> object:
    if _is_empty(value):
        return False
    # The regex first: fromisoformat alone would also take week dates such as "2024-W01-1".
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise _expects(field, "a date 'YYYY-MM-DD' or null")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise _expects(field, "a date 'YYYY-MM-DD' or null") from None


def _to_datetime(field: FieldInfo, value: object, ctx: _Context) -> object:
    if _is_empty(value):
        return False
    match = _DATETIME_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _expects(field, "an ISO 8601 datetime such as '2024-03-04T05:06:07Z' or null")
    try:
        return _utc_text(match)
    except (ValueError, OverflowError):
        raise _expects(field, "an ISO 8601 datetime such as '2024-03-04T05:06:07Z' or null") from None


def _utc_text(match: re.Match) -> str:
    """The matched datetime as Odoo's naive UTC 'YYYY-MM-DD HH:MM:SS'; fractions dropped."""
    # "Z" spelled as an offset: Python 3.10 (still supported by Odoo 18) rejects "Z" in fromisoformat.
    offset = "+00:00" if match["tz"] == "Z" else match["tz"] or ""
    moment = datetime.fromisoformat(f"{match['date']}T{match['time'] or '00:00:00'}{offset}")
    if moment.tzinfo is not None:
        # Shift by the offset rather than astimezone(): no tz object needed for a naive UTC result.
        moment = (moment - moment.utcoffset()).replace(tzinfo=None)
    return moment.isoformat(sep=" ")


def _to_binary(field: FieldInfo, value: object, ctx: _Context) -> object:
    if _is_empty(value):
        return False
    if not isinstance(value, str):
        raise _expects(field, "a base64 string or null")
    # Some encoders drop the "=" padding; the ORM decodes strictly, so it is put back.
    padded = value + "=" * (-len(value) % 4)
    try:
        base64.b64decode(padded, validate=True)
    except ValueError:  # binascii.Error, and non-ASCII text
        raise _expects(field, "a base64 string or null") from None
    return padded


def _to_reference(field: FieldInfo, value: object, ctx: _Context) -> object:
    if _is_empty(value):
        return False
    if not isinstance(value, str) or not _REFERENCE_RE.fullmatch(value):
        raise _expects(field, "a reference 'model.name,id' or null")
    return value


def _to_many2one(field: FieldInfo, value: object, ctx: _Context) -> object:
    if _is_empty(value):
        return False
    if _is_id(value):
        return value
    # The read shape [id, "display name"] is accepted so a GET result can be sent back.
    if isinstance(value, (list, tuple)) and len(value) == 2 and _is_id(value[0]):
        return value[0]
    # {"id": 3} (API.md section 10); other keys would read as a write of that record: refused
    if isinstance(value, dict) and value.keys() == {"id"} and _is_id(value["id"]):
        return value["id"]
    raise _expects(field, 'a record id, [id, name], {"id": id} or null')


# --- x2many --------------------------------------------------------------------------------------------


def _to_x2many(field: FieldInfo, value: object, ctx: _Context) -> object:
    if _is_empty(value):
        return [(5, 0, 0)]
    if not isinstance(value, (list, tuple)):
        raise _expects(field, "a list of record ids or of x2many commands")
    if len(value) > MAX_COMMANDS:
        raise _expects(field, f"at most {MAX_COMMANDS} items")
    # The read shape, a plain list of ids, replaces the whole set.
    if all(_is_int(item) for item in value):
        return [(6, 0, _ids(value, f"Field {_label(field.name)}"))]
    if any(isinstance(item, dict) for item in value):
        return [_line(field, index, item, ctx) for index, item in enumerate(value)]
    return [_command(field, index, item, ctx) for index, item in enumerate(value)]


def _ids(ids: object, where: str) -> list[int]:
    """A list of record ids, each a positive int4."""
    if not isinstance(ids, (list, tuple)) or len(ids) > MAX_COMMANDS:
        raise BadRequest(f"{where}: expects a list of at most {MAX_COMMANDS} record ids.")
    if not all(_is_id(item) for item in ids):
        raise BadRequest(f"{where}: record ids must be integers between 1 and {INT_MAX}.")
    return list(ids)


def _command(field: FieldInfo, index: int, item: object, ctx: _Context) -> tuple:
    """Validate and normalise one x2many command to Odoo's 3-tuple form."""
    where = f"Field {_label(field.name)} command {index}"
    if not isinstance(item, (list, tuple)) or not item:
        raise BadRequest(
            f"{where}: expected a command list such as [4, id]; ids and commands cannot be mixed."
        )
    code = item[0]
    if not _is_int(code) or code not in _COMMANDS:
        raise BadRequest(f"{where}: unknown command; the first item must be an integer from 0 to 6.")
    handler, min_len = _COMMANDS[code]
    if not min_len <= len(item) <= 3:
        raise BadRequest(f"{where}: command {code} takes {min_len} to 3 items.")
    return handler(field, item, where, ctx)


def _record_id(item: tuple | list, where: str) -> int:
    if not _is_id(item[1]):
        raise BadRequest(f"{where}: the record id must be an integer between 1 and {INT_MAX}.")
    return item[1]


def _cmd_create(field: FieldInfo, item: tuple | list, where: str, ctx: _Context) -> tuple:
    # The second item is a client-side virtual id (0 or a string); the ORM ignores it.
    if not (_is_int(item[1]) or isinstance(item[1], str)):
        raise BadRequest(f"{where}: the second item of CREATE must be 0 or a virtual id.")
    return (0, 0, _nested(field, item[2], where, ctx))


def _cmd_update(field: FieldInfo, item: tuple | list, where: str, ctx: _Context) -> tuple:
    line_id = _record_id(item, where)
    return (1, line_id, _nested(field, item[2], where, ctx, line_id))


def _cmd_by_id(field: FieldInfo, item: tuple | list, where: str, ctx: _Context) -> tuple:
    return (item[0], _record_id(item, where), 0)


def _cmd_clear(field: FieldInfo, item: tuple | list, where: str, ctx: _Context) -> tuple:
    return (5, 0, 0)


def _cmd_set(field: FieldInfo, item: tuple | list, where: str, ctx: _Context) -> tuple:
    if item[1] not in (0, None):  # 0, false or null (false == 0)
        raise BadRequest(f"{where}: the second item of SET must be 0.")
    return (6, 0, _ids(item[2], where))


def _nested(field: FieldInfo, vals: object, where: str, ctx: _Context, line_id: int | None = None) -> dict:
    """The values of a CREATE/UPDATE command or a line object, validated on the related model
    (``line_id``: the line they update; None for a new line)."""
    if not isinstance(vals, dict):
        raise BadRequest(f"{where}: expected a JSON object of field values.")
    if ctx.depth >= MAX_DEPTH:
        raise BadRequest(f"{where}: lines are nested deeper than {MAX_DEPTH} levels.")
    if not field.relation:
        raise BadRequest(f"{where}: the related model of this field is unknown.")
    try:
        return _coerce_record(vals, ctx.line(field.relation, line_id))
    except BadRequest as exc:
        raise BadRequest(f"{where}: {exc.detail}") from None


# --- nested writes: line objects (API.md section 10) ---------------------------------------------------


def _line(field: FieldInfo, index: int, item: object, ctx: _Context) -> tuple:
    """One item of a nested write, as the command a client could have sent instead.

    A bare id links a record: (4, id). On a one2many that moves the line to
    this record, as Odoo's LINK does, and the walls count it as a write of the
    line (lib.walls.O2M_COMMANDS).
    """
    where = f"Field {_label(field.name)} item {index}"
    if _is_int(item):
        if not _is_id(item):
            raise BadRequest(f"{where}: record ids must be integers between 1 and {INT_MAX}.")
        return (4, item, 0)
    if not isinstance(item, dict):
        raise BadRequest(
            f"{where}: expected a line object or a record id; commands cannot be mixed with them."
        )
    if "_delete" in item:
        return _line_delete(field, item, where, ctx)
    if "id" not in item:
        return (0, 0, _nested(field, item, where, ctx))
    line_id = _line_id(field, item, where, ctx)
    vals = {key: value for key, value in item.items() if key != "id"}
    return (1, line_id, _nested(field, vals, where, ctx, line_id))


def _line_delete(field: FieldInfo, item: dict, where: str, ctx: _Context) -> tuple:
    """``{"id": 5, "_delete": true}``: a one2many deletes the line, a many2many unlinks it."""
    if item["_delete"] is not True:
        raise BadRequest(f"{where}: '_delete' can only be true.")
    if item.keys() - {"id", "_delete"}:
        raise BadRequest(f"{where}: an object with '_delete' takes only 'id' besides.")
    line_id = _line_id(field, item, where, ctx)
    return (2 if field.type == "one2many" else 3, line_id, 0)


def _line_id(field: FieldInfo, item: dict, where: str, ctx: _Context) -> int:
    """The id of the existing line ``item`` names, noted for the caller to check that it is one."""
    line_id = item.get("id")
    if not _is_id(line_id):
        raise BadRequest(f"{where}: 'id' must be an integer between 1 and {INT_MAX}.")
    if ctx.record_id is None:
        raise BadRequest(
            f"{where}: a record being created has no lines yet; an object with 'id' names a line "
            "of an existing record."
        )
    if ctx.lines is None:
        raise BadRequest(f"{where}: an object with 'id' cannot be used here.")
    ctx.lines.add(ctx.model, ctx.record_id, field.name, line_id)
    return line_id


# command number -> (handler, minimum length); every command has at most 3 items.
_COMMANDS: dict[int, tuple[Callable[[FieldInfo, tuple | list, str, _Context], tuple], int]] = {
    0: (_cmd_create, 3),
    1: (_cmd_update, 3),
    2: (_cmd_by_id, 2),
    3: (_cmd_by_id, 2),
    4: (_cmd_by_id, 2),
    5: (_cmd_clear, 1),
    6: (_cmd_set, 3),
}

# Odoo field type -> converter; a type not listed (json, properties, ...) passes through.
_CONVERTERS: dict[str, Converter] = {
    "char": _to_string,
    "text": _to_string,
    "html": _to_string,
    "selection": _to_selection,
    "integer": _to_integer,
    "many2one_reference": _to_integer,
    "float": _to_float,
    "monetary": _to_float,
    "boolean": _to_boolean,
    "date": _to_date,
    "datetime": _to_datetime,
    "binary": _to_binary,
    "reference": _to_reference,
    "many2one": _to_many2one,
    "one2many": _to_x2many,
    "many2many": _to_x2many,
    "json": _passthrough,
    "properties": _passthrough,
    "properties_definition": _passthrough,
}
