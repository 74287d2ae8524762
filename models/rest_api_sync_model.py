"""Which models' changes are tracked for the change feed (API.md section 13).

One ``rest.api.sync.model`` per tracked model, made by an admin on the
settings screen (or by a script). From then on every create, write and
unlink of that model is noted in its transaction (``rest.api.change``).
Turning tracking off (deleting or archiving the record) makes every cursor
given under it 410: the changes made meanwhile were not noted, and the same
holds when it is turned on again (a cursor names the record it was given under
and the moment tracking started).
"""

import time

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..infra import worker_cache


class RestApiSyncModel(models.Model):
    _name = "rest.api.sync.model"
    _inherit = ["rest.api.cache.mixin"]
    _description = "REST API change tracking of a model"
    _order = "model"
    _allow_sudo_commands = False

    model_id = fields.Many2one(
        "ir.model", string="Model", required=True, ondelete="cascade", index=True,
        domain="[('transient', '=', False), ('model', 'not like', 'rest.api.')]",
    )  # fmt: skip
    model = fields.Char(related="model_id.model", store=True, string="Model name")
    active = fields.Boolean(default=True)
    tracked_since = fields.Datetime(readonly=True, help="When tracking was last turned on.")
    started = fields.Float(
        readonly=True, help="When tracking was last turned on, in seconds since the epoch."
    )
    note_count = fields.Integer("Notes kept", compute="_compute_notes")
    oldest_note = fields.Datetime("Oldest note", compute="_compute_notes")

    _sql_constraints = [("model_unique", "UNIQUE(model_id)", "A model is tracked once.")]

    @api.constrains("model_id")
    def _check_model(self):
        for tracking in self:
            name = tracking.model_id.model
            model = self.env.get(name)
            if (
                model is None
                or model._transient
                or model._abstract
                or not model._auto
                or name.startswith("rest.api.")
            ):
                raise ValidationError(
                    _("%s cannot be tracked: only stored models outside the REST API's own.", name)
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            vals.update(self._start())
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("active"):
            restarted = self.filtered(lambda t: not t.active)
            result = super().write(vals)
            if restarted:
                # a model tracked again: what was not noted meanwhile makes old cursors 410
                super(RestApiSyncModel, restarted).write(self._start())
            return result
        if "model_id" in vals:
            vals = dict(vals, **self._start())
        return super().write(vals)

    @api.model
    def _start(self):
        return {"tracked_since": fields.Datetime.now(), "started": time.time()}

    def _compute_notes(self):
        names = [name for name in self.mapped("model") if name]
        found = {}
        if names:
            self.env.cr.execute(
                SQL(
                    "SELECT model, count(*), min(noted_at) FROM rest_api_change WHERE model IN %s GROUP BY model",
                    tuple(names),
                )
            )
            found = {model: (count, oldest) for model, count, oldest in self.env.cr.fetchall()}
        for tracking in self:
            tracking.note_count, tracking.oldest_note = found.get(tracking.model, (0, False))

    @api.model
    def _tracked(self):
        """model name -> (tracking record id, started in seconds): the tracked models, read
        once per worker (a change here clears every worker's caches)."""
        memo = worker_cache.memo(self.env.registry, "rest_api.tracked")
        if "models" not in memo:
            rows = self.sudo().search_read([("active", "=", True)], ["model", "started"])
            memo["models"] = {row["model"]: (row["id"], row["started"]) for row in rows if row["model"]}
        return memo["models"]

    def action_view_notes(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window", "name": _("Change notes"), "res_model": "rest.api.change",
            "view_mode": "list", "domain": [("model", "=", self.model)],
        }  # fmt: skip
