"""The change feed's ordering and cursors (API.md section 13), pure Python.

Ordering comes from PostgreSQL, not from clocks: each change note carries the
id of the transaction that wrote it (``pg_current_xact_id()``: the top-level
id, also inside a savepoint), and a cursor carries the snapshot of the
transaction that read its page (``pg_current_snapshot()``: ``xmin:xmax:xip``).
A transaction id is visible in a snapshot when it is below ``xmin``, or below
``xmax`` and not in ``xip``; once visible in one snapshot it is visible in
every later one. So "the notes whose transaction was not visible in the
cursor's snapshot and is visible now" are exactly those committed since: a
transaction open while a page was read, however long before it began,
is in that page's ``xip`` and comes with a later page.

A cursor (``SyncCursor``) says what the client holds:

- ``base``: the snapshot up to which the records it covers are current;
- ``upto`` and ``pos``: while the changes between ``base`` and ``upto``
  are more than a page, how far through them the pages went (each record at
  the place of its last change: ``pos`` is that note's id and the record id);
- ``scan``: during a full sync, the last record id sent (records above it
  are not sent yet; those at or below it are covered up to ``base``), None
  once the full sync is done.

It is signed like a search cursor (``lib.cursors``: HMAC under a key derived
from the database's secret, bound to the (key, user) pair, an OAuth token's grant
and scope, and the model)
under a key of its own, so neither kind passes for the other.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import zlib
from dataclasses import dataclass, replace

from . import cursors
from .errors import BadRequest

VERSION = 1
KEY_LABEL = b"rest_api change cursor v1"
MAX_XIP = 4096  # transactions in progress a cursor may carry (a cursor stays under 8 KB compressed)
_SNAPSHOT_RE = re.compile(r"^(\d{1,20}):(\d{1,20}):((?:\d{1,20}(?:,\d{1,20})*)?)$")

OTHER_QUERY = (
    "The cursor remembers its fields, domain and limit: send it alone, or with the very ones "
    "of the call that gave it."
)
EXPIRED = (
    "The cursor is older than rest_api.sync_retention_days, or change tracking of this model was "
    "turned off since: start a full sync again (a call without cursor)."
)
TOO_LONG = (
    "The query is too long to page by cursor: its cursor would pass the cursors' length limit. "
    "Send a shorter domain or fields."
)
NOT_NOTED_YET = (
    "Change tracking of this model was just turned on and transactions begun before it are still "
    "running (their changes may not be noted): start the full sync again after Retry-After."
)
NOT_TRACKED = (
    "Change tracking is off for this model: an administrator turns it on in the REST API settings "
    "(Tracked models, rest.api.sync.model)."
)


@dataclass(frozen=True)
class Snapshot:
    """A PostgreSQL snapshot (``pg_snapshot``): ``xmin``, ``xmax`` and the ids in progress."""

    xmin: int
    xmax: int
    xip: tuple[int, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        found = _SNAPSHOT_RE.match(text or "")
        if found is None:
            raise ValueError("not a snapshot")
        xmin, xmax = int(found[1]), int(found[2])
        xip = tuple(sorted({int(x) for x in found[3].split(",")} if found[3] else ()))
        if xmin > xmax or any(not xmin <= x < xmax for x in xip):
            raise ValueError("not a snapshot")
        return cls(xmin, xmax, xip)

    @property
    def text(self) -> str:
        """As PostgreSQL writes it (``pg_snapshot``'s text form)."""
        return f"{self.xmin}:{self.xmax}:{','.join(map(str, self.xip))}"

    def running(self, xid: int | None) -> Snapshot:
        """This snapshot taken inside transaction ``xid`` (None: it has none yet), with it
        in progress: PostgreSQL leaves a transaction's own id out of its snapshot's ``xip``,
        but what it wrote is not committed, and must come again once it is."""
        if xid is None or not self.xmin <= xid < self.xmax or xid in self.xip:
            return self
        return replace(self, xip=tuple(sorted((*self.xip, xid))))

    def visible(self, xid: int) -> bool:
        """``pg_visible_in_snapshot(xid, self)``: committed (or aborted) before the snapshot."""
        return xid < self.xmin or (xid < self.xmax and xid not in self.xip)


@dataclass(frozen=True)
class SyncCursor:
    """Where a client of the change feed stands (see the module's docstring).

    ``model``; ``tracking``: the id of the tracking record the cursor was given
    under (a model tracked again is another one: old cursors are 410);
    ``query``: the (domain, fields, limit) remembered; ``at``: when ``base``
    was taken (seconds since the epoch: the retention is counted from it).
    """

    model: str
    tracking: int
    query: tuple
    base: Snapshot
    at: float
    upto: Snapshot | None = None
    upto_at: float | None = None
    pos: tuple[int, int] | None = None
    scan: int | None = None

    def after_page(self, **changes) -> SyncCursor:
        return replace(self, **changes)


def derive_key(secret: str) -> bytes:
    """The change cursors' signing key (not the search cursors' one)."""
    return cursors.derive_key(secret, KEY_LABEL)


caller_mark = cursors.caller_mark  # who a change cursor was given to, as a search cursor's


def encode(key: bytes, cursor: SyncCursor, caller: bytes) -> str:
    payload = json.dumps(
        [
            cursor.model, cursor.tracking, list(cursor.query), cursor.base.text, round(cursor.at, 3),
            [cursor.upto.text, round(cursor.upto_at or 0, 3)] if cursor.upto else None,
            list(cursor.pos) if cursor.pos else None, cursor.scan,
        ],
        separators=(",", ":"), ensure_ascii=False,
    ).encode()  # fmt: skip
    data = bytes([VERSION, cursors.COMPRESSED]) + caller + zlib.compress(payload, 9)
    text = base64.urlsafe_b64encode(data + cursors._tag(key, data)).rstrip(b"=").decode()
    if len(text) > cursors.MAX_CURSOR_LENGTH:  # a cursor decode would refuse: none at all
        raise BadRequest(TOO_LONG)
    return text


def decode(key: bytes, text: object, caller: bytes, model: str) -> SyncCursor:
    """The cursor of ``text`` when this server signed it for ``caller`` and ``model``;
    BadRequest (never echoing it) otherwise."""
    data = cursors._signed_bytes(key, text)
    if not hmac.compare_digest(data[2 : 2 + cursors.CALLER_BYTES], caller):
        raise BadRequest(cursors.OTHER_CALLER)
    try:
        inflater = zlib.decompressobj()
        payload = inflater.decompress(data[2 + cursors.CALLER_BYTES :], cursors.MAX_PAYLOAD_BYTES)
        if inflater.unconsumed_tail:
            raise ValueError("too large")
        name, tracking, query, base, at, upto, pos, scan = json.loads(payload)
        if name != model:
            raise BadRequest(cursors.OTHER_MODEL)
        found = SyncCursor(
            model=name, tracking=int(tracking), query=tuple(query), base=Snapshot.parse(base), at=float(at),
            upto=Snapshot.parse(upto[0]) if upto is not None else None,
            upto_at=float(upto[1]) if upto is not None else None,
            pos=(int(pos[0]), int(pos[1])) if pos is not None else None,
            scan=int(scan) if scan is not None else None,
        )  # fmt: skip
    except BadRequest:
        raise
    except (ValueError, TypeError, IndexError, zlib.error):
        raise BadRequest(cursors.INVALID) from None
    if len(found.query) != 3:
        raise BadRequest(cursors.INVALID)
    return found


def expired(cursor: SyncCursor, now: float, retention_days: int) -> bool:
    """Whether the cursor's base is older than the retention (0 days: any cursor is)."""
    return now - cursor.at > retention_days * 86400


def merge_groups(groups):
    """``[(fields, ids)]`` of a transaction's writes, one group per set of fields,
    as a note keeps them: ``[[sorted fields], [sorted ids]]``."""
    merged = {}
    for names, ids in groups:
        merged.setdefault(tuple(sorted(names)), set()).update(ids)
    return [[list(names), sorted(ids)] for names, ids in sorted(merged.items())]
