"""Parse the query-string parameters of the REST API into safe, checked values.

Every parser here takes text straight from an HTTP client and either returns a
value that is safe to hand to the ORM or raises ``BadRequest``. Messages go to
the client as they are: they may name a field or an operator, never a value.
Python literals are read by walking the AST, never by evaluating code.
"""

from __future__ import annotations

import ast
import functools
import json
import math
import re
import zoneinfo
from collections.abc import Mapping

from .errors import BadRequest
from .fieldinfo import FieldInfo, FieldsOf

MAX_TEXT_LENGTH = 65536
MAX_DEPTH = 32
MAX_BODY_DEPTH = 64
MAX_FIELDS = 1000
MAX_ORDER_LENGTH = 1000
MAX_COMPANY_IDS = 100
INT32_MAX = 2**31 - 1
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Longest text we echo back; enough to recognise a name, too short to abuse.
ECHO_LIMIT = 60

DOMAIN_OPERATORS = frozenset(
    {
        "=",
        "!=",
        "<=",
        "<",
        ">",
        ">=",
        "=?",
        "=like",
        "=ilike",
        "like",
        "not like",
        "ilike",
        "not ilike",
        "in",
        "not in",
        "child_of",
        "parent_of",
        "any",
        "not any",
    }
)
# Prefix-notation logical operators and how many operands each consumes.
LOGICAL_ARITY = {"&": 2, "|": 2, "!": 1}

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS_RE = re.compile(r"[0-9]+")
# es_419 (Latin American Spanish) is a real Odoo language code, hence the digits.
_LANG_RE = re.compile(r"[a-z]{2,3}(_[A-Z]{2}|_[0-9]{3})?(@[a-z]+)?")
_SORT_DIRECTIONS = frozenset({"asc", "desc"})
_NULLS_PLACEMENTS = frozenset({"first", "last"})


class _Malformed(ValueError):
    """Internal: text that is neither JSON nor a plain literal; carries a safe reason."""


# --------------------------------------------------------------------------- helpers


def show(text: object) -> str:
    """A client-supplied name, truncated and quoted for an error message."""
    return repr(str(text)[:ECHO_LIMIT])


def _is_blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _reject_constant(name: str) -> float:
    # json calls this for NaN/Infinity/-Infinity: none of them can reach SQL.
    raise _Malformed("NaN and Infinity are not allowed")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Malformed("numbers must be finite")
    return value


def _json_loads(text: str) -> object:
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)


def _check_tree(value: object, max_depth: int) -> None:
    """Refuse containers nested deeper than max_depth and strings that are not valid Unicode.

    Iterative on purpose: a recursive walk is what a deep document attacks.
    """
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _check_text(node)
        elif isinstance(node, (list, dict)):
            if depth + 1 > max_depth:
                raise _Malformed(f"nested too deeply (max {max_depth} levels)")
            children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)


def _check_text(text: str) -> None:
    # JSON "\ud800" decodes to a lone surrogate that fails later, when encoded for the database.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Malformed("strings must be valid Unicode") from None


# --------------------------------------------------------------------------- safe literal


def safe_literal(text: str, allow_dict: bool = False) -> object:
    """Read a Python literal (lists, tuples, str, int, float, bool, None) without running code.

    Tuples become lists so the result has JSON shapes; dicts (string keys only)
    are accepted only when ``allow_dict`` is true. Raises BadRequest otherwise.
    """
    if len(text) > MAX_TEXT_LENGTH:
        raise BadRequest(f"Literal is too long (max {MAX_TEXT_LENGTH} characters).")
    try:
        return _literal(text, allow_dict)
    except _Malformed as exc:
        raise BadRequest(f"Malformed literal: {exc}.") from None


def _literal(text: str, allow_dict: bool) -> object:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise _Malformed("not valid JSON nor a Python literal") from None
    try:
        return _convert(tree.body, allow_dict, 0)
    except RecursionError:
        raise _Malformed(f"nested too deeply (max {MAX_DEPTH} levels)") from None


