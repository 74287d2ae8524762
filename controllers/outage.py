"""503 problem+json for /api/... calls while PostgreSQL is unreachable.

Odoo picks the database (listing them when no session names one), opens the
registry and its first cursor before any route of ours is matched. When
PostgreSQL is down, the list is empty or the registry fails, and Odoo serves
the request as if no database were selected: an /api/... call then gets
Odoo's HTML 404 page, and a client cannot tell an outage from a wrong URL.
There is no hook before the registry exists, so ``Request._serve_db`` and
``Request._serve_nodb`` are wrapped (once per process, when this addon is
loaded): for a path under /api/, a database that cannot be reached answers
503 problem+json with ``Retry-After``, and the next call tries again (Odoo's
connection pool reconnects by itself once PostgreSQL is back).
"""

import logging
import secrets

import psycopg2

from odoo import http, sql_db

from ..lib import errors, routes, serialize

_logger = logging.getLogger(__name__)

UNREACHABLE = (http.RegistryError, psycopg2.OperationalError, psycopg2.InterfaceError)


def unavailable_response(request_id):
    """The answer to a call that found the database unreachable."""
    error = errors.ServiceUnavailable("The database is not reachable; retry later.")
    return http.Response(
        serialize.dumps(error.problem(request_id)),
        status=error.status,
        headers=dict(error.headers, **{"X-Request-Id": request_id}),
        content_type=errors.PROBLEM_CONTENT_TYPE,
    )


def _serve_db_or_unavailable(self):
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
    back now (look again), or there is really none to serve."""
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


def _wrap(name, wrapper):
    current = getattr(http.Request, name)
    if getattr(current, "rest_api_wrapper", False):
        return
    wrapper.wrapped = current
    wrapper.rest_api_wrapper = True
    setattr(http.Request, name, wrapper)


def install():
    """Wrap ``Request._serve_db`` and ``Request._serve_nodb`` once per process."""
    _wrap("_serve_db", _serve_db_or_unavailable)
    _wrap("_serve_nodb", _serve_nodb_or_unavailable)


install()
