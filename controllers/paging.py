"""Which page a search gives, and its RFC 8288 ``Link`` header (API.md sections 4 and 10).

A search whose order pages by cursor (``infra/keyset.py``) links its next and
previous pages with ``cursor``: the link is the path, ``limit`` and the
cursor, which remembers the rest of the search (``lib/cursors.py``). Sent
alone, a cursor continues its search; sent with ``domain``, ``fields``,
``order`` or ``context``, those must be its search's (400 otherwise). Any
other search links by ``offset``, as it always did.
"""

import json
from urllib.parse import urlencode

from ..infra import worker_cache
from ..lib import cursors, errors

QUERY = ("domain", "fields", "order", "context")  # what a cursor remembers
NOT_KEPT = frozenset({*QUERY, "limit", "offset", "cursor"})  # what a cursor link does not copy
WITH_OFFSET = "Send cursor or offset, not both: a cursor says where the page starts."
OTHER_QUERY = (
    "The cursor belongs to another search: send it alone, or with the domain, fields, "
    "order and context of the search that gave it."
)
NOT_BY_CURSOR = "This search's order no longer pages by cursor: start again without cursor."

SIGNING = "rest_api.cursor_signing"  # per-worker memo: the cursors' key, and callers' marks
_LINK_BASES = {}  # (path, query string, limit) -> the offset links' start, per worker (urlencode is slow)
MAX_LINK_BASES = 1000


class Paging:
    """The paging of one search call: the cursor it sent, the links of its answer."""

    def __init__(self, call):
        self.call = call
        self._key = self._caller = None
        text = call.args.get("cursor")
        if text is not None and "offset" in call.args:
            raise errors.BadRequest(WITH_OFFSET)
        self.cursor = None if text is None else cursors.decode(self.key, text, self.caller, call.model._name)

    @property
    def key(self):
        if self._key is None:
            self._key = self._signing().get("key")
            if self._key is None:
                self._key = self._signing()["key"] = self.call.env["rest.api.token"].sudo()._cursor_key()
        return self._key

    @property
    def caller(self):
        """The (API key, user) pair a cursor belongs to, and an OAuth token's grant and
        scope (API.md section 8)."""
        if self._caller is None:
            key = self.call.key
            pair = (key.id if key is not None else 0, self.call.env.uid, self.call.grant_scope)
            signing = self._signing()
            if (mark := signing.get(pair)) is None:
                mark = cursors.caller_mark(self.key, *pair)
                if len(signing) < MAX_LINK_BASES:
                    signing[pair] = mark
            self._caller = mark
        return self._caller

    def _signing(self):
        """The worker's memo of the signing key and marks, dropped with Odoo's caches
        (a new database secret among them)."""
        return worker_cache.memo(self.call.env.registry, SIGNING)

    def texts(self):
        """The search's parameters as text: those sent, else those the cursor remembers."""
        args = self.call.args
        found = {name: args.get(name) for name in QUERY}
        if self.cursor is not None:
            for name, value in zip(QUERY, self.cursor.query, strict=True):
                if found[name] is None and value is not None:
                    found[name] = value if isinstance(value, str) else json.dumps(value)
        return found

    def continued(self, model, searched, plan):
        """``model`` for the page after the cursor (in the context it remembers);
        400 when the cursor belongs to another search or its order no longer pages by cursor.
        ``searched``: the parsed (domain, fields, order, context) of this call."""
        cursor = self.cursor
        if cursor is None:
            return model
        if tuple(searched) != cursor.query:
            raise errors.BadRequest(OTHER_QUERY)
        if plan is None or len(cursor.values) != len(plan.terms):
            raise errors.BadRequest(NOT_BY_CURSOR)
        context = searched[3]
        return model.with_context(**context) if context and "context" not in self.call.args else model

    def links(self, page, searched, plan, offset, limit):
        """The ``Link`` header of this page (empty when it has no neighbour)."""
        if plan is None or (self.cursor is None and not page.rows):
            return self._offset_links(offset, limit, page.total)
        if self.cursor is None:
            after, before = offset + limit < page.total, offset > 0
        elif self.cursor.backward:
            after, before = bool(page.rows), page.more
        else:
            after, before = page.more, bool(page.rows)
        query, links = tuple(searched), []
        if after:
            links.append((self._cursor(query, page.last, False), "next"))
        if before:
            links.append((self._cursor(query, page.first, True), "prev"))
        if self.cursor is None and any(len(text) > cursors.MAX_CURSOR_LENGTH for text, _rel in links):
            return self._offset_links(offset, limit, page.total)  # a search too long to carry
        kept = [(k, v) for k, v in self.call.args.items(multi=True) if k not in NOT_KEPT]
        start = f"{self.call.httprequest.path}?{urlencode(kept) + '&' if kept else ''}limit={limit}&cursor="
        return ", ".join(f'<{start}{text}>; rel="{rel}"' for text, rel in links)

    def _cursor(self, query, values, backward):
        model = self.call.model._name
        return cursors.encode(self.key, cursors.Cursor(model, query, values, backward), self.caller)

    def _offset_links(self, offset, limit, total):
        return offset_links(self.call, offset, limit, total)


def offset_links(call, offset, limit, total):
    """RFC 8288 links to the next and previous pages by offset, relative to this
    server: the request's own query string, with its ``limit`` and ``offset``."""
    if offset + limit >= total and offset <= 0:
        return ""
    httprequest = call.httprequest
    found = (httprequest.path, httprequest.query_string, limit)
    if (base := _LINK_BASES.get(found)) is None:
        kept = [(k, v) for k, v in call.args.items(multi=True) if k not in ("limit", "offset")]
        base = f"{httprequest.path}?{urlencode([*kept, ('limit', limit)])}&offset="
        if len(_LINK_BASES) >= MAX_LINK_BASES:
            _LINK_BASES.clear()
        _LINK_BASES[found] = base
    links = []
    if offset + limit < total:
        links.append(f'<{base}{offset + limit}>; rel="next"')
    if offset > 0:
        links.append(f'<{base}{max(0, offset - limit)}>; rel="prev"')
    return ", ".join(links)
