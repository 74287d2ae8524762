from odoo import api, fields, models


class RestApiSecretShow(models.AbstractModel):
    """Shows a new secret once, like Odoo's own ``res.users.apikeys.show``.

    Nothing is stored: the secret travels only in the context of the action
    that opens this dialog, and is gone when the dialog closes.
    """

    _name = "rest.api.secret.show"
    _description = "REST API: show a new secret once"

    # the field 'id' is needed for the onchange that returns the defaults
    id = fields.Id()
    secret = fields.Char(readonly=True)
    kind = fields.Selection(
        [("key", "API key"), ("token", "Login token"), ("webhook", "Webhook signing secret")], readonly=True
    )
    record_name = fields.Char("For", readonly=True)
    expiration_date = fields.Datetime("Expires", readonly=True)

    @api.model
    def _action_show(self, secret, title, kind, record_name, expiration_date=False):
        """The window action that shows ``secret`` once."""
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "name": title,
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "default_secret": secret,
                "default_kind": kind,
                "default_record_name": record_name,
                "default_expiration_date": fields.Datetime.to_string(expiration_date) or False,
            },
        }
