"""``Call``: everything one API call carries through the pipeline.

One ``Call`` is made per HTTP request, with the request's dispatcher, and is
handed to every stage of ``rest.api.pipeline`` and to the route's handler:
nothing a stage or a handler needs lives anywhere else. Odoo may run the
transaction of a request again (a serialisation failure); ``attempt()``
then resets what each attempt works out afresh, and keeps what belongs to
the request (its id, its body, its count against the key's rate limit).
"""

import io
import secrets
import time

from odoo.http import request

from ..infra import field_meta
from ..lib import errors, oauth, query


class Call:
    """One API call. Stages fill it in, in this order:

    - ``route``, ``params``: the route table's entry and the path's parameters;
    - ``credentials``: what the client sent (``lib.credentials.Found``);
    - ``key``: the API key (``KeyInfo``), None for an anonymous document;
    - ``count``: the call counted against its key (``infra.throttle.Count``);
    - ``token``, ``user_id``: the login token's state (or None) and the user the call runs as;
    - ``model``: the path's model, a recordset in the caller's environment;
    - ``headers``: added to the answer, whatever it is; ``audit``: the call log line to write.
    """

    def __init__(self, httprequest):
        self.httprequest = httprequest
        self.request_id = secrets.token_hex(8)
        self.started = time.perf_counter()
        self.headers = {}
        self.audit = None
        self.body = None  # the raw body, read once (a retried transaction needs it again)
        self.count = None  # counted once per request, not per attempt
        self.lock = None  # an Idempotency-Key's lock (infra.side_store.Held): until the answer is sent
        self.primary = None  # the primary's environment, while the replica serves the call (infra.replica)
        self.attempt()

    def release(self):
        """Let go of the Idempotency-Key's lock: once the answer is sent, after
        the transaction committed or rolled back (may be called more than once)."""
        lock, self.lock = self.lock, None
        if lock is not None:
            lock.release()

    def attempt(self):
        """Forget what an attempt of the transaction worked out."""
        self.route, self.params = None, {}
        self.credentials = self.key = self.token = self.user_id = self.model = None
        self.claims = None  # an OAuth access token's claims, read once (rest.api.pipeline._oauth_key)
        self.token_required = False
        self.anonymous = False
        self.checked = None  # execute_kw: (method, args, kwargs), from the scope stage to the handler
        self.claim = None  # the Idempotency-Key whose answer this attempt keeps
        self._settings = None
        self._fields_of = self._fields_env = None

    # ------------------------------------------------------------ reading the request
    @property
    def env(self):
        return request.env

    @property
    def args(self):
        """The query string's arguments."""
        return self.httprequest.args

    def setting(self, name):
        """A setting's value (``lib.settings`` owns its name, default and parsing)."""
        if self._settings is None:
            self._settings = request.env["rest.api.pipeline"]._settings()
        return self._settings[name]

    @property
    def scope_map(self):
        """The key's scopes (None: every model, or no key), narrowed to an OAuth token's
        scope (API.md section 14: the walls hold the key's scopes and the token's)."""
        if self.key is None:
            return None
        if self.token is None or self.token.scopes is None:
            return self.key.scope_map
        return oauth.narrow(self.key.scope_map, dict(self.token.scopes))

    @property
    def grant_scope(self):
        """Beside the (key, user) pair, who owns what this call leaves behind: an OAuth
        token's grant and scope, else "" (``lib.oauth.grant_scope``; API.md section 8)."""
        return self.token.grant_scope if self.token is not None else ""

    def fields_of(self, env=None):
        """The caller's readable fields (``infra.field_meta``), worked out once per environment.

        For a key with scopes, asking for the fields of a model outside them is 403
        (API.md section 8): an error about a field of that model (unknown, not
        searchable) would describe it."""
        env = env or self.env
        if self._fields_of is None or self._fields_env is not env:
            self._fields_of, self._fields_env = _within(field_meta.fields_of(env), self.scope_map), env
        return self._fields_of

    def raw_body(self):
        """The body's bytes, read once and at most ``rest_api.max_body_size`` bytes (413 beyond)."""
        limit = self.setting("rest_api.max_body_size")
        if self.body is None:
            self.body = _read_body(self.httprequest, limit)
        elif len(self.body) > limit:  # read ahead by peek_body, under another limit
            raise errors.PayloadTooLarge(f"The request body is over {limit} bytes.")
        return self.body

    def peek_body(self, limit):
        """The body, read before the transaction opens (``infra.replica.reads_only``
        decides where the call runs), at most ``limit`` bytes; ``raw_body`` then
        gives it again."""
        if self.body is None:
            self.body = _read_body(self.httprequest, limit)
        return self.body

    def body_stream(self):
        """The body as a stream, for a handler that reads it piece by piece (an upload):
        a body declared over ``rest_api.max_body_size`` is refused (413) before a byte
        of it is read, one of unknown length (chunked) once it goes over."""
        limit = self.setting("rest_api.max_body_size")
        if self.body is not None:  # read already (an Idempotency-Key's fingerprint)
            return io.BytesIO(self.raw_body())
        _check_framing(self.httprequest.headers)
        if (self.httprequest.content_length or 0) > limit:
            raise errors.PayloadTooLarge(f"The request body is over {limit} bytes.")
        return _Bounded(_input_stream(self.httprequest), limit)

    def json(self):
        """The JSON body (``raw_body``), parsed."""
        return query.parse_json_body(self.raw_body())


