"""Searching a computed state (of keys, of tokens) as a domain on stored fields.

A state such as *active* or *expired* depends on the clock, so it cannot be
stored; each state is instead described by a domain, and a search on the
state becomes the union of the domains of the states it selects.
"""

from __future__ import annotations

FALSE_DOMAIN = [(0, "=", 1)]
OPERATORS = ("=", "!=", "in", "not in")


def _normalized(domain: list) -> list:
    """``domain`` in prefix form with its implicit ANDs written out (as Odoo's normalize_domain)."""
    result, expected = [], 1
    for token in domain:
        if expected == 0:  # a further term at the top level: AND it with the previous ones
            result[0:0] = ["&"]
            expected = 1
        if token in ("&", "|"):
            expected += 1
        elif token != "!":
            expected -= 1
        result.append(token)
    return result


def state_domain(operator: str, value, domains: dict[str, list]) -> list:
    """The domain of the records whose state satisfies ``state <operator> value``.

    ``domains`` maps each state to the domain of its records; the states must
    not overlap. Raises ValueError for an operator other than =, !=, in, not in.
    """
    if operator not in OPERATORS:
        raise ValueError(f"cannot search a state with {operator!r}")
    wanted = {value} if isinstance(value, str) else set(value or ())
    if operator in ("!=", "not in"):
        wanted = set(domains) - wanted
    parts = [_normalized(domains[state]) for state in sorted(wanted & set(domains))]
    if not parts:
        return list(FALSE_DOMAIN)
    return ["|"] * (len(parts) - 1) + [token for part in parts for token in part]
