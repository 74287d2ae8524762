"""What a call leaves behind belongs to its (key, user) pair (API.md section 8).

A kept answer (``rest.api.idempotency``) and a webhook subscription
(``rest.api.webhook``, and through it its events and deliveries) are made
by a call: its API key, and the user it ran as (the login token's user, else
the key's owner). Only that pair replays, reads, changes or resends them:

- through the API, the handlers look them up by the call's own pair;
- on the screens and over RPC, the record rules let a user see what they
  made with their own key, and a *REST API / Manager* only what a pair whose
  key owner and user hold no group the manager lacks made (``manageable``);
  every change and every public action checks the same (``_check_pair``),
  after the write too, since record rules are checked before it.
"""

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL


class RestApiOwnedMixin(models.AbstractModel):
    _name = "rest.api.owned.mixin"
    _description = "REST API: made by a (key, user) pair"

    key_id = fields.Many2one("rest.api.key", string="API key", required=True, ondelete="cascade", index=True)
    user_id = fields.Many2one(
        "res.users", string="User", required=True, ondelete="cascade", index=True,
        help="The user the call that made it ran as: the login token's user, else the key's owner.",
    )  # fmt: skip
    manageable = fields.Boolean(
        compute="_compute_manageable", search="_search_manageable",
        help="The current user holds every group of the key's owner and of the user.",
    )  # fmt: skip

    @api.depends_context("uid")
    def _compute_manageable(self):
        above = self._users_above()
        for record, pair in zip(self, self.sudo(), strict=True):
            record.manageable = above is None or not ({pair.key_id.user_id.id, pair.user_id.id} & above)

    def _search_manageable(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("manageable can only be compared with True or False."))
        above = self._users_above()
        if above is None:
            domain = []
        else:
            above = sorted(above)
            domain = [("user_id", "not in", above), ("key_id.user_id", "not in", above)]
        if (operator == "=") == value:
            return domain or [(1, "=", 1)]
        return ["!", *domain] if domain else [(0, "=", 1)]

    @api.model
    def _users_above(self):
        """The ids of the users who hold a group the current user lacks; None
        when there are none to fear (the superuser, an access-rights manager).
        The current user is the environment's user even under ``sudo()``:
        record rules are evaluated on a sudo model."""
        user = self.env["res.users"].browse(self.env.uid)
        if self.env.uid == 1 or user.sudo().has_group("base.group_erp_manager"):
            return None
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT uid FROM res_groups_users_rel
                    WHERE gid NOT IN (SELECT gid FROM res_groups_users_rel WHERE uid = %s)""",
                self.env.uid,
            )
        )
        return {row[0] for row in self.env.cr.fetchall()}

    # ------------------------------------------------------------ the rule
    @api.model
    def _may_act_for(self, key, user):
        """Whether the current user may act on what the pair (``key``, ``user``) made:
        the superuser; the user itself with its own key; a REST API manager
        who holds every group of the key's owner and of the user."""
        if self.env.su:
            return True
        Key = self.env["rest.api.key"]
        owner = key.sudo().user_id
        if user == self.env.user and owner == self.env.user:
            return True
        return Key._is_rest_api_manager() and Key._holds_groups_of(owner) and Key._holds_groups_of(user)

    def _check_pair(self):
        """Refuse unless the current user may act on every record's pair."""
        for record in self.sudo():
            if not self._may_act_for(record.key_id, record.user_id):
                raise AccessError(
                    _("This was made through an API key and user whose groups you do not all hold.")
                )

    @api.model_create_multi
    def create(self, vals_list):
        Key = self.env["rest.api.key"].sudo()
        for vals in vals_list:
            if not vals.get("user_id") and vals.get("key_id"):
                vals["user_id"] = Key.browse(vals["key_id"]).user_id.id
        records = super().create(vals_list)
        records._check_pair()
        return records

    def write(self, vals):
        if not self.env.su and ({"key_id", "user_id"} & set(vals)):
            for record in self:
                if any(record[name].id != vals[name] for name in ("key_id", "user_id") if name in vals):
                    raise AccessError(_("What a key and user made cannot be moved to another key or user."))
        self._check_pair()
        return super().write(vals)

    def unlink(self):
        self._check_pair()
        return super().unlink()
