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

    def _write_multi(self, vals_list):
        # every stored column update goes through here, also those no write() of this model
        # made: stored computed fields recomputed from other records (partner_share after a
        # user's groups change), flushed from the cache. write() notes the fields it was given.
        result = super()._write_multi(vals_list)
        if self._ids and (watch := self._rest_api_watch()):
            computed = {}
            for record_id, vals in zip(self._ids, vals_list, strict=True):
                names = tuple(sorted(name for name in vals if self._fields[name].compute))
                if names:
                    computed.setdefault(names, []).append(record_id)
            Change = self.env["rest.api.change"]
            for names, ids in computed.items():
                Change._note(self._name, watch, "write", ids, names=names, recomputed=True)
        return result

    def unlink(self):
        if not self._ids:
            return super().unlink()
        watch = self._rest_api_watch()
        # the records of watched models that the database deletes with these (ondelete cascade)
        cascaded = self._rest_api_cascaded() if watch is not None or self._rest_api_cascades() else []
        if watch is None and not cascaded:
            return super().unlink()
        gone = []  # (model, watch, ids, companies, seen)
        if watch is not None:
            ids = [i for i in self._ids if isinstance(i, int)]
            gone.append((self._name, watch, ids, self._rest_api_companies(ids), self._rest_api_seen(watch)))
        for records, cascade_watch in cascaded:
            ids = list(records._ids)
            gone.append((
                records._name, cascade_watch, ids, records._rest_api_companies(ids),
                records._rest_api_seen(cascade_watch),
            ))  # fmt: skip
        result = super().unlink()
        Change = self.env["rest.api.change"]
        for name, model_watch, ids, companies, seen in gone:
            Change._note(name, model_watch, "unlink", ids, companies=companies, seen=seen)
        return result

    def _rest_api_seen(self, watch):
        """{subscription id: {id: last state or None}}: what each subscription may see of these
        records, while they exist: the records it is told were deleted, and their last state for
        its create/write events not made yet."""
        seen = {}
        if watch.subscriptions:
            Event = self.env["rest.api.webhook.event"].sudo()
            for sub in watch.subscriptions:
                event = "write" if sub.events & {"create", "write"} else "unlink"
                seen[sub.id] = dict(Event._visible(self, event, sub))
        return seen

    def _rest_api_cascades(self):
        """((model, many2one), ...) of the models whose records the database deletes with this
        model's (``ondelete='cascade'``), on the way to a tracked or subscribed model."""
        if not self._rest_api_ready():
            return ()
        return self.env["rest.api.change"]._cascades().get(self._name, ())

    def _rest_api_cascaded(self):
        """[(records, Watch)]: the records of watched models deleted with these by a cascade,
        found (recursively) before the delete, as the deleter sees them (sudo: the database
        deletes them whatever the deleter may read)."""
        found, todo, done = [], [(self._name, set(self._ids))], {}
        watched = self.env["rest.api.change"]._watched()
        cascades = self.env["rest.api.change"]._cascades()
        while todo:
            name, ids = todo.pop()
            seen = done.setdefault(name, set())
            ids = {i for i in ids if isinstance(i, int)} - seen
            if not ids:
                continue
            seen.update(ids)
            for model, column in cascades.get(name, ()):
                table = self.env[model]._table
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM %s WHERE %s = ANY(%s)",
                        SQL.identifier(table), SQL.identifier(column), sorted(ids),
                    )
                )  # fmt: skip
                referring = {row[0] for row in self.env.cr.fetchall()}
                if not referring:
                    continue
                if model in watched:
                    found.append((self.env[model].browse(sorted(referring)), watched[model]))
                todo.append((model, referring))
        return found

    def _rest_api_ready(self):
        registry = self.env.registry
        return (
            registry.ready
            and not self._transient
            and not self._name.startswith("rest.api.")
            and "rest.api.change" in registry
        )

    def _rest_api_watch(self):
        """What this model's changes are noted for (None: nothing; nor while Odoo loads its modules)."""
        if not self._rest_api_ready():
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
