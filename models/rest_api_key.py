from dataclasses import dataclass

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..infra import side_store, throttle, worker_cache
from ..lib import ipnet, keys, limits, oauth, states


class UnknownKey(Exception):
    """No key has this digest (raised, so that misses are never kept)."""


# A key's state: read before its KeyInfo (``_key_info``), compared again by ``_find_key(primary=...)``
STATE_SQL = """
SELECT k.write_date, k.active, u.write_date, u.active,
       (SELECT array_agg(s.id::text || '@' || s.write_date::text ORDER BY s.id)
          FROM rest_api_scope s WHERE s.key_id = k.id)
  FROM rest_api_key k JOIN res_users u ON u.id = k.user_id
 WHERE k.id = %s
"""


@dataclass(frozen=True)
class KeyInfo:
    """What a call needs to know about its key; cached per worker, cleared on any change."""

    id: int
    active: bool
    expiration: object  # naive UTC datetime or None
    user_id: int
    owner_active: bool
    scopes: object  # None (all models) or a frozen {model: frozenset(operations)}
    networks: tuple
    rate_limit: int
    rate_limit_period: int
    require_user_token: bool
    log_requests: bool
    state: tuple = ()  # _key_state() when this was read
    oauth_client_id: str = ""
    redirect_uris: tuple = ()  # OAuth redirect URIs (API.md section 14); empty: not an OAuth client

    def usable(self, now):
        return self.active and (self.expiration is None or self.expiration > now)

    @property
    def scope_map(self):
        """None for an all-models key, else {model: frozenset(operations)}."""
        return None if self.scopes is None else dict(self.scopes)


