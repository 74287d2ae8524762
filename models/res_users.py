from odoo import _, fields, models

REST_API_USER = "rest_api.group_rest_api_user"


class ResUsers(models.Model):
    _inherit = "res.users"

    rest_api_key_ids = fields.One2many(
        "rest.api.key", "user_id", string="REST API keys", groups=REST_API_USER
    )
    rest_api_token_ids = fields.One2many(
        "rest.api.token", "user_id", string="REST API login tokens", groups=REST_API_USER
    )
    # the apps this user allowed through OAuth (API.md section 14): shown in the user's
    # preferences, where they revoke them; record rules show a user only their own
    rest_api_oauth_grant_ids = fields.One2many(
        "rest.api.oauth.grant", "user_id", string="Apps allowed", domain=[("revoked", "=", False)]
    )

    @property
    def SELF_READABLE_FIELDS(self):
        return [*super().SELF_READABLE_FIELDS, "rest_api_oauth_grant_ids"]

    def action_rest_api_issue_token(self):
        """Open the wizard that issues a login token for this user (shown once)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "rest.api.token.wizard",
            "name": _("Issue a login token"),
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_user_id": self.id},
        }
