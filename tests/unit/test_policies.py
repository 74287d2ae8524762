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


def test_exhausted_remembers_a_used_up_window_until_it_ends():
    seen = throttle.Exhausted()
    seen.note(("db", 1), throttle.decide(2, 3, 60, 10.0, 0), 50.0, now=100.0)
    assert (("db", 1), 100.0) not in seen  # one call left
    seen.note(("db", 1), throttle.decide(3, 3, 60, 10.0, 0), 50.0, now=100.0)  # the last one
    assert (("db", 1), 149.9) in seen and (("db", 2), 120.0) not in seen
    assert (("db", 1), 150.0) not in seen  # the next window starts afresh
    seen.note(("db", 1), throttle.decide(4, 3, 60, 10.0, 0), 50.0, now=100.0)
    assert (("db", 1), 120.0) in seen
    seen.note(("db", 1), throttle.decide(1, 3, 60, 70.0, 60), 50.0, now=160.0)  # allowed again
    assert (("db", 1), 161.0) not in seen and len(seen) == 0


def test_exhausted_ignores_unlimited_keys_and_stays_bounded():
    seen = throttle.Exhausted(max_keys=3)
    seen.note("free", throttle.decide(10, 0, 60, 0.0, 0), 60.0, now=0.0)
    assert ("free", 0.0) not in seen
    for key in range(3):  # key 0 expires at 1, the others later
        seen.note(key, throttle.decide(9, 3, 60, 0.0, 0), 1.0 + key * 10, now=0.0)
    seen.note("late", throttle.decide(9, 3, 60, 0.0, 0), 30.0, now=5.0)  # key 0 is over: room is made
    assert len(seen) == 3 and (0, 5.0) not in seen and (2, 5.0) in seen and ("late", 5.0) in seen
    seen.note("later", throttle.decide(9, 3, 60, 0.0, 0), 30.0, now=6.0)  # all running: the oldest goes
    assert len(seen) == 3 and (1, 6.0) not in seen and ("later", 6.0) in seen


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