def _convert(node: ast.AST, allow_dict: bool, depth: int) -> object:
    if isinstance(node, ast.Constant):
        return _convert_constant(node.value)
    if isinstance(node, ast.UnaryOp):
        return _convert_signed(node)
    if isinstance(node, (ast.List, ast.Tuple)):
        _check_depth(depth)
        return [_convert(item, allow_dict, depth + 1) for item in node.elts]
    if isinstance(node, ast.Dict) and allow_dict:
        _check_depth(depth)
        return _convert_dict(node, depth)
    # The AST class name is ours, not the client's: safe to report.
    raise _Malformed(f"{type(node).__name__} is not allowed; use JSON or plain literals")


def _check_depth(depth: int) -> None:
    if depth + 1 > MAX_DEPTH:
        raise _Malformed(f"nested too deeply (max {MAX_DEPTH} levels)")


def _convert_constant(value: object) -> object:
    # bool is a subclass of int, so it passes; bytes, complex and Ellipsis do not.
    if value is None or isinstance(value, (str, int)):
        if isinstance(value, str):
            _check_text(value)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Malformed("numbers must be finite")
        return value
    raise _Malformed(f"{type(value).__name__} constants are not allowed")


def _convert_signed(node: ast.UnaryOp) -> int | float:
    operand = node.operand
    number_ok = isinstance(operand, ast.Constant) and type(operand.value) in (int, float)
    if not isinstance(node.op, (ast.USub, ast.UAdd)) or not number_ok:
        raise _Malformed("only a sign in front of a number is allowed")
    value = _convert_constant(operand.value)
    return -value if isinstance(node.op, ast.USub) else value


def _convert_dict(node: ast.Dict, depth: int) -> dict:
    result = {}
    for key, value in zip(node.keys, node.values, strict=True):
        # key is None for a "**mapping" unpacking.
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            raise _Malformed("object keys must be strings")
        result[key.value] = _convert(value, True, depth + 1)
    return result


def _load(text: str, what: str, allow_dict: bool = False) -> object:
    """JSON first, then a safe Python literal; BadRequest naming ``what`` on failure."""
    if len(text) > MAX_TEXT_LENGTH:
        raise BadRequest(f"The {what} is too long (max {MAX_TEXT_LENGTH} characters).")
    try:
        try:
            value = _json_loads(text)
        except (ValueError, RecursionError, MemoryError):
            return _literal(text, allow_dict)
        _check_tree(value, MAX_DEPTH)
        return value
    except _Malformed as exc:
        raise BadRequest(f"Malformed {what}: {exc}.") from None
    except (RecursionError, MemoryError):
        raise BadRequest(f"Malformed {what}: too large or nested too deeply.") from None


def load_domain(text: str) -> object:
    """A domain's value, JSON or a safe Python literal, not checked against a model."""
    return _load(text, "domain")


def load_specification(text: str) -> object:
    """A ``fields`` specification's value (``{"name": {}, ...}``), JSON or a safe
    Python literal, not checked against a model (lib.nested does that)."""
    return _load(text, "fields", allow_dict=True)


def model_fields(model: str, fields_of: FieldsOf) -> Mapping[str, FieldInfo]:
    """The caller's readable fields of ``model``; 400 for a model that does not exist."""
    try:
        return fields_of(model)
    except KeyError:
        raise BadRequest(f"Unknown model {show(model)}.") from None


# --------------------------------------------------------------------------- domain


def parse_domain(text: str | None, model: str, fields_of: FieldsOf) -> list:
    """Parse and check a search domain given as JSON or as a Python literal.

    Returns the domain with JSON shapes only (lists, never tuples); every field
    path, operator, value shape and the prefix-operator arity are checked.
    """
    if _is_blank(text):
        return []
    domain = _load(text, "domain")
    _check_domain(domain, model, fields_of)
    return domain


def _check_domain(domain: object, model: str, fields_of: FieldsOf) -> None:
    if not isinstance(domain, list):
        raise BadRequest("The domain must be a list of terms and operators.")
    for element in domain:
        if isinstance(element, list):
            _check_term(element, model, fields_of)
        elif not isinstance(element, str) or element not in LOGICAL_ARITY:
            raise BadRequest("Each domain element must be '&', '|', '!' or a [field, operator, value] term.")
    _check_arity(domain)


