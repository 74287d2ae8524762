"""Which of a key's limits a change loosens (API.md section 8).

Limits an admin set on a key (rate limit and period, allowed addresses,
expiry, ``require_user_token``, all-models and the scope lines) can only be
loosened by a REST API manager; the key's owner may only tighten them. The
model calls ``loosened`` with the key's current values and the values it is
about to write, and refuses the write when the answer is not empty.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import ipnet


def _rate_loosened(old: Mapping, new: Mapping) -> bool:
    """A rate limit is tighter when it lets fewer calls through, in a window at least as long."""
    old_limit, old_period = old.get("rate_limit") or 0, old.get("rate_limit_period") or 1
    new_limit, new_period = new.get("rate_limit") or 0, new.get("rate_limit_period") or 1
    if not old_limit:  # no limit yet: any limit is tighter
        return False
    return not new_limit or new_limit > old_limit or new_period < old_period


def _networks_loosened(old: object, new: object) -> bool:
    """Tighter: every new network lies inside one of the old ones (empty allows any address)."""
    try:
        old_networks, new_networks = ipnet.parse_networks(old or ""), ipnet.parse_networks(new or "")
    except ValueError:  # a malformed list is the model's constraint to refuse
        return False
    if not old_networks:
        return False
    if not new_networks:
        return True
    return not all(
        any(net.version == allowed.version and net.subnet_of(allowed) for allowed in old_networks)
        for net in new_networks
    )


def _expiry_loosened(old: object, new: object) -> bool:
    """Tighter: an expiry set no later than the old one (none means never)."""
    if not old:
        return False
    return not new or new > old


def loosened(old: Mapping, new: Mapping) -> list[str]:
    """The limits that ``new`` (the values being written) loosens compared with ``old``.

    Both map field names to values; a field missing from ``new`` is unchanged.
    """
    merged = {**old, **new}
    found = []
    if ("rate_limit" in new or "rate_limit_period" in new) and _rate_loosened(old, merged):
        found.append("rate_limit")
    if "allowed_ips" in new and _networks_loosened(old.get("allowed_ips"), new["allowed_ips"]):
        found.append("allowed_ips")
    if "expiration_date" in new and _expiry_loosened(old.get("expiration_date"), new["expiration_date"]):
        found.append("expiration_date")
    if "require_user_token" in new and old.get("require_user_token") and not new["require_user_token"]:
        found.append("require_user_token")
    if "all_models" in new and not old.get("all_models") and new["all_models"]:
        found.append("all_models")
    if "active" in new and not old.get("active") and new["active"]:
        found.append("active")
    if "oauth_redirect_uris" in new and not _lines(new["oauth_redirect_uris"]) <= _lines(
        old.get("oauth_redirect_uris")
    ):
        found.append("oauth_redirect_uris")  # an app may be sent somewhere new: only removing one tightens
    return found


def _lines(text: object) -> set:
    return (
        {line.strip() for line in (text or "").splitlines() if line.strip()}
        if isinstance(text, str)
        else set()
    )


SCOPE_PERMISSIONS = ("perm_read", "perm_create", "perm_write", "perm_delete", "perm_execute")


def scope_loosened(old: Mapping, new: Mapping) -> list[str]:
    """What a change of one scope line loosens: an operation allowed that was not, or the
    line moved to another model or key."""
    found = [name for name in SCOPE_PERMISSIONS if name in new and new[name] and not old.get(name)]
    found += [name for name in ("model_id", "key_id") if name in new and new[name] != old.get(name)]
    return found
