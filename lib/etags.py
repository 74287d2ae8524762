"""Record versions as HTTP entity tags (API.md section 9, RFC 9110 section 8.8.3 and 13.1).

A record's version is the moment of its last write (Odoo's ``write_date``,
set on every ``write()``), with its id: the ETag changes whenever the record
is written. It is a strong tag, so that ``If-Match`` may use it.

An answer that shows more than the record (a nested read, API.md section
10: its lines, their products) changes without the record being written:
its tag is a weak one, a digest of the answer itself (``of_answer``), which
``If-None-Match`` compares and ``If-Match`` never matches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from .errors import BadRequest

# one entity tag: optional W/ then a quoted string of visible characters but '"'
_TAG_RE = re.compile(r'\s*((?:W/)?"[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')
MAX_HEADER = 8192


def etag(record_id: int, written: dt.datetime | None) -> str:
    """The strong ETag of a record version."""
    stamp = (
        "0" if written is None else format(round(written.replace(tzinfo=None).timestamp() * 1_000_000), "x")
    )
    return f'"{int(record_id):x}-{stamp}"'


def of_answer(body: bytes) -> str:
    """The weak ETag of an answer's bytes (RFC 9110 section 8.8.1: the same bytes, the same tag)."""
    return f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'


def parse(header: str | None) -> list[str] | None:
    """The tags of an ``If-Match``/``If-None-Match`` value: ``["*"]``, a list of
    tags as sent (quotes included), or None when the header is absent.
    A malformed value is 400."""
    if header is None:
        return None
    text = header.strip()
    if text == "*":
        return ["*"]
    if not text or len(text) > MAX_HEADER:
        raise BadRequest("If-Match and If-None-Match take '*' or a list of quoted entity tags.")
    tags, position = [], 0
    while position < len(text):
        found = _TAG_RE.match(text, position)
        if not found:
            raise BadRequest("If-Match and If-None-Match take '*' or a list of quoted entity tags.")
        tags.append(found.group(1))
        position = found.end()
    return tags


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def none_match(tags: list[str] | None, current: str) -> bool:
    """``If-None-Match`` (weak comparison): True when the client's copy is current (answer 304)."""
    if tags is None:
        return False
    return tags == ["*"] or any(_opaque(tag) == _opaque(current) for tag in tags)


def match(tags: list[str] | None, current: str | None) -> bool:
    """``If-Match`` (strong comparison): True when the write may go on.

    ``current`` is None for a record that does not exist: only ``*`` asks
    for that, and it fails then; "" for a record without versions, which
    only ``*`` matches (no parsed tag is empty). A weak tag never matches.
    """
    if tags is None:
        return True
    if current is None:
        return False
    return tags == ["*"] or current in tags
