"""``rest.api.pipeline``: the stages every API call goes through, as methods to override.

``_serve(call)`` runs them in order, each on the one ``Call`` of the request
(``controllers/call.py``)::

    route      which entry of _routes() the method and path name
    authenticate   who calls: the route's auth policy, _auth_<policy>()
    throttle   count the call against its key; refuse it (429) over the limit
    identify   the user the call runs as: a login token's, the key's owner, a session's
    scope      the path's model, and the key's scopes for this route on it
    idempotent an Idempotency-Key: lock it, or replay its kept answer instead of running
    run        the route's handler
    answer     the response, with the late throttle verdict of a counted-ahead read;
               the answer of a call that holds an Idempotency-Key is kept

Each stage raises ``lib.errors`` to refuse the call; the dispatcher turns
that into problem+json. Another addon extends the API the supported way:
``_inherit = "rest.api.pipeline"`` and override ``_routes`` (add a route),
add an ``_auth_<name>`` method (an auth policy routes can name), or wrap a
stage with ``super()``.
"""

from urllib.parse import parse_qsl

from odoo import api, fields, models
from odoo.http import Response, request

from ..controllers import route_table
from ..infra import company_paths, replica, search_page, throttle, worker_cache
from ..lib import credentials, errors, idempotency, ipnet, oauth, query, routes, scopes, settings
from .rest_api_idempotency import Claim

LOGIN_TOKEN_CONTEXT = "rest_api_login_token"  # the call is authenticated by a login token


