"""``POST /api/batch`` (API.md section 9): data-route operations in order, in one transaction.

Each operation is a call of its own (a ``Call`` on an ``OperationRequest``)
that goes through the pipeline's stages as if sent alone, with the batch
request's key and user: counted against the key's rate limit (``_throttle``),
its model and scopes checked (``_scope``), its route's handler run (``_run``).
The first operation that fails fails the batch: its problem+json, its
status, ``"operation": N``, and the transaction rolls back, so nothing any
operation did is written. Only data routes run inside a batch: not the
login-token routes, the documents, webhook subscriptions, nor another batch.
"""

import json
import logging

import psycopg2
from werkzeug.datastructures import Headers
from werkzeug.urls import url_decode

from odoo.service import model as service_model

from ..lib import batch as batches
from ..lib import errors, methods, routes, serialize
from .call import Call
from .errors import to_api_error

_logger = logging.getLogger(__name__)


class OperationRequest:
    """What the stages and handlers read of a request, for one operation."""

    def __init__(self, parent, method, path, query, headers):
        self.method = method
        self.path = path
        self.query_string = query.encode()
        self.args = url_decode(query)
        self.headers = Headers(list(headers))
        self.remote_addr = parent.remote_addr
        self.content_length = None


def runs_in_batch(route):
    """Whether a route may be an operation of a batch: the data routes."""
    return route.auth == "user" and "records" in route.tags


def batch_kept(call):
    """What an Idempotency-Key keeps of a batch's answer: withheld when any of its
    operations' answers would be (an ``execute_kw`` of a method outside the ORM's:
    its answer may hold a secret, API.md sections 1 and 8)."""
    try:
        operations = batches.parse(call.json(), call.setting("rest_api.max_batch_operations"))
    except errors.ApiError:
        return routes.KEPT  # the batch fails as a whole, with this error: nothing secret to keep
    for operation in operations:
        path = operation.path.split("?", 1)[0].rstrip("/")
        body = operation.body if isinstance(operation.body, dict) else {}
        if path.endswith("/execute_kw") and methods.answer_may_hold_secret(str(body.get("method"))):
            return routes.WITHHELD
    return routes.KEPT


def batch(call):
    pipeline = call.env["rest.api.pipeline"]
    operations = batches.parse(call.json(), call.setting("rest_api.max_batch_operations"))
    answers, results = [], []
    for operation in operations:
        try:
            status, headers, body = _run(pipeline, call, operation, answers)
        except psycopg2.OperationalError:
            raise  # a serialisation failure: Odoo rolls back and runs the whole batch again
        except psycopg2.IntegrityError as exc:
            # a constraint of the database: the transaction is lost anyway; say it as Odoo would
            call.env.cr.rollback()
            raise _failed(call, operation, service_model._as_validation_error(call.env, exc)) from exc
        except Exception as exc:
            raise _failed(call, operation, exc) from exc
        answers.append(body)
        results.append({"status": status, "headers": headers, "body": body})
    from .handlers import json_response

    return json_response({"results": results})


def _run(pipeline, call, operation, answers):
    path, query = batches.resolve_path(operation, answers)
    body = batches.resolve_body(operation, answers)
    sub = Call(OperationRequest(call.httprequest, operation.method, path, query, operation.headers))
    sub.request_id = call.request_id
    sub.body = b"" if body is None else serialize.dumps(body)
    sub.route, sub.params = routes.resolve(operation.method, path, pipeline._routes())
    if not runs_in_batch(sub.route):
        raise errors.BadRequest(
            "Only data routes run inside a batch (no login token, document or batch route)."
        )
    sub.credentials, sub.key, sub.token, sub.user_id = call.credentials, call.key, call.token, call.user_id
    pipeline._throttle_operation(sub)
    pipeline._scope(sub)
    response = pipeline._run(sub)
    data = response.get_data()
    answer = json.loads(data) if data else None
    headers = {name: response.headers[name] for name in batches.RESULT_HEADERS if name in response.headers}
    return response.status_code, headers, answer


def _failed(call, operation, exc):
    """The batch's answer when ``operation`` failed with ``exc``: the operation's own error, naming it."""
    error = to_api_error(exc)
    if error is None:
        _logger.error(
            "rest_api request %s: operation %s of the batch failed",
            call.request_id,
            operation.index,
            exc_info=exc,
        )
        error = errors.ApiError(f"An unexpected error occurred; quote request id {call.request_id}.")
    error.extra["operation"] = operation.index
    return error
