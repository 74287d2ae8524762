"""Per-key scopes (API.md section 3) and what each model method needs.

``execute_kw`` must not escape a key's scopes, so the *method* decides the
operation: a method that reads needs ``read``, one that writes ``write``, and
so on; anything not known to be harmless needs ``execute``.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import methods

OPERATIONS = ("read", "create", "write", "delete", "execute")

PRIVATE_METHODS = frozenset({"init", "sudo", "with_user", "with_env", "with_context", "with_company"})


def operations_for_method(method: str) -> frozenset[str]:
    """The scope operations a call of ``method`` through execute_kw needs (lib.methods decides)."""
    return methods.method(method).operations


def is_private_method(method: str) -> bool:
    """Never callable remotely: Odoo's rule (leading underscore, ``init``) and env switches."""
    return not method or method.startswith("_") or method in PRIVATE_METHODS


def allows(scopes: Mapping[str, frozenset[str]] | None, model: str, operations: frozenset[str]) -> bool:
    """``scopes`` None means all models with every operation."""
    if scopes is None:
        return True
    return operations <= scopes.get(model, frozenset())
