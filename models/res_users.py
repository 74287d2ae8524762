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
