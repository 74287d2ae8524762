import logging
import time
from dataclasses import dataclass

import psycopg2.errors

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..lib import errors, ipnet, keys, limits, settings, states, throttle
from . import side_store

_logger = logging.getLogger(__name__)

# Throttled keys (see lib.throttle): every call draws the next number of its
# key's sequence, a non-transactional nextval() that writes no row and takes
# no row lock, on the side connection, and ranks in its window by that number
# minus the window's base. The database clock is used so that every server
# counts the same windows; it is read first, and a number is drawn only if
# the key's window of that moment is open, so that every number drawn in a
# window is above its base. Otherwise the call opens the window (or finds it
# opened by another call) and draws its number in THROTTLE_OPEN_SQL.
THROTTLE_SQL = """
SELECT CASE WHEN u.window_start >= floor(c.now / $2)::bigint * $2
            THEN nextval(('rest_api_key_hits_' || $1)::regclass) END,
       u.window_start, u.window_base, c.now
  FROM (SELECT extract(epoch FROM clock_timestamp())::float8 AS now OFFSET 0) AS c
  LEFT JOIN rest_api_key_usage AS u ON u.key_id = $1
"""
side_store.prepare("rest_api_throttle", ("int", "int"), THROTTLE_SQL)
# Open window $2 unless it (or a later one) is open already, then draw this
# call's number: both under the key's row lock, so that openers take turns
# and the base, the last number drawn before the window opened, is read once
# the lock is held. A window never moves back.
THROTTLE_OPEN_SQL = """
WITH opened AS (
    INSERT INTO rest_api_key_usage AS u (key_id, window_start, window_base)
    VALUES ($1, $2, COALESCE(pg_sequence_last_value(('rest_api_key_hits_' || $1)::regclass), 0))
    ON CONFLICT (key_id) DO UPDATE SET
        window_base = CASE WHEN u.window_start < EXCLUDED.window_start
                           THEN COALESCE(pg_sequence_last_value(('rest_api_key_hits_' || $1)::regclass), 0)
                           ELSE u.window_base END,
        window_start = GREATEST(u.window_start, EXCLUDED.window_start)
    RETURNING window_start, window_base
)
SELECT nextval(('rest_api_key_hits_' || $1)::regclass), window_start, window_base,
       extract(epoch FROM clock_timestamp())::float8
  FROM opened
"""
side_store.prepare("rest_api_throttle_open", ("int", "bigint"), THROTTLE_OPEN_SQL)


def hits_sequence(key_id):
    """The name of the sequence that numbers a key's calls (THROTTLE_SQL spells it too)."""
    return f"rest_api_key_hits_{int(key_id)}"


# per process: keys whose window this worker saw used up (counted before the work, see KeyUse)
EXHAUSTED = throttle.Exhausted()


class UnknownKey(Exception):
    """No key has this digest (raised, so that ormcache never stores misses)."""


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

    def usable(self, now):
        return self.active and (self.expiration is None or self.expiration > now)

    @property
    def scope_map(self):
        """None for an all-models key, else {model: frozenset(operations)}."""
        return None if self.scopes is None else dict(self.scopes)


