"""What lib/ needs to know about a model's field, independent of Odoo."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldInfo:
    """One field of a model as the caller may see it.

    ``type`` is Odoo's field type name (char, text, html, integer, float,
    monetary, boolean, date, datetime, selection, many2one, one2many,
    many2many, binary, reference, many2one_reference, json, properties...).
    ``selection`` lists the allowed keys of a selection field, or is None
    when the list is not known in advance.
    """

    name: str
    type: str
    relation: str | None = None
    required: bool = False
    readonly: bool = False
    store: bool = True
    searchable: bool = True
    sortable: bool = True
    # Odoo can group by it (read_group), and put an aggregate of it in SQL (a stored
    # column, or a related field Odoo follows in SQL)
    groupable: bool = True
    aggregatable: bool = True
    selection: tuple[str, ...] | None = None
    string: str = ""
    help: str = ""
    # Odoo fills the field in on create by itself (a default, a compute or a related field)
    has_default: bool = False
    # a non-stored related field (not an inherited one): the models its path passes
    # through, which a query on it reads (API.md section 8)
    related_models: tuple[str, ...] = ()


# model name -> {field name: FieldInfo} for the fields the caller can read;
# raises KeyError for a model that does not exist.
FieldsOf = Callable[[str], Mapping[str, FieldInfo]]
