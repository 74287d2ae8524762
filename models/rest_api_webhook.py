"""Webhook subscriptions (API.md section 12): ``rest.api.webhook``.

A subscription names a model, events, fields and a domain, and the API key
whose user and scopes decide what it may see. Its signing secret is shown
once (``generate`` and *Rotate secret*) and kept encrypted with a key derived
from the database's own secret: only the server that sends can use it.
Events are recorded by ``base``'s ``create``/``write``/``unlink``
(``models/base.py``) into the outbox ``rest.api.webhook.event``, from
subscriptions read once per worker (``_subscriptions``).
"""

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.http import request
from odoo.tools import SQL

from ..infra import field_meta, worker_cache
from ..lib import oauth, query, walls, webhooks
from ..lib.errors import BadRequest, Forbidden

_logger = logging.getLogger(__name__)
ROTATION_OVERLAP = timedelta(hours=24)  # the old secret still signs this long after a rotation
MAX_FAILURES = 20  # events that finally failed in a row: the subscription is deactivated


@dataclass(frozen=True, eq=False)  # compared and hashed as itself
class Subscription:
    """What recording an event needs, kept per worker."""

    id: int
    key_id: int
    user_id: int
    events: frozenset
    fields: tuple  # names; empty: every field the user reads (binaries aside)
    domain: tuple
    scopes: object  # the key's {model: operations} (narrowed to an OAuth token's), or None: every model
    expiration: object = None  # the key's expiration (naive UTC), or None

    def usable(self, now):
        """Whether the key still lets it see anything (it may expire while kept)."""
        return self.expiration is None or self.expiration > now


def _oauth_token():
    """The OAuth access token of the REST call this request serves, if any."""
    try:
        call = request.dispatcher.call
    except (AttributeError, RuntimeError):  # no request, or not a REST call
        return None
    token = getattr(call, "token", None)
    return token if token is not None and token.oauth else None


