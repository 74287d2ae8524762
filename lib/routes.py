"""Routes: what one entry of the route table says, and how a request finds its entry.

The table itself is ``controllers/route_table.py`` (``rest.api.pipeline``'s
``_routes()``); each ``Route`` there carries everything about its route:
the handler, the auth policy, the scope it needs, how the OpenAPI document
describes it and the Postman collection's example of it. Routing, scope
checks and both documents are derived from the table alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import MethodNotAllowed, NotFound

API_PREFIX = "/api"
# what an Idempotency-Key keeps of a route's answer (Route.kept)
KEPT, WITHHELD, NOT_KEPT = "kept", "withheld", "not kept"
MODEL_RE = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*$")
ID_RE = re.compile(r"^[1-9][0-9]{0,9}$")
# an external id, <module>.<name> (ir.model.data)
XMLID_RE = re.compile(r"^[A-Za-z0-9_]{1,64}\.[A-Za-z0-9_.\-]{1,200}$")
MAX_ID = 2**31 - 1
# a field name; a report: its technical name (report_name) or its external id
FIELD_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
REPORT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$")


# the other path parameters: {name} -> what a segment must look like
PATTERNS = {"{xmlid}": XMLID_RE, "{field}": FIELD_RE, "{report}": REPORT_RE}


@dataclass(frozen=True)
class Route:
    """One operation of the API.

    - ``path`` follows ``/api/``; ``{model}`` and ``{id}`` are parameters.
    - ``handler(call)`` answers the call (an ``odoo.http.Response``).
    - ``auth`` names the pipeline's policy, method ``_auth_<auth>``: ``user``
      (an API key, and a login token when the key asks for one), ``key``
      (an API key; the token is optional: the login routes) or ``docs``.
    - ``operation``: the scope a key needs on the path's model (read,
      create, write, delete); ``operations(call)`` instead when the call
      decides (execute_kw). Neither: no model is checked. ``one_of``: with
      ``operations``, the documents show the route as usable on a model only
      to a caller with one of these (an upsert: create or write).
    - ``tags``: the OpenAPI tag; ``records`` routes are also documented
      once per model the caller reaches.
    - ``openapi``: a ``lib.openapi.Operation`` (None: not documented);
      ``postman``: a ``lib.postman.Example`` (None: not in the collection).
    - ``kept``: what an ``Idempotency-Key`` keeps of its answer (API.md section 9):
      ``KEPT`` the answer; ``WITHHELD`` (an answer that may hold a secret, which
      is never stored: sections 1 and 2) only that the request ran, so that it
      runs once and a replay is told so (422); ``NOT_KEPT`` nothing, the
      header is ignored (the login routes: a retried login just logs in
      again, and a refresh token's reuse must be detected). A callable
      decides per call (execute_kw: by its method).
    """

    name: str
    method: str
    path: str
    handler: Callable | None = None
    auth: str = "user"
    operation: str | None = None
    operations: Callable | None = None
    one_of: tuple[str, ...] = ()
    summary: str = ""
    tags: tuple[str, ...] = ()
    openapi: Any = None
    postman: Any = None
    kept: str | Callable = KEPT
    segments: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "segments", tuple(self.path.split("/")))

    @property
    def literals(self) -> int:
        """Its segments that are not parameters: of two routes that fit a path, the one
        with more wins (``/api/auth/login`` is not model ``auth``, ``/api/webhooks/7``
        is not record 7 of model ``webhooks``)."""
        return sum(not segment.startswith("{") for segment in self.segments)

    @property
    def full_path(self) -> str:
        return f"{API_PREFIX}/{self.path}"

    @property
    def has_model(self) -> bool:
        return "{model}" in self.segments

    @property
    def per_model(self) -> bool:
        """Documented once per model the caller reaches, besides the generic entry."""
        return self.has_model and "records" in self.tags

    def match(self, parts: list[str]) -> dict | None:
        """The path parameters when ``parts`` fit this route's segments."""
        if len(parts) != len(self.segments):
            return None
        params = {}
        for pattern, part in zip(self.segments, parts, strict=True):
            if pattern == "{model}":
                if not MODEL_RE.match(part):
                    return None
                params["model"] = part
            elif pattern == "{id}":
                if not ID_RE.match(part) or int(part) > MAX_ID:
                    return None
                params["id"] = int(part)
            elif pattern in PATTERNS:
                name = pattern[1:-1]
                if not PATTERNS[pattern].match(part):
                    return None
                params[name] = part
            elif pattern != part:
                return None
        return params


def split_path(path: str) -> list[str] | None:
    """``/api/a/b`` -> ``["a", "b"]``; None for a path outside ``/api/``."""
    if path != API_PREFIX and not path.startswith(API_PREFIX + "/"):
        return None
    rest = path[len(API_PREFIX) :].strip("/")
    return rest.split("/") if rest else []


_INDEXES: dict[int, tuple] = {}  # id(table) -> (table, {number of segments: routes})


def _by_length(routes: Sequence[Route]) -> dict[int, list[Route]]:
    """The table's routes by their number of segments, worked out once per table."""
    found = _INDEXES.get(id(routes))
    if found is None or found[0] is not routes:
        index: dict[int, list[Route]] = {}
        for route in routes:
            index.setdefault(len(route.segments), []).append(route)
        if len(_INDEXES) >= 64:  # tables are module constants; a few at most
            _INDEXES.clear()
        found = _INDEXES[id(routes)] = (routes, index)
    return found[1]


def _matches(parts: list[str], routes: Sequence[Route]) -> list[tuple[Route, dict]]:
    """The routes that fit ``parts``: literal ones win over parameterised ones
    (``Route.literals``)."""
    candidates = _by_length(routes).get(len(parts), ())
    matches = [(route, params) for route in candidates if (params := route.match(parts)) is not None]
    if not matches:
        return matches
    most = max(route.literals for route, _ in matches)
    return [(route, params) for route, params in matches if route.literals == most]


def resolve(method: str, path: str, routes: Sequence[Route]) -> tuple[Route, dict]:
    """The route and path parameters for a request.

    HEAD is served by the GET route. Raises NotFound when no route has this
    path and MethodNotAllowed (with the allowed methods) when some route has
    it but not for this method.
    """
    parts = split_path(path)
    if parts is None:
        raise NotFound("No such route.")
    matches = _matches(parts, routes)
    if not matches:
        raise NotFound(f"No route {path[:120]!r}.")
    wanted = "GET" if method == "HEAD" else method
    for route, params in matches:
        if route.method == wanted:
            return route, params
    allowed = {route.method for route, _ in matches}
    if "GET" in allowed:
        allowed.add("HEAD")
    raise MethodNotAllowed(sorted(allowed | {"OPTIONS"}))


def allowed_methods(path: str, routes: Sequence[Route], usable: Callable | None = None) -> list[str]:
    """Methods served at ``path`` (for CORS preflight answers); ``usable(route, params)``,
    when given, keeps only the routes a caller may use there (its key's scopes)."""
    matches = _matches(split_path(path) or [], routes)
    return sorted({route.method for route, params in matches if usable is None or usable(route, params)})
