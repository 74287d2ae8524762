"""Sending one webhook request, to the address that was checked (API.md section 12).

The destination is checked again at send time (``lib.webhooks.destination``)
and the connection goes to the very address that passed, not to whatever
the name resolves to a moment later (DNS rebinding): the URL's host is
replaced by that address, ``Host`` and TLS (SNI and certificate check)
keep the name. Redirects are not followed.
"""

from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from ..lib import webhooks


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


def post(url, body, headers, allow_private, timeout=webhooks.TIMEOUT):
    """POST ``body``: the ``requests`` response (raises ``BadRequest`` for a
    destination refused now, ``requests.RequestException`` for no answer)."""
    scheme, hostname, _port, addresses = webhooks.destination(url, allow_private)
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: the address checked is the one called
        session.mount(f"{scheme}://", _PinnedAdapter(addresses[0], hostname, scheme == "https"))
        return session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
