import secrets

from odoo import models
from odoo.http import request

from ..infra.patches import problem_response
from ..lib import errors, routes


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _serve_fallback(cls):
        """A path under /api/ that no route of Odoo's router matches (one with a
        control character, say, which ``<path:subpath>`` does not take) is a
        problem+json 404 too, not Odoo's HTML page."""
        if routes.split_path(request.httprequest.path) is not None:
            return problem_response(errors.NotFound("No such route."), secrets.token_hex(8))
        return super()._serve_fallback()
