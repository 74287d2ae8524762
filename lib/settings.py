"""Every setting of the addon, in one place: its ``ir.config_parameter``
name, its default and how its text is read (API.md section 7).

Settings are stored as ``ir.config_parameter`` so that admin scripts can set
them too; the Settings screen (``res.config.settings``) shows each of them.
Callers read a value with ``read(get_param, name)``, where ``get_param`` is
Odoo's ``ir.config_parameter.get_param`` (cached by Odoo per worker).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True)
class Setting:
    """One setting. ``kind``: ``int`` (a whole number, at least ``minimum``),
    ``bool`` (absent is off: unticking a Boolean in Settings deletes the
    parameter) or ``text``. Text that does not parse gives the default."""

    name: str
    default: object
    kind: str = "int"
    minimum: int | None = None
    label: str = ""

    def parse(self, text: str | None) -> object:
        if self.kind == "bool":
            return (text or "").strip().lower() not in FALSE_WORDS
        if self.kind == "text":
            return text or self.default
        if not text:
            return self.default
        try:
            number = int(text)
        except ValueError:
            return self.default
        return number if self.minimum is None else max(self.minimum, number)


SETTINGS: dict[str, Setting] = {
    setting.name: setting
    for setting in (
        Setting("rest_api.max_page_size", 1000, label="Page size maximum"),
        Setting("rest_api.max_expand_depth", 3, minimum=0, label="Nested read depth"),
        Setting("rest_api.max_body_size", 10 * 1024 * 1024, label="Request body limit (bytes)"),
        Setting("rest_api.default_rate_limit", 0, minimum=0, label="Default rate limit"),
        Setting("rest_api.access_token_ttl", 3600, minimum=1, label="Access token lifetime (s)"),
        Setting("rest_api.refresh_token_ttl", 30 * 86400, minimum=1, label="Refresh token lifetime (s)"),
        Setting("rest_api.login_max_failures", 10, minimum=1, label="Failed logins allowed"),
        Setting("rest_api.login_failure_window", 60, minimum=1, label="Failed logins window (s)"),
        Setting("rest_api.log_retention_days", 30, minimum=1, label="Call log retention (days)"),
        Setting("rest_api.idempotency_ttl", 86400, minimum=1, label="Idempotency-Key answers kept (s)"),
        Setting("rest_api.max_batch_operations", 100, minimum=1, label="Batch operations maximum"),
        Setting("rest_api.cors_origins", "", kind="text", label="CORS origins"),
        Setting("rest_api.docs_public", False, kind="bool", label="Public documentation"),
        Setting("rest_api.webhook_allow_private", False, kind="bool", label="Webhooks to private addresses"),
        Setting("rest_api.max_webhooks_per_key", 20, minimum=1, label="Webhook subscriptions per key"),
        Setting("rest_api.sync_retention_days", 30, minimum=0, label="Change feed retention (days)"),
    )
}


def read(get_param: Callable[[str], str | None], name: str) -> object:
    """The value of setting ``name``, read through ``get_param``."""
    return SETTINGS[name].parse(get_param(name))
