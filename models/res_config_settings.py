from odoo import api, fields, models

# API.md section 7: every setting is an ir.config_parameter, so scripts can set it too.


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    rest_api_default_rate_limit = fields.Integer(
        "Default rate limit",
        config_parameter="rest_api.default_rate_limit",
        help="Requests per period given to new keys; 0 means no limit.",
    )
    rest_api_max_page_size = fields.Integer(
        "Page size maximum", config_parameter="rest_api.max_page_size", default=1000
    )
    rest_api_access_token_ttl = fields.Integer(
        "Access token lifetime (s)", config_parameter="rest_api.access_token_ttl", default=3600
    )
    rest_api_refresh_token_ttl = fields.Integer(
        "Refresh token lifetime (s)", config_parameter="rest_api.refresh_token_ttl", default=30 * 86400
    )
    rest_api_cors_origins = fields.Char(
        "CORS origins",
        config_parameter="rest_api.cors_origins",
        help="Comma-separated origins allowed to call the API from a browser; empty allows none.",
    )
    rest_api_max_body_size = fields.Integer(
        "Request body limit (bytes)", config_parameter="rest_api.max_body_size", default=10 * 1024 * 1024
    )
    rest_api_log_retention_days = fields.Integer(
        "Call log retention (days)", config_parameter="rest_api.log_retention_days", default=30
    )
    rest_api_docs_public = fields.Boolean(
        "Public documentation",
        config_parameter="rest_api.docs_public",
        help="Anyone may read the generic OpenAPI document and the Swagger UI page.",
    )

    @api.model
    def fields_get(self, allfields=None, attributes=None):
        """Also name the ``ir.config_parameter`` each setting stores, so that an
        admin script can find which parameter a field of the Settings sets."""
        description = super().fields_get(allfields, attributes)
        if attributes is None or "config_parameter" in attributes:
            for name, field_description in description.items():
                parameter = getattr(self._fields[name], "config_parameter", None)
                if parameter:
                    field_description["config_parameter"] = parameter
        return description
