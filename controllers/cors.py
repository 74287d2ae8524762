"""CORS (API.md section 6): origins from ``rest_api.cors_origins``, none by default."""

from odoo.http import Response, request

from ..lib import credentials, errors, ipnet, routes

ALLOWED_HEADERS = "api-key, x-api-key, token, login-token, authorization, content-type, x-request-id, if-match, if-none-match, prefer, idempotency-key"
EXPOSED_HEADERS = (
    "X-Request-Id, X-Total-Count, Link, Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, "
    "RateLimit-Reset, ETag, Preference-Applied, Idempotent-Replayed"
)
MAX_AGE = "600"


def _origins(call):
    value = call.setting("rest_api.cors_origins")
    return {o.strip().rstrip("/") for o in value.replace(" ", ",").split(",") if o.strip()}


def _allowed_origin(call):
    origin = call.httprequest.headers.get("Origin")
    if not origin:
        return None
    allowed = _origins(call)
    if "*" in allowed:
        return "*"
    return origin if origin.rstrip("/") in allowed else None


def add_headers(call):
    """Headers of an actual (non-preflight) answer for an allowed origin."""
    origin = _allowed_origin(call)
    headers = call.headers
    if call.httprequest.headers.get("Origin"):
        headers["Vary"] = "Origin"
    if origin:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS


def _usable(call):
    """For an OPTIONS that carries a valid API key with scopes: whether a route is one the
    key may use on the path's model, as the key's OpenAPI document lists it (a model outside
    the scopes: as the document's generic ``{model}`` paths list it); else None."""
    try:
        found = credentials.extract(call.httprequest.headers, call.args)
    except errors.ApiError:
        return None
    key = request.env["rest.api.key"]._find_key(found.key) if found.key else None
    if key is None or key.scope_map is None or not key.owner_active or key.require_user_token:
        return None  # said only to a caller the key would serve (a mobile app's key alone serves none)
    if not ipnet.address_allowed(call.httprequest.remote_addr, key.networks):
        return None
    scope_map = key.scope_map
    anywhere = frozenset().union(*scope_map.values())  # what the document's generic {model} paths list

    def usable(route, params):
        model = params.get("model")
        if model is None:
            return True
        needed = (route.operation,) if route.operation else route.one_of
        allowed = scope_map.get(model, anywhere)
        return not needed or any(op in allowed for op in needed)

    return usable


def preflight(call, table):
    """Answer OPTIONS without credentials: 204, with CORS headers only for an allowed origin.
    ``Allow`` names the methods of the path; with an API key, those its scopes allow there."""
    path = call.httprequest.path
    methods = routes.allowed_methods(path, table)
    if not methods:
        routes.resolve("OPTIONS", path, table)  # raises the 404
    usable = _usable(call)
    if usable is not None:
        methods = routes.allowed_methods(path, table, usable)
    methods = sorted(set(methods) | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set()))
    response = Response(status=204, headers={"Allow": ", ".join(methods)})
    if _allowed_origin(call):
        response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = MAX_AGE
    return response