def _check_arity(domain: list) -> None:
    """Check that every prefix operator has its operands.

    Walking from the end, terms push an operand and an operator pops its arity
    and pushes one result; what is left over is AND-ed implicitly, as in Odoo.
    """
    operands = 0
    for element in reversed(domain):
        if isinstance(element, list):
            operands += 1
            continue
        arity = LOGICAL_ARITY[element]
        if operands < arity:
            raise BadRequest(f"Domain operator {element!r} is missing operands.")
        operands -= arity - 1


def _check_term(term: list, model: str, fields_of: FieldsOf) -> None:
    if len(term) != 3:
        raise BadRequest("Each domain term must be a [field, operator, value] list of 3 items.")
    path, operator, value = term
    if not isinstance(path, str):
        raise BadRequest("The field of a domain term must be a string.")
    if not isinstance(operator, str):
        raise BadRequest(f"The operator of the term on {show(path)} must be a string.")
    if operator not in DOMAIN_OPERATORS:
        raise BadRequest(f"Unknown domain operator {show(operator)}.")
    info = _resolve_path(path, model, fields_of)
    _check_value(info, path, operator, value, fields_of)


def _resolve_path(path: str, model: str, fields_of: FieldsOf) -> FieldInfo:
    """The FieldInfo at the end of a dotted path, following relations segment by segment."""
    info: FieldInfo | None = None
    for segment in path.split("."):
        if not _NAME_RE.fullmatch(segment):
            raise BadRequest(f"Invalid field name {show(path)} in domain.")
        if info is not None:
            if not info.relation:
                raise BadRequest(f"Field {show(info.name)} is not relational; cannot follow {show(path)}.")
            model = info.relation
        info = model_fields(model, fields_of).get(segment)
        if info is None:
            raise BadRequest(f"Unknown field {show(segment)} in domain.")
        if not info.searchable:
            raise BadRequest(f"Field {show(segment)} is not searchable.")
    return info


def _check_value(info: FieldInfo, path: str, operator: str, value: object, fields_of: FieldsOf) -> None:
    if operator in ("any", "not any"):
        if not info.relation:
            raise BadRequest(f"Operator {operator!r} needs a relational field; {show(path)} is not.")
        if not isinstance(value, list):
            raise BadRequest(f"The value of {operator!r} on {show(path)} must be a domain (a list).")
        _check_domain(value, info.relation, fields_of)
        return
    if operator in ("child_of", "parent_of"):
        ok = _is_id_like(value) or (isinstance(value, list) and all(map(_is_id_like, value)))
    else:
        ok = _is_scalar(value) or (isinstance(value, list) and all(map(_is_scalar, value)))
    if not ok:
        raise BadRequest(f"Invalid value for operator {operator!r} on field {show(path)}.")


def _is_scalar(value: object) -> bool:
    """str, bool, None, a 64-bit int or a finite float: what a SQL parameter can hold."""
    if value is None or isinstance(value, (str, bool)):
        return True
    if isinstance(value, int):
        return INT64_MIN <= value <= INT64_MAX
    return isinstance(value, float) and math.isfinite(value)


def _is_id_like(value: object) -> bool:
    # An id or a name to search; a bool is an int to Python but not an id.
    if isinstance(value, bool):
        return False
    return isinstance(value, str) or (isinstance(value, int) and INT64_MIN <= value <= INT64_MAX)


# --------------------------------------------------------------------------- fields


def parse_fields(text: str | None, model: str, fields_of: FieldsOf) -> list[str] | None:
    """Parse the list of fields to read: JSON list, Python list/tuple, or comma-separated names.

    Returns None when no fields are given (the caller then uses its defaults);
    names are checked against the model and deduplicated keeping their order.
    """
    if _is_blank(text):
        return None
    if len(text) > MAX_TEXT_LENGTH:
        raise BadRequest(f"fields is too long (max {MAX_TEXT_LENGTH} characters).")
    first = text.lstrip()[0]
    if first in "[(":
        names = _load(text, "fields")
    elif first in "{\"'":
        raise BadRequest("fields must be a list or comma-separated field names.")
    else:
        names = [name.strip() for name in text.split(",")]
    return _check_field_names(names, model, fields_of)


