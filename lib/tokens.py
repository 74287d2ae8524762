"""Login tokens (API.md sections 1 and 2): HS256 JWTs and opaque refresh tokens.

Verification pins the algorithm (no ``alg: none``, no RS256/HS256 confusion),
requires every claim the API relies on, and turns every failure into one
opaque 401: the reason is for the server log, not for the caller.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

import jwt

from .errors import Unauthorized

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "exp", "iat", "jti", "azp")
REFRESH_PREFIX = "odoorefresh_"
MIN_SECRET_BYTES = 32
MAX_TOKEN_DAYS = 3650  # generate_token's expiration_days


class InvalidToken(Unauthorized):
    """A login token that cannot be trusted; ``reason`` is for the log only."""

    def __init__(self, reason: str):
        super().__init__("Invalid, expired or revoked login token.")
        self.reason = reason


@dataclass(frozen=True)
class Claims:
    user_id: int
    key_id: int
    jti: str
    issued_at: int
    expires_at: int


def new_secret() -> str:
    """A signing secret for one database (512 random bits)."""
    return secrets.token_urlsafe(64)


def new_jti() -> str:
    return uuid.uuid4().hex


def issue(secret: str, *, user_id: int, key_id: int, jti: str, issued_at: int, expires_at: int,
          extra: dict | None = None) -> str:  # fmt: skip
    """A signed access token for ``user_id`` under the API key ``key_id`` (claim ``azp``);
    ``extra``: further claims (an OAuth token's ``scope``, ``client_id``, ``oauth``)."""
    payload = {**(extra or {}), "sub": str(user_id), "azp": str(key_id), "jti": jti, "iat": issued_at,
               "exp": expires_at}  # fmt: skip
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def verify(secret: str, token: str, *, now: int | None = None) -> Claims:
    """The claims of a token this server signed and that has not expired; InvalidToken otherwise."""
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise InvalidToken("signing secret too short")
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": list(REQUIRED_CLAIMS), "verify_exp": now is None},
        )
        claims = Claims(int(payload["sub"]), int(payload["azp"]), str(payload["jti"]), int(payload["iat"]),
                        int(payload["exp"]))  # fmt: skip
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(f"{type(exc).__name__}: {exc}") from exc
    if now is not None and claims.expires_at <= now:
        raise InvalidToken("expired")
    return claims


def new_refresh_token() -> str:
    """An opaque refresh token (only its digest is stored)."""
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_refresh_token(text: object) -> bool:
    return isinstance(text, str) and text.startswith(REFRESH_PREFIX) and len(text) == len(REFRESH_PREFIX) + 43