class RestApiPipeline(models.AbstractModel):
    _name = "rest.api.pipeline"
    _description = "REST API: the stages of a call"

    def init(self):
        search_page.create_function(self.env.cr)  # the search page's snapshot (infra/search_page.py)

    @api.model
    def _routes(self):
        """The route table: a tuple of ``lib.routes.Route``. Extend it with
        ``return super()._routes() + (Route(...),)``."""
        return route_table.ROUTES

    @api.model
    def _settings(self):
        """Every setting of ``lib.settings``, parsed: read once per worker, until
        Odoo clears its caches (any change of a system parameter does)."""
        memo = worker_cache.memo(self.env.registry, "rest_api.settings")
        if not memo:
            get_param = self.env["ir.config_parameter"].sudo().get_param
            memo.update({name: settings.read(get_param, name) for name in settings.SETTINGS})
        return memo

    @api.model
    def _serve(self, call):
        """Run the stages on ``call``; the response, or an exception from lib.errors.

        A call the replica serves (``infra.replica``) checks its key and token on
        the primary, and reads the primary instead when the replica is too far
        behind.
        """
        call.route, call.params = routes.resolve(
            call.httprequest.method, call.httprequest.path, self._routes()
        )
        if not replica.on_replica(self.env.cr):
            return self._stages(call)
        call.primary, ran_there = replica.Primary(self.env), False
        try:
            if replica.usable(self.env):
                return self._stages(call)
            replica_env, request.env = request.env, call.primary.env  # too far behind: the primary
            try:
                response = self.with_env(request.env)._stages(call)
            finally:
                request.env = replica_env
            ran_there = True
            return response
        finally:
            call.primary.close(commit=ran_there)
            call.primary = None

    @api.model
    def _checking_env(self, call):
        """Where login tokens are checked: the primary while the replica serves the call."""
        return self.env if call.primary is None else call.primary.env

    @api.model
    def _stages(self, call):
        try:
            self._authenticate(call)
            self._throttle(call)
            self._identify(call)
            self._scope(call)
            response = self._idempotent(call)
            if response is None:
                response = self._run(call)
        except errors.TooManyRequests:
            raise
        except Exception:
            self._late_verdict(call)  # a call over its limit gets 429, whatever else failed
            raise
        return self._answer(call, response)

    # ------------------------------------------------------------ authenticate
    @api.model
    def _authenticate(self, call):
        """Who calls: the route's auth policy, method ``_auth_<route.auth>``."""
        method = f"_auth_{call.route.auth}"
        if not callable(getattr(type(self), method, None)):
            raise errors.ApiError(
                f"Route {call.route.name!r} names an unknown auth policy {call.route.auth!r}."
            )
        getattr(self, method)(call)

    @api.model
    def _auth_key(self, call):
        """An API key; a login token is optional even when the key asks for one (the login routes)."""
        call.credentials = call.credentials or credentials.extract(call.httprequest.headers, call.args)
        found = call.credentials
        if not found.key and not found.bearer_alone:
            raise errors.Unauthorized(
                "An API key is required (header api-key, X-API-Key or Authorization: Bearer)."
            )
        counted = call.count  # a transaction Odoo retries finds its key once
        if counted is not None:
            key = counted.key
        elif found.key:
            # sudo() on a miss only; checked on the primary when the replica serves the call
            key = self.env["rest.api.key"]._find_key(found.key, primary=call.primary)
        else:
            key = self._oauth_key(call)
        if key is None:
            raise errors.Unauthorized("Unknown, revoked or expired API key.")
        self._audit(call, key)
        # refused before they are counted: a call of an archived owner, or from an
        # address the key does not allow, never uses up the key's rate limit
        if not key.owner_active:
            raise errors.Unauthorized("The owner of this API key is archived.")
        if not ipnet.address_allowed(call.httprequest.remote_addr, key.networks):
            raise errors.Forbidden("This API key may not be used from this address.")
        call.key = key

    @api.model
    def _audit(self, call, key):
        """Start the call log line of a call with ``key``, if the key logs its calls."""
        if key.log_requests:
            call.audit = {
                "key_id": key.id, "user_id": key.user_id, "method": call.httprequest.method,
                "path": call.httprequest.path[:2000], "model": call.params.get("model"), "status": None,
                "duration": None, "address": call.httprequest.remote_addr, "request_id": call.request_id,
            }  # fmt: skip

    @api.model
    def _oauth_key(self, call):
        """The key of an access token sent alone in ``Authorization: Bearer``: its ``azp``,
        when the token was issued through OAuth (checked in ``_identify``; API.md section 14)."""
        tokens = self._checking_env(call)["rest.api.token"].sudo()
        call.claims = tokens._claims(call.credentials.token)
        if not tokens._issued_through_oauth(call.claims.jti, fresh=call.primary is not None):
            # refused before it counts against its key (a login token still needs its key)
            raise errors.Unauthorized(
                "A login token needs its API key (header api-key); only a token issued through "
                "OAuth is accepted alone."
            )
        return self.env["rest.api.key"]._find_key_id(call.claims.key_id, primary=call.primary)

    @api.model
    def _auth_oauth(self, call):
        """The OAuth token, revocation and introspection routes: the client authenticates
        in the request itself (``controllers/oauth.py`` decides everything about it).

        Once the request names a public client, or proves a confidential one with its
        secret, it is a call with that client's key as any other (API.md section 3): the
        key's IP allow-list refuses it (403) and its rate limit counts it (429), before
        anything else; its refusals answer in RFC 6749's form (``controllers/dispatcher.py``).
        The routes still run as nobody: ``_identify`` leaves them be."""
        form = self._oauth_form(call)
        sent = oauth.sent_client(call.httprequest.headers.get("Authorization"), form)
        key = self.env["rest.api.key"]._authenticated_client(*sent) if sent else None
        if key is None or not key.owner_active or not key.usable(fields.Datetime.now()):
            return  # not counted: oauthlib refuses it (invalid_client)
        self._audit(call, key)
        if not ipnet.address_allowed(call.httprequest.remote_addr, key.networks):
            raise errors.Forbidden("This OAuth client may not be used from this address.")
        call.key = key

    @api.model
    def _oauth_form(self, call):
        """The parameters of a form-encoded body (empty for any other body: the route refuses it)."""
        if (call.httprequest.mimetype or "").lower() != "application/x-www-form-urlencoded":
            return {}
        try:
            return dict(parse_qsl(call.raw_body().decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            return {}

    @api.model
    def _auth_user(self, call):
        """An API key, and a user's login token when the key asks for one (every data route)."""
        self._auth_key(call)
        call.token_required = call.key.require_user_token

    @api.model
    def _auth_docs(self, call):
        """A key when one is sent (checked like any call), else the Odoo session
        Odoo already validated, else nobody if ``rest_api.docs_public``."""
        call.credentials = credentials.extract(call.httprequest.headers, call.args)
        if call.credentials.key or call.credentials.token:
            return self._auth_user(call)
        if request.session.uid:
            call.user_id = request.session.uid
        elif not call.setting("rest_api.docs_public"):
            raise errors.Unauthorized("The API documentation needs an API key or an Odoo login.")
        else:
            call.anonymous = True
        return None

    # ------------------------------------------------------------ throttle
    @api.model
    def _throttle(self, call):
        """Count the call against its key, once per request (``infra.throttle``).

        A read is counted ahead: its verdict is read once the handler is done
        (``_late_verdict``), so that the count's round trip to PostgreSQL runs
        alongside the handler's queries; a call over the limit is then refused
        with 429 all the same, and its transaction rolls back. Other calls,
        and keys a worker saw use up their window, are decided here, before
        any work is done.
        """
        if call.key is None:
            return
        if call.count is None:
            call.count = throttle.count(self.env, call.key, ahead=call.route.operation == "read")
        if not call.count.ahead:
            self._verdict(call)

    @api.model
    def _throttle_operation(self, call):
        """Count one operation of a batch against its key, as if it were sent alone."""
        if call.key is not None:
            call.count = throttle.count(self.env, call.key)
            self._verdict(call)

    @api.model
    def _late_verdict(self, call):
        if call.count is not None and call.count.ahead:
            self._verdict(call)

    @api.model
    def _verdict(self, call):
        """Refuse a call over its key's limit (waiting for its count if it was sent ahead)."""
        decision = call.count.verdict()
        call.headers.update(decision.headers)
        if not decision.allowed:
            call.audit = None  # refused calls are not logged, however they were decided
            raise errors.TooManyRequests(
                decision.retry_after, f"At most {decision.limit} requests per {call.key.rate_limit_period} s."
            )

    # ------------------------------------------------------------ identify
    @api.model
    def _identify(self, call):
        """The user the call runs as: a login token's, else the key's owner (or the session's).
        The OAuth routes run as nobody (their handler works out who the client acts as)."""
        if call.key is None or call.route.auth == "oauth":
            if call.user_id:
                request.update_env(user=call.user_id)
            return
        user_id = call.key.user_id
        if call.credentials.token:
            tokens = self._checking_env(call)["rest.api.token"].sudo()  # the primary's, as for the key
            call.token = tokens._verify_access(
                call.credentials.token, call.key.id, fresh=call.primary is not None, claims=call.claims
            )
            if call.credentials.bearer_alone and not call.token.oauth:
                raise errors.Unauthorized(
                    "A login token needs its API key (header api-key); only a token issued through "
                    "OAuth is accepted alone."
                )
            user_id = call.token.user_id
        elif call.token_required:
            raise errors.Unauthorized(
                "This API key needs a user's login token (header token or Login-Token)."
            )
        call.user_id = user_id
        request.update_env(user=user_id, context=call.token and self._call_context(call, request.env.context))
        if call.audit is not None:
            call.audit["user_id"] = user_id

    @api.model
    def _call_context(self, call, context):
        """The call's context, marked when a login token authenticates it: the addon's
        models then issue no credential (API.md section 8: a login token cannot mint
        a longer-lived token, nor a key). Clients cannot set or clear the mark: the
        context they send goes through an allow-list (``lib.query.check_context``)."""
        if call.token is not None:
            return dict(context, **{LOGIN_TOKEN_CONTEXT: True})
        return context

    # ------------------------------------------------------------ scope
    @api.model
    def _scope(self, call):
        """The path's model in the caller's environment, and the key's scopes on it."""
        route = call.route
        if not route.has_model or not (route.operation or route.operations):
            return  # no model, or one the handler reads itself (generate_token)
        call.model = self._model(call, call.params["model"])
        if route.operation:
            operations = frozenset({route.operation})
        else:
            operations = route.operations(call)  # the call decides (execute_kw)
        if not scopes.allows(call.scope_map, call.model._name, operations):
            ops = ", ".join(sorted(operations))
            raise errors.Forbidden(f"This API key's scopes do not allow {ops} on {call.model._name!r}.")

    @api.model
    def _model(self, call, name):
        env = request.env
        if name not in env.registry or env.registry[name]._abstract:
            raise errors.NotFound(f"No model {name!r}.")
        contexts = worker_cache.memo(env.registry, "rest_api.user_contexts")
        if (context := contexts.get(env.uid)) is None:
            context = contexts[env.uid] = dict(env.user.context_get())
        context = dict(context)
        if call.httprequest.method in ("GET", "HEAD"):
            context.update(query.parse_context(call.args.get("context")))
        request.update_env(context=self._call_context(call, context))
        company_paths.prefill(request.env)  # multi-company rules read them (infra/company_paths.py)
        return request.env[name]

    # ------------------------------------------------------------ idempotent
    @api.model
    def _idempotent(self, call):
        """``Idempotency-Key`` (API.md section 9): None when the call runs (it
        holds the key's lock, or sent none), else the kept answer, replayed.
        Per API key and user (API.md section 8), and an OAuth token's grant and scope;
        422 for the key of another request, 409 while it runs."""
        httprequest = call.httprequest
        name = idempotency.key_of(httprequest.method, httprequest.headers.get(idempotency.HEADER))
        kept = call.route.kept(call) if callable(call.route.kept) else call.route.kept
        if name is None or call.key is None or kept == routes.NOT_KEPT:
            return None
        fingerprint = idempotency.fingerprint(
            httprequest.method, httprequest.path, httprequest.query_string, call.raw_body()
        )
        owner = call.grant_scope  # an OAuth token's grant and scope: another scope, another caller
        claim = Claim(call.key.id, call.user_id, name, fingerprint, call.setting("rest_api.idempotency_ttl"),
                      withheld=kept == routes.WITHHELD, grant_scope=owner)  # fmt: skip
        if call.lock is None:  # not a transaction Odoo runs again: that one holds the lock already
            # sudo(): kept answers are looked up by the call's own pair only
            look = self.env["rest.api.idempotency"].sudo()._look(call.key.id, call.user_id, name, owner)
            if look.kept is not None:
                return self._replay(fingerprint, *look.kept)
            if look.lock is None:
                raise errors.Conflict(
                    f"A request with this {idempotency.HEADER} is still running; retry later.",
                    headers={"Retry-After": "1"},
                )
            call.lock = look.lock
        call.claim = claim
        return None

    @api.model
    def _replay(self, fingerprint, kept_fingerprint, status, headers, body, withheld=False):
        if kept_fingerprint != fingerprint:
            raise errors.Unprocessable(
                f"This {idempotency.HEADER} was used for another request (method, path or body): "
                "use a new key for a new request."
            )
        if withheld:
            raise errors.Unprocessable(
                f"This request already ran (it answered {status}); its answer may hold a secret, "
                "which is never kept: it cannot be sent again."
            )
        return Response(bytes(body or b""), status=status, headers={**headers, idempotency.REPLAYED: "true"})

    # ------------------------------------------------------------ run, answer
    @api.model
    def _run(self, call):
        return call.route.handler(call)

    @api.model
    def _answer(self, call, response):
        self._late_verdict(call)
        if call.claim is not None:
            claim, call.claim = call.claim, None
            if not self.env["rest.api.idempotency"].sudo()._keep(claim, response):
                raise errors.Conflict(
                    f"Another request with this {idempotency.HEADER} was answered meanwhile; retry "
                    "to get its answer.",
                    headers={"Retry-After": "1"},
                )
        return response

    @api.model
    def _failed(self, call, response):
        """The call failed and Odoo will roll its transaction back: an error
        answer to keep is kept now, outside that transaction (the dispatcher
        calls this from its error handler)."""
        if call.claim is None:
            return
        claim, call.claim = call.claim, None
        self.env.cr.rollback()  # the work is undone before its answer is kept
        self.env["rest.api.idempotency"].sudo()._keep_failure(claim, response)
