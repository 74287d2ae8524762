"""Sending webhook requests, to the address that was checked (API.md section 12).

The destination is checked again at send time (``lib.webhooks.destination``)
and the connection goes to the very address that passed, not to whatever
the name resolves to a moment later (DNS rebinding): the connection is made
to that address, ``Host`` and TLS (SNI and certificate check) keep the name.
Redirects are not followed, no proxy is used.

A ``Sender`` keeps one connection pool per destination (scheme, checked
address, port, name) while it sends, so that events to one receiver reuse
its connection (HTTP keep-alive) instead of opening one each; it checks each
URL again once per batch (``new_batch``), and connects only to an address
that passed the last check. It speaks to urllib3 directly: ``requests``
costs as much again per request in preparing, merging settings and hooks.
"""

from urllib.parse import urlsplit

import certifi
import urllib3

from ..lib import webhooks
from ..lib.errors import BadRequest


class NoAnswer(Exception):
    """The receiver did not answer (connection refused or reset, timeout, TLS failure)."""


def _pool(scheme, address, port, hostname, timeout):
    timeout = urllib3.Timeout(connect=timeout, read=timeout)
    if scheme == "https":  # the name for SNI and for the certificate check, not the address
        return urllib3.HTTPSConnectionPool(
            address, port, maxsize=1, timeout=timeout, retries=False, cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(), assert_hostname=hostname, server_hostname=hostname,
        )  # fmt: skip
    return urllib3.HTTPConnectionPool(address, port, maxsize=1, timeout=timeout, retries=False)


class Sender:
    """Sends many events, reusing a connection per destination (a context manager: closes them)."""

    def __init__(self):
        self.pools = {}  # (scheme, address, port, hostname, timeout) -> urllib3 pool
        self.checked = {}  # (url, allow_private) -> webhooks.destination(...) or the BadRequest

    def new_batch(self):
        """Check every URL again before its next event (its name may resolve elsewhere now)."""
        self.checked.clear()

    def post(self, url, body, headers, allow_private, timeout=webhooks.TIMEOUT):
        """POST ``body``: (status, body text) of the answer."""
        key = (url, allow_private)
        if key not in self.checked:
            try:
                self.checked[key] = webhooks.destination(url, allow_private)
            except BadRequest as exc:
                self.checked[key] = exc
        found = self.checked[key]
        if isinstance(found, BadRequest):
            raise found
        scheme, hostname, port, addresses = found
        place = (scheme, addresses[0], port, hostname, timeout)
        pool = self.pools.get(place)
        if pool is None:
            pool = self.pools[place] = _pool(*place)
        parts = urlsplit(url.strip())
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = dict(headers, Host=parts.netloc.rsplit("@", 1)[-1])
        try:
            answer = pool.urlopen(
                "POST", target, body=body, headers=headers, retries=False, redirect=False,
                assert_same_host=False, preload_content=True,
            )  # fmt: skip
        except urllib3.exceptions.HTTPError as exc:
            # no answer: the next event to it opens a new connection
            self.pools.pop(place).close()
            raise NoAnswer(type(exc).__name__) from exc
        return answer.status, answer.data.decode("utf-8", "replace")

    def close(self):
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
