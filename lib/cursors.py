"""Cursor paging of ``GET /api/<model>/search`` (API.md section 10): keyset terms and signed cursors.

A cursor says where a page starts: after (or before) the row whose order
values it carries, in the order of the search it belongs to. It is found
again with a WHERE on the order's columns (a keyset, or "seek", condition),
never with an OFFSET, so a page deep in the result costs what the first
one costs.

An order pages by cursor when each of its terms is a column of the model's
own table; ``id`` closes it (appended, ascending, unless the order names it)
so that every row has one place. PostgreSQL puts NULLs last on ASC and first
on DESC unless ``nulls first``/``nulls last`` says otherwise, and the keyset
follows the same rule: ``segments`` gives the conditions, as data that
``infra/keyset.py`` writes as SQL.

A cursor remembers its search (model, domain, fields, order, context) so that
``?cursor=<c>`` alone continues it, and the (API key, user) pair it was given
to, with an OAuth token's grant and scope (API.md section 8: what a call
leaves behind acts as its caller). It is
URL-safe base64 of a small binary record, signed with HMAC-SHA256 under a key
derived from the database's own secret (``derive_key``); a cursor that was
altered, or that belongs to another caller or model, is refused with 400.
It carries the caller's own search and the order values of a row the caller
was just given, of fields it may read: nothing it could not see already.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .errors import BadRequest

VERSION = 1
TAG_BYTES = 16  # HMAC-SHA256 truncated to 128 bits (RFC 2104 section 5)
CALLER_BYTES = 8
BACKWARD, COMPRESSED = 1, 2  # flag bits
MAX_CURSOR_LENGTH = 8192  # characters
MAX_PAYLOAD_BYTES = 1 << 17  # a decompressed payload
KEY_LABEL = b"rest_api search cursor v1"

INVALID = "The cursor is not one this server gave, or it was altered: start again from a page without cursor."
OTHER_CALLER = "The cursor was given to another API key or user: only the caller it was given to may use it."
OTHER_MODEL = "The cursor belongs to a search of another model."

_TERM_RE = re.compile(
    r'^\s*"?(?P<name>[a-z_][a-z0-9_]*)"?(?:\s+(?P<direction>asc|desc))?(?:\s+nulls\s+(?P<nulls>first|last))?\s*$',
    re.IGNORECASE,
)
_CURSOR_RE = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Term:
    """One term of an order: a column, its direction and where its NULLs go."""

    name: str
    desc: bool = False
    nulls_first: bool = False  # as PostgreSQL decides it: explicit, else first on DESC
    nullable: bool = True

    def reversed(self) -> Term:
        return replace(self, desc=not self.desc, nulls_first=not self.nulls_first)

    @property
    def text(self) -> str:
        """The term in Odoo's order syntax (``nulls`` only where it is not PostgreSQL's default)."""
        text = f"{self.name} {'desc' if self.desc else 'asc'}"
        if self.nulls_first != self.desc:
            text += " nulls first" if self.nulls_first else " nulls last"
        return text


def order_terms(order: str) -> tuple[Term, ...] | None:
    """The terms of an Odoo order of plain field names, ``id`` last; None for any
    other order (a path, a ``field:function``, an empty order)."""
    terms = []
    for part in order.split(","):
        found = _TERM_RE.match(part)
        if found is None:
            return None
        desc = (found["direction"] or "asc").lower() == "desc"
        nulls = (found["nulls"] or "").lower()
        name = found["name"].lower()
        terms.append(Term(name, desc, nulls == "first" if nulls else desc, nullable=name != "id"))
        if name == "id":  # unique: later terms never decide
            return tuple(terms)
    return (*terms, Term("id", nullable=False))


def order_text(terms: Sequence[Term], reverse: bool = False) -> str:
    """The order of ``terms`` (or its exact reverse) in Odoo's syntax."""
    return ", ".join((term.reversed() if reverse else term).text for term in terms)


# ---------------------------------------------------------------- keyset conditions
# A condition is a tuple: ("cmp", i, op, value) compares the i-th order value with a
# cursor's value (op among < > <= >= =), ("null", i) / ("notnull", i) test it for
# NULL, ("and", a, b) / ("or", a, b) combine two. None stands for "no row".


def _or(left, right):
    if left is None:
        return right
    return left if right is None else ("or", left, right)


def _and(left, right):
    return None if left is None or right is None else ("and", left, right)


def _beyond(index: int, term: Term, value):
    """Rows strictly after ``value`` on this term alone."""
    if value is None:
        return ("notnull", index) if term.nulls_first else None
    greater = ("cmp", index, "<" if term.desc else ">", value)
    return _or(greater, ("null", index)) if term.nullable and not term.nulls_first else greater


def _same(index: int, value):
    return ("null", index) if value is None else ("cmp", index, "=", value)


