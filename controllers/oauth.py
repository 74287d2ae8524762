"""OAuth 2.0 for apps (API.md section 14): the authorization server.

The protocol is ``oauthlib``'s (its framework-agnostic server: a request's
URI, method, body and headers in; headers, body and status out), which fits
Odoo's request cycle as it is: it parses and checks the requests of every
grant in RFC 6749's order, PKCE (S256 only here), the refresh grant's scope
rule, client authentication's order, RFC 7009 revocation and RFC 7662
introspection, and writes RFC 6749's error answers. ``OdooValidator`` is the
addon's side: clients are keys, codes and grants are records, and the
tokens it issues are section 1 login tokens marked as OAuth ones.

- ``/api/oauth/authorize`` is a plain Odoo page (type ``http``): Odoo's
  session and login page, its CSRF check on the consent form, QWeb in
  Odoo's look. Every redirect back to the app carries ``iss`` (RFC 9207).
- ``/api/oauth/token``, ``/revoke`` and ``/introspect`` are entries of the
  route table (auth policy ``oauth``: the client authenticates in the form),
  answering RFC 6749's JSON, never problem+json.
- ``/.well-known/oauth-authorization-server`` is RFC 8414's document.
"""

import datetime as dt
import json
import logging
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from oauthlib.common import add_params_to_uri
from oauthlib.oauth2 import (
    AuthorizationEndpoint,
    BearerToken,
    IntrospectEndpoint,
    MetadataEndpoint,
    RequestValidator,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from oauthlib.oauth2.rfc6749.grant_types import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
)
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256

from odoo import fields, http
from odoo.http import Response, request

from ..lib import errors, keys, oauth, tokens

_logger = logging.getLogger(__name__)

