"""OAuth 2.0 grants and authorization codes (API.md section 14).

A grant is what a user allowed an app (a key) to do: one per (key, user)
until it is revoked; its scope grows when the user allows more. Every token
issued through it carries its ``grant_id``: revoking the grant revokes them
all, at once. A user sees and revokes their own grants (preferences); a
*REST API / Manager* sees every grant, and revokes those of users whose
groups the manager all holds.

Consent is remembered for what the user saw: the scope, the redirect URIs
the app was sent back to, and whether it was a public or a confidential
client. An app that asks for more scope, to be sent elsewhere (a redirect
URI added to its key since), or whose key became another type of client,
gets the consent page again.

An authorization code lives 60 s and is used once; only its digest is
stored. A second use revokes every token issued from it.
"""

import datetime as dt
import logging

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..lib import oauth

_logger = logging.getLogger(__name__)


class RestApiOauthGrant(models.Model):
    _name = "rest.api.oauth.grant"
    _description = "REST API: an app a user allowed (OAuth 2.0)"
    _order = "create_date desc, id desc"
    _allow_sudo_commands = False
    _rec_name = "key_id"

    key_id = fields.Many2one(
        "rest.api.key", string="App", required=True, readonly=True, index=True, ondelete="cascade",
        help="The API key of the app (its OAuth client).",
    )  # fmt: skip
    user_id = fields.Many2one(
        "res.users", string="User", required=True, readonly=True, index=True, ondelete="cascade",
        help="The user who allowed the app: its tokens act as this user.",
    )  # fmt: skip
    app_name = fields.Char("App name", related="key_id.name")
    scope = fields.Char(
        readonly=True, help="What the user allowed: model:operations items ('*': all the key allows)."
    )
    scope_description = fields.Char("May", compute="_compute_scope_description")
    redirect_uris = fields.Text(
        "Redirect URIs allowed", readonly=True,
        help="Where the user allowed the app to be sent back (one a line): consent is asked again "
        "for any other.",
    )  # fmt: skip
    public_client = fields.Boolean(
        readonly=True, help="The app was a public client (no secret) when the user allowed it."
    )
    last_used = fields.Datetime(readonly=True, help="The last time the app got tokens through this grant.")
    revoked = fields.Boolean(readonly=True)
    revoked_date = fields.Datetime(readonly=True)
    state = fields.Selection([("active", "Active"), ("revoked", "Revoked")], compute="_compute_state")

    @api.depends("revoked")
    def _compute_state(self):
        for grant in self:
            grant.state = "revoked" if grant.revoked else "active"

    @api.depends("scope")
    def _compute_scope_description(self):
        for grant in self:
            try:
                scopes = oauth.parse_scope(grant.scope)
            except ValueError:
                scopes = {}
            if scopes is None:
                grant.scope_description = _("Everything the app's key allows")
            else:
                grant.scope_description = ", ".join(
                    f"{model} ({', '.join(op for op in oauth.OPERATIONS if op in ops)})"
                    for model, ops in sorted(scopes.items())
                )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise AccessError(_("Grants are made by a user allowing an app on the consent page."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            raise AccessError(_("A grant can only be revoked (the Revoke button)."))
        return super().write(vals)

    def unlink(self):
        self.check_access("unlink")  # managers only (ir.model.access): users revoke instead
        self._check_power()
        self._revoke_tokens()
        result = super().unlink()
        self.env.registry.clear_cache()  # the subscriptions made through them stop (rest.api.webhook)
        return result

    def action_revoke(self):
        """Revoke these grants: every token issued through them stops at once (the user
        revoking their own, or a REST API manager holding every group of their users)."""
        self.check_access("write")  # the record rules: a user's own grants, a manager's every grant
        self._check_power()
        grants = self.sudo().filtered(lambda g: not g.revoked)
        grants.write({"revoked": True, "revoked_date": fields.Datetime.now()})
        grants._revoke_tokens()
        self.env.registry.clear_cache()  # the subscriptions made through them stop (rest.api.webhook)
        return True

    def _check_power(self):
        """A grant acts as its user: only that user, or a REST API manager who holds every
        group of that user (API.md section 8), may end it; a manager sees every grant."""
        if self.env.su:
            return
        Key = self.env["rest.api.key"]
        for grant in self.sudo():
            if grant.user_id != self.env.user and not Key._holds_groups_of(grant.user_id):
                raise AccessError(
                    _("This app was allowed by a user who holds groups you do not: only they may revoke it.")
                )

    def _revoke_tokens(self):
        tokens = (
            self.env["rest.api.token"].sudo().search([("grant_id", "in", self.ids), ("revoked", "=", False)])
        )
        for chain in set(tokens.mapped("chain")):
            self.env["rest.api.token"]._revoke_chain(chain)

    # ------------------------------------------------------------ the server's side (sudo)
    @api.model
    def _active_grant(self, key_id, user_id):
        return self.sudo().search(
            [("key_id", "=", key_id), ("user_id", "=", user_id), ("revoked", "=", False)], limit=1
        )

    @api.model
    def _covers(self, key_id, user_id, scopes, redirect_uri, public):
        """Whether the user already allowed the app everything ``scopes`` asks, to be sent
        back to ``redirect_uri``, as the same type of client (``public``): no consent then."""
        grant = self._active_grant(key_id, user_id)
        if not grant or grant.public_client != bool(public):
            return False
        if not oauth.redirect_matches(grant._redirect_uri_list(), redirect_uri):
            return False
        try:
            allowed = oauth.parse_scope(grant.scope)
        except ValueError:
            return False
        return oauth.within(scopes, allowed)

    @api.model
    def _allow(self, key_id, user_id, scopes, redirect_uri, public):
        """The user allowed the app ``scopes``, sent back to ``redirect_uri``: its grant, made
        or widened to cover them. A client that changed type is allowed afresh."""
        grant = self._active_grant(key_id, user_id)
        if not grant:
            return self.sudo().create({
                "key_id": key_id, "user_id": user_id, "scope": oauth.format_scope(scopes),
                "redirect_uris": redirect_uri, "public_client": bool(public),
            })  # fmt: skip
        if grant.public_client != bool(public):
            grant.write({"scope": oauth.format_scope(scopes), "redirect_uris": redirect_uri,
                         "public_client": bool(public)})  # fmt: skip
            return grant
        try:
            allowed = oauth.parse_scope(grant.scope)
        except ValueError:
            allowed = {}
        if not oauth.within(scopes, allowed):
            grant.write({"scope": oauth.format_scope(oauth.union(allowed, scopes))})
        uris = grant._redirect_uri_list()
        if not oauth.redirect_matches(uris, redirect_uri):
            grant.write({"redirect_uris": "\n".join([*uris, redirect_uri][-oauth.MAX_REDIRECT_URIS :])})
        return grant

    def _redirect_uri_list(self):
        return [line for line in (self.redirect_uris or "").splitlines() if line]

    def _used(self):
        """Note that the app got tokens now (at most one write a minute)."""
        now = fields.Datetime.now()
        if not self.last_used or self.last_used < now - dt.timedelta(seconds=60):
            self.sudo().write({"last_used": now})


class RestApiOauthCode(models.Model):
    _name = "rest.api.oauth.code"
    _description = "REST API: an OAuth 2.0 authorization code (its digest)"
    _log_access = False
    _allow_sudo_commands = False

    code_hash = fields.Char(required=True, index=True, readonly=True)
    key_id = fields.Many2one("rest.api.key", required=True, ondelete="cascade", readonly=True)
    user_id = fields.Many2one("res.users", required=True, ondelete="cascade", readonly=True)
    grant_id = fields.Many2one("rest.api.oauth.grant", required=True, ondelete="cascade", readonly=True)
    redirect_uri = fields.Char(required=True, readonly=True)
    scope = fields.Char(readonly=True)
    code_challenge = fields.Char(readonly=True)
    code_challenge_method = fields.Char(readonly=True)
    expiration_date = fields.Datetime(required=True, readonly=True)
    used = fields.Boolean(readonly=True)
    chain = fields.Char(readonly=True, help="The tokens issued from this code (revoked if it is used again).")

    _sql_constraints = [("code_hash_uniq", "UNIQUE (code_hash)", "Codes are unique.")]

    @api.model
    def _store(self, code, key_id, user_id, grant_id, redirect_uri, scope, challenge, method):
        return self.sudo().create({
            "code_hash": oauth.hash_code(code), "key_id": key_id, "user_id": user_id, "grant_id": grant_id,
            "redirect_uri": redirect_uri, "scope": scope, "code_challenge": challenge,
            "code_challenge_method": method,
            "expiration_date": fields.Datetime.now() + dt.timedelta(seconds=oauth.CODE_TTL),
        })  # fmt: skip

    @api.model
    def _take(self, code):
        """The code's row, locked (a second request with the same code waits, then finds it used)."""
        if not isinstance(code, str) or not 0 < len(code) <= 200:
            return self.browse()
        self.env.cr.execute(
            "SELECT id FROM rest_api_oauth_code WHERE code_hash = %s FOR UPDATE", [oauth.hash_code(code)]
        )
        row = self.env.cr.fetchone()
        return self.sudo().browse(row[0]) if row else self.browse()

    def _replayed(self):
        """A code used twice: every token issued from it is revoked (RFC 6749 section 4.1.2)."""
        self.ensure_one()
        _logger.warning("rest_api: OAuth code %s used again: revoking the tokens issued from it", self.id)
        if self.chain:
            self.env["rest.api.token"]._revoke_chain(self.chain)

    @api.autovacuum
    def _gc_codes(self):
        self.sudo().search([("expiration_date", "<", fields.Datetime.now() - dt.timedelta(days=1))]).unlink()
