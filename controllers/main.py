"""HTTP only: every /api/... request goes through one route and one pipeline.

The request's ``Call`` (made by the dispatcher) goes through CORS, then
``rest.api.pipeline._serve``: route, authenticate, throttle, identify,
scope, run, answer (see models/rest_api_pipeline.py). Each step raises from
lib.errors; the dispatcher turns that into problem+json.
"""

from odoo import http
from odoo.http import request

from . import cors


class RestApi(http.Controller):
    @http.route(
        ["/api", "/api/<path:subpath>"],
        type="rest_api",
        auth="none",
        csrf=False,
        save_session=False,
        # auth="none" routes default to a read-only cursor in Odoo 18: every
        # write would fail once and be replayed on a read/write cursor.
        readonly=False,
    )
    def rest_api(self, subpath=None):
        call = request.dispatcher.call
        call.attempt()  # Odoo may run the transaction again: start afresh, keep the count
        pipeline = request.env["rest.api.pipeline"]
        cors.add_headers(call)
        if call.httprequest.method == "OPTIONS":
            return cors.preflight(call, pipeline._routes())
        return pipeline._serve(call)