AUTHORIZE = "/api/oauth/authorize"
TOKEN = "/api/oauth/token"
REVOKE = "/api/oauth/revoke"
INTROSPECT = "/api/oauth/introspect"
METADATA = "/.well-known/oauth-authorization-server"
FORM = "application/x-www-form-urlencoded"
# the authorization request's parameters the consent form carries back
AUTH_PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
               "code_challenge_method")  # fmt: skip
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
# what the token, revocation and introspection requests may carry: anything else is dropped
# unread (RFC 6749 section 3.2: unrecognised parameters are ignored), so that no parameter
# can stand for a value oauthlib's request object keeps under the same name (``user``...)
FORM_PARAMS = frozenset({"grant_type", "code", "redirect_uri", "client_id", "client_secret", "code_verifier",
                         "refresh_token", "scope", "token", "token_type_hint"})  # fmt: skip
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
NUL_PARAMETER = "A parameter holds a NUL character."
PAGE_HEADERS = {
    **NO_STORE,
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Client:
    """An OAuth client: a key with redirect URIs (``oauthlib`` reads ``client_id``)."""

    client_id: str
    key: object  # rest.api.key's KeyInfo

    @property
    def public(self):
        return self.key.require_user_token

    @property
    def usable(self):
        return self.key.usable(fields.Datetime.now()) and self.key.owner_active


def issuer(env):
    """RFC 9207's ``iss`` and RFC 8414's ``issuer``: ``web.base.url``."""
    return (env["ir.config_parameter"].sudo().get_param("web.base.url") or "").rstrip("/")


class S256CodeGrant(AuthorizationCodeGrant):
    """The authorization code grant with PKCE, S256 only (API.md section 14): a
    ``code_challenge`` without a method is ``plain``, and refused."""

    _code_challenge_methods = {"S256": code_challenge_method_s256}


def _stash(request):
    """What the validator works out about one request: kept apart from oauthlib's
    parameters, which a request's own fields could otherwise stand for."""
    return request.__dict__.setdefault("_odoo", {})


# ---------------------------------------------------------------- the addon's side of the protocol
class OdooValidator(RequestValidator):
    """``oauthlib``'s questions, answered from the database (``env`` is the request's)."""

    def __init__(self, env, introspecting=False):
        super().__init__()
        self.env = env
        self.introspecting = introspecting

    # ------------------------------------------------------------ clients
    def _client(self, client_id):
        info = self.env["rest.api.key"]._find_client(client_id)
        return Client(info.oauth_client_id, info) if info is not None else None

    def _sent_credentials(self, request):
        """(client_id, secret, how) from HTTP Basic or the form; ('', '', None) when none."""
        try:
            basic = oauth.parse_basic(request.headers.get("Authorization"))
        except ValueError:
            return None, None, "invalid"
        if basic is not None:
            if request.client_secret:  # RFC 6749 section 2.3: one method only
                return None, None, "invalid"
            return *basic, "basic"
        if request.client_secret:
            return request.client_id, request.client_secret, "post"
        return request.client_id, "", None

    def client_authentication_required(self, request, *args, **kwargs):
        client_id, secret, how = self._sent_credentials(request)
        if how is not None or self.introspecting:
            return True
        client = self._client(client_id)
        return client is None or not client.public

    def authenticate_client(self, request, *args, **kwargs):
        client_id, secret, how = self._sent_credentials(request)
        if how in (None, "invalid") or not secret:
            return False
        client = self._client(client_id)
        if client is None or not client.usable or not client.key.redirect_uris:
            return False
        if not self.env["rest.api.key"]._check_secret(client.key.id, secret):
            return False
        if request.client_id and request.client_id != client.client_id:
            return False
        request.client, request.client_id = client, client.client_id
        _stash(request)["authenticated"] = True
        return True

    def authenticate_client_id(self, client_id, request, *args, **kwargs):
        client = self._client(client_id)
        if client is None or not client.public or not client.usable or not client.key.redirect_uris:
            return False
        request.client = client
        return True

    def validate_client_id(self, client_id, request, *args, **kwargs):
        client = self._client(client_id)
        if client is None or not client.usable or not client.key.redirect_uris:
            return False
        request.client = _stash(request)["client"] = client
        return True

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        if grant_type == "client_credentials":
            return not client.public  # confidential clients only (RFC 6749 section 4.4)
        return grant_type in GRANT_TYPES

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):
        return response_type == "code"

    # ------------------------------------------------------------ redirect URIs
    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs):
        return oauth.redirect_matches(request.client.key.redirect_uris, redirect_uri)

    def get_default_redirect_uri(self, client_id, request, *args, **kwargs):
        client = _stash(request).get("client") or self._client(client_id)
        uris = client.key.redirect_uris if client else ()
        return uris[0] if len(uris) == 1 else None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request, *args, **kwargs):
        record = _stash(request).get("code")
        if not record or redirect_uri != record.redirect_uri:
            # RFC 6749 section 5.2: not the redirect URI of the authorization request is invalid_grant
            raise oauth_errors.InvalidGrantError(
                description="redirect_uri is not the one of the authorization request.", request=request
            )
        return True

    # ------------------------------------------------------------ scopes
    def _key_scopes(self, client):
        return client.key.scope_map

    def get_default_scopes(self, client_id, request, *args, **kwargs):
        return oauth.format_scope(self._key_scopes(request.client)).split()

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        """The asked scope, narrowed to the key's (never wider); refused when nothing is left."""
        try:
            asked = oauth.parse_scope(" ".join(scopes))
        except ValueError:
            return False
        narrowed = oauth.narrow(self._key_scopes(client), asked)
        if narrowed is not None and not narrowed:
            return False
        request.scopes = oauth.format_scope(narrowed).split()
        return True

    def get_original_scopes(self, refresh_token, request, *args, **kwargs):
        return (_stash(request)["refresh"].scope or oauth.ALL).split()

    def is_within_original_scope(self, request_scopes, refresh_token, request, *args, **kwargs):
        try:
            asked = oauth.parse_scope(" ".join(request_scopes))
            original = oauth.parse_scope(_stash(request)["refresh"].scope or oauth.ALL)
        except ValueError:
            return False
        return oauth.within(asked, original)

    # ------------------------------------------------------------ codes
    def is_pkce_required(self, client_id, request):
        return True

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        scopes = oauth.parse_scope(" ".join(request.scopes))
        user_id = _stash(request)["user_id"]
        key = request.client.key
        grant = self.env["rest.api.oauth.grant"]._allow(
            key.id, user_id, scopes, request.redirect_uri, key.require_user_token
        )
        self.env["rest.api.oauth.code"]._store(
            code["code"], request.client.key.id, user_id, grant.id, request.redirect_uri,
            oauth.format_scope(scopes), request.code_challenge, request.code_challenge_method,
        )  # fmt: skip

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        record = self.env["rest.api.oauth.code"]._take(code)
        stash = _stash(request)
        if not record or record.key_id.id != client.key.id:
            return False  # unknown, or given to another client
        if record.used:
            record._replayed()
            return False
        if record.expiration_date <= fields.Datetime.now() or record.grant_id.revoked:
            return False
        user = record.user_id
        if not user.active:
            return False
        stash.update(code=record, user_id=user.id, grant=record.grant_id)
        request.scopes = (record.scope or oauth.ALL).split()
        return True

    def get_code_challenge(self, code, request):
        return _stash(request)["code"].code_challenge or None

    def get_code_challenge_method(self, code, request):
        return _stash(request)["code"].code_challenge_method or None

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        _stash(request)["code"].write({"used": True, "chain": _stash(request)["chain"]})

    # ------------------------------------------------------------ refresh tokens
    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        """Rotation and reuse detection as API.md section 2: a spent token revokes its chain."""
        Token = self.env["rest.api.token"]
        try:
            record = Token._use_refresh(refresh_token, client.key.id, oauth=True)
        except errors.Unauthorized:  # unknown, another key's, not an OAuth one
            return False
        # anything else propagates: a serialisation failure (the same token exchanged at once
        # by another request) is retried by Odoo, which then finds it spent and revokes its chain
        if record._refresh_problem() is not None:
            return False
        if record.grant_id and record.grant_id.revoked:
            return False
        if record.grant_id and not record.grant_id.public_client and not _stash(request).get("authenticated"):
            return (
                False  # given to a confidential client: its refresh needs the secret, whatever the key became
            )
        _stash(request).update(
            refresh=record, grant=record.grant_id, chain=record.chain, user_id=record.user_id.id
        )
        return True

    def rotate_refresh_token(self, request):
        return True

    # ------------------------------------------------------------ issuing
    def save_bearer_token(self, token, request, *args, **kwargs):
        stash = _stash(request)
        if spent := stash.get("refresh"):
            spent._spend()
        if grant := stash.get("grant"):
            grant._used()

    # ------------------------------------------------------------ revocation, introspection
    def _find_token(self, token, client):
        """The token record (access or refresh) of this client, or None."""
        Token = self.env["rest.api.token"].sudo()
        if tokens.looks_like_refresh_token(token):
            self.env.cr.execute(
                "SELECT id FROM rest_api_token WHERE refresh_hash = %s", [tokens.hash_refresh_token(token)]
            )
            row = self.env.cr.fetchone()
            record = Token.browse(row[0]) if row else Token
        elif keys.looks_like_jwt(token):
            try:
                claims = tokens.verify(Token._signing_secret(), token)
            except tokens.InvalidToken:
                return None
            record = Token.search([("jti", "=", claims.jti)], limit=1)
        else:
            return None
        if not record or record.key_id.id != client.key.id or not record.oauth:
            return None  # RFC 7009 section 2.1 / RFC 7662 section 2.2: only the client's own tokens
        return record

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        record = self._find_token(token, request.client)
        if record is not None:
            self.env["rest.api.token"]._revoke_chain(record.chain)

    def introspect_token(self, token, token_type_hint, request, *args, **kwargs):
        record = self._find_token(token, request.client)
        if record is None:
            return None
        Token = self.env["rest.api.token"]
        if record.token_type == "access":
            try:
                Token._verify_access(token, request.client.key.id)
            except tokens.InvalidToken:
                return None
        elif record._refresh_problem() is not None:
            return None
        if not request.client.usable:
            return None
        user = record.user_id
        return {
            "scope": record.scope or oauth.ALL,
            "client_id": request.client.client_id,
            "username": user.login,
            "sub": str(user.id),
            "token_type": "Bearer" if record.token_type == "access" else "refresh_token",
            "exp": _utc_timestamp(record.expiration_date),
            "iat": _utc_timestamp(record.create_date),
            "iss": issuer(self.env),
        }


