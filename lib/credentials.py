"""Where credentials travel (API.md section 1): headers only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import Unauthorized
from .keys import looks_like_jwt

KEY_HEADERS = ("api-key", "X-API-Key")
TOKEN_HEADERS = ("token", "Login-Token")
# names a client might put in a URL; URLs end up in proxy and server logs
QUERY_CREDENTIALS = frozenset(
    {
        "api-key",
        "api_key",
        "apikey",
        "x-api-key",
        "token",
        "login-token",
        "login_token",
        "access_token",
        "jwt",
    }
)


@dataclass(frozen=True)
class Credentials:
    key: str | None
    token: str | None
    # the token came alone in ``Authorization: Bearer``: valid only if issued through OAuth
    # (API.md section 14), whose token names its key
    bearer_alone: bool = False


def _one(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    values = {v.strip() for name in names if (v := headers.get(name)) and v.strip()}
    if len(values) > 1:
        raise Unauthorized("Conflicting credentials in several headers.")
    return values.pop() if values else None


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = (headers.get("Authorization") or "").strip()
    scheme, _, credential = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credential.strip() or None


def extract(headers: Mapping[str, str], query: Mapping[str, str]) -> Credentials:
    """The API key and login token of a request.

    ``Authorization: Bearer`` carries the key when no key header is given,
    and the login token (a JWT) when one is; a JWT there with no key at all
    is an OAuth access token (``bearer_alone``). Credentials in the query string
    are refused outright rather than ignored, so the client learns to stop.
    """
    if any(name.lower() in QUERY_CREDENTIALS for name in query):
        raise Unauthorized("Credentials must be sent in headers, never in the URL.")
    key, token, bearer = _one(headers, KEY_HEADERS), _one(headers, TOKEN_HEADERS), _bearer(headers)
    if token is not None and token == key:
        # the key sent again as the token: a generated client given only the key sends it
        # in every security scheme of the OpenAPI document (lib.openapi._security_schemes)
        token = None
    if bearer:
        if key is None and not looks_like_jwt(bearer):
            key = bearer
        elif token is None and looks_like_jwt(bearer):
            token = bearer
        elif bearer not in (key, token):
            raise Unauthorized("Conflicting credentials in several headers.")
    return Credentials(key, token, bearer_alone=key is None and token is not None and token == bearer)
