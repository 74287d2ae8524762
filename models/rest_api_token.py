import datetime as dt
import logging
from dataclasses import dataclass

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError, UserError

from ..lib import cursors, errors, oauth, states, tokens

_logger = logging.getLogger(__name__)

MAX_TOKEN_DAYS = tokens.MAX_TOKEN_DAYS  # generate_token and the user form's wizard


@dataclass(frozen=True)
class TokenState:
    """What a call needs to know about an issued token; cached, cleared on any change."""

    id: int
    jti: str
    user_id: int
    key_id: int
    chain: str
    revoked: bool
    expiration: dt.datetime
    fingerprint: str
    oauth: bool = False  # issued through OAuth (API.md section 14): accepted alone as a Bearer token
    scopes: tuple | None = None  # an OAuth token's scope ({model: operations} frozen); None: the key's
    grant_id: int | None = None  # an OAuth token's grant (none for client credentials)

    @property
    def grant_scope(self):
        """An OAuth token's grant and scope (``lib.oauth.grant_scope``), else "": what its
        calls leave behind belongs to them too (API.md section 8)."""
        if not self.oauth:
            return ""
        return oauth.grant_scope(self.grant_id, None if self.scopes is None else dict(self.scopes))

    @property
    def scope_text(self):
        """An OAuth token's scope as text (``*``: everything its key allows), else ""."""
        if not self.oauth:
            return ""
        return oauth.format_scope(None if self.scopes is None else dict(self.scopes))


def _uncached(records, name, *args):
    """``records.<name>(*args)`` without Odoo's cache (``ormcache`` keeps the method it caches)."""
    cache = getattr(getattr(type(records), name), "__cache__", None)
    return cache.method(records, *args) if cache is not None else getattr(records, name)(*args)


class UnknownToken(Exception):
    """No token has this id (raised, so that ormcache never stores misses)."""


