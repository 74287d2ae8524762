"""Per-key scopes (API.md section 3) and what each model method needs.

``execute_kw`` must not escape a key's scopes, so the *method* decides the
operation: a method that reads needs ``read``, one that writes ``write``, and
so on; anything not known to be harmless needs ``execute``.
"""

from __future__ import annotations

from collections.abc import Mapping

OPERATIONS = ("read", "create", "write", "delete", "execute")

READ_METHODS = frozenset(
    {
        "read", "search", "search_read", "search_count", "search_fetch", "fetch", "read_group",
        "name_search", "fields_get", "default_get", "exists", "check_access_rights", "check_access_rule",
        "check_access", "has_access", "check_field_access_rights", "get_views", "web_read",
        "web_search_read", "web_read_group", "read_progress_bar", "export_data", "get_metadata",
        "search_panel_select_range", "search_panel_select_multi_range", "name_get", "onchange",
    }
)  # fmt: skip
CREATE_METHODS = frozenset({"create", "copy", "copy_data", "name_create", "copy_multi"})
WRITE_METHODS = frozenset({"write", "action_archive", "action_unarchive", "toggle_active", "update"})
DELETE_METHODS = frozenset({"unlink"})
# methods that create *or* write, depending on their arguments
CREATE_AND_WRITE_METHODS = frozenset({"web_save", "load"})

PRIVATE_METHODS = frozenset({"init", "sudo", "with_user", "with_env", "with_context", "with_company"})


def operations_for_method(method: str) -> frozenset[str]:
    """The scope operations a call of ``method`` through execute_kw needs."""
    if method in READ_METHODS:
        return frozenset({"read"})
    if method in CREATE_METHODS:
        return frozenset({"create"})
    if method in WRITE_METHODS:
        return frozenset({"write"})
    if method in DELETE_METHODS:
        return frozenset({"delete"})
    if method in CREATE_AND_WRITE_METHODS:
        return frozenset({"create", "write"})
    return frozenset({"execute"})


def is_private_method(method: str) -> bool:
    """Never callable remotely: Odoo's rule (leading underscore, ``init``) and env switches."""
    return not method or method.startswith("_") or method in PRIVATE_METHODS


def allows(scopes: Mapping[str, frozenset[str]] | None, model: str, operations: frozenset[str]) -> bool:
    """``scopes`` None means all models with every operation."""
    if scopes is None:
        return True
    return operations <= scopes.get(model, frozenset())
