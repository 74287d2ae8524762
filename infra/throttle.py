"""The throttle service: every count and limit of the API, behind ``count()``.

A call of a key is counted once, by ``count(env, key, ahead)``, when the key
is known and has passed its own refusals. That one call adds one to the
key's use counter and, for a key with a rate limit, draws the call's number
in its window; ``Count.verdict()`` then says whether the call passes and
which RateLimit headers it gets. Failed logins per client address are
counted here too (``login_verdict``, ``login_failed``). The policy (fixed
windows, the verdict, the headers) is pure and lives in ``lib.throttle``;
this module is the PostgreSQL side of it.

How a key's calls are numbered: every call draws the next number of its
key's sequence ``rest_api_key_hits_<id>``, a non-transactional ``nextval()``
that writes no row and takes no row lock, on a side connection
(``infra.side_store``), and ranks in its window by that number minus the
window's base (the last number drawn before the window opened). The
database clock is used so that every server counts the same windows; it is
read first, and a number is drawn only if the key's window of that moment
is open, so that every number drawn in a window is above its base.
Otherwise the call opens the window (or finds it opened by another call)
and draws its number in ``OPEN_SQL``.

A read may be counted *ahead*: the statement is sent when the key is found
and its answer read only when the verdict is needed, so that its round trip
overlaps the call's own work. A key this worker saw use up its window is
always counted first, so that a caller over its limit cannot make the
server do the work of calls that will be refused.
"""

import time

import psycopg2.errors

from odoo.tools import SQL

from ..lib import errors, throttle
from . import side_store

TABLES_SQL = """
CREATE TABLE IF NOT EXISTS rest_api_key_usage (
    key_id integer PRIMARY KEY,
    use_count bigint NOT NULL DEFAULT 0,
    last_used timestamp,
    window_start bigint NOT NULL DEFAULT 0,
    window_base bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rest_api_login_failure (
    address varchar PRIMARY KEY,
    window_start bigint NOT NULL,
    failures integer NOT NULL
);
"""
COUNT_SQL = """
SELECT CASE WHEN u.window_start >= floor(c.now / $2)::bigint * $2
            THEN nextval(('rest_api_key_hits_' || $1)::regclass) END,
       u.window_start, u.window_base, c.now
  FROM (SELECT extract(epoch FROM clock_timestamp())::float8 AS now OFFSET 0) AS c
  LEFT JOIN rest_api_key_usage AS u ON u.key_id = $1
"""
side_store.prepare("rest_api_throttle", ("int", "int"), COUNT_SQL)
# Open window $2 unless it (or a later one) is open already, then draw this
# call's number: both under the key's row lock, so that openers take turns
# and the base, the last number drawn before the window opened, is read once
# the lock is held. A window never moves back.
OPEN_SQL = """
WITH opened AS (
    INSERT INTO rest_api_key_usage AS u (key_id, window_start, window_base)
    VALUES ($1, $2, COALESCE(pg_sequence_last_value(('rest_api_key_hits_' || $1)::regclass), 0))
    ON CONFLICT (key_id) DO UPDATE SET
        window_base = CASE WHEN u.window_start < EXCLUDED.window_start
                           THEN COALESCE(pg_sequence_last_value(('rest_api_key_hits_' || $1)::regclass), 0)
                           ELSE u.window_base END,
        window_start = GREATEST(u.window_start, EXCLUDED.window_start)
    RETURNING window_start, window_base
)
SELECT nextval(('rest_api_key_hits_' || $1)::regclass), window_start, window_base,
       extract(epoch FROM clock_timestamp())::float8
  FROM opened
"""
side_store.prepare("rest_api_throttle_open", ("int", "bigint"), OPEN_SQL)
# How many calls a key has made in its window of this moment, drawing no number:
# the last number drawn minus the window's base; no row when the window is not
# open yet (the next call opens it). to_regclass: a key whose sequence is gone
# reads as none made (its count itself then says what it is).
USED_SQL = """
SELECT COALESCE(pg_sequence_last_value(to_regclass(%(sequence)s)), u.window_base) - u.window_base
  FROM rest_api_key_usage AS u
 WHERE u.key_id = %(key)s
   AND u.window_start >= floor(extract(epoch FROM clock_timestamp()) / %(period)s)::bigint * %(period)s
"""
LOGIN_READ_SQL = """
SELECT COALESCE((SELECT failures FROM rest_api_login_failure
                  WHERE address = %(address)s
                    AND window_start = floor(extract(epoch FROM now()) / %(period)s)::bigint * %(period)s), 0),
       floor(extract(epoch FROM now()) / %(period)s)::bigint * %(period)s,
       extract(epoch FROM now())::float8
"""
LOGIN_FAIL_SQL = """
INSERT INTO rest_api_login_failure AS f (address, window_start, failures)
VALUES (%(address)s, floor(extract(epoch FROM now()) / %(period)s)::bigint * %(period)s, 1)
ON CONFLICT (address) DO UPDATE SET
    failures = CASE WHEN f.window_start = EXCLUDED.window_start THEN f.failures + 1 ELSE 1 END,
    window_start = EXCLUDED.window_start
"""

