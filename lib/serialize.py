"""JSON out: Odoo's read() shapes, dates as ISO 8601, datetimes in UTC.

orjson writes it (several times faster than ``json`` on a page of records);
what it does not know (dates: our own format; bytes, sets, Decimals,
recordsets through ``extra``) goes through ``default``. A value orjson
refuses outright (an integer beyond 64 bits) is written by ``json`` instead.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Callable
from decimal import Decimal

import orjson

# dates and datetimes to ``default`` (our format, not orjson's); keys as json writes them
OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def iso_datetime(value: dt.datetime) -> str:
    """Odoo keeps datetimes naive in UTC; say so explicitly (RFC 3339)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"


def _default(extra: Callable[[object], object] | None):
    def default(value):
        if isinstance(value, dt.datetime):
            return iso_datetime(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value).decode("ascii", "replace")
        if isinstance(value, set | frozenset):
            return sorted(value, key=repr)
        if isinstance(value, Decimal):
            return float(value)
        if extra is not None:
            return extra(value)
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    return default


def dumps(value: object, extra: Callable[[object], object] | None = None) -> bytes:
    """UTF-8 JSON of ``value``; ``extra`` converts other types (recordsets)."""
    default = _default(extra)
    try:
        return orjson.dumps(value, default=default, option=OPTIONS)
    except orjson.JSONEncodeError as exc:
        if isinstance(exc.__cause__, TypeError):  # raised by ``default``: not serialisable at all
            raise exc.__cause__ from None
        text = json.dumps(value, default=default, ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8")


def gzipped(data: bytes) -> bytes:
    """gzip of ``data``, the same bytes every time (no timestamp): cached answers."""
    return gzip.compress(data, compresslevel=6, mtime=0)
