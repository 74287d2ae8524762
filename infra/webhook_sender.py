"""Sending one webhook request, to the address that was checked (API.md section 12).

The destination is checked again at send time (``lib.webhooks.destination``)
and the connection goes to the very address that passed, not to whatever
the name resolves to a moment later (DNS rebinding): the URL's host is
replaced by that address, ``Host`` and TLS (SNI and certificate check)
keep the name. Redirects are not followed.

A ``Sender`` keeps one session per destination (scheme, checked address,
port, name) while it sends, so that events to one receiver reuse its
connection (HTTP keep-alive) instead of opening one each; it checks each
URL again once per batch (``new_batch``), and connects only to an address
that passed the last check.
"""

from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from ..lib import webhooks
from ..lib.errors import BadRequest


class _PinnedAdapter(HTTPAdapter):
    """Connects to ``address`` whatever the URL's host resolves to."""

    def __init__(self, address, hostname, tls):
        self.address, self.hostname, self.tls = address, hostname, tls
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        if self.tls:  # the name for SNI and for the certificate check, not the address
            kwargs["server_hostname"] = self.hostname
            kwargs["assert_hostname"] = self.hostname
        return super().init_poolmanager(*args, **kwargs)

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        host = f"[{self.address}]" if ":" in self.address else self.address
        netloc = f"{host}:{parts.port}" if parts.port else host
        request.headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
        request.url = urlunsplit(parts._replace(netloc=netloc))
        return super().send(request, **kwargs)


def _session(scheme, address, hostname):
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: the address checked is the one called
    session.mount(f"{scheme}://", _PinnedAdapter(address, hostname, scheme == "https"))
    return session


def post(url, body, headers, allow_private, timeout=webhooks.TIMEOUT):
    """POST ``body``: the ``requests`` response (raises ``BadRequest`` for a
    destination refused now, ``requests.RequestException`` for no answer)."""
    with Sender() as sender:
        return sender.post(url, body, headers, allow_private, timeout=timeout)


class Sender:
    """Sends many events, reusing a connection per destination (a context manager: closes them)."""

    def __init__(self):
        self.sessions = {}  # (scheme, address, port, hostname) -> requests.Session
        self.checked = {}  # (url, allow_private) -> webhooks.destination(...) or the BadRequest

    def new_batch(self):
        """Check every URL again before its next event (its name may resolve elsewhere now)."""
        self.checked.clear()

    def post(self, url, body, headers, allow_private, timeout=webhooks.TIMEOUT):
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
        place = (scheme, addresses[0], port, hostname)
        session = self.sessions.get(place)
        if session is None:
            session = self.sessions[place] = _session(scheme, addresses[0], hostname)
        try:
            return session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
        except requests.RequestException:
            # no answer: the next event to it opens a new connection
            self.sessions.pop(place).close()
            raise

    def close(self):
        for session in self.sessions.values():
            session.close()
        self.sessions.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
