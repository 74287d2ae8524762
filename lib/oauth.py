"""OAuth 2.0 for apps (API.md section 14): what the protocol library does not decide.

The protocol itself (request parsing, the grants' checks and order, PKCE,
RFC 6749's error answers, RFC 7009 and RFC 7662) is ``oauthlib``'s
(``controllers/oauth.py``); this module holds the addon's own rules, pure:

- scopes: ``model:operation,operation`` items separated by spaces
  (``res.partner:read sale.order:read,write``); ``*`` stands for everything
  the key allows (an all-models key asked for no scope). A token's scope
  narrows its key's scopes, never widens them (``narrow``, ``within``);
- redirect URIs: registered one a line, matched exactly, except that a
  loopback IP literal (``127.0.0.1``, ``[::1]``) matches any port (RFC 8252
  section 7.3); ``localhost`` is matched exactly;
- client ids and authorization codes (only a digest of a code is stored);
- the client a token, revocation or introspection request names (HTTP Basic or
  the form), and the RFC 6749 error body its refusals answer with.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

from .routes import MODEL_RE
from .scopes import OPERATIONS

ALL = "*"
CLIENT_ID_PREFIX = "odooclient_"
CODE_TTL = 60  # seconds an authorization code lives (API.md section 14)
LOOPBACK_HOSTS = ("127.0.0.1", "[::1]")
MAX_SCOPE_ITEMS = 200
MAX_REDIRECT_URIS = 20
MAX_URI_LENGTH = 2000
SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*$")
# what new_client_id makes (an id with anything else is unknown without a look-up: a NUL
# byte, say, never reaches PostgreSQL)
CLIENT_ID_RE = re.compile(r"^" + CLIENT_ID_PREFIX + r"[A-Za-z0-9_-]{1,80}$")
# RFC 6749 section 5.2 (and the registry's token-endpoint codes: slow_down, RFC 8628) for
# a refusal of the API's own stages on the OAuth routes (its IP allow-list, its rate limit)
ERROR_CODES = {400: "invalid_request", 401: "invalid_client", 403: "access_denied", 413: "invalid_request",
               429: "slow_down", 503: "temporarily_unavailable"}  # fmt: skip

ScopeMap = Mapping[str, frozenset]


# ---------------------------------------------------------------- scopes
def parse_scope(text: str | None) -> dict[str, frozenset] | None:
    """``"res.partner:read sale.order:read,write"`` -> {model: operations}; None for ``*``
    (everything the key allows). Raises ValueError for anything else; the message
    never echoes the value."""
    items = (text or "").split()
    if items == [ALL]:
        return None
    if not items or len(items) > MAX_SCOPE_ITEMS:
        raise ValueError("scope must list model:operation items separated by spaces")
    found: dict[str, frozenset] = {}
    for item in items:
        model, sep, ops = item.partition(":")
        operations = frozenset(ops.split(",")) if ops else frozenset()
        if not sep or not MODEL_RE.match(model) or not operations or not operations <= set(OPERATIONS):
            raise ValueError(
                "each scope item is a model and its operations (%s), as model:read,write"
                % ", ".join(OPERATIONS)
            )
        found[model] = found.get(model, frozenset()) | operations
    return found


def format_scope(scopes: ScopeMap | None) -> str:
    """The scope string of a {model: operations} map (sorted, operations in their usual order)."""
    if scopes is None:
        return ALL
    return " ".join(
        f"{model}:{','.join(op for op in OPERATIONS if op in ops)}"
        for model, ops in sorted(scopes.items())
        if ops
    )


def narrow(key_scopes: ScopeMap | None, requested: ScopeMap | None) -> dict[str, frozenset] | None:
    """What a token may do: the key's scopes narrowed to ``requested`` (None = everything the
    key allows). Models and operations the key lacks are dropped, never granted."""
    if requested is None:
        return None if key_scopes is None else {m: frozenset(o) for m, o in key_scopes.items() if o}
    if key_scopes is None:
        return {m: frozenset(o) for m, o in requested.items() if o}
    found = {}
    for model, ops in requested.items():
        kept = frozenset(ops) & frozenset(key_scopes.get(model, ()))
        if kept:
            found[model] = kept
    return found


def within(inner: ScopeMap | None, outer: ScopeMap | None) -> bool:
    """Whether ``inner`` asks for nothing beyond ``outer`` (None: everything)."""
    if outer is None:
        return True
    if inner is None:
        return False
    return all(frozenset(ops) <= frozenset(outer.get(model, ())) for model, ops in inner.items())


def union(first: ScopeMap | None, second: ScopeMap | None) -> dict[str, frozenset] | None:
    if first is None or second is None:
        return None
    found = {m: frozenset(o) for m, o in first.items()}
    for model, ops in second.items():
        found[model] = found.get(model, frozenset()) | frozenset(ops)
    return found


def frozen(scopes: ScopeMap | None) -> tuple | None:
    """A hashable form of a scope map (for cached states)."""
    return None if scopes is None else tuple(sorted((m, frozenset(o)) for m, o in scopes.items()))


# ---------------------------------------------------------------- redirect URIs
def parse_redirect_uris(text: str | None) -> list[str]:
    """The registered redirect URIs (one a line); ValueError for one that cannot be one:
    not absolute, a fragment (RFC 6749 section 3.1.2), a plain-http address that is not
    a loopback one (RFC 8252 section 8.3), too long, or too many."""
    uris = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(uris) > MAX_REDIRECT_URIS:
        raise ValueError(f"at most {MAX_REDIRECT_URIS} redirect URIs")
    for uri in uris:
        problem = _redirect_problem(uri)
        if problem:
            raise ValueError(f"redirect URI {uri[:100]!r}: {problem}")
    return uris


def _redirect_problem(uri: str) -> str | None:
    if len(uri) > MAX_URI_LENGTH or any(c.isspace() for c in uri):
        return "too long or holds spaces"
    scheme, _, rest = uri.partition(":")
    if not rest or not SCHEME_RE.match(scheme):
        return "not an absolute URI (scheme:...)"
    if "#" in uri:
        return "a redirect URI has no fragment"
    scheme = scheme.lower()
    if scheme in ("javascript", "data", "vbscript", "file"):
        return "this scheme cannot be a redirect URI"
    if scheme in ("http", "https"):
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018 - raises ValueError for a malformed port
        except ValueError:
            return "malformed address"
        if not parts.hostname:
            return "no host"
        if parts.username or parts.password:
            return "no user or password in a redirect URI"
        if scheme == "http" and parts.hostname not in ("127.0.0.1", "::1", "localhost"):
            return "plain http only for loopback addresses (use https)"
    return None


def _loopback_parts(uri: str):
    """(host, path, query) of an http loopback IP-literal URI, else None."""
    if not uri.startswith("http://"):
        return None
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018
    except ValueError:
        return None
    host = parts.netloc.rpartition("@")[2]
    host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if parts.scheme.lower() != "http" or host not in LOOPBACK_HOSTS or parts.username or parts.fragment:
        return None
    return host, parts.path or "/", parts.query


def redirect_matches(registered: Iterable[str], uri: str | None) -> bool:
    """Whether ``uri`` is one of the registered redirect URIs: an exact string match,
    or a loopback IP literal whose port alone differs (RFC 8252 section 7.3)."""
    if not uri or len(uri) > MAX_URI_LENGTH:
        return False
    registered = list(registered)
    if uri in registered:
        return True
    wanted = _loopback_parts(uri)
    if wanted is None:
        return False
    return any(_loopback_parts(candidate) == wanted for candidate in registered)


# ---------------------------------------------------------------- ids and codes
def new_client_id() -> str:
    """A public client identifier (not a secret)."""
    return CLIENT_ID_PREFIX + secrets.token_urlsafe(18)


def looks_like_client_id(text: object) -> bool:
    return isinstance(text, str) and CLIENT_ID_RE.match(text) is not None


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(client_id, secret) of an ``Authorization: Basic`` header (RFC 6749 section 2.3.1:
    each form-encoded), None when the header is not Basic; ValueError when it is malformed."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("malformed Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise ValueError("malformed Basic credentials")
    return unquote(client_id), unquote(secret)


def sent_client(header: str | None, form: Mapping[str, str]) -> tuple[str, str] | None:
    """(client_id, secret) the client of a token, revocation or introspection request
    names: HTTP Basic or the form (``client_secret_post``), one method only (RFC 6749
    section 2.3); secret "" for a public client. None when it names none, or two ways."""
    try:
        basic = parse_basic(header)
    except ValueError:
        return None
    if basic is not None:
        if form.get("client_secret") or (form.get("client_id") and form["client_id"] != basic[0]):
            return None
        return basic
    client_id = form.get("client_id")
    return (client_id, form.get("client_secret") or "") if client_id else None


def error_body(status: int, detail: str) -> dict:
    """RFC 6749's error JSON for a refusal of status ``status`` (OAuth libraries parse it)."""
    code = ERROR_CODES.get(status, "invalid_request" if status < 500 else "server_error")
    return {"error": code, "error_description": detail}


def grant_scope(grant_id: int | None, scopes: ScopeMap | None) -> str:
    """Who, beside its (key, user) pair, owns what an OAuth token's call leaves behind (a
    kept answer, a subscription, a cursor): its grant and its scope. A token of another
    grant or scope is another owner (API.md section 8): a narrower token never replays
    or reads what a wider one left."""
    return f"{int(grant_id or 0)}:{format_scope(scopes)}"


def hash_code(code: str) -> str:
    """The digest stored for an authorization code (the code itself never is)."""
    return hashlib.sha256(("oauth-code:" + code).encode("utf-8")).hexdigest()


def same(first: str, second: str) -> bool:
    return hmac.compare_digest(first.encode("utf-8"), second.encode("utf-8"))
