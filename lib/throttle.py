"""Throttling policy: fixed windows per key, counted by a shared store.

Counting happens elsewhere (one atomic UPSERT in PostgreSQL, so the limit
holds across worker processes and servers); this module only decides, from
the count, whether the call passes and which headers it gets
(draft-ietf-httpapi-ratelimit-headers: RateLimit-Limit/-Remaining/-Reset).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int

    @property
    def headers(self) -> dict[str, str]:
        if not self.limit:
            return {}
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }

    @property
    def retry_after(self) -> int:
        return max(1, self.reset)


def window_start(now: float, period: int) -> int:
    """Start (epoch seconds) of the fixed window that holds ``now``."""
    period = max(1, int(period))
    return int(now // period) * period


def decide(hits: int, limit: int, period: int, now: float, start: int) -> Decision:
    """The verdict for the ``hits``-th call of the window starting at ``start``.

    ``limit`` 0 means no limit.
    """
    period = max(1, int(period))
    reset = max(0, math.ceil(start + period - now))
    if not limit:
        return Decision(True, 0, 0, reset)
    return Decision(hits <= limit, limit, max(0, limit - hits), reset)
