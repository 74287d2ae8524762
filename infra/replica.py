"""Reads served by a streaming replica (API.md section 10, "Read replicas").

An Odoo started with ``--db_replica_host``/``--db_replica_port`` opens the
cursor of a route declared ``readonly`` on the replica. The API's one route
says, per request, whether the call only reads (``reads_only``): a ``GET``
or ``HEAD``, or an ``execute_kw`` of a method that needs only the read
scope. Everything such a call writes already goes to the primary on side
connections (``infra.side_store``: throttle counters, call log).

What the replica cannot be trusted with, the pipeline asks the primary, on
every call the replica serves (one statement on a side connection; a cursor
of its own, ``Primary``, only when a token is checked or a key read again):

- the key and the login token: Odoo learns that its caches are stale from
  sequences it reads on the replica, which a lagging replica shows late
  (and a sequence's WAL is logged ahead, 32 values at a time), so a
  revoked key, a removed scope or an archived user would go on working
  for a while; the key's state is compared with the primary's on each
  call instead (``rest.api.key._find_key``);
- whether the replica is too far behind (``usable``): the primary's WAL
  position is sampled every ``SAMPLE_EVERY`` seconds (on a side connection); once the replica has
  not replayed what the primary had written ``MAX_LAG`` seconds ago, the
  call reads the primary instead.

Odoo stops using a replica it once failed to reach until the process
restarts; ``revive`` gives it another try every ``REVIVE_AFTER`` seconds,
so reads return to it within a minute of its return.
"""

import json
import logging
import time

from odoo import sql_db
from odoo.tools import config

from ..lib import methods, scopes
from . import side_store

_logger = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_LAG = 5.0  # seconds; API.md: a replica more than 10 s behind is not used
REVIVE_AFTER = 20.0  # seconds before a replica Odoo gave up on is tried again
PEEK_LIMIT = 65536  # an execute_kw body read to decide is at most this long
# methods that need only the read scope yet write: export_data makes the external ids it exports
WRITING_READS = frozenset({"export_data"})
CHANGES_SUFFIX = "/changes"  # GET /api/<model>/changes

_given_up = {}  # db name -> monotonic time Odoo was first seen without its replica


def configured():
    """Whether this Odoo was started with a replica (``--db_replica_host``, even empty)."""
    return config["db_replica_host"] is not False or bool(config["db_replica_port"])


def on_replica(cr):
    """Whether ``cr`` is a cursor on the replica."""
    return configured() and bool(getattr(cr, "readonly", False))


# ---------------------------------------------------------------- which calls only read
def serves(call):
    """Whether the call runs on a read-only cursor: it only reads, and there is a
    replica to read (without one, Odoo would open the same primary anyway)."""
    return configured() and reads_only(call)


def reads_only(call):
    """Whether the call only reads, decided before its transaction opens."""
    httprequest = call.httprequest
    if httprequest.method in READ_METHODS:
        # the change feed compares its cursor's snapshot with the call's: both the primary's
        # (controllers/changes.py says why)
        return not httprequest.path.endswith(CHANGES_SUFFIX)
    if httprequest.headers.get("Idempotency-Key"):
        return False  # its answer is kept, in the database
    if httprequest.method != "POST" or not httprequest.path.endswith("/execute_kw"):
        return False
    length = httprequest.content_length
    if not length or length > PEEK_LIMIT or httprequest.headers.get("Transfer-Encoding"):
        return False
    try:
        body = json.loads(call.peek_body(PEEK_LIMIT))
    except Exception:  # noqa: BLE001 - any doubt: the primary (the handler then answers the error)
        return False
    method = body.get("method") if isinstance(body, dict) else None
    if not isinstance(method, str) or scopes.is_private_method(method):
        return False
    return method not in WRITING_READS and methods.method(method).operations == frozenset({"read"})