def _utc_timestamp(value):
    return int(value.replace(tzinfo=dt.timezone.utc).timestamp()) if value else None


# ---------------------------------------------------------------- tokens this server issues
def _bearer(env, call):
    """``oauthlib``'s token handler: section 1 login tokens, marked as OAuth ones."""
    Token = env["rest.api.token"]

    def grant_values(request):
        scopes = oauth.narrow(request.client.key.scope_map, oauth.parse_scope(" ".join(request.scopes)))
        request.scopes = oauth.format_scope(scopes).split()
        grant = _stash(request).get("grant")
        return {"scope": oauth.format_scope(scopes), "grant_id": grant.id if grant else False,
                "client_id": request.client.client_id}  # fmt: skip

    def user_of(request):
        # a code's or a refresh token's user; client credentials: the key's user
        user_id = _stash(request).get("user_id") or request.client.key.user_id
        return env["res.users"].sudo().browse(user_id)

    def access(request):
        stash = _stash(request)
        stash["values"] = grant_values(request)
        token, _expiry, record = Token._issue_access(
            user_of(request), request.client.key.id, call.setting("rest_api.access_token_ttl"),
            chain=stash.get("chain"), oauth_grant=stash["values"],
        )  # fmt: skip
        stash["chain"] = record.chain
        return token

    def refresh(request):
        stash = _stash(request)
        return Token._issue_refresh(
            user_of(request), request.client.key.id, call.setting("rest_api.refresh_token_ttl"),
            stash["chain"], oauth_grant=stash["values"],
        )  # fmt: skip

    return BearerToken(
        token_generator=access,
        refresh_token_generator=refresh,
        expires_in=lambda request: call.setting("rest_api.access_token_ttl"),
    )


