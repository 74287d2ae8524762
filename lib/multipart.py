"""``multipart/form-data`` upload bodies (API.md section 11), read piece by piece.

Werkzeug 2.2's parser (Odoo 18's) has two flaws for uploads: its decoder keeps
in memory everything of a part after the part's last CR or LF while it looks
for the next boundary, so that a file with a line break near its start is held
whole and refused as over the form memory limit; and it takes any number of
parts (each an attachment here: 10,000 tiny parts made 10,000 records). This
reader uses werkzeug's decoder for the preamble and the parts' headers, and its
own search for the end of a part's data: a part's data is handed on as it comes
but for the few bytes that may begin the boundary. File parts go to a temporary
file (spooled: a small one stays in memory), bounded only by the body's limit; a
text part is at most ``MAX_TEXT`` bytes; a body has at most ``MAX_PARTS`` parts,
refused (413) before the first record is made.
"""

from __future__ import annotations

import io
import re
import tempfile
from dataclasses import dataclass
from typing import IO

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import (
    LINE_BREAK,
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
    NeedData,
    State,
)

from .errors import BadRequest, PayloadTooLarge

MAX_PARTS = 100  # parts of one body, files and text parts alike
MAX_TEXT = 1 << 20  # a text part (no file name), and a part's headers
SPOOL = 512 * 1024  # a file part over this goes to disk
PIECE = 64 * 1024  # read from the body at once


@dataclass
class Part:
    """One part: its ``name``, ``filename`` (None for a text part), media type and bytes."""

    name: str | None
    filename: str | None
    mimetype: str
    stream: IO[bytes]

    def close(self) -> None:
        self.stream.close()


class _Decoder(MultipartDecoder):
    """Werkzeug's decoder, but a part's data is handed on up to the bytes that may
    begin its closing delimiter (``CRLF--boundary``), wherever its line breaks are."""

    def __init__(self, boundary: bytes, max_memory: int):
        super().__init__(boundary, max_memory)
        # the fixed head of a delimiter: at most this much of the tail may be one that is cut short
        self._keep = len(b"\r\n--") + len(boundary)
        # a whole delimiter waiting for its line break (blanks may come before it)
        self._waiting_re = re.compile(
            rb"%s--%s(?:-|--[^\S\n\r]*|[^\S\n\r]+)?\Z" % (LINE_BREAK, re.escape(boundary))
        )

    def next_event(self):
        if self.state != State.DATA:
            return super().next_event()
        match = self.boundary_re.search(self.buffer)
        if match is not None:
            self.state = State.EPILOGUE if match.group(1).startswith(b"--") else State.PART
            data = bytes(self.buffer[: match.start()])
            del self.buffer[: match.end()]
            return Data(data=data, more_data=False)
        if self.complete:
            raise ValueError("The multipart body ends inside a part.")
        waiting = self._waiting_re.search(self.buffer)
        cut = waiting.start() if waiting is not None else max(0, len(self.buffer) - self._keep)
        if not cut:
            return NeedData()
        data = bytes(self.buffer[:cut])
        del self.buffer[:cut]
        return Data(data=data, more_data=True)


def _new_part(event: Field | File) -> Part:
    mimetype = parse_options_header(event.headers.get("content-type", ""))[0].lower()
    if isinstance(event, File):
        return Part(event.name, event.filename, mimetype, tempfile.SpooledTemporaryFile(max_size=SPOOL))
    return Part(event.name, None, mimetype, io.BytesIO())


def parse(
    stream: IO[bytes], boundary: str | bytes, max_parts: int = MAX_PARTS, max_text: int = MAX_TEXT
) -> list[Part]:
    """The parts of a ``multipart/form-data`` body read from ``stream``, each rewound;
    400 for a malformed body, 413 for more than ``max_parts`` parts or a text part
    over ``max_text`` bytes. The caller closes the parts."""
    if isinstance(boundary, str):
        boundary = boundary.encode("latin-1", "replace")
    decoder = _Decoder(boundary, max_text)
    parts: list[Part] = []
    current = None
    try:
        while True:
            data = stream.read(PIECE)
            decoder.receive_data(data or None)
            event = decoder.next_event()
            while not isinstance(event, (Epilogue, NeedData)):
                if isinstance(event, (Field, File)):
                    if len(parts) >= max_parts:
                        raise PayloadTooLarge(f"A multipart body here has at most {max_parts} parts.")
                    current = _new_part(event)
                    parts.append(current)
                elif isinstance(event, Data) and current is not None:
                    if current.filename is None and current.stream.tell() + len(event.data) > max_text:
                        raise PayloadTooLarge(f"A text part of the multipart body is over {max_text} bytes.")
                    current.stream.write(event.data)
                    if not event.more_data:
                        current.stream.seek(0)
                        current = None
                event = decoder.next_event()
            if not data:
                return parts
    except RequestEntityTooLarge as exc:
        _close(parts)
        raise PayloadTooLarge(
            f"The multipart body has over {max_text} bytes before a part's data (its headers)."
        ) from exc
    except ValueError as exc:
        _close(parts)
        raise BadRequest("The multipart/form-data body is malformed.") from exc
    except BaseException:
        _close(parts)
        raise


def _close(parts: list[Part]) -> None:
    for part in parts:
        part.close()
