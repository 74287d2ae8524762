"""What an ``execute_kw`` call of an ORM method touches (API.md sections 3 and 8).

Each known method names its scope operation on the model and how its
arguments, bound to the method's signature by the caller, feed a
``walls.Reach``: which argument is a domain, an order, a specification,
values, field paths... A method not listed here needs the ``execute``
scope; its arguments are its own business.

``limit`` names the argument a search-like method takes its page size from:
it is capped to ``rest_api.max_page_size`` (API.md section 8); a method
that returns groups without taking a limit has its answer capped instead.

What the walls walk follows the ORM's contract, not an override's spelling
(API.md section 8): ``bind`` binds a call's arguments to the method's *base*
signature (where Odoo first defines it), walks them under the base names,
and hands the override the same values at the same positions. An override
that cannot take them so (renamed parameters passed by name, a base
keyword landing in a parameter of its own) is refused with 400.
"""

from __future__ import annotations

import inspect
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
    # the answer is a mapping of groups with no limit argument: at most a page of them
    capped_answer: bool = False
    # what of the answer a key may see: (answer, readable(model) -> bool) -> answer
    shown: Callable[[object, Callable[[str], bool]], object] | None = None


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
    # import: a relational column links records found by name, id or external id (a read of its
    # model, an existence oracle otherwise); a path through it imports lines: each model it
    # passes through may be created or written
    for path in _string_list(arguments.get("fields"), "fields"):
        segments = [s for s in path.split("/") if s not in ("id", ".id")]
        if not segments:
            continue
        inner = Reach(reach.fields_of)
        _model, last = inner._path(model, "/".join(segments), "fields", "/")
        for comodel in inner.needs:
            reach.need(comodel, "read", "create", "write")
        if last.relation and last.type != "properties":
            reach.need(last.relation, "read")


def _string_list(value: object, where: str) -> list[str]:
    if value is None or value is False:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{where} must be a list of field paths.")
    return list(value)


def _field_path(name: str) -> Walker:
    # mapped("user_ids.login"), filtered("parent_id.is_company"): a path read on every record
    def walk(reach: Reach, model: str, arguments: Mapping[str, object]) -> None:
        path = arguments.get(name)
        if path is None or path is False:
            return
        if not isinstance(path, str):
            raise BadRequest(f"{name!r} must be a dot-separated field path.")
        reach._path(model, path, name)

    return walk


def _field_name(name: str) -> Walker:
    # sorted(key="name"), grouped("state"): one field of the model itself
    def walk(reach: Reach, model: str, arguments: Mapping[str, object]) -> None:
        value = arguments.get(name)
        if value is not None:
            reach._field(model, value, name)

    return walk


def _progress_bar(reach: Reach, model: str, arguments: Mapping[str, object]) -> None:
    # read_progress_bar(domain, group_by, progress_bar): it groups by both fields
    reach.domain(model, arguments.get("domain"))
    reach.groupby(model, arguments.get("group_by"))
    bar = arguments.get("progress_bar")
    if not isinstance(bar, Mapping) or not isinstance(bar.get("field"), str):
        raise BadRequest('progress_bar must be {"field": ..., "colors": {...}}.')
    reach.groupby(model, bar["field"])


def _property_definition(reach: Reach, model: str, arguments: Mapping[str, object]) -> None:
    full_name = arguments.get("full_name")
    if not isinstance(full_name, str) or full_name.count(".") != 1:
        raise BadRequest("full_name must be 'properties_field.property'.")
    if reach._field(model, full_name.split(".")[0], "full_name").type != "properties":
        raise BadRequest("full_name must name a properties field.")


def _views_in_scope(answer: object, readable: Callable[[str], bool]) -> object:
    # get_views describes the fields of every model its views name: only those the key may read
    if isinstance(answer, dict) and isinstance(answer.get("models"), dict):
        answer = dict(answer, models={m: d for m, d in answer["models"].items() if readable(m)})
    return answer


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
    "read_progress_bar": Method(READ, _progress_bar, capped_answer=True),
    "web_read": Method(READ, _args(specification="spec")),
    "web_search_read": Method(READ, _args(domain="domain", specification="spec", order="order"), limit="limit"),
    "name_search": Method(READ, _args(args="domain", domain="domain"), limit="limit"),
    "export_data": Method(READ, _args(fields_to_export="paths")),
    "onchange": Method(READ, _onchange),
    "search_panel_select_range": Method(READ, _search_panel, limit="limit"),
    "search_panel_select_multi_range": Method(READ, _search_panel, limit="limit"),
    "default_get": Method(READ, _args(fields_list="fields")),
    "fields_get": Method(READ),
    "get_views": Method(READ, shown=_views_in_scope),
    "get_view": Method(READ, shown=_views_in_scope),
    "get_external_id": Method(READ),
    "get_field_translations": Method(READ, _field_name("field_name")),
    "exists": Method(READ),
    "get_metadata": Method(READ),
    "check_access_rights": Method(READ),
    "check_access_rule": Method(READ),
    "check_access": Method(READ),
    "has_access": Method(READ),
    "check_field_access_rights": Method(READ),
    "mapped": Method(READ, _field_path("func")),
    "filtered": Method(READ, _field_path("func")),
    "filtered_domain": Method(READ, _args(domain="domain")),
    "sorted": Method(READ, _field_name("key")),
    "grouped": Method(READ, _field_name("key")),
    "get_property_definition": Method(READ, _property_definition),
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
    # translations: values of the records' own fields, in other languages
    "update_field_translations": Method(WRITE, _field_name("field_name")),
    "web_update_field_translations": Method(WRITE, _field_name("fname")),
    "web_override_translations": Method(WRITE, _args(values="write")),
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