def parse_name_list(text: str | None, what: str, maximum: int) -> list[str]:
    """A list of names given as JSON, a Python literal list or ``a,b:c``: [] when blank.

    Each item must be a non-empty string; what the names mean is the caller's business.
    """
    if _is_blank(text):
        return []
    if len(text) > MAX_TEXT_LENGTH:
        raise BadRequest(f"{what} is too long (max {MAX_TEXT_LENGTH} characters).")
    if text.lstrip()[0] in "[(":
        names = _load(text, what)
    else:
        names = [name.strip() for name in text.split(",")]
    if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
        raise BadRequest(f"{what} must be a list of names, as JSON or separated by commas.")
    if len(names) > maximum:
        raise BadRequest(f"Too many items in {what} (max {maximum}).")
    return names


def _check_field_names(names: object, model: str, fields_of: FieldsOf) -> list[str]:
    if not isinstance(names, list):
        raise BadRequest("fields must be a list or comma-separated field names.")
    if not names:
        raise BadRequest("fields must name at least one field.")
    if len(names) > MAX_FIELDS:
        raise BadRequest(f"Too many fields (max {MAX_FIELDS}).")
    known = model_fields(model, fields_of)
    for name in names:
        check_field_name(name, known, "fields")
    return list(dict.fromkeys(names))


def check_field_name(name: object, known: Mapping[str, FieldInfo], where: str) -> FieldInfo:
    """The FieldInfo of ``name`` among ``known``; 400 naming it (truncated) when it is not one."""
    if not isinstance(name, str):
        raise BadRequest(f"Field names in {where} must be strings.")
    if not name:
        raise BadRequest(f"Empty field name in {where}.")
    if not _NAME_RE.fullmatch(name) or name not in known:
        raise BadRequest(f"Unknown field {show(name)} in {where}.")
    return known[name]


# --------------------------------------------------------------------------- order


def parse_order(text: str | None, model: str, fields_of: FieldsOf) -> str | None:
    """Parse a sort specification like ``state desc, qty asc nulls last``.

    Returns it normalised (single spaces, lower-case keywords) or None when empty.
    """
    if _is_blank(text):
        return None
    if len(text) > MAX_ORDER_LENGTH:
        raise BadRequest(f"order is too long (max {MAX_ORDER_LENGTH} characters).")
    known = model_fields(model, fields_of)
    return ", ".join(_parse_order_term(term, known) for term in text.split(","))


def _parse_order_term(term: str, known: dict[str, FieldInfo]) -> str:
    words = term.split()
    if not words:
        raise BadRequest("Empty term in order.")
    name, modifiers = words[0], [word.lower() for word in words[1:]]
    info = check_field_name(name, known, "order")
    if not info.sortable:
        raise BadRequest(f"Field {show(name)} is not sortable.")
    if not valid_modifiers(modifiers):
        raise BadRequest(
            f"Invalid order for field {show(name)}: use 'asc' or 'desc', then 'nulls first' or 'nulls last'."
        )
    return " ".join([name, *modifiers])


def valid_modifiers(modifiers: list[str]) -> bool:
    """``asc`` or ``desc``, then ``nulls first`` or ``nulls last``, each optional (lower case)."""
    if modifiers and modifiers[0] in _SORT_DIRECTIONS:
        modifiers = modifiers[1:]
    if not modifiers:
        return True
    return len(modifiers) == 2 and modifiers[0] == "nulls" and modifiers[1] in _NULLS_PLACEMENTS


# --------------------------------------------------------------------------- limit, offset, id


def parse_limit(value: str | None, default: int = 80, maximum: int = 1000) -> int:
    """The page size: plain decimal digits between 1 and ``maximum``; ``default`` when absent."""
    if value is None:
        return default
    return _parse_bounded_int(value, "limit", 1, maximum)


def parse_offset(value: str | None) -> int:
    """The number of records to skip: plain decimal digits between 0 and 2**31-1; 0 when absent."""
    if value is None:
        return 0
    return _parse_bounded_int(value, "offset", 0, INT32_MAX)


