"""The route table: the single source of truth for routing, scope checks and
the generated documents (OpenAPI, Postman).

Adding a route is one ``Route`` entry here plus its handler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import MethodNotAllowed, NotFound

API_PREFIX = "/api"
MODEL_RE = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*$")
ID_RE = re.compile(r"^[1-9][0-9]{0,9}$")
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Route:
    """One operation of the API.

    ``segments`` follow ``/api/``; ``{model}`` and ``{id}`` are parameters.
    ``operation`` is the scope a key needs on the model (read, create,
    write, delete); None when the operation depends on the call
    (execute_kw) or when the route names no model.
    ``auth`` is ``key`` (an API key is required) or ``public``.
    ``kind`` is ``data`` (works on a model), ``token`` or ``docs``.
    """

    name: str
    method: str
    segments: tuple[str, ...]
    operation: str | None = None
    auth: str = "key"
    summary: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    kind: str = "data"

    @property
    def path(self) -> str:
        return f"{API_PREFIX}/" + "/".join(self.segments)

    @property
    def has_model(self) -> bool:
        return "{model}" in self.segments

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
            elif pattern != part:
                return None
        return params


def _r(name, method, path, operation=None, auth="key", summary="", tags=(), kind="data"):
    return Route(name, method, tuple(path.split("/")), operation, auth, summary, tuple(tags), kind)


ROUTES: tuple[Route, ...] = (
    _r("generate_token", "POST", "generate_token", summary="Issue a login token", kind="token"),
    _r("model_generate_token", "POST", "{model}/generate_token", summary="Issue a login token", kind="token"),
    _r("auth_login", "POST", "auth/login", summary="Log a user in", kind="token"),
    _r("auth_refresh", "POST", "auth/refresh", summary="Exchange a refresh token", kind="token"),
    _r("auth_logout", "POST", "auth/logout", summary="Revoke a login", kind="token"),
    _r("search", "GET", "{model}/search", "read", summary="Search records"),
    _r("schema", "GET", "{model}/schema", "read", summary="Field metadata"),
    _r("record_count", "GET", "{model}/record_count", "read", summary="Count records"),
    _r("create", "POST", "{model}/create", "create", summary="Create one or more records"),
    _r("execute_kw", "POST", "{model}/execute_kw", summary="Call a public model method"),
    _r("read", "GET", "{model}/{id}", "read", summary="Read one record"),
    _r("update", "PUT", "{model}/{id}", "write", summary="Update one record"),
    _r("patch", "PATCH", "{model}/{id}", "write", summary="Update one record"),
    _r("delete", "DELETE", "{model}/{id}", "delete", summary="Delete one record"),
    _r("openapi", "GET", "openapi.json", auth="public", summary="OpenAPI document", kind="docs"),
    _r("postman", "GET", "postman.json", auth="public", summary="Postman collection", kind="docs"),
    _r("swagger_ui", "GET", "docs", auth="public", summary="Swagger UI", kind="docs"),
)


def split_path(path: str) -> list[str] | None:
    """``/api/a/b`` -> ``["a", "b"]``; None for a path outside ``/api/``."""
    if path != API_PREFIX and not path.startswith(API_PREFIX + "/"):
        return None
    rest = path[len(API_PREFIX) :].strip("/")
    return rest.split("/") if rest else []


def resolve(method: str, path: str, routes: tuple[Route, ...] = ROUTES) -> tuple[Route, dict]:
    """The route and path parameters for a request.

    Literal routes win over parameterised ones (``/api/auth/login`` is not
    model ``auth``). HEAD is served by the GET route. Raises NotFound when
    no route has this path and MethodNotAllowed (with the allowed methods)
    when some route has it but not for this method.
    """
    parts = split_path(path)
    if parts is None:
        raise NotFound("No such route.")
    matches = [(route, params) for route in routes if (params := route.match(parts)) is not None]
    literal = [(r, p) for r, p in matches if not p]
    matches = literal or matches
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


def allowed_methods(path: str, routes: tuple[Route, ...] = ROUTES) -> list[str]:
    """Methods served at ``path`` (for CORS preflight answers)."""
    parts = split_path(path) or []
    matches = [(r, p) for r in routes if (p := r.match(parts)) is not None]
    literal = [(r, p) for r, p in matches if not p]
    return sorted({route.method for route, _ in (literal or matches)})
