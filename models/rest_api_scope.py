from odoo import fields, models

from ..lib.scopes import OPERATIONS


class RestApiScope(models.Model):
    _name = "rest.api.scope"
    _inherit = ["rest.api.cache.mixin"]
    _description = "REST API key scope"
    _order = "key_id, model_id"
    _allow_sudo_commands = False

    key_id = fields.Many2one("rest.api.key", string="Key", required=True, index=True, ondelete="cascade")
    model_id = fields.Many2one("ir.model", string="Model", required=True, ondelete="cascade")
    model = fields.Char(related="model_id.model", string="Technical name")
    perm_read = fields.Boolean("Read", default=True)
    perm_create = fields.Boolean("Create")
    perm_write = fields.Boolean("Write")
    perm_delete = fields.Boolean("Delete")
    perm_execute = fields.Boolean("Execute", help="Call other public methods through execute_kw.")

    _sql_constraints = [
        ("key_model_uniq", "UNIQUE (key_id, model_id)", "A key has one scope line per model."),
    ]

    def write(self, vals):
        if vals.get("key_id"):
            # rules are checked on the lines before the write, not on the key they move to
            self.env["rest.api.key"].browse(vals["key_id"]).check_access("write")
        return super().write(vals)

    def _letters(self):
        """The allowed operations as letters, e.g. ``RW`` for read and write (the key list shows them)."""
        self.ensure_one()
        return "".join(
            letter for letter, op in zip("RCWDX", OPERATIONS, strict=True) if op in self._operations()
        )

    def _operations(self):
        self.ensure_one()
        flags = {
            "read": self.perm_read,
            "create": self.perm_create,
            "write": self.perm_write,
            "delete": self.perm_delete,
            "execute": self.perm_execute,
        }
        return frozenset(op for op, allowed in flags.items() if allowed)
