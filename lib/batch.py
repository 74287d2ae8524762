"""``POST /api/batch`` (API.md section 9): the pure part.

The shape of a batch, and its references: ``${N.member}`` in an operation's
path, or as a whole JSON string value in its body, stands for that member of
operation N's answer (``id``, or an element ``ids.K``; any member of the
answer's JSON, by name or index, separated by dots). Running the operations
is ``controllers/batch.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from .errors import BadRequest, PayloadTooLarge

REFERENCE_RE = re.compile(r"\$\{(\d{1,6})((?:\.[A-Za-z0-9_]{1,64}){1,8})\}")
WHOLE_REFERENCE_RE = re.compile(r"^" + REFERENCE_RE.pattern + r"$")
# what a client meant as a reference (a number, signed or not, first): one that is not a
# well-formed reference to an earlier operation is a malformed request, never a path to look up
MEANT_RE = re.compile(r"\$\{\s*[-+]?\d[^}]{0,200}\}")
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# the headers an operation may carry; the batch request's own say who calls
OPERATION_HEADERS = frozenset({"if-match", "if-none-match", "prefer"})
# the headers of an operation's answer that its result repeats
RESULT_HEADERS = ("Location", "ETag", "Preference-Applied", "X-Total-Count", "Link")


class OperationError(BadRequest):
    """A malformed operation: 400, naming it."""

    def __init__(self, index: int, detail: str):
        super().__init__(f"Operation {index}: {detail}")
        self.extra["operation"] = index


@dataclass(frozen=True)
class Operation:
    index: int
    method: str
    path: str  # with its query string, references not yet replaced
    body: object = None  # None: no body
    headers: tuple[tuple[str, str], ...] = ()


def parse(document: object, maximum: int) -> list[Operation]:
    """The operations of a batch body ``{"operations": [...]}``: 400 when it is
    malformed, 413 over ``maximum`` operations."""
    if not isinstance(document, dict) or not isinstance(document.get("operations"), list):
        raise BadRequest('The body must be {"operations": [{"method": ..., "path": ..., "body": ...}, ...]}.')
    items = document["operations"]
    if not items:
        raise BadRequest("A batch needs at least one operation.")
    if len(items) > maximum:
        raise PayloadTooLarge(
            f"At most {maximum} operations per batch (rest_api.max_batch_operations); got {len(items)}."
        )
    return [_operation(index, item) for index, item in enumerate(items)]


def _operation(index: int, item: object) -> Operation:
    if not isinstance(item, dict):
        raise OperationError(index, "each operation must be a JSON object.")
    unknown = set(item) - {"method", "path", "body", "headers"}
    if unknown:
        raise OperationError(index, f"unknown member {sorted(unknown)[0][:40]!r}.")
    method, path = item.get("method"), item.get("path")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise OperationError(index, f'"method" must be one of {", ".join(sorted(METHODS))}.')
    if not isinstance(path, str) or not path.startswith("/api/") or len(path) > 4096:
        raise OperationError(index, '"path" must be a path under /api/.')
    headers = item.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise OperationError(index, '"headers" must be an object of strings.')
    refused = {name for name in headers if name.lower() not in OPERATION_HEADERS}
    if refused:
        raise OperationError(index, f"header {sorted(refused)[0][:40]!r} cannot be set per operation.")
    _check_path_references(index, path)
    _check_body_references(index, item.get("body"))
    return Operation(index, method.upper(), path, item.get("body"), tuple(headers.items()))


def _references(text: str) -> list[int]:
    return [int(match.group(1)) for match in REFERENCE_RE.finditer(text)]


def _check_path_references(index: int, path: str) -> None:
    for text in {path, unquote(path)}:
        for meant in MEANT_RE.finditer(text):
            if not REFERENCE_RE.fullmatch(meant.group(0)):
                raise OperationError(index, f"{meant.group(0)[:40]!r} is not a reference ${{N.member}}.")
        for position in _references(text):
            _check_earlier(index, position)


def _check_earlier(index: int, position: int) -> None:
    if position >= index:
        raise OperationError(index, f"${{{position}...}} refers to an operation that has not run before it.")


def _check_body_references(index: int, value: object) -> None:
    if isinstance(value, str):
        if match := WHOLE_REFERENCE_RE.match(value):
            _check_earlier(index, int(match.group(1)))
        elif MEANT_RE.fullmatch(value):
            raise OperationError(index, f"{value[:40]!r} is not a reference ${{N.member}}.")
    elif isinstance(value, dict):
        for each in value.values():
            _check_body_references(index, each)
    elif isinstance(value, list):
        for each in value:
            _check_body_references(index, each)


def references(operation: Operation) -> set[int]:
    """The positions of the earlier operations whose answers ``operation`` refers to."""
    found = set()
    for text in {operation.path, unquote(operation.path)}:
        found.update(_references(text))

    def walk(value):
        if isinstance(value, str):
            if match := WHOLE_REFERENCE_RE.match(value):
                found.add(int(match.group(1)))
        elif isinstance(value, dict):
            for each in value.values():
                walk(each)
        elif isinstance(value, list):
            for each in value:
                walk(each)

    walk(operation.body)
    return found


def _member(index: int, answers: list[object], position: int, members: str) -> object:
    value = answers[position]
    for name in members.strip(".").split("."):
        if isinstance(value, dict) and name in value:
            value = value[name]
        elif isinstance(value, list) and name.isdigit() and int(name) < len(value):
            value = value[int(name)]
        else:
            raise OperationError(
                index, f"operation {position}'s answer has no member {members.strip('.')!r}."
            )
    return value


def resolve_path(operation: Operation, answers: list[object]) -> tuple[str, str]:
    """The operation's path and query string, its references replaced."""

    def replace(match):
        value = _member(operation.index, answers, int(match.group(1)), match.group(2))
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise OperationError(operation.index, f"{match.group(0)} is not a number or a string.")
        return str(value)

    parts = urlsplit(REFERENCE_RE.sub(replace, operation.path))
    return parts.path, parts.query


def resolve_body(operation: Operation, answers: list[object]) -> object:
    """The operation's body, each string that is a whole reference replaced by its value."""

    def walk(value):
        if isinstance(value, str):
            match = WHOLE_REFERENCE_RE.match(value)
            return _member(operation.index, answers, int(match.group(1)), match.group(2)) if match else value
        if isinstance(value, dict):
            return {key: walk(each) for key, each in value.items()}
        if isinstance(value, list):
            return [walk(each) for each in value]
        return value

    return walk(operation.body)
