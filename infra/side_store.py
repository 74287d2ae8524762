"""Statements that must not wait for, nor roll back with, the caller's transaction.

Throttled calls draw their number by one prepared statement per call, and
use counters and call logs are written once a second by a per-process
writer thread (kept in memory, bounded, while the database is unreachable),
all on separate autocommit connections with ``synchronous_commit`` off:
each statement is its own tiny transaction, so a counter row is locked for
microseconds rather than for a whole request, a request that fails and
rolls back is still counted and logged, and nothing waits for a disk flush.
Losing the last second of counters and logs in a crash is an accepted
trade-off.

A statement can also be *started*: sent on an asynchronous connection
(``start_prepared``) while the request goes on, its rows read when the
request needs them (``Pending.rows``), so that its round trip overlaps the
request's own work.

A request can hold an advisory lock on a side connection of its own
(``try_lock``) for as long as it runs, even across Odoo's retries of its
transaction, and let other requests see it without waiting for it; the
lock dies with the connection, so a worker that dies cannot leave it behind.

Everything goes through ``backend`` (``SideConnections``), the module's one
seam: Odoo's tests replace it to keep their statements in the test
transaction.
"""

import atexit
import contextlib
import logging
import os
import re
import select
import threading
import time

import psycopg2
import psycopg2.errors
from psycopg2 import sql as pgsql
from psycopg2.extras import execute_values

from odoo import sql_db

from ..lib.errors import ServiceUnavailable

_logger = logging.getLogger(__name__)

MAX_IDLE = 4
WAIT_SECONDS = 60  # an asynchronous statement with no answer by then: the database is taken as unreachable
# name -> (argument types, SQL with $1, $2...): prepared once per side
# connection, so a per-call statement is not parsed and planned every time
PREPARED = {}


