"""Every model's ``create``, ``write`` and ``unlink`` note their changes for the
change feed and webhooks (API.md sections 12 and 13): ``rest.api.change``.

A model nobody tracks or subscribes to pays one dictionary look-up per call:
what is watched is read once per worker (``rest.api.change._watched``). A
watched one collects ids in memory; the transaction writes them in one
``INSERT`` when it commits (``rest.api.change._write_notes``). Only a deletion
reads anything more, while the records still exist: their company (a delete
is listed only to callers allowed in it) and, for webhook subscriptions,
which of them each subscription could see, with their last state (the
events of a create or write not sent yet carry it).
"""

from odoo import api, models
from odoo.tools import SQL


class Base(models.AbstractModel):
    _inherit = "base"

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        if watch := self._rest_api_watch():
            self.env["rest.api.change"]._note(self._name, watch, "create", records._ids)
        return records

    def write(self, vals):
        result = super().write(vals)
        if self._ids and (watch := self._rest_api_watch()):
            self.env["rest.api.change"]._note(self._name, watch, "write", self._ids, names=vals)
        return result

    def unlink(self):
        if not self._ids or not (watch := self._rest_api_watch()):
            return super().unlink()
        ids = [i for i in self._ids if isinstance(i, int)]
        companies = self._rest_api_companies(ids)
        seen = {}
        if watch.subscriptions:
            # what each subscription may see of them, while they exist: the records it is
            # told were deleted, and their last state for its create/write events not made yet
            Event = self.env["rest.api.webhook.event"].sudo()
            for sub in watch.subscriptions:
                event = "write" if sub.events & {"create", "write"} else "unlink"
                seen[sub.id] = dict(Event._visible(self, event, sub))
        result = super().unlink()
        self.env["rest.api.change"]._note(self._name, watch, "unlink", ids, companies=companies, seen=seen)
        return result

    def _rest_api_watch(self):
        """What this model's changes are noted for (None: nothing; nor while Odoo loads its modules)."""
        registry = self.env.registry
        if not registry.ready or self._transient or self._name.startswith("rest.api."):
            return None
        if "rest.api.change" not in registry:
            return None
        return self.env["rest.api.change"]._watched().get(self._name)

    def _rest_api_companies(self, ids):
        """{id: company id} of records about to be deleted, when the model has a stored company."""
        field = self._fields.get("company_id")
        if not ids or field is None or not field.store or field.type != "many2one":
            return {}
        self.env.cr.execute(
            SQL("SELECT id, company_id FROM %s WHERE id IN %s", SQL.identifier(self._table), tuple(ids))
        )
        return dict(self.env.cr.fetchall())