def answer_may_hold_secret(name: str) -> bool:
    """Whether the answer of method ``name`` may hold a secret, and so is never kept
    by an Idempotency-Key: an ORM method's answer is records and values; any other
    method's may be a new key (``generate``) or an action showing a new secret."""
    return method(name) is EXECUTE


# ---------------------------------------------------------------- binding
POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True)
class Bound:
    """A call bound to the base signature: ``arguments`` by the base's names (what
    the walls walk), ``args``/``kwargs`` what the override is called with."""

    arguments: dict[str, object]
    args: list
    kwargs: dict[str, object]


def _bind(signature: inspect.Signature, args: list, kwargs: Mapping[str, object], name: str):
    try:
        return signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise BadRequest(f"Wrong arguments for {name!r}: {str(exc)[:200]}") from exc


def _var_keyword(signature: inspect.Signature) -> str | None:
    return next((p.name for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD), None)


def bind(
    name: str,
    base: inspect.Signature,
    override: inspect.Signature,
    args: list,
    kwargs: Mapping[str, object],
    limit: tuple[str, int] | None = None,
) -> Bound:
    """Bind ``args``/``kwargs`` (``self`` and a record method's ids excluded) to the
    method's ``base`` signature; with ``limit`` (argument name, page size) that
    argument is capped to the page size (a missing, null, 0 or larger one is
    the page size). The override is called positionally up to the last base
    parameter given, so it gets every walked value where the base has it."""
    arguments = dict(_bind(base, args, kwargs, name).arguments)
    extra_name = _var_keyword(base)
    if limit is not None:
        _cap(arguments, base, extra_name, *limit)
    params = list(base.parameters.values())
    positional = [p for p in params if p.kind in POSITIONAL]
    given = [i for i, p in enumerate(positional) if p.name in arguments]
    call_args = [arguments.get(p.name, p.default) for p in positional[: given[-1] + 1]] if given else []
    call_kwargs: dict[str, object] = {}
    for param in params:
        if param.name not in arguments:
            continue
        if param.kind is param.VAR_POSITIONAL:
            call_args.extend(arguments[param.name])
        elif param.kind is param.KEYWORD_ONLY:
            call_kwargs[param.name] = arguments[param.name]
    extras = dict(arguments.get(extra_name) or {}) if extra_name else {}
    own = {p.name for p in override.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    if landed := sorted(set(extras) & (own - set(base.parameters))):
        raise BadRequest(
            f"{name!r} of this model takes {landed[0][:60]!r} as an argument of its own, which Odoo's "
            f"{name!r} does not have: it cannot be checked against the key's scopes."
        )
    call_kwargs.update(extras)
    _bind(override, call_args, call_kwargs, name)
    return Bound(arguments, call_args, call_kwargs)


def _cap(
    arguments: dict[str, object], base: inspect.Signature, extra_name: str | None, name: str, maximum: int
) -> None:
    param = base.parameters.get(name)
    if param is not None and param.kind is not param.VAR_KEYWORD:
        holder = arguments
    elif extra_name:  # search_panel_select_range(field_name, **kwargs): kwargs["limit"]
        holder = arguments[extra_name] = dict(arguments.get(extra_name) or {})
    else:
        return
    value = holder.get(name)
    if (
        value is not None
        and value is not False
        and not (isinstance(value, int) and not isinstance(value, bool) and value >= 0)
    ):
        raise BadRequest(f"{name!r} must be a whole number from 0 to {maximum}.")
    if not value or value > maximum:
        holder[name] = maximum


def capped_answer(answer: object, maximum: int) -> object:
    """At most ``maximum`` groups of an answer that is a mapping of groups."""
    if isinstance(answer, dict) and len(answer) > maximum:
        return dict(list(answer.items())[:maximum])
    return answer