def prepare(name, argtypes, sql):
    """Declare a statement that every side connection prepares when it opens."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):  # used as is in EXECUTE
        raise ValueError(f"not a plain SQL name: {name!r}")
    PREPARED[name] = (argtypes, sql)


class _Pool:
    """A few autocommit connections per database, per process (fork-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.idle = {}

    def _take(self, dbname, asynchronous=False):
        with self.lock:
            if self.pid != os.getpid():  # forked: the parent's sockets are not ours
                self.pid, self.idle = os.getpid(), {}
            stack = self.idle.setdefault((dbname, asynchronous), [])
            if stack:
                return stack.pop()
        return self._connect(dbname, asynchronous)

    def _connect(self, dbname, asynchronous=False):
        _dsn_name, info = sql_db.connection_info_for(dbname)
        info = dict(info, application_name=f"odoo-{os.getpid()}-rest_api")
        setup = [pgsql.SQL("SET synchronous_commit TO OFF")]
        for name, (argtypes, statement) in PREPARED.items():
            types = pgsql.SQL(", ").join(pgsql.SQL(t) for t in argtypes)
            setup.append(
                pgsql.SQL("PREPARE {} ({}) AS {}").format(pgsql.Identifier(name), types, pgsql.SQL(statement))
            )
        if asynchronous:  # always autocommit
            cnx = psycopg2.connect(**info, async_=True)
            try:
                _wait(cnx)
                with cnx.cursor() as cr:
                    for each in setup:
                        cr.execute(each)
                        _wait(cnx)
            except BaseException:
                cnx.close()
                raise
            return cnx
        cnx = psycopg2.connect(**info)
        cnx.autocommit = True
        with cnx.cursor() as cr:
            for each in setup:
                cr.execute(each)
        return cnx

    def _give_back(self, dbname, cnx):
        with self.lock:
            stack = self.idle.setdefault((dbname, bool(cnx.async_)), [])
            if len(stack) < MAX_IDLE and self.pid == os.getpid():
                stack.append(cnx)
                return
        cnx.close()

    def _discard(self, dbname, cnx):
        """A connection broke: PostgreSQL restarted or went away, so the idle
        ones of that database are as dead; close them all."""
        with self.lock:
            stale = []
            if self.pid == os.getpid():
                stale = self.idle.pop((dbname, False), []) + self.idle.pop((dbname, True), [])
        for each in [cnx, *stale]:
            if each is not None and not each.closed:
                with contextlib.suppress(psycopg2.Error):
                    each.close()

    def run(self, dbname, statement, hold=None):
        """``statement(cursor)`` on an autocommit connection; one reconnect on a broken one, then 503.

        ``hold(result)`` true keeps the connection out of the pool: run() then
        returns (result, connection), for the caller to give back."""
        for attempt in (1, 2):
            cnx = None
            try:
                cnx = self._take(dbname)
                with cnx.cursor() as cr:
                    result = statement(cr)
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                _logger.info(
                    "rest_api side connection lost (%s), attempt %s", exc.__class__.__name__, attempt
                )
                self._discard(dbname, cnx)
                if attempt == 2:
                    raise ServiceUnavailable("The database is not reachable; retry later.") from exc
                continue
            except BaseException:
                if cnx is not None:
                    cnx.close()
                raise
            if hold is not None:
                if hold(result):
                    return result, cnx
                self._give_back(dbname, cnx)
                return result, None
            self._give_back(dbname, cnx)
            return result
        return None

    def try_lock(self, dbname, name, query, params):
        """Try the session advisory lock ``name`` without waiting, then run
        ``query`` in one round trip: (a ``Held`` lock or None, its rows)."""

        def statement(cr):
            cr.execute(TRY_LOCK_SQL + query, {**params, "rest_api_lock": name})
            return cr.fetchall()

        rows, cnx = self.run(dbname, statement, hold=lambda rows: bool(rows and rows[0][0]))
        return (None if cnx is None else Held(dbname, cnx, name)), rows

    def execute(self, dbname, query, params, fetch=True):
        """Run one statement (see run())."""

        def statement(cr):
            cr.execute(query, params)
            return cr.fetchall() if fetch else None

        return self.run(dbname, statement)

    def start(self, dbname, query, params):
        """Send one statement on an asynchronous connection; its rows come from the Pending."""
        cnx = None
        try:
            cnx = self._take(dbname, asynchronous=True)
            cursor = cnx.cursor()
            cursor.execute(query, params)  # sent; PostgreSQL runs it while the request goes on
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            _logger.info("rest_api side connection lost (%s) before a statement", exc.__class__.__name__)
            self._discard(dbname, cnx)
            return Pending(rows=self.execute(dbname, query, params))  # one more try, waited for
        except BaseException:
            if cnx is not None:
                cnx.close()
            raise
        return Pending(dbname=dbname, connection=cnx, cursor=cursor, query=query, params=params)


# tries the lock; the query that follows reads, in a snapshot taken once the
# lock was tried, whether it was taken: current_setting('rest_api.locked')
TRY_LOCK_SQL = (
    "SELECT set_config('rest_api.locked', "
    "pg_try_advisory_lock(hashtextextended(%(rest_api_lock)s, 0))::text, false); "
)
UNLOCK_SQL = "SELECT pg_advisory_unlock(hashtextextended(%s, 0))"


class Held:
    """An advisory lock taken by ``try_lock``, on its own side connection
    until ``release()`` (which may be called more than once)."""

    def __init__(self, dbname, connection, name):
        self.dbname, self.connection, self.name = dbname, connection, name

    def release(self):
        cnx, self.connection = self.connection, None
        if cnx is None:
            return
        try:
            with cnx.cursor() as cr:
                cr.execute(UNLOCK_SQL, [self.name])
        except psycopg2.Error as exc:  # the connection is gone, and the lock with it
            _logger.info("rest_api side connection lost (%s) releasing a lock", exc.__class__.__name__)
            _pool._discard(self.dbname, cnx)
            return
        _pool._give_back(self.dbname, cnx)


def _wait(cnx):
    """Poll an asynchronous connection until its current command is done."""
    while True:
        state = cnx.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        if state not in (psycopg2.extensions.POLL_READ, psycopg2.extensions.POLL_WRITE):
            raise psycopg2.OperationalError(f"unexpected poll state {state}")
        if not _ready(cnx.fileno(), state == psycopg2.extensions.POLL_WRITE):
            raise psycopg2.OperationalError(f"no answer from the database in {WAIT_SECONDS} s")


def _ready(fd, write):
    """Wait until ``fd`` can be read (or written), at most WAIT_SECONDS."""
    if hasattr(select, "poll"):  # any descriptor number (select() stops at 1024); gevent removes poll
        poller = select.poll()
        poller.register(fd, select.POLLOUT if write else select.POLLIN)
        return bool(poller.poll(WAIT_SECONDS * 1000))
    readable, writable, _ = select.select([] if write else [fd], [fd] if write else [], [], WAIT_SECONDS)
    return bool(readable or writable)


class Pending:
    """A statement started on a side connection: ``rows()`` waits for its answer (once)."""

    def __init__(self, rows=None, dbname=None, connection=None, cursor=None, query=None, params=None):
        self._rows, self.dbname, self.connection, self.cursor = rows, dbname, connection, cursor
        self.query, self.params = query, params

    def rows(self):
        if self.connection is None:
            return self._rows
        cnx, self.connection = self.connection, None
        try:
            _wait(cnx)
            self._rows = self.cursor.fetchall()
            self.cursor.close()
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            # whether it ran is unknown: run it once more, waited for (as run() retries)
            _logger.info("rest_api side connection lost (%s) during a statement", exc.__class__.__name__)
            _pool._discard(self.dbname, cnx)
            self._rows = _pool.execute(self.dbname, self.query, self.params)
            return self._rows
        except BaseException:
            cnx.close()  # an answer may still be on its way: the connection cannot be reused
            raise
        _pool._give_back(self.dbname, cnx)
        return self._rows


_pool = _Pool()

FLUSH_SECONDS = 1.0
MAX_PENDING_LOGS = 50_000  # per database, while it is unreachable
LOG_COLUMNS = ("key_id", "user_id", "method", "path", "model", "status", "duration", "address", "request_id")
INSERT_LOGS_SQL = f"INSERT INTO rest_api_log ({', '.join(LOG_COLUMNS)}, create_uid, create_date, write_uid, write_date) VALUES %s"
LOG_TEMPLATE = (
    "(" + ", ".join(f"%({c})s" for c in LOG_COLUMNS) + ", %(user_id)s, %(at)s, %(user_id)s, %(at)s)"
)
FLUSH_USAGE_SQL = """
INSERT INTO rest_api_key_usage AS u (key_id, use_count, last_used)
SELECT key_id, hits, to_timestamp(last_used) AT TIME ZONE 'UTC'
  FROM unnest(%s::int[], %s::bigint[], %s::float8[]) AS t(key_id, hits, last_used)
ON CONFLICT (key_id) DO UPDATE SET
    use_count = u.use_count + EXCLUDED.use_count,
    last_used = GREATEST(u.last_used, EXCLUDED.last_used)
"""


class _Writer:
    """Writes that no answer waits for, summed or queued in memory and sent
    once a second by a daemon thread: use counters of keys without a rate
    limit, and call log lines. A call pays no statement for them; at most
    about a second of them is lost if the process dies."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pid = None
        self.usage = {}  # (dbname, key_id) -> [hits, last used epoch]
        self.logs = {}  # dbname -> [log values]
        self.thread = None

    def _ready(self):
        """Under the lock: start fresh in a forked worker, and make sure the writer runs."""
        if self.pid != os.getpid():  # a forked worker inherits nothing of its parent's
            self.pid, self.usage, self.logs, self.thread = os.getpid(), {}, {}, None
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="rest_api writer", daemon=True)
            self.thread.start()

    def note_use(self, dbname, key_id):
        with self.lock:
            self._ready()
            entry = self.usage.setdefault((dbname, key_id), [0, 0.0])
            entry[0] += 1
            entry[1] = time.time()

    def queue_log(self, dbname, values):
        with self.lock:
            self._ready()
            self.logs.setdefault(dbname, []).append(values)

    def _run(self):
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()

    def flush(self):
        with self.lock:
            usage, logs, self.usage, self.logs = self.usage, self.logs, {}, {}
        for dbname, rows in logs.items():
            statement = lambda cr, rows=rows: execute_values(cr, INSERT_LOGS_SQL, rows, template=LOG_TEMPLATE)  # noqa: E731
            if not self._write(dbname, statement):
                self._requeue_logs(dbname, rows)
        by_db = {}
        for (dbname, key_id), (hits, last) in usage.items():
            by_db.setdefault(dbname, []).append((key_id, hits, last))
        for dbname, rows in by_db.items():
            columns = [list(col) for col in zip(*rows, strict=True)]
            if not self._write(dbname, lambda cr, columns=columns: cr.execute(FLUSH_USAGE_SQL, columns)):
                self._requeue_usage(dbname, rows)

    def _requeue_logs(self, dbname, rows):
        """Keep unwritten log lines for the next flush (the oldest beyond MAX_PENDING_LOGS are dropped)."""
        with self.lock:
            pending = rows + self.logs.get(dbname, [])
            if len(pending) > MAX_PENDING_LOGS:
                _logger.warning(
                    "rest_api: dropping %s call log lines of %s", len(pending) - MAX_PENDING_LOGS, dbname
                )
                pending = pending[-MAX_PENDING_LOGS:]
            self.logs[dbname] = pending

    def _requeue_usage(self, dbname, rows):
        with self.lock:
            for key_id, hits, last in rows:
                entry = self.usage.setdefault((dbname, key_id), [0, 0.0])
                entry[0] += hits
                entry[1] = max(entry[1], last)

    def _write(self, dbname, statement):
        """True once written; False when the database is unreachable (the caller keeps the rows)."""
        try:
            _pool.run(dbname, statement)
        except ServiceUnavailable:
            _logger.info("rest_api: database %s unreachable, counters and call logs kept for later", dbname)
            return False
        except Exception:  # nothing here may break a call; it is logged and dropped
            _logger.warning("rest_api: could not write counters or call logs of %s", dbname, exc_info=True)
        return True


_writer = _Writer()
atexit.register(_writer.flush)


class SideConnections:
    """Where the statements of this module run: the side connections above.

    The one seam of this module: Odoo's tests put a backend in its place
    that runs them on the test's own cursor (``tests/common.py``), so that
    a test sees, and rolls back, what its calls counted and logged.
    """

    def execute(self, env, query, params, fetch=True):
        return _pool.execute(env.cr.dbname, query, params, fetch)

    def start_prepared(self, env, name, args, wait=False):
        # a plain string (psycopg2 renders a Composed query anew on every call,
        # tens of µs); integers are written in as they are, the rest is quoted
        params = [arg for arg in args if type(arg) is not int]
        values = ", ".join(str(arg) if type(arg) is int else "%s" for arg in args)
        query = f"EXECUTE {name} ({values})"
        if wait:
            return Pending(rows=_pool.execute(env.cr.dbname, query, params or None))
        return _pool.start(env.cr.dbname, query, params or None)

    def try_lock(self, env, name, query, params):
        return _pool.try_lock(env.cr.dbname, name, query, params)

    def note_use(self, env, key_id):
        _writer.note_use(env.cr.dbname, key_id)

    def queue_log(self, env, values):
        _writer.queue_log(env.cr.dbname, values)


backend = SideConnections()


def note_use(env, key_id):
    """Count one use of a key (see _Writer)."""
    backend.note_use(env, key_id)


def queue_log(env, values):
    """Write one call log line (see _Writer)."""
    backend.queue_log(env, values)


def execute(env, query, params, fetch=True):
    """Run ``query`` outside the request transaction (see the module docstring)."""
    return backend.execute(env, query, params, fetch)


def try_lock(env, name, query, params):
    """Try the advisory lock ``name`` (a text) on a side connection held for
    this caller, without waiting, then run ``query`` (dict ``params``) in a
    snapshot taken after the try, in the same round trip; its first column
    must be ``current_setting('rest_api.locked')::bool``, whether the lock
    was taken. Returns (``Held`` or None, the rows). A held lock stays
    until ``release()``, or until the connection closes."""
    return backend.try_lock(env, name, query, params)


def execute_prepared(env, name, args):
    """Run a statement declared with prepare(); the rows it returns."""
    return backend.start_prepared(env, name, args, wait=True).rows()


def start_prepared(env, name, args):
    """Send a statement declared with prepare() without waiting for it; its
    rows are read from the Pending it returns (which raises the statement's
    error, if any)."""
    return backend.start_prepared(env, name, args)


def create_sequence(env, name):
    """Create the sequence ``name`` unless it exists (outside the request transaction)."""
    statement = pgsql.SQL("CREATE SEQUENCE IF NOT EXISTS {} AS bigint").format(pgsql.Identifier(name))
    with contextlib.suppress(psycopg2.errors.UniqueViolation):  # another process created it just now
        execute(env, statement, None, fetch=False)
