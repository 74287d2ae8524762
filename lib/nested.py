"""Nested reads (API.md section 10): ``fields`` as Odoo's ``web_read`` specification.

``fields`` names what a read returns: ``name,email`` or a list (section 4),
or a specification that expands relations, as JSON
(``{"name": {}, "partner_id": {"fields": {"name": {}, "email": {}}}}``) or
in the compact form ``name,partner_id{name,email},child_ids{name}``.
``parse`` reads any of them and checks it against the caller's readable
fields: a specification that expands something gives a ``Nested``, one that
expands nothing the plain list of names, so that such a read keeps the plain
path and its speed.

Refused with 400, by messages that may name a field or a position but never
a value: a field that does not exist or that the caller cannot read (field
groups); ``{...}`` on a field that is not a many2one, one2many or many2many
(a reference's model is not known before it is read); empty braces; nesting
deeper than ``rest_api.max_expand_depth`` levels (``a{b{c{name}}}`` is 3; 0
turns nested reads off; never more than MAX_DEPTH); more than MAX_FIELDS
names or MAX_EXPANDED expanded fields in all; and in the JSON form anything
but ``fields`` in a field's specification (Odoo's ``context``, ``order`` and
``limit`` are not taken: a context goes through the ``context`` parameter's
allow-list).

The records are read by Odoo's ``web_read`` (addons/web/models/models.py),
one batch per level: the records of every expanded field of a level are read
together, whatever the number of records above. Its answer differs from
``read()`` in one place, which ``Nested.shape`` mends: a many2one that is
not expanded is ``[id, "display name"]`` here, as in a plain read, where
``web_read`` gives the bare id. An expanded many2one is an object with ``id``
and the fields asked (``false`` when empty), an expanded x2many an array of
such objects, in the field's own order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from . import query
from .errors import BadRequest
from .fieldinfo import FieldInfo, FieldsOf

SETTING = "rest_api.max_expand_depth"
RELATIONAL = frozenset({"many2one", "one2many", "many2many"})
MAX_FIELDS = query.MAX_FIELDS  # names in a whole specification, as in a plain list
MAX_EXPANDED = 50  # expanded fields in a whole specification: each is one more batch read
MAX_DEPTH = 16  # levels, whatever the setting says
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPACE_RE = re.compile(r"\s*")


@dataclass(frozen=True)
class Nested:
    """A checked specification of ``model``: each field's FieldInfo, and the
    ``Nested`` of its records when it is expanded (None when it is not)."""

    model: str
    fields: Mapping[str, tuple[FieldInfo, Nested | None]]

    @property
    def names(self) -> list[str]:
        """The fields of the top level, in the order asked."""
        return list(self.fields)

    def specification(self) -> dict:
        """Odoo's JSON form of what was asked (what ``lib.walls.Reach.spec`` walks)."""
        return {
            name: {} if sub is None else {"fields": sub.specification()}
            for name, (_info, sub) in self.fields.items()
        }

    def web_read(self) -> dict:
        """What Odoo's ``web_read`` is given: the specification, where a many2one that is
        not expanded asks for its display name (``shape`` makes it ``[id, name]``)."""
        spec = {}
        for name, (info, sub) in self.fields.items():
            if sub is not None:
                spec[name] = {"fields": sub.web_read()}
            elif info.type == "many2one":
                spec[name] = {"fields": {"display_name": {}}}
            else:
                spec[name] = {}
        return spec

    def reached(self, rows: list[dict], found: dict[str, set[int]] | None = None) -> dict[str, set[int]]:
        """model -> ids of the records the expanded fields of ``rows`` show, at every level
        (the records a nested read reached: API.md section 8 holds some of them by their data)."""
        found = {} if found is None else found
        for name, (_info, sub) in self.fields.items():
            if sub is None:
                continue
            items = []
            for row in rows:
                value = row.get(name)
                if isinstance(value, dict):
                    items.append(value)
                elif isinstance(value, list):
                    items.extend(item for item in value if isinstance(item, dict))
            ids = {item["id"] for item in items if isinstance(item.get("id"), int)}
            if ids:
                found.setdefault(sub.model, set()).update(ids)
                sub.reached(items, found)
        return found

    def shape(self, rows: list[dict]) -> list[dict]:
        """``web_read``'s rows in this API's shapes, changed in place; returns ``rows``.

        ``web_read`` gives records that several rows reach (one product on many
        lines) as one shared object: each is mended once, later visits find it done.
        """
        for row in rows:
            for name, (info, sub) in self.fields.items():
                value = row.get(name)
                if sub is None:
                    if info.type == "many2one" and isinstance(value, dict):
                        row[name] = [value["id"], value.get("display_name", False)]
                elif isinstance(value, dict):
                    sub.shape([value])
                elif isinstance(value, list):
                    sub.shape([item for item in value if isinstance(item, dict)])
        return rows


