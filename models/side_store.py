"""Statements that must not wait for, nor roll back with, the caller's transaction.

Usage counters, throttle windows and call logs are written on a separate
autocommit connection with ``synchronous_commit`` off: each statement is its
own tiny transaction, so a counter row is locked for microseconds rather than
for a whole request, a request that fails and rolls back is still counted and
logged, and nothing waits for a disk flush. Losing the last few counter
increments in a crash of PostgreSQL is an accepted trade-off.

Under Odoo's test runner the request's own cursor is used instead, so that
tests see what a call wrote inside their transaction.
"""

import atexit
import logging
import os
import threading
import time

import psycopg2

from odoo import sql_db
from odoo.modules import module

from ..lib.errors import ServiceUnavailable

_logger = logging.getLogger(__name__)

MAX_IDLE = 4


class _Pool:
    """A few autocommit connections per database, per process (fork-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.idle = {}

    def _take(self, dbname):
        with self.lock:
            if self.pid != os.getpid():  # forked: the parent's sockets are not ours
                self.pid, self.idle = os.getpid(), {}
            stack = self.idle.setdefault(dbname, [])
            if stack:
                return stack.pop()
        return self._connect(dbname)

    def _connect(self, dbname):
        _dsn_name, info = sql_db.connection_info_for(dbname)
        cnx = psycopg2.connect(**dict(info, application_name=f"odoo-{os.getpid()}-rest_api"))
        cnx.autocommit = True
        with cnx.cursor() as cr:
            cr.execute("SET synchronous_commit TO OFF")
        return cnx

    def _give_back(self, dbname, cnx):
        with self.lock:
            stack = self.idle.setdefault(dbname, [])
            if len(stack) < MAX_IDLE and self.pid == os.getpid():
                stack.append(cnx)
                return
        cnx.close()

    def execute(self, dbname, query, params, fetch=True):
        """Run one statement; one reconnect on a broken connection, then 503."""
        for attempt in (1, 2):
            try:
                cnx = self._take(dbname)
                with cnx.cursor() as cr:
                    cr.execute(query, params)
                    rows = cr.fetchall() if fetch else None
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                _logger.info(
                    "rest_api side connection lost (%s), attempt %s", exc.__class__.__name__, attempt
                )
                if attempt == 2:
                    raise ServiceUnavailable("The database is not reachable; retry later.") from exc
                continue
            self._give_back(dbname, cnx)
            return rows
        return None


_pool = _Pool()

FLUSH_SECONDS = 1.0
FLUSH_USAGE_SQL = """
INSERT INTO rest_api_key_usage AS u (key_id, use_count, last_used)
SELECT key_id, hits, to_timestamp(last_used) AT TIME ZONE 'UTC'
  FROM unnest(%s::int[], %s::bigint[], %s::float8[]) AS t(key_id, hits, last_used)
ON CONFLICT (key_id) DO UPDATE SET
    use_count = u.use_count + EXCLUDED.use_count,
    last_used = GREATEST(u.last_used, EXCLUDED.last_used)
"""


class _UsageBatch:
    """Use counters of keys without a rate limit, summed in memory and written
    once a second by a daemon thread: a call costs no statement at all.
    At most about a second of counts is lost if the process dies."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pid = None
        self.pending = {}  # (dbname, key_id) -> [hits, last used epoch]
        self.thread = None

    def note(self, dbname, key_id):
        with self.lock:
            if self.pid != os.getpid():  # a forked worker starts with nothing of its parent's
                self.pid, self.pending, self.thread = os.getpid(), {}, None
            entry = self.pending.setdefault((dbname, key_id), [0, 0.0])
            entry[0] += 1
            entry[1] = time.time()
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="rest_api usage", daemon=True)
                self.thread.start()

    def _run(self):
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()

    def flush(self):
        with self.lock:
            pending, self.pending = self.pending, {}
        by_db = {}
        for (dbname, key_id), (hits, last) in pending.items():
            by_db.setdefault(dbname, []).append((key_id, hits, last))
        for dbname, rows in by_db.items():
            try:
                _pool.execute(
                    dbname, FLUSH_USAGE_SQL, [list(col) for col in zip(*rows, strict=True)], fetch=False
                )
            except Exception:  # a counter must never break anything; keep it for the next flush
                _logger.warning("rest_api: could not write key use counters of %s", dbname, exc_info=True)
                with self.lock:
                    for key_id, hits, last in rows:
                        entry = self.pending.setdefault((dbname, key_id), [0, 0.0])
                        entry[0] += hits
                        entry[1] = max(entry[1], last)


_usage = _UsageBatch()
atexit.register(_usage.flush)


def note_use(env, key_id):
    """Count one use of a key (see _UsageBatch)."""
    if _testing():
        env.cr.execute(FLUSH_USAGE_SQL, [[key_id], [1], [time.time()]])
        return
    _usage.note(env.cr.dbname, key_id)


def _testing():
    """Under Odoo's test runner: tests only see what their own transaction wrote."""
    return bool(module.current_test)


def execute(env, query, params, fetch=True):
    """Run ``query`` outside the request transaction (see the module docstring)."""
    if _testing():
        env.cr.execute(query, params)
        return env.cr.fetchall() if fetch else None
    return _pool.execute(env.cr.dbname, query, params, fetch)