def _after(terms: Sequence[Term], values: Sequence, start: int):
    """Rows after the anchor on ``terms[start:]``, those before ``start`` being equal."""
    beyond = _beyond(start, terms[start], values[start])
    if start + 1 == len(terms):
        return beyond
    return _or(beyond, _and(_same(start, values[start]), _after(terms, values, start + 1)))


def segments(terms: Sequence[Term], values: Sequence) -> list:
    """The conditions of the rows after the anchor row ``values``, in ``terms``' order.

    Rows of the first condition all come before those of the next one, so a
    page reads them in turn until it is full. The first condition bounds the
    first column from one side (``name >= 'x'``), which a B-tree index on it
    serves as a range; the NULLs of that column, which no range reaches,
    are the second one.
    """
    head, value = terms[0], values[0]
    rest = _after(terms, values, 1) if len(terms) > 1 else None
    if value is None:
        found = [_and(("null", 0), rest), ("notnull", 0) if head.nulls_first else None]
    else:
        greater = "<" if head.desc else ">"
        first = ("cmp", 0, greater, value)
        if rest is not None:
            first = ("and", ("cmp", 0, greater + "=", value), _or(first, rest))
        found = [first, ("null", 0) if head.nullable and not head.nulls_first else None]
    return [condition for condition in found if condition is not None]


# ---------------------------------------------------------------- signed cursors
@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (or, ``backward``, before) the row of ``values``.

    ``query`` is the search it belongs to, as JSON values: (domain, fields or
    None, order or None, context or None); ``values`` are the anchor row's
    order values as PostgreSQL writes them as text (None for NULL), ``id`` last.
    """

    model: str
    query: tuple
    values: tuple
    backward: bool = False


def derive_key(secret: str, label: bytes = KEY_LABEL) -> bytes:
    """A cursors' signing key (``label``: whose; the search cursors' by default): derived
    from the database's secret, never that secret itself."""
    return hmac.new(secret.encode(), label, hashlib.sha256).digest()


def caller_mark(key: bytes, key_id: int, user_id: int, owner: str = "") -> bytes:
    """Who a cursor was given to, keyed: it tells nobody which key or user that is.
    ``owner``: an OAuth token's grant and scope (``lib.oauth.grant_scope``): a token of
    another scope is another caller."""
    text = f"caller:{int(key_id)}:{int(user_id)}" + (f":{owner}" if owner else "")
    return hmac.new(key, text.encode(), hashlib.sha256).digest()[:CALLER_BYTES]


def _tag(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()[:TAG_BYTES]


def encode(key: bytes, cursor: Cursor, caller: bytes) -> str:
    """The cursor as URL-safe text (RFC 4648 section 5, no padding), signed."""
    payload = json.dumps(
        [cursor.model, *cursor.query, list(cursor.values)], separators=(",", ":"), ensure_ascii=False
    ).encode()
    flags = BACKWARD if cursor.backward else 0
    packed = zlib.compress(payload, 9)
    if len(packed) < len(payload):
        payload, flags = packed, flags | COMPRESSED
    data = bytes([VERSION, flags]) + caller + payload
    return base64.urlsafe_b64encode(data + _tag(key, data)).rstrip(b"=").decode()


def decode(key: bytes, text: object, caller: bytes, model: str) -> Cursor:
    """The cursor of ``text`` if this server signed it for ``caller`` and ``model``;
    BadRequest otherwise (never echoing it)."""
    data = _signed_bytes(key, text)
    if not hmac.compare_digest(data[2 : 2 + CALLER_BYTES], caller):
        raise BadRequest(OTHER_CALLER)
    payload = data[2 + CALLER_BYTES :]
    try:
        if data[1] & COMPRESSED:
            inflater = zlib.decompressobj()
            payload = inflater.decompress(payload, MAX_PAYLOAD_BYTES)
            if inflater.unconsumed_tail:
                raise ValueError("too large")
        found = json.loads(payload)
        name, domain, fields, order, context, values = found
    except (ValueError, TypeError, zlib.error):
        raise BadRequest(INVALID) from None
    if name != model:
        raise BadRequest(OTHER_MODEL)
    if not isinstance(values, list) or not all(value is None or isinstance(value, str) for value in values):
        raise BadRequest(INVALID)
    return Cursor(name, (domain, fields, order, context), tuple(values), bool(data[1] & BACKWARD))


def _signed_bytes(key: bytes, text: object) -> bytes:
    """The cursor's record without its tag, once the tag is checked."""
    if not isinstance(text, str) or len(text) > MAX_CURSOR_LENGTH or not _CURSOR_RE.fullmatch(text):
        raise BadRequest(INVALID)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BadRequest(INVALID) from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text:  # other unused bits: not ours
        raise BadRequest(INVALID)
    data, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if len(data) < 2 + CALLER_BYTES or not hmac.compare_digest(tag, _tag(key, data)) or data[0] != VERSION:
        raise BadRequest(INVALID)
    return data