def parse_id(text: str) -> int:
    """A record id from a URL segment: decimal digits, 1 to 2**31-1."""
    message = "Record id must be a positive integer."
    if not isinstance(text, str) or not _DIGITS_RE.fullmatch(text) or len(text) > 10:
        raise BadRequest(message)
    record_id = int(text)
    if not 1 <= record_id <= INT32_MAX:
        raise BadRequest(message)
    return record_id


def _parse_bounded_int(value: str, name: str, low: int, high: int) -> int:
    message = f"{name} must be a whole number between {low} and {high}."
    text = value.strip() if isinstance(value, str) else ""
    # The length check keeps int() away from huge digit strings.
    if not _DIGITS_RE.fullmatch(text) or len(text) > len(str(high)):
        raise BadRequest(message)
    number = int(text)
    if not low <= number <= high:
        raise BadRequest(message)
    return number


# --------------------------------------------------------------------------- context


def parse_context(text: str | None) -> dict:
    """Parse the context overrides a client may set: lang, tz, active_test, allowed_company_ids.

    Accepts a JSON object or a Python dict literal; any other key is refused.
    """
    if _is_blank(text):
        return {}
    return check_context(_load(text, "context", allow_dict=True))


def check_context(context: object) -> dict:
    """A context a client sends (query parameter, execute_kw's ``kwargs.context``), checked
    against the allow-list: lang, tz, active_test, allowed_company_ids."""
    if not isinstance(context, dict):
        raise BadRequest("context must be an object.")
    for key, value in context.items():
        check = _CONTEXT_CHECKS.get(key)
        if check is None:
            raise BadRequest(
                f"Context key {show(key)} is not allowed (allowed: {', '.join(sorted(_CONTEXT_CHECKS))})."
            )
        check(value)
    return dict(context)


def _check_lang(value: object) -> None:
    if not isinstance(value, str) or not _LANG_RE.fullmatch(value):
        raise BadRequest("Context 'lang' must be a language code such as 'en_US'.")


def _check_tz(value: object) -> None:
    if not isinstance(value, str) or value not in _timezones():
        raise BadRequest("Context 'tz' must be an IANA time zone such as 'Europe/Brussels'.")


def _check_active_test(value: object) -> None:
    if not isinstance(value, bool):
        raise BadRequest("Context 'active_test' must be true or false.")


def _check_company_ids(value: object) -> None:
    message = f"Context 'allowed_company_ids' must be a list of 1 to {MAX_COMPANY_IDS} positive integers."
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_COMPANY_IDS:
        raise BadRequest(message)
    for company_id in value:
        if isinstance(company_id, bool) or not isinstance(company_id, int):
            raise BadRequest(message)
        if not 1 <= company_id <= INT32_MAX:
            raise BadRequest(message)


@functools.lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    # available_timezones() reads the whole tz database from disk: do it once.
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


_CONTEXT_CHECKS = {
    "lang": _check_lang,
    "tz": _check_tz,
    "active_test": _check_active_test,
    "allowed_company_ids": _check_company_ids,
}


# --------------------------------------------------------------------------- body


def parse_json_body(raw: bytes) -> object:
    """Decode a request body as strict UTF-8 JSON (a leading BOM is allowed).

    NaN, Infinity and documents nested deeper than 64 levels are refused.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        raise BadRequest("Request body is empty; a JSON document is required.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("Request body is not valid UTF-8.") from None
    document = _decode_body(text)
    try:
        _check_tree(document, MAX_BODY_DEPTH)
    except _Malformed as exc:
        raise BadRequest(f"Malformed JSON body: {exc}.") from None
    return document


def _decode_body(text: str) -> object:
    try:
        return _json_loads(text)
    except json.JSONDecodeError as exc:
        # msg and position only: exc.doc and str(exc) context would echo the body.
        raise BadRequest(f"Malformed JSON body: {exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    except _Malformed as exc:
        raise BadRequest(f"Malformed JSON body: {exc}.") from None
    except (ValueError, RecursionError, MemoryError):
        raise BadRequest("Malformed JSON body: too large or nested too deeply.") from None
