"""HTTP only: every /api/... request goes through one route and one pipeline.

The request's ``Call`` (made by the dispatcher) goes through CORS, then
``rest.api.pipeline._serve``: route, authenticate, throttle, identify,
scope, run, answer (see models/rest_api_pipeline.py). Each step raises from
lib.errors; the dispatcher turns that into problem+json.
"""

from odoo import http
from odoo.http import request

from ..infra import replica
from . import cors


class RestApi(http.Controller):
    @http.route(
        ["/api", "/api/<path:subpath>"],
        type="rest_api",
        auth="none",
        csrf=False,
        save_session=False,
        # a call that only reads runs on a read-only cursor: on the replica of an
        # Odoo started with --db_replica_host (infra/replica.py); any other call
        # on a read/write one, so that no write fails once and is replayed
        readonly=lambda _controller: replica.serves(request.dispatcher.call),
    )
    def rest_api(self, subpath=None):
        call = request.dispatcher.call
        replica.revive(request.env.registry)
        call.attempt()  # Odoo may run the transaction again: start afresh, keep the count
        pipeline = request.env["rest.api.pipeline"]
        cors.add_headers(call)
        if call.httprequest.method == "OPTIONS":
            return cors.preflight(call, pipeline._routes())
        return pipeline._serve(call)
