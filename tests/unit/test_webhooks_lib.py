"""lib/webhooks.py: secrets, Standard Webhooks signatures, events, retries, and the guard against request forgery."""

import base64
import datetime as dt
import json
import socket

import pytest
from standardwebhooks.webhooks import Webhook

from lib import errors, webhooks


def resolving(*addresses):
    def resolve(host, port, type=None):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, type, 6, "", (a, port)) for a in addresses]

    return resolve


def test_a_secret_is_whsec_and_32_random_bytes():
    secret = webhooks.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert webhooks.new_secret() != secret


def test_headers_verify_with_the_reference_implementation():
    secret, old = webhooks.new_secret(), webhooks.new_secret()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    body = json.dumps(webhooks.payload("res.partner", "create", 7, {"id": 7, "name": "ACME"}, now))
    headers = webhooks.headers([secret, old], webhooks.new_message_id(), now, body)
    assert Webhook(secret).verify(body, headers)["data"] == {"model": "res.partner", "id": 7,
                                                             "record": {"id": 7, "name": "ACME"}}  # fmt: skip
    assert Webhook(old).verify(body, headers)  # during a rotation, both sign
    with pytest.raises(Exception):  # noqa: B017 - the library's own error
        Webhook(webhooks.new_secret()).verify(body, headers)
    assert headers["webhook-signature"].count("v1,") == 2


def test_events_and_types():
    assert webhooks.parse_events(["unlink", "create"]) == ["create", "unlink"]
    assert webhooks.parse_events("write, create") == ["create", "write"]
    for bad in ([], "", ["read"], [1], None):
        with pytest.raises(errors.BadRequest):
            webhooks.parse_events(bad)
    assert [webhooks.event_type("a.b", e) for e in webhooks.EVENTS] == [
        "a.b.created",
        "a.b.updated",
        "a.b.deleted",
    ]
    when = dt.datetime(2026, 11, 30, 12, 0, 0)
    assert "record" not in webhooks.payload("a.b", "unlink", 3, None, when)["data"]


def test_retries_start_within_a_minute_and_last_more_than_a_day():
    assert webhooks.retry_delay(1) <= 60
    assert sum(webhooks.RETRY_DELAYS) > 24 * 3600
    assert webhooks.retry_delay(len(webhooks.RETRY_DELAYS) + 1) is None


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1",
     "fe80::1", "fd00:ec2::254", "::ffff:127.0.0.1", "224.0.0.1"],
)  # fmt: skip
def test_private_destinations_are_refused_without_the_setting(address):
    with pytest.raises(errors.BadRequest):
        webhooks.destination("https://hooks.example/x", False, resolving(address))
    assert webhooks.destination("https://hooks.example/x", True, resolving(address))[3] == [address]


def test_every_address_of_a_name_must_pass():
    with pytest.raises(errors.BadRequest):
        webhooks.destination("https://hooks.example/x", False, resolving("93.184.216.34", "10.0.0.1"))
    assert webhooks.destination("https://hooks.example:8443/x", False, resolving("93.184.216.34")) == (
        "https", "hooks.example", 8443, ["93.184.216.34"]
    )  # fmt: skip


@pytest.mark.parametrize("url", ["ftp://h/x", "https:///x", "not a url", "https://user:pw@h/x", "http://h/x"])
def test_malformed_or_plain_http_urls_are_refused(url):
    with pytest.raises(errors.BadRequest):
        webhooks.destination(url, False, resolving("93.184.216.34"))
    assert webhooks.destination("http://h/x", True, resolving("93.184.216.34"))[0] == "http"


def test_a_name_that_does_not_resolve_is_refused():
    def fail(*_args, **_kw):
        raise socket.gaierror("no such name")

    with pytest.raises(errors.BadRequest):
        webhooks.destination("https://nowhere.invalid/x", True, fail)
