from odoo import fields, models


class RestApiWebhookDelivery(models.Model):
    """One attempt to send a webhook event (API.md section 12): written by the sender."""

    _name = "rest.api.webhook.delivery"
    _description = "REST API webhook delivery attempt"
    _order = "id desc"
    _allow_sudo_commands = False

    event_id = fields.Many2one(
        "rest.api.webhook.event", string="Webhook event", required=True, ondelete="cascade", index=True,
        readonly=True,
    )  # fmt: skip
    webhook_id = fields.Many2one("rest.api.webhook", ondelete="cascade", index=True, readonly=True)
    user_id = fields.Many2one(related="webhook_id.user_id", store=True, string="Key owner")
    model = fields.Char(related="event_id.model")
    event = fields.Selection(related="event_id.event")
    message_id = fields.Char(related="event_id.message_id", string="webhook-id")
    res_id = fields.Integer(related="event_id.res_id", string="Record id")
    attempt = fields.Integer(readonly=True)
    status = fields.Integer("HTTP status", readonly=True, help="0: no answer (see the error).")
    duration = fields.Float("Duration (ms)", digits=(16, 2), readonly=True)
    response = fields.Text("Response excerpt", readonly=True)
    error = fields.Char(readonly=True)

    def action_resend(self):
        """Send the event of these attempts again, at once."""
        self.check_access("read")
        self.event_id.action_resend()
        return True
