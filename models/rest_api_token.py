from odoo import fields, models


class RestApiToken(models.Model):
    _name = "rest.api.token"
    _description = "REST API login token"
    _order = "id desc"
    _allow_sudo_commands = False

    user_id = fields.Many2one("res.users", string="User", required=True, index=True, ondelete="cascade")
    key_id = fields.Many2one("rest.api.key", string="Key", required=True, index=True, ondelete="cascade")
    jti = fields.Char("Token id", required=True, index=True, readonly=True, copy=False)
    expiration_date = fields.Datetime(required=True)
    revoked = fields.Boolean(default=False)

    _sql_constraints = [("jti_uniq", "UNIQUE (jti)", "Token ids are unique.")]
