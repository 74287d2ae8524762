from odoo import api, models


class RestApiCacheMixin(models.AbstractModel):
    """Records that calls read from worker caches (keys, their scopes):
    any change clears the registry cache, which Odoo signals to every worker
    and server, so the next call anywhere sees it."""

    _name = "rest.api.cache.mixin"
    _description = "REST API: clear worker caches on change"

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env.registry.clear_cache()
        return records

    def write(self, vals):
        result = super().write(vals)
        self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result
