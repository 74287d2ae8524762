"""Scopes are a wall, not a door sign (API.md section 8).

A call touches more than the model in its URL: a domain path such as
``user_ids.login`` reads ``res.users``, an x2many command in a body creates
or deletes lines of another model, a ``web_read`` specification reads every
model it expands. This module is the one place that works out what a call
reaches. Every route feeds what it is about to hand the ORM (domains,
orders, field paths, specifications, group-bys, values) into one ``Reach``,
which collects ``model -> operations`` and checks them against the key's
scopes at once, before the ORM runs.

The rules:

- a field path, a relational term whose value is not a record id (a name
  search), ``any``/``not any``, ``child_of``/``parent_of``, an ``order`` or
  group-by through a relation or a non-stored related field, and an expanded
  specification need ``read`` on every model they pass through;
- an x2many command needs the operation it performs on the related model:
  CREATE (0) ``create``, UPDATE (1) ``write``, DELETE (2) ``delete``; on a
  one2many, LINK (4) rewrites the line (``write``) and UNLINK (3), CLEAR (5)
  and SET (6) detach lines (``delete``; SET also links: ``write``); on a
  many2many, LINK, UNLINK, CLEAR and SET change only the relation and need
  ``read`` on the records they name;
- what Odoo computes by itself (defaults, computed and related values,
  display names of many2one values) is not walked; an expanded many2one
  that asks only for ``display_name`` reads nothing more than the value;
- an ``ir.attachment`` linked to a record (``res_model``) is part of that
  record: reading it needs ``read`` on ``res_model``, creating, writing or
  deleting it (or linking it there) needs ``write`` on ``res_model``, as Odoo
  holds it to the record's own access rights. The values of a create or write
  are walked here; the handlers feed ``linked`` the ``res_model`` of the
  attachments a call names, and narrow a search with ``attachment_domain``.

Shapes the walker cannot read are refused with 400 rather than let through.
Pure Python: the field metadata comes in as ``fields_of``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import BadRequest, Forbidden
from .fieldinfo import FieldInfo, FieldsOf
from .query import check_context

ECHO_LIMIT = 60
RELATIONAL = frozenset({"many2one", "one2many", "many2many"})
X2MANY = frozenset({"one2many", "many2many"})
LOGICAL = frozenset({"&", "|", "!"})
# operators whose value is a domain on the related model
SUBDOMAIN_OPERATORS = frozenset({"any", "not any"})
# operators that walk the related model's hierarchy
HIERARCHY_OPERATORS = frozenset({"child_of", "parent_of"})
MAX_WALK_DEPTH = 64

# x2many command -> operations on the related model, per field type
O2M_COMMANDS = {
    0: ("create",),
    1: ("write",),
    2: ("delete",),
    3: ("delete",),
    4: ("write",),
    5: ("delete",),
    6: ("write", "delete"),
}
_OWN = object()  # check() without an argument: the scopes the Reach was made with
ATTACHMENT = "ir.attachment"
# an operation on an attachment -> what it needs on the model of the record it is linked to
# (Odoo's ir.attachment.check: creating and deleting an attachment change the record)
LINKED_OPERATIONS = {"read": "read", "write": "write", "create": "write", "delete": "write"}
M2M_COMMANDS = {
    0: ("create",),
    1: ("write",),
    2: ("delete",),
    3: ("read",),
    4: ("read",),
    5: (),
    6: ("read",),
}


def _show(text: object) -> str:
    return repr(str(text)[:ECHO_LIMIT])


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_id_value(value: object) -> bool:
    """A value that names records by id only (or none): no name search on the related model."""
    if value is False or value is None or _is_id(value):
        return True
    return isinstance(value, (list, tuple)) and all(v is False or v is None or _is_id(v) for v in value)


class Reach:
    """What one call touches: ``model -> operations`` it needs, filled by the walkers.

    The walkers return ``self`` so that a call reads as one expression::

        Reach(fields_of).domain(model, domain).order(model, order).check(scopes)
    """

    __slots__ = ("fields_of", "needs", "scope_map")

    def __init__(self, fields_of: FieldsOf, scope_map: Mapping[str, Iterable[str]] | None = None):
        self.fields_of = fields_of
        self.scope_map = scope_map  # what check() holds the call to when given no other
        self.needs: dict[str, set[str]] = {}

    # ------------------------------------------------------------ core
    def need(self, model: str, *operations: str) -> Reach:
        self.needs.setdefault(model, set()).update(operations)
        return self

    def missing(self, scope_map: Mapping[str, Iterable[str]] | None) -> tuple[str, tuple[str, ...]] | None:
        """The first model (by name) with operations outside ``scope_map``; None when all are inside.

        ``scope_map`` None means all models with every operation.
        """
        if scope_map is None:
            return None
        for model in sorted(self.needs):
            lacking = self.needs[model] - set(scope_map.get(model, ()))
            if lacking:
                return model, tuple(sorted(lacking))
        return None

    def check(self, scope_map: Mapping[str, Iterable[str]] | None | object = _OWN) -> Reach:
        """Raise Forbidden when the call reaches past ``scope_map`` (by default the Reach's own)."""
        found = self.missing(self.scope_map if scope_map is _OWN else scope_map)
        if found:
            model, operations = found
            raise Forbidden(f"This API key's scopes do not allow {', '.join(operations)} on {model!r}.")
        return self

    def _fields(self, model: str) -> Mapping[str, FieldInfo]:
        try:
            return self.fields_of(model)
        except KeyError:
            raise BadRequest(f"Unknown model {_show(model)}.") from None

    def _field(self, model: str, name: object, where: str) -> FieldInfo:
        if not isinstance(name, str):
            raise BadRequest(f"Field names in {where} must be strings.")
        info = self._fields(model).get(name)
        if info is None:
            raise BadRequest(f"Unknown field {_show(name)} on model {_show(model)} in {where}.")
        return info

    def _related(self, info: FieldInfo) -> None:
        """A non-stored related field is a path: its query passes through these models."""
        for model in info.related_models:
            self.need(model, "read")

    def _path(self, model: str, path: str, where: str, separator: str = ".") -> tuple[str, FieldInfo]:
        """Follow a field path; every model it passes through is read. Returns (model, last field)."""
        segments = path.split(separator)
        info = None
        for index, segment in enumerate(segments):
            info = self._field(model, segment, where)
            self._related(info)
            if info.type == "properties":  # the rest names properties, not fields
                break
            if index < len(segments) - 1:
                if not info.relation:
                    raise BadRequest(
                        f"Field {_show(segment)} is not relational; cannot follow {_show(path)}."
                    )
                model = info.relation
                self.need(model, "read")
        return model, info

    # ------------------------------------------------------------ reads
    def domain(self, model: str, domain: object, depth: int = 0) -> Reach:
        """A search domain on ``model`` (prefix notation, terms as lists or tuples)."""
        if domain is None or domain is False:
            return self
        if not isinstance(domain, (list, tuple)):
            raise BadRequest("A domain must be a list of terms and operators.")
        if depth > MAX_WALK_DEPTH:
            raise BadRequest("The domain is nested too deeply.")
        for element in domain:
            if isinstance(element, str):
                if element not in LOGICAL:
                    raise BadRequest(f"Unknown domain operator {_show(element)}.")
            elif isinstance(element, (list, tuple)) and len(element) == 3:
                self._term(model, element, depth)
            else:
                raise BadRequest(
                    "Each domain element must be '&', '|', '!' or a [field, operator, value] term."
                )
        return self

    def _term(self, model: str, term: list | tuple, depth: int) -> None:
        path, operator, value = term
        if path in (0, 1) and not isinstance(path, bool) and operator == "=" and value == 1:
            return  # Odoo's TRUE_LEAF / FALSE_LEAF
        if not isinstance(path, str) or not isinstance(operator, str):
            raise BadRequest("A domain term is [field path, operator, value] with strings for both.")
        last_model, info = self._path(model, path, "domain")
        if info.type == "properties" or not info.relation:
            return
        comodel = info.relation
        if operator in SUBDOMAIN_OPERATORS:
            self.need(comodel, "read")
            self.domain(comodel, value, depth + 1)
        elif operator in HIERARCHY_OPERATORS or not _is_id_value(value):
            self.need(comodel, "read")

    def order(self, model: str, order: object) -> Reach:
        """An ``order`` such as ``name desc, partner_id`` (read_group's aggregates and ``__count`` too)."""
        if order is None or order is False or order == "":
            return self
        if not isinstance(order, str):
            raise BadRequest("An order must be a string such as 'name desc, id'.")
        for term in order.split(","):
            words = term.split()
            if not words:
                continue
            name = words[0].strip('"')
            if name == "__count":
                continue
            name = name.split(":")[0]  # read_group: "qty:sum desc", "date:month"
            last_model, info = self._path(model, name, "order")
            if info.type == "many2one":  # ordered by the related model's own order
                self.need(info.relation, "read")
        return self

    def groupby(self, model: str, specs: object) -> Reach:
        """Group-by specifications: ``field``, ``field:granularity``, ``properties_field.name``."""
        for spec in _as_list(specs, "groupby"):
            if not isinstance(spec, str):
                raise BadRequest("Each groupby must be a field name.")
            name = spec.split(":")[0].split(".")[0]
            self._related(self._field(model, name, "groupby"))
        return self

    def aggregates(self, model: str, specs: object) -> Reach:
        """read_group's ``fields``: ``field``, ``field:agg``, ``alias:agg(field)``, ``__count``."""
        for spec in _as_list(specs, "fields"):
            if not isinstance(spec, str):
                raise BadRequest("Each aggregate must be a string such as 'amount:sum'.")
            if spec.split(":")[0] == "__count":
                continue
            name, _sep, function = spec.partition(":")
            if "(" in function and function.endswith(")"):
                name = function[function.index("(") + 1 : -1]
            if name and name != "__count":
                self._path(model, name.strip(), "fields")
        return self

    def fields(self, model: str, names: object) -> Reach:
        """Plain field names read on ``model`` (no paths): each must exist. A related field's
        value is Odoo's own computation: reading it does not reach its path."""
        for name in _as_list(names, "fields"):
            self._field(model, name, "fields")
        return self

    def paths(self, model: str, paths: object, separator: str = "/") -> Reach:
        """Field paths as export and import name them (``partner_id/name``, ``.id``, ``id`` suffixes)."""
        for path in _as_list(paths, "fields"):
            if not isinstance(path, str):
                raise BadRequest("Field paths must be strings.")
            segments = [s for s in path.split(separator) if s not in ("id", ".id")]
            if segments:
                self._path(model, separator.join(segments), "fields", separator)
        return self

    def spec(self, model: str, spec: object, depth: int = 0) -> Reach:
        """A ``web_read`` specification: ``{field: {"fields": {...}, "order": ..., "domain": ...}}``."""
        if spec is None:
            return self
        if not isinstance(spec, Mapping):
            raise BadRequest("A specification must be an object {field: {...}}.")
        if depth > MAX_WALK_DEPTH:
            raise BadRequest("The specification is nested too deeply.")
        for name, sub in spec.items():
            info = self._field(model, name, "specification")
            if sub in (None, False) or (isinstance(sub, Mapping) and not sub):
                continue
            if not isinstance(sub, Mapping):
                raise BadRequest(f"The specification of {_show(name)} must be an object.")
            if info.type in ("reference", "many2one_reference") and set(sub.get("fields") or ()) - {
                "display_name"
            }:
                # web_read reads the referenced record, of whatever model it names: no scope
                # can be checked before the call, so a key with scopes may not expand it
                raise Forbidden(
                    f"This API key's scopes do not allow expanding {_show(name)}: a reference may lead "
                    "to any model."
                )
            if info.type == "properties" or not info.relation:
                continue
            comodel = info.relation
            if sub.get("fields"):
                if not isinstance(sub["fields"], Mapping):
                    raise BadRequest(f"The fields of {_show(name)} must be an object.")
                # a many2one's display name is what reading it gives anyway; any more is a read
                if info.type != "many2one" or set(sub["fields"]) - {"display_name"}:
                    self.need(comodel, "read")
                self.spec(comodel, sub["fields"], depth + 1)
            if sub.get("order"):
                self.need(comodel, "read")
                self.order(comodel, sub["order"])
            if sub.get("domain"):
                self.need(comodel, "read")
                self.domain(comodel, sub["domain"])
            if sub.get("context") is not None:  # web_read reads the lines with it: the same allow-list
                check_context(sub["context"])
        return self

    # ------------------------------------------------------------ attachments
    def linked(self, res_models: Iterable[object], operation: str) -> Reach:
        """Attachments linked to records of ``res_models`` (their ``res_model``, False when
        unlinked), read or changed by ``operation``: ``LINKED_OPERATIONS`` on each model."""
        for res_model in res_models:
            if res_model and isinstance(res_model, str):
                self.need(res_model, LINKED_OPERATIONS[operation])
        return self

    # ------------------------------------------------------------ writes
    def values(self, model: str, vals: object, operation: str | None = None, depth: int = 0) -> Reach:
        """Field values written to ``model`` (``operation`` on the record itself, if any):
        every x2many command needs its operation on the related model, nested values too.

        A route's body is walked as lib.values converted it: the line objects of a
        nested write (API.md section 10) are commands by then, walked as if the
        client had sent those; an object left among the commands is refused."""
        if operation:
            self.need(model, operation)
        if vals is None or vals is False:
            return self
        if not isinstance(vals, Mapping):
            raise BadRequest("Field values must be an object {field: value}.")
        if depth > MAX_WALK_DEPTH:
            raise BadRequest("Commands are nested too deeply.")
        if model == ATTACHMENT and isinstance(vals.get("res_model"), str):
            self.linked([vals["res_model"]], "write")  # attaching to a record changes that record
        for name, value in vals.items():
            info = self._field(model, name, "values")
            if info.type in X2MANY and info.relation:
                self._commands(info, value, depth)
            elif info.type == "many2one" and info.relation and value not in (None, False, 0):
                # linking a record of the related model (a plain id, or section 10's {"id": N}):
                # read on that model, as an x2many link; Odoo's answer tells whether the id exists
                self.need(info.relation, "read")
            elif info.type == "reference" and isinstance(value, str) and "," in value:
                self.need(value.split(",", 1)[0].strip(), "read")
        return self

    def values_list(self, model: str, vals_list: object, operation: str | None = None) -> Reach:
        """``create``'s argument: one object of values or a list of them."""
        if isinstance(vals_list, Mapping):
            return self.values(model, vals_list, operation)
        for vals in _as_list(vals_list, "values"):
            self.values(model, vals, operation)
        if operation:
            self.need(model, operation)
        return self

    def _commands(self, info: FieldInfo, value: object, depth: int) -> None:
        table = O2M_COMMANDS if info.type == "one2many" else M2M_COMMANDS
        comodel = info.relation
        if value is False or value is None:
            self.need(comodel, *table[5])
            return
        if not isinstance(value, (list, tuple)):
            raise BadRequest(f"Field {_show(info.name)} expects a list of ids or of x2many commands.")
        if value and all(_is_id(item) for item in value):  # a list of ids: SET
            self.need(comodel, *table[6])
            return
        for item in value:
            if not isinstance(item, (list, tuple)) or not item or not _is_id(item[0]) or item[0] not in table:
                raise BadRequest(f"Field {_show(info.name)}: each item must be an x2many command [0-6, ...].")
            code = item[0]
            self.need(comodel, *table[code])
            if code in (0, 1) and len(item) > 2:
                self.values(comodel, item[2], None, depth + 1)


def attachment_domain(scope_map: Mapping[str, Iterable[str]] | None) -> list | None:
    """The attachments a key may read: unlinked, or linked to a model the scopes let it
    read (None: every attachment, an all-models key). A search of ``ir.attachment``
    is narrowed by it, as Odoo's own search leaves out what the user cannot read."""
    if scope_map is None:
        return None
    readable = sorted(model for model, operations in scope_map.items() if "read" in operations)
    return ["|", ["res_model", "=", False], ["res_model", "in", readable]]


def _as_list(value: object, where: str) -> list:
    if value is None or value is False:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise BadRequest(f"{where} must be a list.")
    return list(value)