def _within(fields_of, scope_map):
    if scope_map is None:
        return fields_of

    def get(model_name):
        if model_name not in scope_map:
            raise errors.Forbidden(f"This API key's scopes do not allow read on {model_name[:60]!r}.")
        return fields_of(model_name)

    return get


def _input_stream(httprequest):
    # Odoo's HTTPRequest wraps werkzeug's and hides ``stream``; get_data()
    # would read a chunked body without any bound.
    return httprequest._HTTPRequest__wrapped.stream


def _check_framing(headers):
    """RFC 9112 section 6.3: a body framed two ways, or by a coding we do not
    know, is refused rather than guessed at (request smuggling)."""
    coding = headers.get("Transfer-Encoding")
    if coding is not None and (coding.strip().lower() != "chunked" or "Content-Length" in headers):
        raise errors.BadRequest(
            "The request body is framed ambiguously (Transfer-Encoding and Content-Length)."
        )


class _Bounded(io.RawIOBase):
    """A body stream that refuses (413) to go over ``limit`` bytes."""

    def __init__(self, stream, limit):
        super().__init__()
        self._stream, self._limit, self._size = stream, limit, 0

    def readable(self):
        return True

    def _count(self, data):
        self._size += len(data)
        if self._size > self._limit:
            raise errors.PayloadTooLarge(f"The request body is over {self._limit} bytes.")
        return data

    def read(self, size=-1):  # pylint: disable=method-required-super
        try:
            return self._count(self._stream.read(size))
        except OSError as exc:  # werkzeug's reader of a chunked body: a malformed chunk
            raise errors.BadRequest("The request body is malformed (chunked transfer coding).") from exc

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size=-1):
        return self._count(self._stream.readline(size))


def _read_at_most(stream, limit, piece=1 << 20):
    """The body, or None once it is over ``limit`` bytes: read piece by piece,
    so that a body of unknown length (chunked) that is refused never needed
    a buffer of the whole limit at once. The pieces go into one growing buffer,
    which becomes the body without a copy (not a list of pieces joined: two
    copies of a large upload at once)."""
    buffer, size = io.BytesIO(), 0
    while size <= limit:
        data = stream.read(min(piece, limit + 1 - size))
        if not data:
            return buffer.getvalue()
        buffer.write(data)
        size += len(data)
    return None


def _read_body(httprequest, limit):
    _check_framing(httprequest.headers)
    if (httprequest.content_length or 0) > limit:
        raise errors.PayloadTooLarge(f"The request body is over {limit} bytes.")
    try:
        body = _read_at_most(_input_stream(httprequest), limit)
    except OSError as exc:  # werkzeug's reader of a chunked body: a malformed chunk
        raise errors.BadRequest("The request body is malformed (chunked transfer coding).") from exc
    if body is None:
        raise errors.PayloadTooLarge(f"The request body is over {limit} bytes.")
    return body
