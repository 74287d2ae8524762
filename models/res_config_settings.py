from odoo import api, fields, models

from ..lib.settings import SETTINGS

# API.md section 7: every setting is an ir.config_parameter, so scripts can set it too;
# lib/settings.py owns the names, defaults and parsing, this screen shows each of them.


def _setting_field(name, field_class=fields.Integer, **kwargs):
    setting = SETTINGS[name]
    if field_class is fields.Integer:
        kwargs.setdefault("default", setting.default)
    return field_class(setting.label, config_parameter=name, **kwargs)


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    rest_api_default_rate_limit = _setting_field(
        "rest_api.default_rate_limit", help="Requests per period given to new keys; 0 means no limit."
    )
    rest_api_max_page_size = _setting_field("rest_api.max_page_size")
    rest_api_max_expand_depth = _setting_field(
        "rest_api.max_expand_depth",
        help="How many levels deep 'fields' may expand relations, as in partner_id{name} "
        "(0 turns nested reads off).",
    )
    rest_api_access_token_ttl = _setting_field("rest_api.access_token_ttl")
    rest_api_refresh_token_ttl = _setting_field("rest_api.refresh_token_ttl")
    rest_api_login_max_failures = _setting_field(
        "rest_api.login_max_failures", help="Failed logins allowed per client address in a window."
    )
    rest_api_login_failure_window = _setting_field(
        "rest_api.login_failure_window", help="The window (seconds) in which failed logins are counted."
    )
    rest_api_cors_origins = _setting_field(
        "rest_api.cors_origins",
        fields.Char,
        help="Comma-separated origins allowed to call the API from a browser; empty allows none.",
    )
    rest_api_max_body_size = _setting_field("rest_api.max_body_size")
    rest_api_log_retention_days = _setting_field("rest_api.log_retention_days")
    rest_api_idempotency_ttl = _setting_field("rest_api.idempotency_ttl")
    rest_api_max_batch_operations = _setting_field("rest_api.max_batch_operations")
    rest_api_webhook_allow_private = _setting_field(
        "rest_api.webhook_allow_private",
        fields.Boolean,
        help="Webhooks may call http URLs and loopback, private, link-local or metadata addresses "
        "(a test or an internal network; never on a server others can subscribe from).",
    )
    rest_api_max_webhooks_per_key = _setting_field(
        "rest_api.max_webhooks_per_key",
        help="Webhook subscriptions one API key and user may hold (POST /api/webhooks past it is 409): "
        "each one is read at every deletion of its model.",
    )
    rest_api_sync_retention_days = _setting_field(
        "rest_api.sync_retention_days",
        help="How long changes are kept for the change feed (GET /api/<model>/changes): an older "
        "cursor is refused (410) and its client starts a full sync again.",
    )
    rest_api_sync_model_ids = fields.Many2many(
        "rest.api.sync.model", string="Tracked models", compute="_compute_rest_api_sync_model_ids"
    )

    def _compute_rest_api_sync_model_ids(self):
        tracked = self.env["rest.api.sync.model"].search([])
        for settings in self:
            settings.rest_api_sync_model_ids = tracked

    def action_rest_api_sync_models(self):
        return self.env["ir.actions.act_window"]._for_xml_id("rest_api.action_rest_api_sync_model")

    rest_api_docs_public = _setting_field(
        "rest_api.docs_public",
        fields.Boolean,
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