# ---------------------------------------------------------------- the primary, beside the replica
class Primary:
    """The primary's environment for a call the replica serves, its cursor opened
    on first use (a login token to check, a key to read again, a replica too far
    behind)."""

    def __init__(self, env):
        self._replica_env, self._env = env, None

    @property
    def env(self):
        if self._env is None:
            self._env = self._replica_env(cr=self._replica_env.registry._db.cursor())
        return self._env

    def close(self, commit=False):
        """``commit``: the call itself ran here (the replica too far behind) and succeeded."""
        env, self._env = self._env, None
        if env is not None:
            if commit:
                env.cr.commit()
            else:
                env.cr.rollback()
            env.cr.close()


def _lsn(text):
    high, _, low = (text or "0/0").partition("/")
    return (int(high, 16) << 32) + int(low or "0", 16)


def usable(env, max_lag=MAX_LAG):
    """Whether the replica (``env.cr``) is at most ``max_lag`` seconds behind.

    Either it has replayed the primary's current flushed position (read on a
    side connection, one round trip: WAL not flushed yet cannot have been sent), or the last transaction it replayed committed
    at most ``max_lag`` seconds ago: WAL is replayed in order, so everything
    committed before that one is there too. A quiet primary and a replica that
    caught up pass the first test; a replica that stopped replaying fails both
    once ``max_lag`` has passed.
    """
    env.cr.execute(
        "SELECT pg_last_wal_replay_lsn()::text, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
    )
    replayed, age = env.cr.fetchone()
    if replayed is None:  # not a standby (a "replica" that is the primary itself)
        return True
    if age is not None and age <= max_lag:  # a busy primary: no need to ask it
        return True
    # the primary's position read after the replica's: a later one can only be stricter
    position = _lsn(side_store.execute(env, "SELECT pg_current_wal_flush_lsn()::text", None)[0][0])
    if _lsn(replayed) >= position:
        return True
    _logger.info(
        "rest_api: the replica is over %s s behind the primary; this call reads the primary", max_lag
    )
    return False


# ---------------------------------------------------------------- Odoo's caches, told by the primary
class _SideCursor:
    """Enough of a cursor for ``Registry.get_sequences``: one statement on a side
    connection to the primary (autocommit: one round trip)."""

    def __init__(self, dbname):
        self.dbname, self.rows = dbname, []

    def execute(self, query, params=None):
        self.rows = side_store._pool.execute(self.dbname, query, params)

    def fetchone(self):
        return self.rows[0] if self.rows else None


def check_signaling_on_primary(self, cr=None):
    """``Registry.check_signaling``, for an /api/... request whose cursor is on the
    replica: the sequences that tell Odoo its caches are stale are read on the
    primary. On the replica they show late (a lagging replica), or not at all (a
    sequence's WAL is logged 32 values ahead, so the next changes do not move it),
    and a revoked record rule, a user's removed company or group, a setting would
    hold on for minutes. (Odoo 18: ``odoo/modules/registry.py`` ``check_signaling``,
    ``get_sequences``; ``odoo/http.py`` ``Request._open_registry``.)"""
    wrapped = check_signaling_on_primary.wrapped
    if cr is None or not on_replica(cr) or self.in_test_mode() or not _api_request():
        return wrapped(self, cr)
    return wrapped(self, _SideCursor(self.db_name))


def _api_request():
    from odoo.http import request  # noqa: PLC0415 - the request of this thread, if any

    return bool(request) and request.httprequest.path.startswith("/api")


# ---------------------------------------------------------------- a replica Odoo gave up on
def revive(registry):
    """Give the replica another try once Odoo has done without it for ``REVIVE_AFTER`` s
    (``Registry.cursor`` drops it on the first failure to connect, until a restart)."""
    if not configured() or registry._db_readonly is not None:
        _given_up.pop(registry.db_name, None)
        return
    now = time.monotonic()
    since = _given_up.setdefault(registry.db_name, now)
    if now - since >= REVIVE_AFTER:
        _given_up.pop(registry.db_name, None)
        registry._db_readonly = sql_db.db_connect(registry.db_name, readonly=True)
        _logger.info("rest_api: trying the read replica again")