class RestApiKey(models.Model):
    _name = "rest.api.key"
    _inherit = ["rest.api.cache.mixin"]
    _description = "REST API key"
    _order = "name, id"
    _allow_sudo_commands = False

    name = fields.Char(required=True, help="What this key is for: the integration or app that uses it.")
    user_id = fields.Many2one(
        "res.users",
        string="Owner",
        required=True,
        index=True,
        ondelete="cascade",
        default=lambda self: self.env.user,
        help="Calls made with this key alone run as this user, with this user's access rights.",
    )
    active = fields.Boolean(default=True, help="Archive the key to revoke it at once.")
    key_hint = fields.Char(
        "Key",
        readonly=True,
        copy=False,
        help="The start of the key, to recognise it; the key itself is never stored.",
    )
    expiration_date = fields.Datetime(help="After this moment (UTC) the key is refused.")
    all_models = fields.Boolean(
        default=True,
        help="Reach every model the owner can reach; otherwise only the models listed in the scopes.",
    )
    scope_ids = fields.One2many("rest.api.scope", "key_id", string="Scopes", copy=True)
    rate_limit = fields.Integer(
        default=lambda self: self._default_rate_limit(), help="Requests allowed per period; 0 means no limit."
    )
    rate_limit_period = fields.Integer("Rate limit period (s)", default=60)
    require_user_token = fields.Boolean(
        help="Calls must also carry a login token of a user; the key alone reaches no data (mobile apps)."
    )
    allowed_ips = fields.Char(
        "Allowed IPs",
        help="Addresses or CIDR networks, separated by commas or spaces; empty allows any address.",
    )
    log_requests = fields.Boolean(help="Write every call made with this key to the call log.")
    last_used = fields.Datetime(compute="_compute_usage")
    use_count = fields.Integer(compute="_compute_usage")
    state = fields.Selection(
        [("new", "No secret yet"), ("active", "Active"), ("expired", "Expired"), ("archived", "Archived")],
        compute="_compute_state",
        search="_search_state",
        help="No secret yet: generate the key to use it. Archived and expired keys are refused.",
    )
    scope_summary = fields.Char("Scope summary", compute="_compute_scope_summary")
    token_count = fields.Integer("Login tokens", compute="_compute_token_count")
    # OAuth 2.0 (API.md section 14): a key with redirect URIs is an OAuth client
    oauth_redirect_uris = fields.Text(
        "OAuth redirect URIs",
        help="One a line. Setting them makes this key an OAuth 2.0 client: apps sign users in "
        "through /api/oauth/authorize and are sent back only to these addresses (exact match; "
        "http://127.0.0.1/... and http://[::1]/... match any port). A key that requires a user "
        "token is a public client (PKCE, no secret); any other authenticates with the key itself.",
    )
    oauth_client_id = fields.Char(
        "OAuth client id", readonly=True, copy=False, index=True, help="Public: apps send it as client_id."
    )
    oauth_client_type = fields.Selection(
        [("public", "Public (PKCE, no secret)"), ("confidential", "Confidential (the key is the secret)")],
        "OAuth client type",
        compute="_compute_oauth_client_type",
    )
    oauth_grant_count = fields.Integer("Apps allowed", compute="_compute_oauth_grant_count")

    _sql_constraints = [
        ("rate_limit_positive", "CHECK (rate_limit >= 0)", "The rate limit cannot be negative."),
        (
            "rate_limit_period_positive",
            "CHECK (rate_limit_period >= 1)",
            "The rate limit period must be at least 1 s.",
        ),
        ("oauth_client_id_uniq", "UNIQUE (oauth_client_id)", "OAuth client ids are unique."),
    ]

    def init(self):
        # The digest is not an ORM field, like Odoo's own res.users.apikeys:
        # no read, export or RPC can ever return it.
        self.env.cr.execute("""
            ALTER TABLE rest_api_key ADD COLUMN IF NOT EXISTS key_hash varchar;
            CREATE UNIQUE INDEX IF NOT EXISTS rest_api_key_key_hash_uniq ON rest_api_key (key_hash);
        """)
        throttle.create_tables(self.env.cr)
        # every key has its own public client id (one random value each: a column default would
        # give every existing key the same)
        self.env.cr.execute("SELECT id FROM rest_api_key WHERE oauth_client_id IS NULL")
        for (key_id,) in self.env.cr.fetchall():
            self.env.cr.execute(
                "UPDATE rest_api_key SET oauth_client_id = %s WHERE id = %s", [oauth.new_client_id(), key_id]
            )

    @api.model
    def _default_rate_limit(self):
        return self.env["rest.api.pipeline"]._settings()["rest_api.default_rate_limit"]

    def _compute_usage(self):
        rows = throttle.usage(self.env.cr, self.ids)
        for key in self:
            key.use_count, key.last_used = rows.get(key.id, (0, False))

    @api.depends("active", "expiration_date", "key_hint")
    def _compute_state(self):
        now = fields.Datetime.now()
        for key in self:
            if not key.active:
                key.state = "archived"
            elif key.expiration_date and key.expiration_date <= now:
                key.state = "expired"
            else:
                key.state = "active" if key.key_hint else "new"

    def _search_state(self, operator, value):
        try:
            return states.state_domain(operator, value, self._state_domains())
        except ValueError as exc:
            raise UserError(str(exc)) from exc

    @api.model
    def _state_domains(self):
        """The domain of each state (they do not overlap); the clock makes them unstorable."""
        now = fields.Datetime.now()
        live = [("active", "=", True), "|", ("expiration_date", "=", False), ("expiration_date", ">", now)]
        return {
            "archived": [("active", "=", False)],
            "expired": [("active", "=", True), ("expiration_date", "<=", now)],
            "new": [*live, ("key_hint", "=", False)],
            "active": [*live, ("key_hint", "!=", False)],
        }

    @api.depends("all_models", "scope_ids.model", "scope_ids.perm_read", "scope_ids.perm_create",
                 "scope_ids.perm_write", "scope_ids.perm_delete", "scope_ids.perm_execute")  # fmt: skip
    def _compute_scope_summary(self):
        for key in self:
            if key.all_models:
                key.scope_summary = _("All models")
            else:
                lines = [f"{line.model} ({line._letters()})" for line in key.scope_ids]
                key.scope_summary = ", ".join(lines) or _("No model")

    def _compute_token_count(self):
        counts = dict(
            self.env["rest.api.token"]._read_group([("key_id", "in", self.ids)], ["key_id"], ["__count"])
        )
        for key in self:
            key.token_count = counts.get(key, 0)

    @api.depends("oauth_redirect_uris", "require_user_token")
    def _compute_oauth_client_type(self):
        for key in self:
            if not (key.oauth_redirect_uris or "").strip():
                key.oauth_client_type = False
            else:
                key.oauth_client_type = "public" if key.require_user_token else "confidential"

    def _compute_oauth_grant_count(self):
        counts = dict(
            self.env["rest.api.oauth.grant"]._read_group(
                [("key_id", "in", self.ids), ("revoked", "=", False)], ["key_id"], ["__count"]
            )
        )
        for key in self:
            key.oauth_grant_count = counts.get(key, 0)

    @api.constrains("oauth_redirect_uris")
    def _check_oauth_redirect_uris(self):
        for key in self:
            try:
                oauth.parse_redirect_uris(key.oauth_redirect_uris)
            except ValueError as exc:
                raise ValidationError(_("OAuth redirect URIs: %s", exc)) from exc

    @api.constrains("allowed_ips")
    def _check_allowed_ips(self):
        for key in self:
            try:
                ipnet.parse_networks(key.allowed_ips)
            except ValueError as exc:
                raise ValidationError(_("Allowed IPs: %s", exc)) from exc

    # ------------------------------------------------------------ ownership
    @api.model
    def _check_no_login_token(self):
        """A call authenticated by a login token issues no credential: no key, no
        secret, no token (API.md section 8). The pipeline marks its context."""
        if self.env.context.get("rest_api_login_token"):
            raise AccessError(
                _("A call made with a login token cannot create keys or issue secrets and tokens.")
            )

    @api.model_create_multi
    def create(self, vals_list):
        self._check_no_login_token()
        for vals in vals_list:
            self._check_owner_change(vals)
            if (vals.get("oauth_redirect_uris") or "").strip() and not self._is_rest_api_manager():
                raise AccessError(_("Only a REST API manager may make a key an OAuth client."))
            vals["oauth_client_id"] = oauth.new_client_id()
        records = super().create(vals_list)
        throttle.key_created(self.env.cr, records.ids)
        return records

    def write(self, vals):
        # access rights and rules first: the checks below name the key and its limits
        self.check_access("write")
        self._check_power()
        self._check_owner_change(vals)
        self._check_only_tightened(vals)
        if "oauth_client_id" in vals and not self.env.su:
            raise AccessError(_("A key's OAuth client id cannot be changed."))
        result = super().write(vals)
        if "rate_limit_period" in vals:
            throttle.period_changed(self.env.cr, self.ids)
        return result

    @api.model
    def _check_owner_change(self, vals):
        # Record rules are checked before a write, not after: without this a
        # REST API user could hand their own key to another user (an admin)
        # and call the API as that user.
        # A manager may hand keys to others, but not to a user holding groups
        # the manager lacks: the key would let the manager act as that user.
        owner = vals.get("user_id")
        if owner and owner != self.env.uid:
            if not self._is_rest_api_manager():
                raise AccessError(_("Only a REST API manager may give a key to another user."))
            if not self._holds_groups_of(self.env["res.users"].browse(owner)):
                raise AccessError(
                    _("A key can only be given to a user whose groups you hold too: it acts as that user.")
                )

    LIMIT_FIELDS = ("rate_limit", "rate_limit_period", "allowed_ips", "expiration_date",
                    "require_user_token", "all_models", "active", "oauth_redirect_uris")  # fmt: skip

    def _check_only_tightened(self, vals):
        """Limits a manager set on a key can only be loosened by a manager (API.md section 8)."""
        changed = {name: vals[name] for name in self.LIMIT_FIELDS if name in vals}
        if not changed or self._is_rest_api_manager():
            return
        if "expiration_date" in changed:
            changed["expiration_date"] = fields.Datetime.to_datetime(changed["expiration_date"]) or False
        for key in self.sudo().with_context(active_test=False):
            old = {name: key[name] for name in self.LIMIT_FIELDS}
            if loose := limits.loosened(old, changed):
                raise AccessError(
                    _("Only a REST API manager may loosen the limits of a key; its owner may only "
                      "tighten them (%(fields)s of %(key)s).", fields=", ".join(loose), key=key.name)
                )  # fmt: skip

    @api.model
    def _is_rest_api_manager(self):
        return self.env.su or self.env.user.has_group("rest_api.group_rest_api_manager")

    def _check_power(self):
        """A manager's power over a key (a new secret, its scopes and limits, its redirect
        URIs) stops at keys that act as a user holding a group the manager lacks (API.md
        section 8): its owner, and for an OAuth client every user who allowed it (its
        tokens act as them: whoever changes where it sends codes, or whether it needs a
        secret, could act as them). The owner itself is bound by the record rules and by
        ``_check_only_tightened``."""
        if self.env.su:
            return
        for key in self.sudo().with_context(active_test=False):
            if key.user_id != self.env.user and not self._holds_groups_of(key.user_id):
                raise AccessError(
                    _("This key acts as a user who holds groups you do not: you cannot change it.")
                )
            if key.user_id != self.env.user and not self._holds_groups_of(key._granting_users()):
                raise AccessError(
                    _("Users who hold groups you do not allowed this app (OAuth): you cannot change its key.")
                )

    def _granting_users(self):
        """The users whose grants let this key (an OAuth client) act as them now."""
        self.ensure_one()
        grants = (
            self.env["rest.api.oauth.grant"]
            .sudo()
            .search([("key_id", "=", self.id), ("revoked", "=", False)])
        )
        return grants.user_id

    @api.model
    def _holds_groups_of(self, user):
        """Whether the current user holds every group of ``user`` (implied ones
        included; of every user, for several). A user who manages access rights (``base.group_erp_manager``)
        may give themselves any group: acting as another user gains them nothing."""
        if self.env.su or self.env.user.has_group("base.group_erp_manager"):
            return True
        theirs = user.sudo().exists().groups_id
        return not (theirs - self.env.user.sudo().groups_id)

    # ------------------------------------------------------------ secrets
    @api.model
    def generate(self, values):
        """Create a key from ``values`` and return ``{"id": id, "key": plaintext}``.

        This answer is the only moment the secret exists outside the
        caller's hands: only its digest is stored.
        """
        key = self.create(values)
        return {"id": key.id, "key": key._new_secret()}

    def _new_secret(self):
        self.ensure_one()
        self._check_no_login_token()
        self.check_access("write")
        self._check_power()
        secret = keys.generate_key()
        self.env.cr.execute(
            "UPDATE rest_api_key SET key_hash = %s, key_hint = %s WHERE id = %s",
            [keys.hash_key(secret), keys.key_hint(secret), self.id],
        )
        self.invalidate_recordset(["key_hint", "state"])
        self.env.registry.clear_cache()
        return secret

    def action_generate_key(self):
        """Give the key a new secret (the previous one stops working) and show it once."""
        self.ensure_one()
        return self.env["rest.api.secret.show"]._action_show(
            self._new_secret(), _("API key ready"), kind="key", record_name=self.name
        )

    def action_view_tokens(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("rest_api.action_rest_api_token")
        action["domain"] = [("key_id", "=", self.id)]
        action["context"] = {"default_key_id": self.id}
        return action

    def action_view_logs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("rest_api.action_rest_api_log")
        action["domain"] = [("key_id", "=", self.id)]
        return action

    def unlink(self):
        self.check_access("unlink")
        self._check_power()
        ids = self.ids
        result = super().unlink()
        throttle.keys_deleted(self.env.cr, ids)
        return result

    # ------------------------------------------------------------ per call
    @api.model
    def _find_key(self, secret, primary=None):
        """The usable key of ``secret`` (KeyInfo), or None: unknown, archived or
        expired, and the caller cannot tell which. Nothing is counted here
        (``infra.throttle.count`` does, once the call passed the key's refusals).

        ``primary`` (``infra.replica.Primary``): the call runs on a replica, where
        Odoo may learn late that its caches are stale. The kept KeyInfo is then
        compared with the primary's state of the key (one statement on a side
        connection), and read again from the primary when it differs.
        """
        if not keys.looks_like_key(secret):
            return None
        return self._kept_key("rest.api.key", keys.hash_key(secret), "_key_info", primary)

    def _kept_key(self, memo, found_by, loader, primary, usable_only=True):
        """The usable KeyInfo that ``self.sudo().<loader>(found_by)`` reads, kept per
        worker in the memo ``memo`` (None: unknown, archived or expired; ``usable_only``
        False: unknown only). On a replica (``primary``) the kept one is compared with
        the primary's state of the key first, and read again from the primary when it
        differs."""
        known = worker_cache.memo(self.env.registry, memo)
        info = known.get(found_by)
        if info is not None and primary is not None:
            rows = side_store.execute(self.env, STATE_SQL, [info.id])
            if (tuple(rows[0]) if rows else None) != info.state:
                info = None
        if info is None:
            source = self if primary is None else self.with_env(primary.env)
            try:
                info = known[found_by] = getattr(source.sudo(), loader)(found_by)
            except UnknownKey:
                known.pop(found_by, None)
                return None
        return info if not usable_only or info.usable(fields.Datetime.now()) else None

    def _key_state(self, key_id):
        """What tells whether a kept KeyInfo still holds: the key's, its scopes' and
        its owner's last writes and active flags (None: no such key)."""
        self.env.cr.execute(STATE_SQL, [key_id])
        row = self.env.cr.fetchone()
        return tuple(row) if row else None

    def _scope_map(self):
        """None for an all-models key, else {model: frozenset(operations)} of its scope lines."""
        self.ensure_one()
        if self.all_models:
            return None
        scopes = {}
        for line in self.scope_ids:
            scopes[line.model_id.model] = line._operations() | scopes.get(line.model_id.model, frozenset())
        return scopes

    def _key_info(self, key_hash):
        """Everything a call needs about a key; ``_find_key`` keeps it per worker
        until any change of keys, scopes or users (``infra.worker_cache``)."""
        self.env.cr.execute("SELECT id FROM rest_api_key WHERE key_hash = %s", [key_hash])
        row = self.env.cr.fetchone()
        if not row:
            raise UnknownKey()
        return self._key_info_of(row[0])

    def _key_info_of(self, key_id):
        key = self.sudo().with_context(active_test=False).browse(key_id)
        state = self._key_state(key.id)
        if state is None:
            raise UnknownKey()
        scopes = key._scope_map()
        if scopes is not None:
            scopes = tuple(sorted(scopes.items()))
        return KeyInfo(
            id=key.id,
            active=key.active,
            expiration=key.expiration_date or None,
            user_id=key.user_id.id,
            owner_active=key.user_id.active,
            scopes=scopes,
            networks=ipnet.parse_networks(key.allowed_ips),
            rate_limit=key.rate_limit,
            rate_limit_period=max(1, key.rate_limit_period),
            require_user_token=key.require_user_token,
            log_requests=key.log_requests,
            state=state,
            oauth_client_id=key.oauth_client_id or "",
            redirect_uris=tuple(oauth.parse_redirect_uris(key.oauth_redirect_uris)),
        )

    @api.model
    def _find_key_id(self, key_id, primary=None):
        """The usable key of id ``key_id`` (KeyInfo), or None: the key an OAuth access token
        names (its ``azp``) when the token comes alone (API.md section 14). Kept per worker
        like ``_find_key``, and compared with the primary the same way."""
        return self._kept_key("rest.api.key.id", key_id, "_key_info_of", primary)

    @api.model
    def _find_client(self, client_id):
        """The key (KeyInfo, usable or not) whose public OAuth client id is ``client_id``, or None."""
        if not oauth.looks_like_client_id(client_id):
            return None
        known = worker_cache.memo(self.env.registry, "rest.api.key.client")
        key_id = known.get(client_id)
        if key_id is None:
            self.env.cr.execute("SELECT id FROM rest_api_key WHERE oauth_client_id = %s", [client_id])
            row = self.env.cr.fetchone()
            if not row:
                return None
            key_id = known[client_id] = row[0]
        return self._kept_key("rest.api.key.id", key_id, "_key_info_of", None, usable_only=False)

    @api.model
    def _authenticated_client(self, client_id, secret):
        """The key (KeyInfo, usable or not) of the OAuth client a request names: a public
        client by its id alone, a confidential one only with its secret; else None."""
        key = self._find_client(client_id)
        if key is None or not key.redirect_uris:
            return None
        if key.require_user_token and not secret:
            return key
        return key if secret and self._check_secret(key.id, secret) else None

    @api.model
    def _check_secret(self, key_id, secret):
        """Whether ``secret`` is the key ``key_id``'s secret (compared as digests)."""
        if not keys.looks_like_key(secret):
            return False
        self.env.cr.execute("SELECT key_hash FROM rest_api_key WHERE id = %s", [key_id])
        row = self.env.cr.fetchone()
        return bool(row and row[0]) and oauth.same(row[0], keys.hash_key(secret))