def _grants(validator):
    code = S256CodeGrant(validator)
    return (
        code,
        RefreshTokenGrant(validator, issue_new_refresh_tokens=True),
        ClientCredentialsGrant(validator),
    )


def token_server(env, call):
    validator = OdooValidator(env)
    code, refresh, client = _grants(validator)
    bearer = _bearer(env, call)
    bearer.request_validator = validator
    return TokenEndpoint(
        "authorization_code",
        bearer,
        {"authorization_code": code, "refresh_token": refresh, "client_credentials": client},
    )


def authorization_server(env):
    validator = OdooValidator(env)
    code = S256CodeGrant(validator)
    return AuthorizationEndpoint("code", BearerToken(validator), {"code": code}), validator


class _Introspect(IntrospectEndpoint):
    def validate_introspect_request(self, request):
        result = super().validate_introspect_request(request)
        if request.client is None or request.client.public:
            raise oauth_errors.UnauthorizedClientError(
                description="Only confidential clients may introspect tokens.", request=request
            )
        return result


def metadata(env):
    base = issuer(env)
    validator = OdooValidator(env)
    code, refresh, client = _grants(validator)
    endpoints = [
        AuthorizationEndpoint("code", BearerToken(validator), {"code": code}),
        TokenEndpoint("authorization_code", BearerToken(validator),
                      {"authorization_code": code, "refresh_token": refresh, "client_credentials": client}),
        RevocationEndpoint(validator),
        IntrospectEndpoint(validator),
    ]  # fmt: skip
    methods = ["client_secret_basic", "client_secret_post", "none"]
    claims = {
        "issuer": base,
        "authorization_endpoint": base + AUTHORIZE,
        "token_endpoint": base + TOKEN,
        "revocation_endpoint": base + REVOKE,
        "introspection_endpoint": base + INTROSPECT,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "token_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "scopes_supported": [oauth.ALL],
        "service_documentation": base + "/api/docs",
    }
    document = MetadataEndpoint(endpoints, claims, raise_errors=False).claims
    document["grant_types_supported"] = list(GRANT_TYPES)
    return document