def parse(text: str | None, model: str, fields_of: FieldsOf, max_depth: int) -> list[str] | Nested | None:
    """The ``fields`` parameter: None when absent, a list of names when nothing is
    expanded, else a ``Nested``. ``max_depth``: ``rest_api.max_expand_depth``."""
    if text is None or not text.strip():
        return None
    if len(text) > query.MAX_TEXT_LENGTH:
        raise BadRequest(f"fields is too long (max {query.MAX_TEXT_LENGTH} characters).")
    max_depth = min(max_depth, MAX_DEPTH)
    first = text.lstrip()[0]
    if first in "[(":
        return query.parse_fields(text, model, fields_of)
    if first in "\"'":
        raise BadRequest(
            "fields must be a list, comma-separated field names or a specification such as "
            "name,partner_id{name}."
        )
    if first == "{":
        spec = query.load_specification(text)
        _measure(spec, max_depth)
    elif "{" in text or "}" in text:
        spec = parse_compact(text, max_depth)
    else:
        return query.parse_fields(text, model, fields_of)
    found = _check(spec, model, fields_of)
    if all(sub is None for _info, sub in found.fields.values()):
        return found.names
    return found


# ---------------------------------------------------------------- shape and size
def parse_compact(text: str, max_depth: int) -> dict:
    """``name,partner_id{name,email}`` in Odoo's JSON form, checked for syntax, depth
    and size only (the names are checked against a model by ``parse``)."""
    root: dict = {}
    level, above = root, []  # the level being read, and the ones it is inside
    last = None  # the name just read, which a "{" may expand
    want_name = True
    names = expanded = 0
    position = _SPACE_RE.match(text).end()
    while position < len(text):
        char = text[position]
        if name := _NAME_RE.match(text, position):
            if not want_name:
                raise _malformed("a ',' is missing", position)
            last = name.group()
            if last in level:
                raise BadRequest(f"Field {query.show(last)} is named twice at one level of fields.")
            names += 1
            _check_size(names, expanded)
            level[last], want_name, position = {}, False, name.end()
        elif char == "{":
            if last is None:
                raise _malformed("'{' must follow a field name", position)
            if len(above) + 1 > max_depth:
                raise _too_deep(max_depth)
            expanded += 1
            _check_size(names, expanded)
            above.append(level)
            level[last] = {"fields": {}}
            level, last, want_name, position = level[last]["fields"], None, True, position + 1
        elif char in "},":
            if want_name:
                raise _malformed("a field name is missing", position)
            if char == "}":
                if not above:
                    raise _malformed("'}' closes nothing", position)
                level = above.pop()
            last, want_name, position = None, char == ",", position + 1
        elif char == ".":
            raise _malformed("a path such as partner_id.name is written partner_id{name}", position)
        else:
            raise _malformed("field names are letters, digits and '_'", position)
        position = _SPACE_RE.match(text, position).end()
    if above:
        raise BadRequest("Malformed fields: a '{' is not closed.")
    if want_name:
        raise _malformed("a field name is missing", position)
    return root


def _measure(spec: object, max_depth: int) -> None:
    """Check a JSON specification's shape, depth and size (before any model is looked at)."""
    counts = {"names": 0, "expanded": 0}

    def walk(level: object, depth: int) -> None:
        if not isinstance(level, dict) or not level:
            raise BadRequest('A specification is a non-empty object {"field": {}, ...}.')
        for name, sub in level.items():
            counts["names"] += 1
            _check_size(counts["names"], counts["expanded"])
            if not isinstance(sub, dict):
                raise BadRequest(
                    f'The specification of {query.show(name)} must be {{}} or {{"fields": {{...}}}}.'
                )
            if set(sub) - {"fields"}:
                raise BadRequest(
                    f"The specification of {query.show(name)} may only hold 'fields' "
                    "(context, order and limit are not supported)."
                )
            if "fields" in sub:
                if depth + 1 > max_depth:
                    raise _too_deep(max_depth)
                counts["expanded"] += 1
                _check_size(counts["names"], counts["expanded"])
                walk(sub["fields"], depth + 1)

    walk(spec, 0)


def _check_size(names: int, expanded: int) -> None:
    if names > MAX_FIELDS:
        raise BadRequest(f"Too many fields (max {MAX_FIELDS} in a whole specification).")
    if expanded > MAX_EXPANDED:
        raise BadRequest(f"Too many expanded fields (max {MAX_EXPANDED} in a whole specification).")


def _malformed(reason: str, position: int) -> BadRequest:
    return BadRequest(f"Malformed fields at character {position + 1}: {reason}.")


def _too_deep(max_depth: int) -> BadRequest:
    if max_depth <= 0:
        return BadRequest(f"Nested reads are turned off ({SETTING} is 0): fields cannot expand relations.")
    return BadRequest(f"fields may expand relations at most {max_depth} levels deep ({SETTING}).")


# ---------------------------------------------------------------- against the models
def _check(spec: dict, model: str, fields_of: FieldsOf) -> Nested:
    """A well-formed specification checked against the caller's readable fields."""
    known = query.model_fields(model, fields_of)
    fields: dict[str, tuple[FieldInfo, Nested | None]] = {}
    for name, sub in spec.items():
        info = query.check_field_name(name, known, "fields")
        if "fields" not in sub:
            fields[name] = (info, None)
            continue
        if info.type not in RELATIONAL or not info.relation:
            raise BadRequest(
                f"Field {query.show(name)} is a {info.type} field: only a many2one, one2many or "
                "many2many can be expanded with {...}."
            )
        fields[name] = (info, _check(sub["fields"], info.relation, fields_of))
    return Nested(model, fields)
