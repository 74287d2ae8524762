"""Files and reports (API.md section 11): the pure parts.

How a file name travels in ``Content-Disposition`` (RFC 6266, RFC 8187 for
names that are not ASCII), the ``ids`` and ``format`` parameters of the
report routes, whether an upload's declared type agrees with its content, and
base64 made piece by piece from a file (Odoo stores binary fields as
base64), so that an upload is never held as raw bytes and base64 at once.
"""

from __future__ import annotations

import base64
import io
import re
import unicodedata
from urllib.parse import quote

from .errors import BadRequest, NotFound

# RFC 8187 attr-char: what may stand unescaped in filename*=UTF-8''...
_ATTR_CHARS = "!#$&+-.^_`|~"
# what a quoted-string fallback keeps: printable ASCII but '"' and '\'
_UNSAFE_FALLBACK_RE = re.compile(r'[^\x20-\x7e]|["\\]')
MAX_NAME = 255
REPORT_FORMATS = ("pdf", "html")
REPORT_TYPES = ("qweb-pdf", "qweb-html", "qweb-text")  # the reports the report routes render
# types that name the same content (a client's spelling against Odoo's sniffing)
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/x-icon": "image/vnd.microsoft.icon",
    "image/x-ms-bmp": "image/bmp",
    "image/svg": "image/svg+xml",
}
# declared types that say nothing about the content
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/x-binary"})
B64_PIECE = 3 * (1 << 18)  # a multiple of 3: the pieces' base64 joins without padding in between
FALLBACK_STEM = "download"
# what range_request finds of a Range header
IGNORED, UNSATISFIABLE = "ignored", "unsatisfiable"
_RANGE_SPEC_RE = re.compile(r"([0-9]*)-([0-9]*)")


def clean_name(name: str | None) -> str:
    """A file name fit for a header: no control characters (a CR or LF would end the
    header), no path, at most 255 characters."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in name or "")
    text = text.replace("/", "_").replace("\\", "_").strip()
    return text[:MAX_NAME]


def content_disposition(name: str | None, disposition: str = "inline") -> str:
    """``inline; filename="..."; filename*=UTF-8''...`` (RFC 6266 section 4.3):
    an ASCII fallback first, then the exact name when the fallback is not it."""
    name = clean_name(name)
    if not name:
        return disposition
    fallback = _UNSAFE_FALLBACK_RE.sub("_", _ascii(name)).strip()
    if not any(ch.isalnum() for ch in _stem(fallback)):
        # nothing of the name but its extension is left in ASCII: a name of our own
        extension = fallback[len(_stem(fallback)) :]
        fallback = FALLBACK_STEM + extension
    value = f'{disposition}; filename="{fallback}"'
    if fallback != name:
        value += "; filename*=UTF-8''" + quote(name, safe=_ATTR_CHARS)
    return value


def _stem(name: str) -> str:
    """The name without its extension (a dot and up to 16 letters or digits)."""
    stem, dot, extension = name.rpartition(".")
    return stem if dot and extension.isascii() and extension.isalnum() and len(extension) <= 16 else name


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def range_request(value: str | None, size: int) -> str | None:
    """What a ``Range`` header asks of a content of ``size`` bytes (RFC 9110 section 14):
    None without one; ``IGNORED`` for a unit other than bytes, a malformed header or
    several ranges (this server sends the whole content, as the RFC lets it);
    ``UNSATISFIABLE`` when the one range asks for no byte there is (``bytes=50-`` of
    20 bytes, ``bytes=-0``): 416; else the range as ``bytes=first-last`` within the
    content (a suffix longer than the content is all of it)."""
    if value is None:
        return None
    unit, equals, ranges = value.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return IGNORED
    specs = [spec.strip() for spec in ranges.split(",")]
    if len(specs) != 1:
        return IGNORED
    match = _RANGE_SPEC_RE.fullmatch(specs[0])
    if match is None or not (match.group(1) or match.group(2)):
        return IGNORED
    first, last = match.groups()
    if not first:  # a suffix: the last N bytes
        if int(last) == 0 or size <= 0:
            return UNSATISFIABLE
        return f"bytes={max(0, size - int(last))}-{size - 1}"
    if last and int(last) < int(first):
        return IGNORED  # invalid (RFC 9110 section 14.1.1)
    if int(first) >= size:
        return UNSATISFIABLE
    return f"bytes={int(first)}-{min(int(last), size - 1) if last else size - 1}"


def normal_type(mimetype: str | None) -> str:
    """A media type without parameters, lower-cased, aliases folded."""
    base = (mimetype or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def check_image(declared: str | None, sniffed: str) -> None:
    """An upload to an image field: 400 unless its content is an image, and of the
    type it was declared as (when it was declared as something in particular)."""
    sniffed = normal_type(sniffed)
    if not sniffed.startswith("image/"):
        raise BadRequest(f"This field takes an image; the content is not one (it looks like {sniffed}).")
    declared = normal_type(declared)
    if declared not in GENERIC_TYPES and declared != sniffed:
        raise BadRequest(f"The file was declared as {declared[:80]} but its content is {sniffed}.")


def parse_ids(value: str | None, maximum: int) -> list[int]:
    """``ids=1,2,3`` of a multi-record report: 1 to ``maximum`` record ids, in order,
    without repeats."""
    if not value or not value.strip():
        raise BadRequest("ids is required: record ids separated by commas, e.g. ids=1,2,3.")
    parts = value.split(",")
    if len(parts) > maximum:
        raise BadRequest(f"At most {maximum} ids per report (rest_api.max_page_size).")
    ids = []
    for part in parts:
        part = part.strip()
        if not part.isascii() or not part.isdigit() or len(part) > 10 or not 1 <= int(part) <= 2**31 - 1:
            raise BadRequest("ids takes record ids (positive integers) separated by commas.")
        ids.append(int(part))
    return list(dict.fromkeys(ids))


def parse_format(value: str | None) -> str:
    """``format`` of a report: pdf (the default) or html."""
    if value is None or value == "":
        return "pdf"
    if value not in REPORT_FORMATS:
        raise BadRequest("format takes pdf or html.")
    return value


def report_file_name(name: str | None, report_format: str) -> str:
    """The report's download name, with the extension of what is sent."""
    name = clean_name(name) or "report"
    extension = "." + report_format
    return name if name.lower().endswith(extension) else name + extension


def encode_base64(stream: io.RawIOBase | io.BufferedIOBase, piece: int = B64_PIECE) -> bytes:
    """The base64 of a stream's bytes, encoded piece by piece into one buffer: the raw
    bytes are never all in memory beside their base64."""
    if piece % 3:
        raise ValueError("piece must be a multiple of 3")
    out = io.BytesIO()
    while data := stream.read(piece):
        while len(data) % 3 and (more := stream.read(3 - len(data) % 3)):
            data += more  # a short read (a pipe): keep pieces a multiple of 3
        out.write(base64.b64encode(data))
    return out.getvalue()


def decoded_size(encoded: bytes) -> int:
    """The number of bytes a base64 value holds."""
    return len(encoded) * 3 // 4 - encoded[-2:].count(b"=")


def missing(model: str, wanted: list[int], found: list[int]) -> None:
    """404 naming the first id that has no record (or none the caller may see)."""
    present = set(found)
    gone = [i for i in wanted if i not in present]
    if gone:
        raise NotFound(f"No {model} record with id {gone[0]}.")
