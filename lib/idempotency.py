"""``Idempotency-Key`` (API.md section 9, IETF draft httpapi-idempotency-key-header): the pure part.

What a key value may be, what makes two requests "the same request", which
answers are kept and which of their headers are replayed. The statements
that lock a key and keep its answer are ``models/rest_api_idempotency.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re

from .errors import BadRequest

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_VALUE_RE = re.compile(r"[\x21-\x7e]{1,255}")
# the answers a client may retry: they are not kept
NOT_KEPT = frozenset({409, 429, 503})
# the headers of a kept answer that are part of it; the others (X-Request-Id,
# RateLimit-*, CORS) describe the request that carries the replay
KEPT_HEADERS = (
    "Content-Type", "Location", "ETag", "Preference-Applied", "Link", "X-Total-Count",
    "WWW-Authenticate", "Allow",
)  # fmt: skip


def key_of(method: str, header: str | None) -> str | None:
    """The request's Idempotency-Key, None when it has none (or its method
    is not a write); 400 for a value that is not 1-255 visible ASCII characters."""
    if header is None or method not in METHODS:
        return None
    value = header.strip(" \t")  # HTTP's optional white space only: str.strip() takes NBSP and NEL too
    if not _VALUE_RE.fullmatch(value):
        raise BadRequest(f"{HEADER} must be 1 to 255 visible ASCII characters.")
    return value


def fingerprint(method: str, path: str, query: bytes | str, body: bytes | None) -> str:
    """What makes two requests with one key "the same request": method, path,
    query string and body. A JSON body counts by its value, not by its
    spacing or key order."""
    if isinstance(query, str):
        query = query.encode()
    content = body or b""
    with contextlib.suppress(ValueError):  # not JSON (or empty): its bytes as sent
        content = json.dumps(json.loads(content), sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, content):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def is_kept(status: int) -> bool:
    """Whether an answer is kept and replayed: not 5xx, 409, 429 or 503."""
    return status < 500 and status not in NOT_KEPT


def kept_headers(headers) -> dict[str, str]:
    """The headers of an answer that its replay repeats."""
    return {name: headers[name] for name in KEPT_HEADERS if headers.get(name) is not None}
