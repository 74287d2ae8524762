"""HTTP only: every /api/... request goes through one route and one pipeline.

resolve the route -> CORS preflight -> API key -> IP -> throttle -> caller
-> model -> scope -> handler. Each step raises from lib.errors; the
dispatcher turns that into problem+json.

The throttle counts every call when its key is found. For a read, the
count's answer is read once the handler is done (its round trip to
PostgreSQL runs alongside the handler's queries); a call over the limit is
then refused with 429 all the same, and its transaction rolls back. Writes,
token and docs calls, and keys a worker saw use up their window are
decided before any work is done.
"""

from odoo import http
from odoo.http import request

from ..infra import throttle
from ..lib import credentials, errors, ipnet, query, routes, scopes
from . import cors, docs, handlers, tokens


class RestApi(http.Controller):
    @http.route(
        ["/api", "/api/<path:subpath>"],
        type="rest_api",
        auth="none",
        csrf=False,
        save_session=False,
        # auth="none" routes default to a read-only cursor in Odoo 18: every
        # write would fail once and be replayed on a read/write cursor.
        readonly=False,
    )
    def rest_api(self, subpath=None):
        httprequest = request.httprequest
        cors.add_headers()
        if httprequest.method == "OPTIONS":
            return cors.preflight(httprequest.path)
        route, params = routes.resolve(httprequest.method, httprequest.path)
        try:
            if route.kind == "docs":
                response = docs.HANDLERS[route.name](_docs_caller(route))
            else:
                _authenticate(route, params.get("model"))
                if route.kind == "token":
                    response = tokens.HANDLERS[route.name](**params)
                else:
                    model = _model(params.pop("model")) if route.has_model else None
                    _check_scope(route, model)
                    response = handlers.HANDLERS[route.name](model, **params)
        except errors.TooManyRequests:
            raise
        except Exception:
            _throttle_ahead()  # a call over its limit gets 429, whatever else failed
            raise
        _throttle_ahead()
        return response


def _authenticate(route, model_name):
    """Find the key, refuse what it may not do, and become its user."""
    found = credentials.extract(request.httprequest.headers, request.httprequest.args)
    if not found.key:
        raise errors.Unauthorized(
            "An API key is required (header api-key, X-API-Key or Authorization: Bearer)."
        )
    dispatcher = request.dispatcher
    use = dispatcher.key_use  # a transaction Odoo retries counts the call once
    info = use.key if use is not None else request.env["rest.api.key"].sudo()._find_key(found.key)
    if info is None:
        raise errors.Unauthorized("Unknown, revoked or expired API key.")
    address = request.httprequest.remote_addr
    if info.log_requests:
        dispatcher.audit = {
            "key_id": info.id,
            "user_id": info.user_id,
            "method": request.httprequest.method,
            "path": request.httprequest.path[:2000],
            "model": model_name,
            "status": None,
            "duration": None,
            "address": address,
            "request_id": dispatcher.request_id,
        }
    # refused before they are counted: a call of an archived owner, or from an
    # address the key does not allow, never uses up the key's rate limit
    if not info.owner_active:
        raise errors.Unauthorized("The owner of this API key is archived.")
    if not ipnet.address_allowed(address, info.networks):
        raise errors.Forbidden("This API key may not be used from this address.")
    if use is None:
        ahead = route.kind == "data" and route.operation == "read"  # a read can be refused after the fact
        use = dispatcher.key_use = throttle.count(request.env, info, ahead)
    if not use.ahead:
        _throttle(use)
    user_id = info.user_id
    if found.token:
        state = request.env["rest.api.token"].sudo()._verify_access(found.token, info.id)
        request.rest_api_token, user_id = state, state.user_id
    elif info.require_user_token and route.name not in ("auth_login", "auth_refresh", "auth_logout"):
        raise errors.Unauthorized("This API key needs a user's login token (header token or Login-Token).")
    request.update_env(user=user_id)
    request.rest_api_key = info
    if dispatcher.audit is not None:
        dispatcher.audit["user_id"] = user_id


class DocsCaller:
    """Who asks for a document: a key (its scopes), an Odoo user, or nobody."""

    def __init__(self, scope_map=None, anonymous=False):
        self.scope_map, self.anonymous = scope_map, anonymous


def _docs_caller(route):
    """A key when one is sent (checked like any call), else the Odoo session
    Odoo already validated, else anonymous if ``rest_api.docs_public``."""
    found = credentials.extract(request.httprequest.headers, request.httprequest.args)
    if found.key or found.token:
        _authenticate(route, None)
        return DocsCaller(scope_map=request.rest_api_key.scope_map)
    if request.session.uid:
        request.update_env(user=request.session.uid)
        return DocsCaller()
    if not docs.docs_public():
        raise errors.Unauthorized("The API documentation needs an API key or an Odoo login.")
    return DocsCaller(anonymous=True)


def _throttle_ahead():
    """Decide a call whose count was sent ahead (the others were decided in _authenticate)."""
    use = request.dispatcher.key_use
    if use is not None and use.ahead:
        _throttle(use)


def _throttle(use):
    """Refuse a call over its key's limit (waiting for its count if it was sent ahead)."""
    decision = use.verdict()
    request.dispatcher.headers.update(decision.headers)
    if not decision.allowed:
        request.dispatcher.audit = None  # refused calls are not logged, however they were decided
        raise errors.TooManyRequests(
            decision.retry_after, f"At most {decision.limit} requests per {use.key.rate_limit_period} s."
        )


def _model(name):
    env = request.env
    if name not in env.registry or env.registry[name]._abstract:
        raise errors.NotFound(f"No model {name!r}.")
    context = dict(env.user.context_get())
    if request.httprequest.method in ("GET", "HEAD"):
        context.update(query.parse_context(request.httprequest.args.get("context")))
    request.update_env(context=context)
    return request.env[name]


def _check_scope(route, model):
    if model is None:
        return
    if route.operation:
        operations = frozenset({route.operation})
    else:
        operations = handlers.execute_kw_operations(model)
    if not scopes.allows(request.rest_api_key.scope_map, model._name, operations):
        ops = ", ".join(sorted(operations))
        raise errors.Forbidden(f"This API key's scopes do not allow {ops} on {model._name!r}.")
