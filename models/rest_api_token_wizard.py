from odoo import _, fields, models
from odoo.exceptions import AccessError, UserError

from .rest_api_token import MAX_TOKEN_DAYS


class RestApiTokenWizard(models.TransientModel):
    """Issues a login token (JWT) for a user, the way ``POST /api/generate_token`` does."""

    _name = "rest.api.token.wizard"
    _description = "REST API: issue a login token"

    user_id = fields.Many2one("res.users", string="User", required=True, ondelete="cascade")
    key_id = fields.Many2one(
        "rest.api.key",
        string="Key",
        required=True,
        ondelete="cascade",
        domain="[('state', '=', 'active')]",
        help="The token is valid only together with this key.",
    )
    expiration_days = fields.Integer("Valid for (days)", required=True, default=1)

    def action_issue(self):
        """Issue the token and show it once; the wizard record is deleted."""
        self.ensure_one()
        self._check_may_issue()
        Token = self.env["rest.api.token"]
        token, expiry, _record = Token._issue_access(
            self.user_id, self.key_id.id, self.expiration_days * 86400
        )
        user_name = self.user_id.display_name
        self.unlink()
        return self.env["rest.api.secret.show"]._action_show(
            token, _("Login token ready"), kind="token", record_name=user_name, expiration_date=expiry
        )

    def _check_may_issue(self):
        self.env["rest.api.key"]._check_no_login_token()
        if not self.env["rest.api.token"]._may_issue_for(self.user_id):
            raise AccessError(_("Only a REST API manager may issue tokens for other users."))
        self.key_id.check_access("write")  # own keys, or any key for a manager...
        self.key_id._check_power()  # ...whose owner holds no group the manager lacks
        if self.key_id.state != "active":
            raise UserError(_("The key %s cannot be used: it is archived, expired or has no secret yet.",
                              self.key_id.name))  # fmt: skip
        if not self.user_id.active:
            raise UserError(_("%s is archived: a token for them would be refused.", self.user_id.name))
        if not 1 <= self.expiration_days <= MAX_TOKEN_DAYS:
            raise UserError(_("A token is valid for 1 to %s days.", MAX_TOKEN_DAYS))
