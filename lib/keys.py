"""API key secrets: generation, hashing and cheap shape checks.

A key is ``odoorest_`` followed by 43 URL-safe base64 characters (256 random
bits). The prefix lets secret scanners recognise a leaked key. Only a SHA-256
digest is stored: with 256 bits of entropy there is nothing to brute-force,
so a slow password hash (PBKDF2, bcrypt) would only cost time on every call.
"""

from __future__ import annotations

import hashlib
import re
import secrets

KEY_PREFIX = "odoorest_"
RANDOM_BYTES = 32
HINT_CHARS = 4
KEY_RE = re.compile(r"^odoorest_[A-Za-z0-9_-]{43}$")
JWT_RE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


def generate_key() -> str:
    """A new random key (shown once, never stored)."""
    return KEY_PREFIX + secrets.token_urlsafe(RANDOM_BYTES)


def hash_key(key: str) -> str:
    """The digest stored for ``key`` and used to look it up."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_hint(key: str) -> str:
    """A short non-secret reminder of a key, for lists ("odoorest_Ab3d…")."""
    return key[: len(KEY_PREFIX) + HINT_CHARS] + "…"


def looks_like_key(text: str | None) -> bool:
    """Whether ``text`` has the shape of a key: refused early otherwise, with no lookup."""
    return bool(text) and bool(KEY_RE.match(text))


def looks_like_jwt(text: str | None) -> bool:
    return bool(text) and len(text) < 8192 and bool(JWT_RE.match(text))
