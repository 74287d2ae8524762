"""The database list, remembered a few seconds for /api/... calls.

Odoo picks the database of a request that has no session (every API client:
keys travel in headers, not cookies) by listing the databases and applying
``--db-filter``. With a filter configured, that list is a query on the
``postgres`` database over a connection that Odoo's pool never keeps, so
each call pays a new PostgreSQL connection: about a fifth of a search of 80
records in our profiles (py-spy, ``make bench``). For /api/... paths the
list is kept per process and per Host header for ``TTL`` seconds: a database
created or dropped is seen that much later by the API (a dropped one answers
503 meanwhile). An empty list is never kept: PostgreSQL was unreachable,
and the next call must look again. Other paths keep Odoo's behaviour.
"""

import threading
import time

from odoo import http

from ..lib import routes

TTL = 5.0
MAX_HOSTS = 64  # the Host header is the client's: bound what it can make us keep
_lock = threading.Lock()
_lists = {}  # (host, force) -> (expiry on time.monotonic(), tuple of names)


def _db_list_for_api(force=False, host=None):
    request = http.request
    if not request or routes.split_path(request.httprequest.path) is None:
        return _db_list_for_api.wrapped(force, host)
    key = (host, force)
    now = time.monotonic()
    kept = _lists.get(key)
    if kept is not None and kept[0] > now:
        return list(kept[1])
    names = _db_list_for_api.wrapped(force, host)
    if names:
        with _lock:
            if len(_lists) >= MAX_HOSTS:
                _lists.clear()
            _lists[key] = (now + TTL, tuple(names))
    return names


def install():
    """Wrap ``odoo.http.db_list`` once per process."""
    current = http.db_list
    if getattr(current, "rest_api_wrapper", False):
        return
    _db_list_for_api.wrapped = current
    _db_list_for_api.rest_api_wrapper = True
    http.db_list = _db_list_for_api


install()
