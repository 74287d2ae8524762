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

import logging
import os
import threading

import psycopg2

from odoo import sql_db
from odoo.modules.registry import Registry

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


def execute(env, query, params, fetch=True):
    """Run ``query`` outside the request transaction (see the module docstring)."""
    if Registry(env.cr.dbname).in_test_mode():
        env.cr.execute(query, params)
        return env.cr.fetchall() if fetch else None
    return _pool.execute(env.cr.dbname, query, params, fetch)
