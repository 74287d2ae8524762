"""Throttling policy: fixed windows per key, counted by a shared store.

Counting happens elsewhere: every call of a key draws the next number of
that key's PostgreSQL sequence, so the limit holds across worker processes
and servers, and each window records the last number drawn before it opened
(its *base*); a call's rank in its window is its number minus that base.
This module decides from the rank whether the call passes and which headers
it gets (draft-ietf-httpapi-ratelimit-headers: RateLimit-Limit/-Remaining/
-Reset), and remembers which keys a process saw use up their window
(``Exhausted``).

Why this holds the limit exactly: a window's base is set once, when the
window opens, numbers are unique, and a number is drawn in a window only
once that window is open, so ranks run 1, 2, 3... and a window never lets
more than ``limit`` calls through, however calls of several processes
interleave (fewer only if calls of the previous window draw while it opens).
"""

from __future__ import annotations

import math
import threading
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


class Exhausted:
    """Per process: the keys whose window this process saw used up, until it ends.

    A read call of a key not in here is counted while it runs (the count is
    sent first and its answer read before the response leaves), so the
    counter's round trip costs no time; a key in here is counted first, so
    that a caller over its limit cannot make the server do the work of
    calls that will be refused. Times are on the caller's monotonic clock.
    """

    def __init__(self, max_keys: int = 10_000):
        self.max_keys = max_keys
        self._until: dict = {}
        self._lock = threading.Lock()

    def note(self, key, decision: Decision, seconds_left: float, now: float) -> None:
        """Remember the verdict of a call of ``key`` (``seconds_left`` of its window at ``now``)."""
        if not decision.limit or decision.remaining > 0:
            if key in self._until:  # the common case takes no lock
                with self._lock:
                    self._until.pop(key, None)
            return
        with self._lock:
            if key not in self._until and len(self._until) >= self.max_keys:
                self._until = {k: t for k, t in self._until.items() if t > now}
                if len(self._until) >= self.max_keys:  # every one still running: forget the oldest
                    del self._until[next(iter(self._until))]
            self._until[key] = now + max(0.0, seconds_left)

    def __contains__(self, item) -> bool:
        key, now = item
        until = self._until.get(key)
        return until is not None and until > now

    def __len__(self) -> int:
        return len(self._until)