# ---------------------------------------------------------------- answers
def _answer(headers, body, status, basic=False):
    headers = {**dict(headers or {}), **NO_STORE}
    headers.setdefault("Content-Type", "application/json")
    headers.pop("Access-Control-Allow-Origin", None)
    if status == 401:
        # RFC 6749 section 5.2: the scheme the client authenticated with
        headers["WWW-Authenticate"] = (
            'Basic realm="oauth"' if basic else 'Bearer realm="oauth", error="invalid_client"'
        )
    return Response(body or "{}", status=status, headers=headers)


def _error(error_class, description, basic=False):
    error = error_class(description=description)
    return _answer({"Content-Type": "application/json"}, error.json, error.status_code, basic)


def refusal(error, request_id):
    """A refusal of the API's own stages on these routes (``lib.errors``: the client key's
    IP allow-list, its rate limit, a body too large...) in RFC 6749's form, not problem+json."""
    headers = {name: value for name, value in error.headers.items() if name != "WWW-Authenticate"}
    body = json.dumps(oauth.error_body(error.status, error.detail))
    return _answer({**headers, "X-Request-Id": request_id}, body, error.status)


def _form_request(call):
    """(uri, body, headers) of a token, revocation or introspection request; an
    error answer instead when it is not a form (RFC 6749 section 4.1.3)."""
    httprequest = call.httprequest
    mimetype = (httprequest.mimetype or "").lower()
    if mimetype != FORM:
        return None, _error(oauth_errors.InvalidRequestError, f"The body must be {FORM}.")
    if httprequest.query_string:
        return None, _error(oauth_errors.InvalidRequestError, "Send the parameters in the body, not the URL.")
    try:
        pairs = parse_qsl(call.raw_body().decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None, _error(oauth_errors.InvalidRequestError, "The body is not a valid form.")
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        return None, _error(oauth_errors.InvalidRequestError, "The body holds a NUL character.")
    body = urlencode([(name, value) for name, value in pairs if name in FORM_PARAMS])
    headers = {"Authorization": httprequest.headers.get("Authorization", "")}
    return (httprequest.base_url, body, headers), None


def _basic(call):
    return (call.httprequest.headers.get("Authorization") or "").lower().startswith("basic ")


def token(call):
    """``POST /api/oauth/token`` (RFC 6749 section 5)."""
    return _endpoint(call, lambda *form: token_server(request.env, call).create_token_response(*form))


def revoke(call):
    """``POST /api/oauth/revoke`` (RFC 7009): 200 for any token, an unknown one included."""
    endpoint = RevocationEndpoint(OdooValidator(request.env))
    return _endpoint(call, endpoint.create_revocation_response)


def introspect(call):
    """``POST /api/oauth/introspect`` (RFC 7662): confidential clients only."""
    endpoint = _Introspect(OdooValidator(request.env, introspecting=True))
    return _endpoint(call, endpoint.create_introspect_response)


def _endpoint(call, respond):
    """The answer of an oauthlib endpoint's ``respond(uri, method, body, headers)`` to the call's form."""
    parts, refusal = _form_request(call)
    if refusal is not None:
        return refusal
    uri, body, headers = parts
    try:
        answer = respond(uri, "POST", body, headers)
    except ValueError:  # oauthlib refuses a body it cannot decode as a form
        return _error(oauth_errors.InvalidRequestError, "The body is not a valid form.")
    return _answer(*answer, basic=_basic(call))


# ---------------------------------------------------------------- the pages
class OauthPages(http.Controller):
    @http.route(
        METADATA, type="http", auth="none", methods=["GET"], csrf=False, save_session=False, readonly=True
    )
    def oauth_metadata(self):
        """RFC 8414: anonymous, the same for everyone."""
        body = json.dumps(metadata(request.env))
        return Response(
            body, content_type="application/json", headers={"Cache-Control": "public, max-age=300"}
        )

    @http.route(AUTHORIZE, type="http", auth="public", methods=["GET", "POST"], csrf=True, sitemap=False)
    def oauth_authorize(self, **params):
        """The authorization endpoint: Odoo's login page first for a user without a
        session, then the consent page (its Allow/Deny form posts back here)."""
        env = request.env
        source = (
            request.httprequest.form if request.httprequest.method == "POST" else request.httprequest.args
        )
        pairs = [(name, value) for name, value in source.items(multi=True) if name in AUTH_PARAMS]
        if any("\x00" in value for _name, value in pairs):  # no client or redirect URI holds one
            return self._error_page(oauth_errors.InvalidRequestFatalError(description=NUL_PARAMETER))
        uri = request.httprequest.base_url + "?" + urlencode(pairs)
        endpoint, validator = authorization_server(env)
        iss = issuer(env)
        try:
            scopes, credentials = endpoint.validate_authorization_request(uri, "GET", None, {})
        except oauth_errors.FatalClientError as exc:
            # an unknown client or a redirect URI that does not match: never redirected to
            return self._error_page(exc)
        except oauth_errors.OAuth2Error as exc:
            return self._back(add_params_to_uri(exc.redirect_uri, [*exc.twotuples, ("iss", iss)]))
        if not request.session.uid or env.user._is_public():
            target = request.httprequest.full_path if request.httprequest.method == "GET" else uri
            return request.redirect("/web/login?" + urlencode({"redirect": _local(target)}), local=True)
        client = credentials["request"].client
        user = env.user
        asked = oauth.parse_scope(" ".join(scopes))
        remembered = env["rest.api.oauth.grant"]._covers(
            client.key.id, user.id, asked, credentials["redirect_uri"], client.key.require_user_token
        )
        if request.httprequest.method == "POST":
            decision = request.httprequest.form.get("decision")
            if decision != "allow":
                error = [("error", "access_denied"), ("state", credentials.get("state"))]
                error = [(k, v) for k, v in error if v] + [("iss", iss)]
                return self._back(add_params_to_uri(credentials["redirect_uri"], error))
        elif not remembered:
            return self._consent_page(client, user, asked, pairs)
        headers, _body, _status = endpoint.create_authorization_response(
            uri, "GET", None, {}, scopes=scopes, credentials={"_odoo": {"user_id": user.id}}
        )
        return self._back(add_params_to_uri(headers["Location"], [("iss", iss)]))

    def _back(self, location):
        """A redirect back to the app (its own scheme and host: not Odoo's local redirect)."""
        response = Response(status=302, headers={"Location": location, **PAGE_HEADERS})
        return response

    def _error_page(self, exc):
        values = {"error": exc.error, "description": exc.description or ""}
        response = request.render("rest_api.oauth_error", values, headers=PAGE_HEADERS)
        response.status_code = 400
        return response

    def _consent_page(self, client, user, asked, pairs):
        key = request.env["rest.api.key"].sudo().browse(client.key.id)
        scopes = oauth.narrow(client.key.scope_map, asked)
        rows = (
            request.env["ir.model"]
            .sudo()
            .search_read([("model", "in", list(scopes or ()))], ["model", "name"])
        )
        names = {row["model"]: row["name"] for row in rows}
        lines = [
            {"model": model, "name": names.get(model, model),
             "operations": [op for op in oauth.OPERATIONS if op in ops]}
            for model, ops in sorted((scopes or {}).items())
        ]  # fmt: skip
        values = {
            "app_name": key.name,
            "user": user,
            "lines": lines,
            "everything": scopes is None,
            "params": pairs,
            "redirect_host": _host_of(dict(pairs).get("redirect_uri") or client.key.redirect_uris[0]),
            "action": AUTHORIZE,
        }
        return request.render("rest_api.oauth_consent", values, headers=PAGE_HEADERS)


def _local(target):
    """A path on this server (what Odoo's login page may redirect to afterwards)."""
    return target if target.startswith("/") else "/" + target.split("/", 3)[-1]


def _host_of(uri):
    parts = urlsplit(uri or "")
    return parts.netloc or (parts.scheme + ":" if parts.scheme else "")
