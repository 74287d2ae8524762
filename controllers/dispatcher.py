"""The ``rest_api`` route type: Odoo serves the request, we shape every answer.

A route declared with ``type="rest_api"`` runs inside Odoo's own transaction
handling: an exception still propagates out of the controller, so the
transaction rolls back and Odoo retries serialisation failures, and only then
does ``handle_error`` turn it into problem+json (RFC 9457). Every answer,
success or error, gets ``X-Request-Id``, the throttle headers and CORS
headers here.
"""

import logging
import time

from odoo import http

from ..infra.patches import problem_response
from ..lib import errors
from . import oauth
from .call import Call
from .errors import to_api_error

_logger = logging.getLogger(__name__)


class RestApiDispatcher(http.Dispatcher):
    routing_type = "rest_api"

    def __init__(self, request):
        super().__init__(request)
        self.call = Call(request.httprequest)  # the one state of this request (controllers/call.py)

    @property
    def request_id(self):
        return self.call.request_id

    @classmethod
    def is_compatible_with(cls, request):
        return True

    def dispatch(self, endpoint, args):
        return endpoint(**args)

    def post_dispatch(self, response):
        self._finish(response)
        return super().post_dispatch(response)

    def refusal(self, error):
        """A problem+json answer returned (not raised): the transaction still commits."""
        _logger.info("rest_api request %s: %s %s", self.request_id, error.status, error.detail[:200])
        return self._problem(error)

    def handle_error(self, exc):
        error = to_api_error(exc)
        if error is None:
            _logger.error("rest_api request %s failed", self.request_id, exc_info=exc)
            error = errors.ApiError(f"An unexpected error occurred; quote request id {self.request_id}.")
            exc.loglevel = logging.DEBUG  # logged above, with the request id
        else:
            _logger.info("rest_api request %s: %s %s", self.request_id, error.status, error.detail[:200])
            exc.loglevel, exc.exc_info = logging.DEBUG, None
        response = self._problem(error)
        self._keep_failure(response)
        self._finish(response)
        return response

    def _keep_failure(self, response):
        if self.call.claim is None:
            return
        from odoo.http import request

        try:
            request.env["rest.api.pipeline"]._failed(self.call, response)
        except Exception:  # keeping it is a convenience to the client: never turn the answer into another
            _logger.exception(
                "rest_api request %s: could not keep the answer of its Idempotency-Key", self.request_id
            )

    def _problem(self, error):
        route = self.call.route
        if route is not None and route.auth == "oauth":  # OAuth libraries parse RFC 6749's JSON
            return oauth.refusal(error, self.request_id)
        return problem_response(error, self.request_id)

    def _finish(self, response):
        call = self.call
        headers = response.headers
        headers["X-Request-Id"] = call.request_id
        for name, value in call.headers.items():
            # a handler's own Vary (Accept-Encoding) stays beside the call's (Origin)
            if name == "Vary" and (varies := headers.get("Vary")):
                value = ", ".join(dict.fromkeys([*varies.split(", "), value]))
            headers[name] = value
        if call.audit is not None:
            self._write_audit(response.status_code)
        if call.lock is not None:  # this answer may yet be replaced (a failed commit): each releases
            response.call_on_close(call.release)

    def _write_audit(self, status):
        from odoo.http import request

        call = self.call
        audit, call.audit = call.audit, None
        audit.update(status=status, duration=round((time.perf_counter() - call.started) * 1000, 2))
        try:
            request.env["rest.api.log"]._insert(audit)
        except Exception:  # the log must never turn an answer into an error
            _logger.exception("rest_api request %s: could not write the call log", self.request_id)