class RestApiToken(models.Model):
    _name = "rest.api.token"
    _description = "REST API login token"
    _order = "id desc"
    _allow_sudo_commands = False
    _rec_name = "jti"

    user_id = fields.Many2one("res.users", string="User", required=True, index=True, ondelete="cascade")
    key_id = fields.Many2one("rest.api.key", string="Key", required=True, index=True, ondelete="cascade")
    jti = fields.Char("Token id", required=True, index=True, readonly=True, copy=False)
    token_type = fields.Selection(
        [("access", "Access token"), ("refresh", "Refresh token")],
        required=True,
        default="access",
        readonly=True,
    )
    chain = fields.Char(
        index=True,
        readonly=True,
        help="Tokens of one login and its refreshes share a chain; revoking one revokes all.",
    )
    expiration_date = fields.Datetime(required=True)
    revoked = fields.Boolean(default=False)
    spent = fields.Boolean(
        readonly=True, help="A refresh token that was used once: presenting it again revokes its chain."
    )
    oauth = fields.Boolean(
        "Issued through OAuth", readonly=True, help="An OAuth 2.0 token: accepted alone as a Bearer token."
    )
    scope = fields.Char(readonly=True, help="An OAuth token's scope: it narrows its key's scopes.")
    grant_id = fields.Many2one(
        "rest.api.oauth.grant", string="OAuth grant", readonly=True, index=True, ondelete="cascade"
    )

    state = fields.Selection(
        [("active", "Active"), ("expired", "Expired"), ("revoked", "Revoked")],
        compute="_compute_state",
        search="_search_state",
    )

    _sql_constraints = [("jti_uniq", "UNIQUE (jti)", "Token ids are unique.")]

    @api.depends("revoked", "expiration_date")
    def _compute_state(self):
        now = fields.Datetime.now()
        for token in self:
            if token.revoked:
                token.state = "revoked"
            else:
                token.state = "expired" if token.expiration_date <= now else "active"

    def _search_state(self, operator, value):
        try:
            return states.state_domain(operator, value, self._state_domains())
        except ValueError as exc:
            raise UserError(str(exc)) from exc

    @api.model
    def _state_domains(self):
        """The domain of each state (they do not overlap); the clock makes them unstorable."""
        now = fields.Datetime.now()
        return {
            "revoked": [("revoked", "=", True)],
            "expired": [("revoked", "=", False), ("expiration_date", "<=", now)],
            "active": [("revoked", "=", False), ("expiration_date", ">", now)],
        }

    def init(self):
        # The signing secret and the digests live outside the ORM: no read,
        # export or RPC can return them. The secret is made here, at install,
        # never in a data file.
        self.env.cr.execute(
            """
            ALTER TABLE rest_api_token ADD COLUMN IF NOT EXISTS refresh_hash varchar;
            ALTER TABLE rest_api_token ADD COLUMN IF NOT EXISTS fingerprint varchar;
            CREATE UNIQUE INDEX IF NOT EXISTS rest_api_token_refresh_hash_uniq ON rest_api_token (refresh_hash);
            CREATE TABLE IF NOT EXISTS rest_api_secret (name varchar PRIMARY KEY, value varchar NOT NULL);
            INSERT INTO rest_api_secret (name, value) VALUES ('jwt', %s) ON CONFLICT (name) DO NOTHING;
            """,
            [tokens.new_secret()],
        )

    # ------------------------------------------------------------ caches
    def write(self, vals):
        if not self.env.su and vals != {"revoked": True}:
            # REST API users may revoke their tokens, never extend or move them
            if not self._is_rest_api_manager():
                raise AccessError(_("Only a REST API manager may change an issued token."))
            # a token is bound to its user and key (its claims say so): it never moves
            if {"user_id", "key_id", "jti", "chain", "token_type", "oauth", "scope", "grant_id"} & set(vals):
                raise AccessError(_("An issued token cannot be moved to another user or key."))
            # extending or un-revoking a token acts as its user, under its key: the rule of
            # what a (key, user) pair made (models/rest_api_owned.py)
            Pairs = self.env["rest.api.owned.mixin"]
            for token in self.sudo():
                if not Pairs._may_act_for(token.key_id, token.user_id):
                    raise AccessError(
                        _("A token acts as a user who holds groups you do not: you may only revoke it.")
                    )
        result = super().write(vals)
        self.env.registry.clear_cache()  # a revocation reaches every worker on its next call
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result

    @api.model
    def _is_rest_api_manager(self):
        return self.env["rest.api.key"]._is_rest_api_manager()

    @api.model
    def _may_issue_for(self, user):
        """Whether the current user may issue login tokens for ``user``: for
        itself always; for anyone else only as a REST API manager who holds
        every group ``user`` holds (a token acts as its user)."""
        Key = self.env["rest.api.key"]
        return user == self.env.user or (self._is_rest_api_manager() and Key._holds_groups_of(user))

    def action_revoke(self):
        """Revoke these tokens and every token of their logins (their chains), from the next call on."""
        self.check_access("write")
        for chain in set(self.mapped("chain")):
            self._revoke_chain(chain)
        return True

    @tools.ormcache()
    def _signing_secret(self):
        self.env.cr.execute("SELECT value FROM rest_api_secret WHERE name = 'jwt'")
        return self.env.cr.fetchone()[0]

    @tools.ormcache()
    def _cursor_key(self):
        """The key that signs search cursors (API.md section 10): derived from the
        database's secret, so that neither signature can stand for the other."""
        return cursors.derive_key(self._signing_secret())

    @tools.ormcache("jti")
    def _token_state(self, jti):
        self.env.cr.execute(
            "SELECT id, jti, user_id, key_id, chain, revoked, expiration_date, fingerprint, oauth, scope,"
            " grant_id FROM rest_api_token WHERE jti = %s",
            [jti],
        )
        row = self.env.cr.fetchone()
        if not row:
            raise UnknownToken()
        *row, is_oauth, scope, grant_id = row
        scopes = oauth.frozen(oauth.parse_scope(scope)) if is_oauth and scope else None
        return TokenState(*row, oauth=bool(is_oauth), scopes=scopes, grant_id=grant_id)

    # ------------------------------------------------------------ issuing
    @api.model
    def _fingerprint(self, user, jti, fresh=False):
        # Odoo's own session token: an HMAC over the user's id, login,
        # password hash and active flag, so a password change, or archiving
        # the user, invalidates every token issued before it. ``fresh``: not
        # from Odoo's cache (``ormcache`` keeps the method it caches).
        user = user.sudo()
        if fresh:
            return _uncached(user, "_compute_session_token", jti) or ""
        return user._compute_session_token(jti) or ""

    @api.model
    def _issue_access(self, user, key_id, seconds, chain=None, oauth_grant=None):
        """A signed access token (JWT) for ``user`` under key ``key_id``; returns (token, expiry).

        ``oauth_grant``: an OAuth token (API.md section 14), ``{"scope": ..., "grant_id": ...,
        "client_id": ...}``: marked so, and narrowed to its scope."""
        now = fields.Datetime.now()
        expiry = now + dt.timedelta(seconds=seconds)
        jti = tokens.new_jti()
        record = self.sudo().create(
            {
                "user_id": user.id,
                "key_id": key_id,
                "jti": jti,
                "chain": chain or jti,
                "expiration_date": expiry,
                **self._oauth_values(oauth_grant),
            }
        )
        self.env.cr.execute(
            "UPDATE rest_api_token SET fingerprint = %s WHERE id = %s",
            [self._fingerprint(user, jti), record.id],
        )
        issued_at = int(now.replace(tzinfo=dt.timezone.utc).timestamp())
        extra = None
        if oauth_grant:
            extra = {"oauth": True, "scope": oauth_grant["scope"], "client_id": oauth_grant["client_id"]}
        token = tokens.issue(self._signing_secret(), user_id=user.id, key_id=key_id, jti=jti, issued_at=issued_at,
                             expires_at=issued_at + seconds, extra=extra)  # fmt: skip
        return token, expiry, record

    @api.model
    def _oauth_values(self, oauth_grant):
        if not oauth_grant:
            return {}
        return {
            "oauth": True,
            "scope": oauth_grant["scope"],
            "grant_id": oauth_grant.get("grant_id") or False,
        }

    @api.model
    def _issue_refresh(self, user, key_id, seconds, chain, oauth_grant=None):
        """An opaque refresh token of ``chain``; only its digest is stored."""
        secret = tokens.new_refresh_token()
        jti = tokens.new_jti()
        record = self.sudo().create(
            {
                "user_id": user.id,
                "key_id": key_id,
                "jti": jti,
                "chain": chain,
                "token_type": "refresh",
                "expiration_date": fields.Datetime.now() + dt.timedelta(seconds=seconds),
                **self._oauth_values(oauth_grant),
            }
        )
        self.env.cr.execute(
            "UPDATE rest_api_token SET refresh_hash = %s, fingerprint = %s WHERE id = %s",
            [tokens.hash_refresh_token(secret), self._fingerprint(user, jti), record.id],
        )
        return secret

    # ------------------------------------------------------------ checking
    @api.model
    def _claims(self, token):
        """The claims of a token this server signed (not yet checked against its state); 401 otherwise."""
        try:
            return tokens.verify(self._signing_secret(), token)
        except tokens.InvalidToken as exc:
            _logger.info("rest_api: login token refused: %s", exc.reason)
            raise

    @api.model
    def _state(self, jti, fresh=False):
        """The token's TokenState (UnknownToken if none): ``fresh``, read without Odoo's cache."""
        return _uncached(self, "_token_state", jti) if fresh else self._token_state(jti)

    @api.model
    def _issued_through_oauth(self, jti, fresh=False):
        try:
            return self._state(jti, fresh).oauth
        except UnknownToken:
            return False

    @api.model
    def _verify_access(self, token, key_id, fresh=False, claims=None):
        """The user id an access token stands for, if it is valid with key ``key_id``; 401 otherwise.

        ``fresh``: the user's state is read without Odoo's cache, which a call a
        replica serves may see cleared late (``infra.replica``); ``self`` is then
        on the primary."""
        claims = claims or self._claims(token)
        try:
            state = self._state(claims.jti, fresh)
        except UnknownToken:
            _logger.info("rest_api: login token refused: unknown jti")
            raise tokens.InvalidToken("unknown jti") from None
        self._check_state(state, key_id, claims.user_id, claims.key_id, fresh=fresh)
        return state

    def _check_state(self, state, key_id, user_id, claimed_key_id=None, fresh=False):
        reason = None
        if state.key_id != key_id or (claimed_key_id is not None and claimed_key_id != key_id):
            reason = "issued under another key"
        elif state.user_id != user_id:
            reason = "user mismatch"
        elif state.revoked:
            reason = "revoked"
        elif state.expiration <= fields.Datetime.now():
            reason = "expired"
        elif (
            self._fingerprint(self.env["res.users"].browse(state.user_id), state.jti, fresh)
            != state.fingerprint
        ):
            reason = "user archived or password changed since issue"
        if reason:
            _logger.info("rest_api: login token %s refused: %s", state.id, reason)
            raise tokens.InvalidToken(reason)

    @api.model
    def _revoke_chain(self, chain):
        self.sudo().search([("chain", "=", chain), ("revoked", "=", False)]).write({"revoked": True})

    @api.model
    def _use_refresh(self, secret, key_id, oauth=False):
        """Spend a refresh token: its row (locked) when it may be exchanged; else a 401.

        Presenting an already spent token revokes its whole chain (RFC 9700
        section 4.14.2: refresh token rotation with reuse detection).
        """
        if not tokens.looks_like_refresh_token(secret):
            raise errors.Unauthorized("Invalid, expired or revoked refresh token.")
        self.env.cr.execute(
            "SELECT id FROM rest_api_token WHERE refresh_hash = %s FOR UPDATE",
            [tokens.hash_refresh_token(secret)],
        )
        row = self.env.cr.fetchone()
        record = self.sudo().browse(row[0]) if row else self.browse()
        # an OAuth refresh token is exchanged at /api/oauth/token only, where its scope holds;
        # a login's at /api/auth/refresh only
        if (
            not record
            or record.key_id.id != key_id
            or record.oauth != oauth
            or record.token_type != "refresh"
        ):
            raise errors.Unauthorized("Invalid, expired or revoked refresh token.")
        return record

    def _refresh_problem(self):
        """Why this refresh token cannot be exchanged, or None. Reuse revokes the chain."""
        self.ensure_one()
        if self.spent:
            _logger.warning("rest_api: refresh token %s reused: revoking chain %s", self.id, self.chain)
            self._revoke_chain(self.chain)
            return "This refresh token was already used; every token of its login is now revoked."
        if self.revoked or self.expiration_date <= fields.Datetime.now():
            return "Invalid, expired or revoked refresh token."
        state = self._token_state(self.jti)
        if self._fingerprint(self.user_id, self.jti) != state.fingerprint:
            return "Invalid, expired or revoked refresh token."
        return None

    def _spend(self):
        """Mark this refresh token used (rotation): no cached state holds a refresh token's
        flags (``_refresh_problem`` reads them from its row), so Odoo's caches are kept."""
        self.ensure_one()
        self.env.cr.execute("UPDATE rest_api_token SET spent = true, revoked = true WHERE id = %s", [self.id])
        self.invalidate_recordset(["spent", "revoked", "state"])

    @api.autovacuum
    def _gc_expired_tokens(self):
        """Forget tokens expired for more than a day."""
        self.sudo().search([("expiration_date", "<", fields.Datetime.now() - dt.timedelta(days=1))]).unlink()