def _fernet(env):
    secret = env["ir.config_parameter"].sudo().get_param("database.secret") or ""
    digest = hashlib.sha256(f"rest_api.webhook:{secret}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class RestApiWebhook(models.Model):
    _name = "rest.api.webhook"
    _inherit = ["rest.api.owned.mixin", "rest.api.cache.mixin"]
    _description = "REST API webhook subscription"
    _order = "name, id"
    _allow_sudo_commands = False

    name = fields.Char(required=True)
    key_id = fields.Many2one(help="Its scopes, and the subscription's user, decide what it may see.")
    user_id = fields.Many2one(
        readonly=True,
        help="Events carry what this user may read: the login token's user where one made the "
        "subscription, else the key's owner.",
    )
    grant_id = fields.Many2one(
        "rest.api.oauth.grant", string="OAuth grant", readonly=True, index="btree_not_null",
        ondelete="cascade",
        help="Made with an OAuth token: the app's grant. Revoking it stops the subscription.",
    )  # fmt: skip
    oauth_scope = fields.Char(
        "OAuth scope", readonly=True,
        help="Made with an OAuth token: its scope, which narrows the key's scopes for what is sent.",
    )  # fmt: skip
    url = fields.Char("URL", required=True, help="Where events are POSTed (https).")
    model_id = fields.Many2one("ir.model", string="Model", required=True, ondelete="cascade", index=True)
    model = fields.Char(related="model_id.model", store=True, string="Model name")
    events = fields.Char(required=True, default="create,write,unlink", help="Any of create, write, unlink.")
    field_ids = fields.Many2many(
        "ir.model.fields", string="Fields", domain="[('model_id', '=', model_id)]",
        help="The fields the payload carries; on write, only changes to these fields send an event. "
        "Empty: every field the key's user can read, and any change.",
    )  # fmt: skip
    domain = fields.Char(default="[]", help="Only records matching this domain (JSON or Python literal).")
    active = fields.Boolean(default=True)
    failure_count = fields.Integer(readonly=True, help="Events that finally failed since the last success.")
    last_success = fields.Datetime(readonly=True)
    last_error = fields.Char(readonly=True)
    secret_encrypted = fields.Char(groups="base.group_system", copy=False)
    previous_secret_encrypted = fields.Char(groups="base.group_system", copy=False)
    previous_secret_until = fields.Datetime(groups="base.group_system", copy=False)
    event_count = fields.Integer(compute="_compute_event_count", string="Event count")

    def _compute_event_count(self):
        counts = dict(
            self.env["rest.api.webhook.event"]._read_group(
                [("webhook_id", "in", self.ids)], ["webhook_id"], ["__count"]
            )
        )
        for hook in self:
            hook.event_count = counts.get(hook, 0)

    # ------------------------------------------------------------ checks
    @api.constrains("events")
    def _check_events(self):
        for hook in self:
            try:
                webhooks.parse_events(hook.events)
            except BadRequest as exc:
                raise ValidationError(exc.detail) from exc

    @api.constrains("domain", "model_id")
    def _check_domain(self):
        for hook in self:
            domain = hook._domain_list()
            try:
                self.env[hook.model_id.model].sudo()._where_calc(domain)
            except Exception as exc:
                raise ValidationError(_("The domain cannot be applied to %s.", hook.model_id.model)) from exc

    @api.constrains("url")
    def _check_url(self):
        allow = self._allow_private()
        for hook in self:
            try:
                webhooks.destination(hook.url, allow)
            except BadRequest as exc:
                raise ValidationError(exc.detail) from exc

    @api.constrains("field_ids", "model_id")
    def _check_fields(self):
        for hook in self:
            if hook.field_ids.filtered(lambda f, hook=hook: f.model_id != hook.model_id):
                raise ValidationError(_("The fields of a subscription must be fields of its model."))

    @api.model
    def _allow_private(self):
        return self.env["rest.api.pipeline"]._settings()["rest_api.webhook_allow_private"]

    def _domain_list(self):
        try:
            parsed = query.load_domain((self.domain or "").strip() or "[]")
        except BadRequest as exc:
            raise ValidationError(exc.detail) from exc
        if not isinstance(parsed, list):
            raise ValidationError(_("The domain must be a list of conditions."))
        return parsed

    # ------------------------------------------------------------ secrets
    @api.model
    def generate(self, values):
        """Create a subscription; ``{"id": ..., "secret": "whsec_..."}``: the only
        moment its secret is visible (like ``rest.api.key.generate``)."""
        shown = {}
        hook = self.with_context(rest_api_webhook_secrets=shown).create(values)
        return {"id": hook.id, "secret": shown[hook.id]}

    @api.model_create_multi
    def create(self, vals_list):
        """Every subscription has a secret from the start (made any way, by a script
        too: *Rotate secret* shows a new one)."""
        if not self.env.su and any({"grant_id", "oauth_scope"} & set(vals) for vals in vals_list):
            raise AccessError(
                _("The OAuth grant and scope of a subscription come from the token that makes it.")
            )
        if (token := _oauth_token()) is not None:
            # made through an OAuth token, by any route: it belongs to that grant and scope
            # (API.md section 8), stops with the grant and sees only the token's scope
            vals_list = [
                dict(vals, grant_id=token.grant_id or False, oauth_scope=token.scope_text)
                for vals in vals_list
            ]
        hooks = super().create(vals_list)
        shown = self.env.context.get("rest_api_webhook_secrets")
        for hook in hooks:
            secret = hook._new_secret()
            if shown is not None:
                shown[hook.id] = secret
        return hooks

    def _new_secret(self):
        self.ensure_one()
        secret = webhooks.new_secret()
        fernet = _fernet(self.env)
        current = self.sudo().secret_encrypted
        # by SQL: a new secret is no change of what the workers keep (rest.api.cache.mixin)
        self.env.cr.execute(
            SQL(
                """UPDATE rest_api_webhook SET secret_encrypted = %s, previous_secret_encrypted = %s,
                          previous_secret_until = %s WHERE id = %s""",
                fernet.encrypt(secret.encode()).decode(), current or None,
                fields.Datetime.now() + ROTATION_OVERLAP if current else None, self.id,
            )
        )  # fmt: skip
        self.invalidate_recordset(["secret_encrypted", "previous_secret_encrypted", "previous_secret_until"])
        return secret

    def _signing_secrets(self):
        """The secrets that sign now: the current one, and during a rotation the previous one."""
        self.ensure_one()
        hook, fernet = self.sudo(), _fernet(self.env)
        found = []
        pairs = [(hook.secret_encrypted, None), (hook.previous_secret_encrypted, hook.previous_secret_until)]
        for token, until in pairs:
            if token and (until is None or until > fields.Datetime.now()):
                try:
                    found.append(fernet.decrypt(token.encode()).decode())
                except InvalidToken:
                    continue  # the database secret changed: this one cannot sign any more
        return found

    def action_rotate_secret(self):
        """A new signing secret, shown once; the old one still signs for 24 hours."""
        self.ensure_one()
        self.check_access("write")
        self._check_pair()
        secret = self._new_secret()
        # receivers have 24 hours to switch: until then every event carries both signatures
        return self.env["rest.api.secret.show"]._action_show(
            secret, _("New signing secret"), kind="webhook", record_name=self.name
        )

    # ------------------------------------------------------------ the worker's view
    @api.model
    def _subscriptions(self):
        """Active subscriptions by model, read once per worker (any change of
        subscriptions, keys, scopes or users clears it everywhere). Those of a
        revoked key, or of an archived owner or user, are left out; an expired
        key's are left out when an event is recorded (``Subscription.usable``)."""
        memo = worker_cache.memo(self.env.registry, "rest_api.webhooks")
        if "models" not in memo:
            by_model = {}
            hooks = self.sudo().search([("active", "=", True), ("key_id.active", "=", True)])
            for hook in hooks.filtered(lambda h: h._pair_active()):
                key = hook.key_id
                scopes = hook._scope_map()
                if not hook._within_scopes(scopes):
                    continue
                by_model.setdefault(hook.model_id.model, []).append(
                    Subscription(
                        id=hook.id, key_id=key.id, user_id=hook.user_id.id,
                        events=frozenset(webhooks.parse_events(hook.events)),
                        fields=tuple(hook.field_ids.mapped("name")), domain=tuple(hook._domain_list()),
                        scopes=scopes, expiration=key.expiration_date or None,
                    )
                )  # fmt: skip
            memo["models"] = {model: tuple(subs) for model, subs in by_model.items()}
        return memo["models"]

    def _scope_map(self):
        """What the subscription may see: its key's scopes, narrowed to the scope of the
        OAuth token that made it (API.md section 14: never more than that token)."""
        scopes = self.key_id._scope_map()
        if not self.oauth_scope:
            return scopes
        try:
            return oauth.narrow(scopes, oauth.parse_scope(self.oauth_scope))
        except ValueError:
            return {}

    def _within_scopes(self, scopes):
        """Whether the subscription's domain stays inside its key's scopes (API.md section 8):
        a subscription made before its key's scopes were narrowed sends nothing any more."""
        if scopes is None:
            return True
        try:
            fields_of = field_meta.fields_of(self.env(user=self.user_id.id, su=False))
            walls.Reach(fields_of, scopes).domain(self.model_id.model, self._domain_list()).check()
        except (BadRequest, Forbidden, ValidationError) as exc:
            _logger.info(
                "webhook %s sends nothing: its domain is outside its key's scopes (%s)", self.id, exc
            )
            return False
        return True

    def _pair_active(self):
        """Whether its key still acts: not revoked or expired, its owner and its user not
        archived, and the OAuth grant it was made through (if any) not revoked."""
        self.ensure_one()
        hook = self.sudo().with_context(active_test=False)
        key = hook.key_id
        return (
            key.active
            and (not key.expiration_date or key.expiration_date > fields.Datetime.now())
            and key.user_id.active
            and hook.user_id.active
            and not hook.grant_id.revoked
        )

    # ------------------------------------------------------------ delivery outcome
    # written by SQL: a delivery must not clear every worker's caches, as a change of the
    # subscription does (rest.api.cache.mixin); deactivating one does
    def _delivered(self):
        self.env.cr.execute(
            SQL(
                "UPDATE rest_api_webhook SET failure_count = 0, last_success = %s, last_error = NULL WHERE id IN %s",
                fields.Datetime.now(), tuple(self.ids),
            )
        )  # fmt: skip
        self.invalidate_recordset(["failure_count", "last_success", "last_error"])

    def _failed_for_good(self, reason):
        for hook in self.sudo():
            count = hook.failure_count + 1
            if count >= MAX_FAILURES:
                hook.write({
                    "active": False, "failure_count": count,
                    "last_error": _("Deactivated after %(count)s events failed in a row: %(reason)s",
                                    count=count, reason=reason[:400]),
                })  # fmt: skip
                continue
            self.env.cr.execute(
                SQL(
                    "UPDATE rest_api_webhook SET failure_count = %s, last_error = %s WHERE id = %s",
                    count,
                    reason[:500],
                    hook.id,
                )  # fmt: skip
            )
            hook.invalidate_recordset(["failure_count", "last_error"])

    def write(self, vals):
        if not self.env.su and {"grant_id", "oauth_scope"} & set(vals):
            # what made it: a subscription never leaves its grant, nor widens its scope
            raise AccessError(_("The OAuth grant and scope a subscription was made with cannot be changed."))
        return super().write(vals)

    def unlink(self):
        # the pair is checked by rest.api.owned.mixin's unlink: a refusal there rolls this back
        self.env.cr.execute(
            SQL("DELETE FROM rest_api_webhook_event WHERE webhook_id IN %s", tuple(self.ids or [0]))
        )
        return super().unlink()

    def action_view_events(self):
        self.ensure_one()
        self.check_access("read")
        return {
            "type": "ir.actions.act_window", "name": _("Events"), "res_model": "rest.api.webhook.event",
            "view_mode": "list,form", "domain": [("webhook_id", "=", self.id)],
        }  # fmt: skip
