from odoo import api, fields, models

from ..infra import side_store

# Written by raw SQL through side_store, batched once a second: a call that
# fails and rolls back is logged all the same, and no call waits for its log.


class RestApiLog(models.Model):
    _name = "rest.api.log"
    _description = "REST API call log"
    _order = "id desc"
    _allow_sudo_commands = False

    key_id = fields.Many2one("rest.api.key", string="Key", index=True, ondelete="cascade", readonly=True)
    user_id = fields.Many2one("res.users", string="User", index=True, ondelete="set null", readonly=True)
    method = fields.Char(readonly=True)
    path = fields.Char(readonly=True)
    model = fields.Char(index=True, readonly=True)
    status = fields.Integer(index=True, readonly=True)
    duration = fields.Float("Duration (ms)", digits=(16, 2), readonly=True)
    address = fields.Char("Client address", readonly=True)
    request_id = fields.Char("Request id", index=True, readonly=True)

    @api.model
    def _insert(self, values):
        side_store.queue_log(self.env, dict(values, at=fields.Datetime.now()))

    @api.model
    def _gc_old_logs(self):
        """Delete the logs older than ``rest_api.log_retention_days`` (default 30)."""
        days = self.env["rest.api.pipeline"]._settings()["rest_api.log_retention_days"]
        self.env.cr.execute(
            "DELETE FROM rest_api_log WHERE create_date < (now() AT TIME ZONE 'UTC') - make_interval(days => %s)",
            [days],
        )