class KeyUse:
    """A key found by its secret, and this call's throttle count.

    The count is sent to PostgreSQL when the key is found. ``ahead`` means
    its answer is read only when the verdict is needed (see ``verdict``), so
    that the round trip runs alongside the call's own work; otherwise it is
    read at once.
    """

    def __init__(self, info, env=None, counted=None, ahead=False):
        self.info, self.env, self.ahead = info, env, ahead
        self._counted = counted  # side_store.Pending of THROTTLE_SQL, None for a key without a limit
        self._count = None
        self._verdict = None

    @property
    def count(self):
        """(window start, this call's rank in it, the database's epoch); waits for the count."""
        if self._count is None:
            self._count = (0, 0, 0.0) if self._counted is None else self._place()
        return self._count

    def _place(self):
        info = self.info
        try:
            return self._rank(*self._counted.rows()[0])
        except psycopg2.errors.UndefinedTable:  # a key made before its sequence, or one deleted just now
            if not side_store.execute(self.env, "SELECT 1 FROM rest_api_key WHERE id = %s", [info.id]):
                raise errors.Unauthorized("Unknown, revoked or expired API key.") from None
            side_store.create_sequence(self.env, hits_sequence(info.id))
            args = (info.id, info.rate_limit_period)
            return self._rank(*side_store.execute_prepared(self.env, "rest_api_throttle", args)[0])

    def _rank(self, number, start, base, now):
        """(window start, rank, epoch) of a THROTTLE_SQL answer; opens the window if it drew no number."""
        if number is None:  # the first call of its window, or one racing it
            args = (self.info.id, throttle.window_start(now, self.info.rate_limit_period))
            number, start, base, _opened_at = side_store.execute_prepared(
                self.env, "rest_api_throttle_open", args
            )[0]
        return start, number - base, now

    @property
    def window_start(self):
        return self.count[0]

    @property
    def hits(self):
        return self.count[1]

    @property
    def now(self):
        return self.count[2]

    def verdict(self):
        """The throttle's decision for this call, taken once (a retried transaction keeps it)."""
        if self._verdict is None:
            info = self.info
            start, hits, now = self.count
            self._verdict = throttle.decide(hits, info.rate_limit, info.rate_limit_period, now, start)
            if info.rate_limit:
                left = start + info.rate_limit_period - now
                EXHAUSTED.note((self.env.cr.dbname, info.id), self._verdict, left, time.monotonic())
        return self._verdict


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

    _sql_constraints = [
        ("rate_limit_positive", "CHECK (rate_limit >= 0)", "The rate limit cannot be negative."),
        (
            "rate_limit_period_positive",
            "CHECK (rate_limit_period >= 1)",
            "The rate limit period must be at least 1 s.",
        ),
    ]

    def init(self):
        # The digest is not an ORM field, like Odoo's own res.users.apikeys:
        # no read, export or RPC can ever return it.
        self.env.cr.execute("""
            ALTER TABLE rest_api_key ADD COLUMN IF NOT EXISTS key_hash varchar;
            CREATE UNIQUE INDEX IF NOT EXISTS rest_api_key_key_hash_uniq ON rest_api_key (key_hash);
            CREATE TABLE IF NOT EXISTS rest_api_key_usage (
                key_id integer PRIMARY KEY,
                use_count bigint NOT NULL DEFAULT 0,
                last_used timestamp,
                window_start bigint NOT NULL DEFAULT 0
            );
            ALTER TABLE rest_api_key_usage
                ADD COLUMN IF NOT EXISTS window_base bigint NOT NULL DEFAULT 0,
                DROP COLUMN IF EXISTS window_hits,
                DROP COLUMN IF EXISTS prev_start,
                DROP COLUMN IF EXISTS prev_base;
        """)
        self.env.cr.execute(  # keys made before their sequences existed
            "SELECT id FROM rest_api_key WHERE to_regclass('rest_api_key_hits_' || id) IS NULL"
        )
        self._create_hits_sequences([key_id for (key_id,) in self.env.cr.fetchall()])

    def _create_hits_sequences(self, ids):
        for key_id in ids:  # NO CYCLE, CACHE 1: numbers are unique and drawn in order
            self.env.cr.execute(
                SQL("CREATE SEQUENCE IF NOT EXISTS %s AS bigint", SQL.identifier(hits_sequence(key_id)))
            )

    @api.model
    def _default_rate_limit(self):
        return settings.read(self.env["ir.config_parameter"].sudo().get_param, "rest_api.default_rate_limit")

    def _compute_usage(self):
        rows = {}
        if self.ids:
            self.env.cr.execute(
                "SELECT key_id, use_count, last_used FROM rest_api_key_usage WHERE key_id IN %s",
                [tuple(self.ids)],
            )
            rows = {key_id: (count, last) for key_id, count, last in self.env.cr.fetchall()}
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

    @api.constrains("allowed_ips")
    def _check_allowed_ips(self):
        for key in self:
            try:
                ipnet.parse_networks(key.allowed_ips)
            except ValueError as exc:
                raise ValidationError(_("Allowed IPs: %s", exc)) from exc

    # ------------------------------------------------------------ ownership
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_owner_change(vals)
        records = super().create(vals_list)
        self._create_hits_sequences(records.ids)
        return records

    def write(self, vals):
        self._check_owner_change(vals)
        self._check_only_tightened(vals)
        result = super().write(vals)
        if "rate_limit_period" in vals and self.ids:
            # the next call opens a window of the new length (windows never move back, see THROTTLE_OPEN_SQL)
            self.env.cr.execute(
                "UPDATE rest_api_key_usage SET window_start = 0 WHERE key_id IN %s",
                [tuple(self.ids)],
            )
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
                    "require_user_token", "all_models", "active")  # fmt: skip

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

    @api.model
    def _holds_groups_of(self, user):
        """Whether the current user holds every group of ``user`` (implied ones
        included). A user who manages access rights (``base.group_erp_manager``)
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
        self.check_access("write")
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
        ids = tuple(self.ids)
        result = super().unlink()
        if ids:
            self.env.cr.execute("DELETE FROM rest_api_key_usage WHERE key_id IN %s", [ids])
            names = SQL(", ").join(SQL.identifier(hits_sequence(key_id)) for key_id in ids)
            self.env.cr.execute(SQL("DROP SEQUENCE IF EXISTS %s", names))
        return result

    # ------------------------------------------------------------ per call
    @api.model
    def _find_key(self, secret):
        """The usable key of ``secret`` (KeyInfo), or None: unknown, archived or
        expired, and the caller cannot tell which. Nothing is counted yet."""
        if not keys.looks_like_key(secret):
            return None
        try:
            info = self._key_info(keys.hash_key(secret))
        except UnknownKey:
            return None
        return info if info.usable(fields.Datetime.now()) else None

    @api.model
    def _count_use(self, info, ahead=False):
        """Count this call against key ``info`` (its use count, and its rate limit if it has one).

        Called only once the call passed the key's own refusals (archived
        owner, address not allowed), which therefore never use up its limit.
        ``ahead``: the count may be read later (KeyUse.ahead), unless this
        worker saw the key's window used up: then the call is counted, and
        refused, before any work is done for it.
        """
        side_store.note_use(self.env, info.id)
        if not info.rate_limit:
            return KeyUse(info, self.env)
        ahead = ahead and ((self.env.cr.dbname, info.id), time.monotonic()) not in EXHAUSTED
        counted = side_store.start_prepared(self.env, "rest_api_throttle", (info.id, info.rate_limit_period))
        return KeyUse(info, self.env, counted, ahead)

    @api.model
    def _use_key(self, secret, ahead=False):
        """_find_key, then _count_use: the key with this call counted, or None."""
        info = self._find_key(secret)
        return None if info is None else self._count_use(info, ahead)

    @tools.ormcache("key_hash")
    def _key_info(self, key_hash):
        """Everything a call needs about a key; cleared on any change of keys, scopes or users."""
        self.env.cr.execute("SELECT id FROM rest_api_key WHERE key_hash = %s", [key_hash])
        row = self.env.cr.fetchone()
        if not row:
            raise UnknownKey()
        key = self.sudo().with_context(active_test=False).browse(row[0])
        scopes = None
        if not key.all_models:
            scopes = {}
            for line in key.scope_ids:
                scopes[line.model_id.model] = line._operations() | scopes.get(
                    line.model_id.model, frozenset()
                )
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
        )
