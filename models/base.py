"""Every model's ``create``, ``write`` and ``unlink`` record webhook events (API.md section 12).

A model nobody subscribes to pays one dictionary look-up per call: the
subscriptions are read once per worker (``rest.api.webhook._subscriptions``).
"""

from odoo import api, models


class Base(models.AbstractModel):
    _inherit = "base"

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        if subscriptions := self._webhook_subscriptions("create"):
            self.env["rest.api.webhook.event"].sudo()._record(records, "create", subscriptions)
        return records

    def write(self, vals):
        result = super().write(vals)
        if subscriptions := self._webhook_subscriptions("write"):
            changed = set(vals)
            subscriptions = [s for s in subscriptions if not s.fields or changed.intersection(s.fields)]
            if subscriptions:
                self.env["rest.api.webhook.event"].sudo()._record(self, "write", subscriptions)
        return result

    def unlink(self):
        if not (subscriptions := self._webhook_subscriptions("unlink")):
            return super().unlink()
        # what each subscription may see of them, while they exist
        Event = self.env["rest.api.webhook.event"].sudo()
        seen = {sub: Event._visible(self, "unlink", sub) for sub in subscriptions}
        result = super().unlink()
        Event._record_seen(self._name, "unlink", seen)
        return result

    def _webhook_subscriptions(self, event):
        """The active subscriptions to ``event`` on this model (none while Odoo loads its modules)."""
        registry = self.env.registry
        if not registry.ready or self._name.startswith("rest.api.") or "rest.api.webhook" not in registry:
            return ()
        found = self.env["rest.api.webhook"]._subscriptions().get(self._name)
        return [sub for sub in found if event in sub.events] if found else ()
