"""What an ``execute_kw`` call of an ORM method touches (API.md sections 3 and 8).

Each known method names its scope operation on the model and how its
arguments, bound to the method's signature by the caller, feed a
``walls.Reach``: which argument is a domain, an order, a specification,
values, field paths... A method not listed here needs the ``execute``
scope; its arguments are its own business.

``limit`` names the argument a search-like method takes its page size from:
it is capped to ``rest_api.max_page_size`` (API.md section 8).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import BadRequest
from .walls import Reach

Walker = Callable[[Reach, str, Mapping[str, object]], None]


@dataclass(frozen=True)
class Method:
    """One ORM method as execute_kw sees it."""

    operations: frozenset[str]
    walk: Walker | None = None
    limit: str | None = None


def _args(**kinds: str) -> Walker:
    """A walker feeding each named argument to the Reach walker of that kind."""

    def walk(reach: Reach, model: str, arguments: Mapping[str, object]) -> None:
        for name, kind in kinds.items():
            value = arguments.get(name)
            if value is None:
                continue
            if kind == "create":
                reach.values_list(model, value, "create")
            elif kind == "write":
                reach.values(model, value, "write")
            elif kind == "default":  # copy(default=...): values of the new record
                reach.values(model, value, "create")
            else:
                getattr(reach, kind)(model, value)

    return walk


def _web_save(reach: Reach, model: str, arguments: Mapping[str, object]) -> None:
    # web_save([], vals) creates, web_save(ids, vals) writes: both are in the scope it needs
    reach.values(model, arguments.get("vals"), None)
    reach.spec(model, arguments.get("specification"))


def _onchange(reach: Reach, model: str, arguments: Mapping[str, object]) -> None:
    # nothing is written; lines named in the values are read back through the specification
    values = arguments.get("values")
    if values is not None:
        inner = Reach(reach.fields_of).values(model, values)
        for comodel in inner.needs:
            reach.need(comodel, "read")
    reach.spec(model, arguments.get("fields_spec"))


def _load(reach: Reach, model: str, arguments: Mapping[str, object]) -> None:
    # import: a path through an x2many creates or updates lines, one through a many2one finds
    # records by name (and reading is the least it needs); each model reached may be written
    inner = Reach(reach.fields_of).paths(model, arguments.get("fields"))
    for comodel in inner.needs:
        reach.need(comodel, "read", "create", "write")


def _search_panel(reach: Reach, model: str, arguments: Mapping[str, object]) -> None:
    field_name = arguments.get("field_name")
    if not isinstance(field_name, str):
        raise BadRequest("field_name must be a field name.")
    info = reach._field(model, field_name, "field_name")
    kwargs = arguments.get("kwargs") or {}
    if not isinstance(kwargs, Mapping):
        raise BadRequest("The search panel's options must be an object.")
    for name in ("category_domain", "filter_domain", "search_domain"):
        reach.domain(model, kwargs.get(name))
    for domain in (
        (kwargs.get("group_domain") or {}).values() if isinstance(kwargs.get("group_domain"), Mapping) else ()
    ):
        reach.domain(model, domain)
    if info.relation:
        reach.need(info.relation, "read")
        reach.domain(info.relation, kwargs.get("comodel_domain"))
        if kwargs.get("group_by"):
            reach.fields(info.relation, kwargs.get("group_by"))


READ = frozenset({"read"})
CREATE = frozenset({"create"})
WRITE = frozenset({"write"})

METHODS: dict[str, Method] = {
    # reads
    "search": Method(READ, _args(domain="domain", order="order"), limit="limit"),
    "search_count": Method(READ, _args(domain="domain")),
    "search_read": Method(READ, _args(domain="domain", fields="fields", order="order"), limit="limit"),
    "search_fetch": Method(READ, _args(domain="domain", field_names="fields", order="order"), limit="limit"),
    "read": Method(READ, _args(fields="fields")),
    "fetch": Method(READ, _args(field_names="fields")),
    "read_group": Method(READ, _args(domain="domain", fields="aggregates", groupby="groupby", orderby="order"),
                         limit="limit"),
    "web_read_group": Method(READ, _args(domain="domain", fields="aggregates", groupby="groupby",
                                         orderby="order"), limit="limit"),
    "read_progress_bar": Method(READ, _args(domain="domain", group_by="groupby")),
    "web_read": Method(READ, _args(specification="spec")),
    "web_search_read": Method(READ, _args(domain="domain", specification="spec", order="order"), limit="limit"),
    "name_search": Method(READ, _args(args="domain", domain="domain"), limit="limit"),
    "export_data": Method(READ, _args(fields_to_export="paths")),
    "onchange": Method(READ, _onchange),
    "search_panel_select_range": Method(READ, _search_panel),
    "search_panel_select_multi_range": Method(READ, _search_panel),
    "default_get": Method(READ, _args(fields_list="fields")),
    "fields_get": Method(READ),
    "get_views": Method(READ),
    "exists": Method(READ),
    "get_metadata": Method(READ),
    "check_access_rights": Method(READ),
    "check_access_rule": Method(READ),
    "check_access": Method(READ),
    "has_access": Method(READ),
    "check_field_access_rights": Method(READ),
    # creates
    "create": Method(CREATE, _args(vals_list="create")),
    "name_create": Method(CREATE),
    "copy": Method(CREATE, _args(default="default")),
    "copy_data": Method(CREATE, _args(default="default")),
    # writes
    "write": Method(WRITE, _args(vals="write")),
    "update": Method(WRITE, _args(values="write")),
    "action_archive": Method(WRITE),
    "action_unarchive": Method(WRITE),
    "toggle_active": Method(WRITE),
    # deletes
    "unlink": Method(frozenset({"delete"})),
    # create or write, depending on the arguments
    "web_save": Method(frozenset({"create", "write"}), _web_save),
    "load": Method(frozenset({"create", "write"}), _load),
}  # fmt: skip

EXECUTE = Method(frozenset({"execute"}))


def method(name: str) -> Method:
    """The table entry of ``name``; an unlisted method needs ``execute``."""
    return METHODS.get(name, EXECUTE)
