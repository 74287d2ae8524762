"""Every patch of Odoo this addon makes, applied once per process by ``install()``.

Odoo gives no hook for what these do: they run before any route of ours is
matched. Each one is a wrapper that changes nothing outside ``/api/...``
paths and keeps Odoo's own function as ``wrapper.wrapped``. Each one's
docstring names what to re-read on an Odoo upgrade, and
``tests/test_patches.py`` pins the Odoo behaviour it relies on: when Odoo
changes that behaviour, those tests fail first.
"""

import logging
import secrets
import threading
import time

import psycopg2

from odoo import http, sql_db
from odoo.modules.registry import Registry

from ..lib import errors, routes, serialize
from . import replica

_logger = logging.getLogger(__name__)


# ---------------------------------------------------------------- 503 while PostgreSQL is down
# Odoo picks the database (listing them when no session names one), opens the
# registry and its first cursor before any route of ours is matched. When
# PostgreSQL is down, the list is empty or the registry fails, and Odoo serves
# the request as if no database were selected: an /api/... call then gets
# Odoo's HTML 404 page, and a client cannot tell an outage from a wrong URL.
UNREACHABLE = (http.RegistryError, psycopg2.OperationalError, psycopg2.InterfaceError)


def unavailable_response(request_id):
    """The answer to a call that found the database unreachable."""
    return problem_response(
        errors.ServiceUnavailable("The database is not reachable; retry later."), request_id
    )


def problem_response(error, request_id):
    """A problem+json answer made outside the API's dispatcher."""
    return http.Response(
        serialize.dumps(error.problem(request_id)),
        status=error.status,
        headers=dict(error.headers, **{"X-Request-Id": request_id}),
        content_type=errors.PROBLEM_CONTENT_TYPE,
    )


def _serve_db_or_unavailable(self):
    """``Request._serve_db``: for /api/..., a database that cannot be reached
    answers 503 problem+json with ``Retry-After``; the next call tries again
    (Odoo's connection pool reconnects by itself once PostgreSQL is back).

    On an Odoo upgrade, re-read ``odoo/http.py``: ``Request._serve_db`` (it
    opens the registry and the first cursor, and raises ``RegistryError`` or
    psycopg2's ``OperationalError`` when it cannot) and ``Request._serve_nodb``.
    """
    try:
        return _serve_db_or_unavailable.wrapped(self)
    except UNREACHABLE as exc:
        if routes.split_path(self.httprequest.path) is None:
            raise
        if getattr(exc, "error_response", None) is not None:
            raise  # answered by our dispatcher inside the transaction
        request_id = getattr(self.dispatcher, "request_id", None) or secrets.token_hex(8)
        cause = exc.__cause__ or exc
        _logger.warning(
            "rest_api request %s: 503, database %s unreachable (%s: %s)",
            request_id,
            self.db,
            cause.__class__.__name__,
            str(cause).strip().splitlines()[0][:200] if str(cause).strip() else "",
        )
        return unavailable_response(request_id)


def _server_reachable():
    try:
        with sql_db.db_connect("postgres").cursor() as cr:
            cr.execute("SELECT 1")
    except psycopg2.Error:
        return False
    return True


def _serve_nodb_or_unavailable(self):
    """No database was found for this request: for /api/..., either PostgreSQL
    is down (503), or it was down while Odoo listed the databases and is
    back now (look again), or there is really none to serve.

    On an Odoo upgrade, re-read ``Request._serve_nodb`` and
    ``Request._get_session_and_dbname`` in ``odoo/http.py`` (how a request
    without a session gets its database).
    """
    if routes.split_path(self.httprequest.path) is not None:
        if not _server_reachable():
            request_id = secrets.token_hex(8)
            _logger.warning(
                "rest_api request %s: 503, PostgreSQL unreachable (no database listed)", request_id
            )
            return unavailable_response(request_id)
        session, dbname = self._get_session_and_dbname()
        if dbname:
            self.session, self.db = session, dbname
            return self._serve_db()
    return _serve_nodb_or_unavailable.wrapped(self)


# ---------------------------------------------------------------- the database list, kept a few seconds
# Odoo picks the database of a request that has no session (every API client:
# keys travel in headers, not cookies) by listing the databases and applying
# ``--db-filter``. With a filter configured, that list is a query on the
# ``postgres`` database over a connection that Odoo's pool never keeps, so
# each call pays a new PostgreSQL connection: about a fifth of a search of 80
# records in our profiles. For /api/... paths the list is kept per process
# and per Host header for ``TTL`` seconds: a database created or dropped is
# seen that much later by the API (a dropped one answers 503 meanwhile). An
# empty list is never kept: PostgreSQL was unreachable, and the next call
# must look again. Other paths keep Odoo's behaviour.
TTL = 5.0
MAX_HOSTS = 64  # the Host header is the client's: bound what it can make us keep
_lock = threading.Lock()
_lists = {}  # (host, force) -> (expiry on time.monotonic(), tuple of names)


def _db_list_for_api(force=False, host=None):
    """``odoo.http.db_list``, kept ``TTL`` seconds for /api/... paths.

    On an Odoo upgrade, re-read ``odoo.http.db_list`` and its callers
    (``Request._get_session_and_dbname``, ``db_filter``): the signature
    ``(force, host)`` and that a request without a session lists the
    databases on every call when ``--db-filter`` is set.
    """
    request = http.request
    if not request or routes.split_path(request.httprequest.path) is None:
        return _db_list_for_api.wrapped(force, host)
    key = (host, force)
    now = time.monotonic()
    kept = _lists.get(key)
    if kept is not None and kept[0] > now:
        return list(kept[1])
    names = _db_list_for_api.wrapped(force, host)
    if names:
        with _lock:
            if len(_lists) >= MAX_HOSTS:
                _lists.clear()
            _lists[key] = (now + TTL, tuple(names))
    return names


# ---------------------------------------------------------------- installing
PATCHES = (
    (http.Request, "_serve_db", _serve_db_or_unavailable),
    (http.Request, "_serve_nodb", _serve_nodb_or_unavailable),
    (http, "db_list", _db_list_for_api),
    (Registry, "check_signaling", replica.check_signaling_on_primary),
)


def install():
    """Apply every patch, once per process (a second call changes nothing)."""
    for owner, name, wrapper in PATCHES:
        current = getattr(owner, name)
        if getattr(current, "rest_api_wrapper", False):
            continue
        wrapper.wrapped = current
        wrapper.rest_api_wrapper = True
        setattr(owner, name, wrapper)
