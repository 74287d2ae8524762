"""One mapping from any exception to the API's error family (API.md section 6)."""

import logging

import psycopg2
import psycopg2.errorcodes
import werkzeug.exceptions

from odoo.exceptions import AccessDenied, AccessError, MissingError, UserError

from ..lib import errors

_logger = logging.getLogger(__name__)

CONCURRENCY_CODES = {
    psycopg2.errorcodes.SERIALIZATION_FAILURE,
    psycopg2.errorcodes.DEADLOCK_DETECTED,
    psycopg2.errorcodes.LOCK_NOT_AVAILABLE,
}


def _from_werkzeug(exc):
    if isinstance(exc, werkzeug.exceptions.RequestEntityTooLarge):
        return errors.PayloadTooLarge("The request body is over the size limit.")
    error = errors.ApiError(exc.description or exc.name)
    error.status, error.title = exc.code or 500, exc.name
    return error


def _from_postgres(exc):
    if isinstance(exc, psycopg2.DataError):
        # class 22: a value PostgreSQL cannot take (out of range, bad date...)
        return errors.BadRequest("A value is invalid for its field (out of range or malformed).")
    if getattr(exc, "pgcode", None) in CONCURRENCY_CODES:
        # Odoo has already retried the transaction; nothing was written.
        return errors.Conflict(
            "The record was changed by a concurrent request; retry the call.", {"Retry-After": "1"}
        )
    if _too_complex(exc):
        return errors.BadRequest(
            "The query is too complex for the database (too many or too deeply nested terms)."
        )
    if isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError):
        return errors.ServiceUnavailable("The database is not reachable; retry later.")
    return None


def _too_complex(exc):
    """Class 54 (program limit exceeded: stack depth, statement too complex),
    or the parser running out of stack on a domain thousands of terms deep."""
    code = getattr(exc, "pgcode", None) or ""
    return code.startswith("54") or (
        code == psycopg2.errorcodes.SYNTAX_ERROR and "memory exhausted" in (exc.pgerror or "")
    )


def to_api_error(exc):
    """The ApiError that answers ``exc``; None for an unexpected error (500)."""
    if isinstance(exc, errors.ApiError):
        return exc
    if isinstance(exc, werkzeug.exceptions.HTTPException):
        return _from_werkzeug(exc)
    if isinstance(exc, AccessDenied):
        return errors.Unauthorized("Access denied.")
    if isinstance(exc, AccessError):
        # Odoo's message can name records the caller may not see: keep it generic.
        return errors.Forbidden("Odoo's access rights or record rules do not allow this operation.")
    if isinstance(exc, MissingError):
        return errors.NotFound("The record does not exist or has been deleted.")
    if isinstance(exc, UserError):
        return errors.Unprocessable(str(exc.args[0]) if exc.args else "The operation was refused.")
    if isinstance(exc, psycopg2.Error):
        return _from_postgres(exc)
    return None
