from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..lib import limits
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

    @api.model_create_multi
    def create(self, vals_list):
        # A new line lets a key reach one more model: an owner may add lines
        # only while creating the key (in the same transaction), a manager always.
        Key = self.env["rest.api.key"]
        keys = Key.browse([vals["key_id"] for vals in vals_list if vals.get("key_id")]).exists()
        self.check_access("create")
        keys.check_access("write")  # before any message that names a key
        keys._check_power()
        if not self.env["rest.api.key"]._is_rest_api_manager():
            now = self.env.cr.now()
            for vals in vals_list:
                key = self.env["rest.api.key"].sudo().browse(vals.get("key_id")).exists()
                if key and key.create_date != now:
                    raise AccessError(
                        _("Only a REST API manager may widen the scopes of an existing key (%s).", key.name)
                    )
        return super().create(vals_list)

    def write(self, vals):
        self.check_access("write")  # before any message that names a key
        self.key_id._check_power()
        if vals.get("key_id"):
            # rules are checked on the lines before the write, not on the key they move to
            self.env["rest.api.key"].browse(vals["key_id"]).check_access("write")
            self.env["rest.api.key"].browse(vals["key_id"])._check_power()
        if not self.env["rest.api.key"]._is_rest_api_manager():
            now = self.env.cr.now()
            for line in self.sudo():
                if line.key_id.create_date == now:
                    continue  # a key being created: its owner sets its scopes
                old = {name: line[name] for name in limits.SCOPE_PERMISSIONS}
                old.update(model_id=line.model_id.id, key_id=line.key_id.id)
                if loose := limits.scope_loosened(old, vals):
                    raise AccessError(
                        _("Only a REST API manager may widen the scopes of a key; its owner may only "
                          "narrow them (%(fields)s of %(key)s).", fields=", ".join(loose), key=line.key_id.name)
                    )  # fmt: skip
        return super().write(vals)

    def unlink(self):
        self.key_id._check_power()
        return super().unlink()

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