# per process: keys whose window this worker saw used up (counted before the work)
EXHAUSTED = throttle.Exhausted()


def hits_sequence(key_id):
    """The name of the sequence that numbers a key's calls (COUNT_SQL spells it too)."""
    return f"rest_api_key_hits_{int(key_id)}"


# ---------------------------------------------------------------- per call
class Count:
    """One call of a key, counted: ``verdict()`` decides it (once; a retried transaction keeps it).

    ``ahead`` means the number was sent and not yet read: ``verdict()``
    waits for it, so call it as late as the call allows.
    """

    def __init__(self, env, key, pending=None, ahead=False):
        self.env, self.key, self.ahead = env, key, ahead
        self._pending = pending  # side_store.Pending of COUNT_SQL; None for a key without a limit
        self._placed = None
        self._verdict = None

    def wait(self):
        """(window start, this call's rank in it, the database's epoch): waits for the number (once)."""
        if self._placed is None:
            self._placed = (0, 0, 0.0) if self._pending is None else self._place()
        return self._placed

    def _place(self):
        key = self.key
        try:
            return self._rank(*self._pending.rows()[0])
        except (
            psycopg2.errors.UndefinedTable
        ):  # a key whose sequence is gone (a partial restore), or deleted now
            if not side_store.execute(self.env, "SELECT 1 FROM rest_api_key WHERE id = %s", [key.id]):
                raise errors.Unauthorized("Unknown, revoked or expired API key.") from None
            side_store.create_sequence(self.env, hits_sequence(key.id))
            args = (key.id, key.rate_limit_period)
            return self._rank(*side_store.execute_prepared(self.env, "rest_api_throttle", args)[0])

    def _rank(self, number, start, base, now):
        """(window start, rank, epoch) of a COUNT_SQL answer; opens the window if it drew no number."""
        if number is None:  # the first call of its window, or one racing it
            args = (self.key.id, throttle.window_start(now, self.key.rate_limit_period))
            number, start, base, _opened_at = side_store.execute_prepared(
                self.env, "rest_api_throttle_open", args
            )[0]
        return start, number - base, now

    def verdict(self):
        """The throttle's ``lib.throttle.Decision`` for this call."""
        if self._verdict is None:
            key = self.key
            start, hits, now = self.wait()
            self._verdict = throttle.decide(hits, key.rate_limit, key.rate_limit_period, now, start)
            if key.rate_limit:
                left = start + key.rate_limit_period - now
                EXHAUSTED.note((self.env.cr.dbname, key.id), self._verdict, left, time.monotonic())
        return self._verdict


