"""External ids (API.md section 9): ``GET`` and ``PUT /api/<model>/xmlid/<module>.<name>``.

``PUT`` is an upsert: it updates the record the external id names (the
``write`` scope; 200), or creates a record and gives it that external id
(the ``create`` scope; 201). Of several first ``PUT``s of one external id
at once, one creates and the others update: the new ``ir_model_data`` row
is inserted with ``ON CONFLICT DO NOTHING`` before the record is created, so
a second creator waits there for the first one's transaction, and then
(its snapshot being older than that row) fails to serialise; Odoo runs it
again, and it finds the record to update.
"""

from odoo.tools import SQL

from ..lib import errors, scopes
from . import handlers

CLAIM_SQL = """
INSERT INTO ir_model_data (module, name, model, res_id, noupdate, create_uid, write_uid, create_date, write_date)
VALUES (%(module)s, %(name)s, %(model)s, NULL, TRUE, %(uid)s, %(uid)s,
        now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
ON CONFLICT (module, name) DO NOTHING
RETURNING id
"""


def _xmlid(call):
    return call.params["xmlid"].split(".", 1)


def _named(call):
    """The id of the record the path's external id names, or None (no such
    external id, or one whose record is gone, or one of a model the key cannot
    read: its existence is not told, API.md section 8); 409 when it names a
    record of another model the key may read."""
    module, name = _xmlid(call)
    cr = call.model.env.cr
    cr.execute(SQL("SELECT model, res_id FROM ir_model_data WHERE module = %s AND name = %s", module, name))
    row = cr.fetchone()
    if row is None or not row[1]:
        return None
    model, res_id = row
    if model != call.model._name:
        if not _readable(call, model):
            return None
        raise errors.Conflict(f"External id {call.params['xmlid']!r} names a record of another model.")
    cr.execute(SQL("SELECT 1 FROM %s WHERE id = %s", SQL.identifier(call.model._table), res_id))
    return res_id if cr.fetchone() else None


def _readable(call, model):
    env = call.model.env
    return (
        model in env.registry
        and scopes.allows(call.scope_map, model, frozenset({"read"}))
        and env[model].has_access("read")
    )


def read(call):
    record_id = _named(call)
    if record_id is None:
        raise errors.NotFound(f"No {call.model._name} record with external id {call.params['xmlid']!r}.")
    call.params["id"] = record_id
    return handlers.read(call)


def _check_not_taken(call, module, name):
    """409 when the external id names a live record of another model (one the key
    cannot read, which ``_named`` did not tell): it is taken, and a ``PUT`` can only
    say so. (An installed module's external ids were refused before: 400, as for a
    name nobody has.)"""
    cr = call.model.env.cr
    cr.execute(SQL("SELECT model, res_id FROM ir_model_data WHERE module = %s AND name = %s", module, name))
    model, res_id = cr.fetchone()
    if model != call.model._name and res_id and model in call.model.env.registry:
        table = call.model.env[model]._table
        cr.execute(SQL("SELECT 1 FROM %s WHERE id = %s", SQL.identifier(table), res_id))
        if cr.fetchone():
            raise errors.Conflict(f"External id {call.params['xmlid']!r} names a record of another model.")


def _refuse_installed_module(call, module):
    cr = call.model.env.cr
    cr.execute(
        SQL(
            "SELECT 1 FROM ir_module_module WHERE name = %s AND state IN ('installed', 'to upgrade', 'to remove')",
            module,
        )
    )
    if cr.fetchone():
        raise errors.BadRequest(
            f"{module!r} is an installed module: Odoo deletes the records of its external ids it does not "
            "define when it is updated. Use another prefix for new external ids."
        )


def upsert_operations(call):
    """The scope a ``PUT`` needs: ``write`` on the record the external id names, else ``create``."""
    call.checked = _named(call)
    return frozenset({"create" if call.checked is None else "write"})


def upsert(call):
    record_id, call.checked = call.checked, None
    if record_id is not None:
        call.params["id"] = record_id
        return handlers.update(call)
    if call.httprequest.headers.get("If-Match"):
        raise errors.PreconditionFailed(
            f"No {call.model._name} record with external id {call.params['xmlid']!r}: If-Match cannot hold."
        )
    model = call.model
    module, name = _xmlid(call)
    cr = model.env.cr
    _refuse_installed_module(call, module)
    body = call.json()
    if not isinstance(body, dict):
        raise errors.BadRequest("The body must be a JSON object of field values.")
    vals_list = handlers.checked_values(call, body, "create")
    cr.execute(CLAIM_SQL, {"module": module, "name": name, "model": model._name, "uid": model.env.uid})
    row = cr.fetchone()
    dangling = row is None
    if dangling:  # an external id whose record is gone (seen by _named): it names the new record
        _check_not_taken(call, module, name)
        cr.execute(
            SQL(
                "UPDATE ir_model_data SET model = %s, res_id = NULL WHERE module = %s AND name = %s RETURNING id",
                model._name, module, name,
            )
        )  # fmt: skip
        row = cr.fetchone()
    records = model.create(vals_list)
    cr.execute(SQL("UPDATE ir_model_data SET res_id = %s WHERE id = %s", records.id, row[0]))
    model.env["ir.model.data"].invalidate_model(["res_id", "model"])
    if dangling:  # Odoo caches the look-up of an external id that existed (a new one was never cached)
        model.env.registry.clear_cache()
    return handlers.created_answer(call, records, many=False)
