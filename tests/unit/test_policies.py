import datetime as dt
import json

import pytest

from lib import errors, ipnet, scopes, serialize, throttle


# ------------------------------------------------------------------ IP allow-lists
@pytest.mark.parametrize("text", ["10.0.0.0/8, 127.0.0.1", "10.0.0.0/8 127.0.0.1", "10.0.0.0/8,127.0.0.1/32"])
def test_networks_accept_commas_and_spaces(text):
    networks = ipnet.parse_networks(text)
    assert ipnet.address_allowed("127.0.0.1", networks) and ipnet.address_allowed("10.9.8.7", networks)
    assert not ipnet.address_allowed("127.0.0.2", networks)


def test_empty_list_allows_everyone_and_bad_entries_raise():
    assert ipnet.address_allowed("203.0.113.9", ipnet.parse_networks(""))
    with pytest.raises(ValueError):
        ipnet.parse_networks("10.0.0.0/33")


def test_ipv6_and_mapped_ipv4():
    networks = ipnet.parse_networks("::1, 192.168.0.0/16")
    assert ipnet.address_allowed("::1", networks) and ipnet.address_allowed("::ffff:192.168.4.5", networks)
    assert not ipnet.address_allowed("not an address", networks)


# ------------------------------------------------------------------ throttle policy
def test_throttle_counts_down_then_refuses():
    start = throttle.window_start(1000.5, 60)
    verdicts = [throttle.decide(hits, 3, 60, 1000.5, start) for hits in (1, 2, 3, 4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    assert verdicts[-1].headers["RateLimit-Reset"] == "20" and verdicts[-1].retry_after == 20


def test_zero_means_no_limit_and_no_headers():
    verdict = throttle.decide(10_000, 0, 60, 5.0, 0)
    assert verdict.allowed and verdict.headers == {}


# ------------------------------------------------------------------ scopes
@pytest.mark.parametrize(
    "method,ops",
    [
        ("search_read", {"read"}),
        ("read_group", {"read"}),
        ("name_search", {"read"}),
        ("copy", {"create"}),
        ("write", {"write"}),
        ("action_archive", {"write"}),
        ("unlink", {"delete"}),
        ("web_save", {"create", "write"}),
        ("acc_ping", {"execute"}),
        ("message_post", {"execute"}),
    ],
)
def test_method_decides_the_operation(method, ops):
    assert scopes.operations_for_method(method) == ops


@pytest.mark.parametrize("method", ["_private", "__init__", "init", "sudo", "with_user", ""])
def test_private_methods(method):
    assert scopes.is_private_method(method)


def test_scope_check():
    scoped = {"acc.item": frozenset({"read"})}
    assert scopes.allows(scoped, "acc.item", frozenset({"read"}))
    assert not scopes.allows(scoped, "acc.item", frozenset({"write"}))
    assert not scopes.allows(scoped, "acc.tag", frozenset({"read"}))
    assert scopes.allows(None, "anything", frozenset({"delete"}))


# ------------------------------------------------------------------ serialisation, errors
def test_serialize_shapes():
    payload = {"when": dt.datetime(2024, 3, 4, 5, 6, 7, 89), "day": dt.date(2024, 2, 29), "blob": b"aGk="}
    assert json.loads(serialize.dumps(payload)) == {
        "when": "2024-03-04T05:06:07Z",
        "day": "2024-02-29",
        "blob": "aGk=",
    }


def test_serialize_refuses_unknown_types_unless_told():
    with pytest.raises(TypeError):
        serialize.dumps(object())
    assert serialize.dumps(object(), extra=lambda v: "x") == b'"x"'


def test_problem_body_repeats_status_and_request_id():
    error = errors.TooManyRequests(7)
    assert error.problem("rid") == {
        "type": "about:blank", "title": "Too Many Requests", "status": 429,
        "detail": "Rate limit exceeded; retry later.", "request_id": "rid",
    }  # fmt: skip
    assert error.headers["Retry-After"] == "7"
    assert "WWW-Authenticate" in errors.Unauthorized().headers


def test_service_unavailable_tells_when_to_retry():
    assert errors.ServiceUnavailable().headers["Retry-After"] == "5"
    assert errors.ServiceUnavailable(retry_after=30).status == 503
    assert errors.ServiceUnavailable(retry_after=30).headers["Retry-After"] == "30"
    assert errors.ServiceUnavailable(headers={"Retry-After": "2"}).headers["Retry-After"] == "2"
