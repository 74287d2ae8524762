"""Webhooks (API.md section 12): the pure part.

Secrets and signatures follow the Standard Webhooks specification (signed
with its reference implementation, ``standardwebhooks``); the events' names
and payloads; the retry schedule; and the guard against request forgery:
which destinations may be called at all.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import secrets
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

from .errors import BadRequest

EVENTS = ("create", "write", "unlink")
EVENT_NAMES = {"create": "created", "write": "updated", "unlink": "deleted"}
SECRET_PREFIX = "whsec_"
TIMEOUT = 10  # seconds a receiver has to answer
EXCERPT = 1000  # characters of an answer kept in the delivery log
# seconds before each retry: the first within a minute, more than 24 h in all, then failed
RETRY_DELAYS = (30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 28800, 28800)
# cloud metadata endpoints that are not in a private range
METADATA = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"))


def new_secret() -> str:
    """A signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def message_id(database: str, note: int, subscription: int, event: str, record_id: int) -> str:
    """The ``webhook-id`` of one event of a change note: the same whenever it is made
    (a receiver de-duplicates on it), another for any other event or database."""
    digest = hashlib.sha256(f"{database}:{note}:{subscription}:{event}:{record_id}".encode()).digest()
    return "msg_" + base64.urlsafe_b64encode(digest[:18]).decode()


def parse_events(value: object) -> list[str]:
    """The events of a subscription: a list of names, or a comma-separated text."""
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise BadRequest('"events" must be a list of create, write, unlink.')
    found = [name.strip() for name in names if name.strip()]
    unknown = sorted(set(found) - set(EVENTS))
    if unknown or not found:
        raise BadRequest(f'"events" must be one or more of create, write, unlink; got {unknown or "none"}.')
    return [event for event in EVENTS if event in found]


def event_type(model: str, event: str) -> str:
    """``res.partner.created``, ``res.partner.updated``, ``res.partner.deleted``."""
    return f"{model}.{EVENT_NAMES[event]}"


def payload(model: str, event: str, record_id: int, record: dict | None, when: dt.datetime) -> dict:
    data = {"model": model, "id": record_id}
    if record is not None:
        data["record"] = record
    return {
        "type": event_type(model, event),
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "data": data,
    }


def signature(secrets_: Iterable[str], message_id: str, timestamp: dt.datetime, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,`` signature per secret (two during a rotation)."""
    return " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets_)


def headers(secrets_: Iterable[str], message_id: str, timestamp: dt.datetime, body: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.replace(tzinfo=dt.UTC).timestamp())),
        "webhook-signature": signature(secrets_, message_id, timestamp, body),
    }


def retry_delay(attempts: int) -> int | None:
    """Seconds until the next attempt after ``attempts`` failed ones; None: give up."""
    return RETRY_DELAYS[attempts - 1] if 0 < attempts <= len(RETRY_DELAYS) else None


# ---------------------------------------------------------------- request forgery
def _refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or any(address in network for network in METADATA)
    )


def destination(
    url: str,
    allow_private: bool,
    resolve: Callable = socket.getaddrinfo,
) -> tuple[str, str, int, list[str]]:
    """Check a webhook URL: (scheme, host, port, the addresses it resolves to).

    ``https`` only, and only to global addresses, unless ``allow_private``
    (``rest_api.webhook_allow_private``): then ``http`` and loopback, private,
    link-local and metadata addresses too. Every address the name resolves to
    must pass. 400 otherwise.
    """
    try:
        parts = urlsplit(url.strip()) if isinstance(url, str) else None
        port = parts.port if parts else None
    except ValueError:
        parts = None
    if not parts or parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise BadRequest("The webhook URL must be an http(s) URL with a host.")
    if parts.username or parts.password:
        raise BadRequest("The webhook URL may not carry credentials.")
    if parts.scheme == "http" and not allow_private:
        raise BadRequest("The webhook URL must use https (http only with rest_api.webhook_allow_private).")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        found = resolve(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise BadRequest(f"The webhook host {parts.hostname[:100]!r} does not resolve.") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not addresses:
        raise BadRequest(f"The webhook host {parts.hostname[:100]!r} does not resolve.")
    if not allow_private:
        for text in addresses:
            if _refused_address(ipaddress.ip_address(text.split("%")[0])):
                raise BadRequest(
                    "The webhook URL resolves to a loopback, private, link-local or metadata address "
                    "(allowed only with rest_api.webhook_allow_private)."
                )
    return parts.scheme, parts.hostname, port, addresses