def count(env, key, ahead=False):
    """Count one call of ``key`` (a KeyInfo): its use counter, and its rate limit if it has one.

    ``ahead``: the caller may read the verdict late (see the module
    docstring); ignored for a key this worker saw use up its window.
    """
    side_store.note_use(env, key.id)
    if not key.rate_limit:
        return Count(env, key)
    ahead = ahead and ((env.cr.dbname, key.id), time.monotonic()) not in EXHAUSTED
    pending = side_store.start_prepared(env, "rest_api_throttle", (key.id, key.rate_limit_period))
    return Count(env, key, pending, ahead)


def remaining(env, key):
    """How many more calls ``key`` (a KeyInfo with a rate limit) may make in its window of
    this moment, as far as the numbers drawn so far say; nothing is counted. Calls
    counted meanwhile by other requests make it an upper bound: each call is still
    decided by its own ``count()``."""
    rows = side_store.execute(
        env,
        USED_SQL,
        {"sequence": hits_sequence(key.id), "key": key.id, "period": max(1, int(key.rate_limit_period))},
    )
    used = max(0, int(rows[0][0])) if rows else 0
    return max(0, key.rate_limit - used)


def exhausted(env, key):
    """Whether this worker saw ``key`` (a KeyInfo) use up its window, which is still open:
    its calls are counted before any of their work is done."""
    return bool(key.rate_limit) and ((env.cr.dbname, key.id), time.monotonic()) in EXHAUSTED


# ---------------------------------------------------------------- failed logins
def _login_settings(env):
    values = env["rest.api.pipeline"]._settings()
    return values["rest_api.login_max_failures"], values["rest_api.login_failure_window"]


def login_verdict(env, address):
    """The verdict for a login attempt from ``address``: refused once its failures reach the limit."""
    limit, period = _login_settings(env)
    failures, start, now = side_store.execute(
        env, LOGIN_READ_SQL, {"address": address or "", "period": period}
    )[0]
    return throttle.decide(int(failures) + 1, limit, period, float(now), int(start))


def login_failed(env, address):
    """Count a failed login from ``address`` (kept, whatever the transaction does)."""
    _limit, period = _login_settings(env)
    side_store.execute(env, LOGIN_FAIL_SQL, {"address": address or "", "period": period}, fetch=False)


# ---------------------------------------------------------------- keys' lifecycle (in the transaction)
def create_tables(cr):
    cr.execute(TABLES_SQL)


def drop_tables(cr):
    """Uninstall: the tables, and every key's sequence."""
    cr.execute(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() AND sequencename LIKE %s",
        [hits_sequence(0)[:-1].replace("_", "\\_") + "%"],
    )
    if names := [name for (name,) in cr.fetchall()]:
        cr.execute(SQL("DROP SEQUENCE IF EXISTS %s", SQL(", ").join(SQL.identifier(name) for name in names)))
    cr.execute("DROP TABLE IF EXISTS rest_api_key_usage, rest_api_login_failure")


def key_created(cr, ids):
    """Give new keys their sequences (NO CYCLE, CACHE 1: numbers are unique and drawn in order)."""
    for key_id in ids:
        cr.execute(SQL("CREATE SEQUENCE IF NOT EXISTS %s AS bigint", SQL.identifier(hits_sequence(key_id))))


def period_changed(cr, ids):
    """The next call opens a window of the new length (windows never move back, see OPEN_SQL)."""
    if ids:
        cr.execute("UPDATE rest_api_key_usage SET window_start = 0 WHERE key_id IN %s", [tuple(ids)])


def keys_deleted(cr, ids):
    if ids:
        cr.execute("DELETE FROM rest_api_key_usage WHERE key_id IN %s", [tuple(ids)])
        cr.execute(
            SQL("DROP SEQUENCE IF EXISTS %s", SQL(", ").join(SQL.identifier(hits_sequence(i)) for i in ids))
        )


def usage(cr, ids):
    """{key id: (use count, last used)} of the given keys."""
    if not ids:
        return {}
    cr.execute("SELECT key_id, use_count, last_used FROM rest_api_key_usage WHERE key_id IN %s", [tuple(ids)])
    return {key_id: (count, last) for key_id, count, last in cr.fetchall()}
