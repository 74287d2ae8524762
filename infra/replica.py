"""Reads served by a streaming replica (API.md section 10, "Read replicas").

An Odoo started with ``--db_replica_host``/``--db_replica_port`` opens the
cursor of a route declared ``readonly`` on the replica. The API's one route
says, per request, whether the call only reads (``reads_only``): a ``GET``
or ``HEAD``, or an ``execute_kw`` of a method that needs only the read
scope. Everything such a call writes already goes to the primary on side
connections (``infra.side_store``: throttle counters, call log).

What the replica cannot be trusted with, the pipeline asks the primary
(``primary_cursor``), on every call the replica serves:

- the key and the login token: Odoo learns that its caches are stale from
  sequences it reads on the replica, which a lagging replica shows late
  (and a sequence's WAL is logged ahead, 32 values at a time), so a
  revoked key, a removed scope or an archived user would go on working
  for a while; the key's state is compared with the primary's on each
  call instead (``rest.api.key._find_key``);
- whether the replica is too far behind (``usable``): the primary's WAL
  position is sampled every ``SAMPLE_EVERY`` seconds; once the replica has
  not replayed what the primary had written ``MAX_LAG`` seconds ago, the
  call reads the primary instead.

Odoo stops using a replica it once failed to reach until the process
restarts; ``revive`` gives it another try every ``REVIVE_AFTER`` seconds,
so reads return to it within a minute of its return.
"""

import collections
import json
import logging
import threading
import time

from odoo import sql_db
from odoo.tools import config

from ..lib import methods, scopes

_logger = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_LAG = 5.0  # seconds; API.md: a replica more than 10 s behind is not used
SAMPLE_EVERY = 0.5  # seconds between two samples of the primary's WAL position
KEEP_SAMPLES = 60.0  # seconds of samples kept
REVIVE_AFTER = 20.0  # seconds before a replica Odoo gave up on is tried again
PEEK_LIMIT = 65536  # an execute_kw body read to decide is at most this long

_lock = threading.Lock()
_samples = collections.deque()  # (monotonic time, primary WAL position), oldest first
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
        return True
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
    return methods.method(method).operations == frozenset({"read"})


# ---------------------------------------------------------------- the primary, beside the replica
def primary_cursor(registry):
    """A cursor on the primary (read/write pool), for the checks the replica cannot answer."""
    return registry._db.cursor()


def _lsn(text):
    high, _, low = (text or "0/0").partition("/")
    return (int(high, 16) << 32) + int(low or "0", 16)


def usable(replica_cr, primary_cr, max_lag=MAX_LAG):
    """Whether the replica has replayed what the primary had written ``max_lag`` seconds ago."""
    now = time.monotonic()
    with _lock:
        sample = not _samples or now - _samples[-1][0] >= SAMPLE_EVERY
    if sample:
        primary_cr.execute("SELECT pg_current_wal_lsn()::text")
        position = _lsn(primary_cr.fetchone()[0])
        with _lock:
            _samples.append((now, position))
            while len(_samples) > 1 and now - _samples[1][0] > KEEP_SAMPLES:
                _samples.popleft()
    with _lock:
        due = [position for at, position in _samples if now - at >= max_lag]
    if not due:
        return True  # nothing written long enough ago to be missing yet
    replica_cr.execute("SELECT pg_last_wal_replay_lsn()::text")
    replayed = replica_cr.fetchone()[0]
    if replayed is None:  # not a standby (a "replica" that is the primary itself)
        return True
    if _lsn(replayed) >= due[-1]:
        return True
    _logger.info(
        "rest_api: the replica is over %s s behind the primary; this call reads the primary", max_lag
    )
    return False


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
