"""Unit tests of lib/limits.py: an owner may only tighten what an admin set on a key."""

import sys
from datetime import datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lib import limits  # noqa: E402

KEY = {
    "rate_limit": 10,
    "rate_limit_period": 60,
    "allowed_ips": "10.0.0.0/8, 192.168.1.7",
    "expiration_date": datetime(2030, 1, 1),
    "require_user_token": True,
    "all_models": False,
    "active": True,
}


@pytest.mark.parametrize(
    "change",
    [
        {"rate_limit": 0},
        {"rate_limit": 11},
        {"rate_limit_period": 59},
        {"rate_limit": 20, "rate_limit_period": 120},
        {"allowed_ips": ""},
        {"allowed_ips": False},
        {"allowed_ips": "11.0.0.1"},
        {"allowed_ips": "10.0.0.0/7"},
        {"allowed_ips": "192.168.1.0/24"},
        {"expiration_date": False},
        {"expiration_date": datetime(2030, 1, 2)},
        {"require_user_token": False},
        {"all_models": True},
    ],
)
def test_loosening_changes_are_named(change):
    assert limits.loosened(KEY, change) == [next(iter(change)).replace("_period", "")]


@pytest.mark.parametrize(
    "change",
    [
        {"rate_limit": 10},
        {"rate_limit": 1},
        {"rate_limit_period": 3600},
        {"rate_limit": 5, "rate_limit_period": 120},
        {"allowed_ips": "10.1.0.0/16"},
        {"allowed_ips": "10.1.2.3 192.168.1.7/32"},
        {"expiration_date": datetime(2029, 1, 1)},
        {"require_user_token": True},
        {"all_models": False},
        {"active": False},
        {"name": "anything else", "log_requests": False},
    ],
)
def test_tightening_changes_pass(change):
    assert limits.loosened(KEY, change) == []


def test_from_no_limit_anything_is_tighter_and_reviving_a_key_is_not():
    free = {"rate_limit": 0, "rate_limit_period": 60, "allowed_ips": "", "expiration_date": False,
            "require_user_token": False, "all_models": True, "active": False}  # fmt: skip
    assert limits.loosened(free, {"rate_limit": 100, "rate_limit_period": 1, "allowed_ips": "::1",
                                  "expiration_date": datetime(2099, 1, 1), "all_models": False}) == []  # fmt: skip
    assert limits.loosened(free, {"active": True}) == ["active"]
    assert limits.loosened(KEY, {"allowed_ips": "not an address"}) == []  # the model's constraint refuses it


def test_scope_lines_only_narrow():
    line = {"perm_read": True, "perm_write": False, "model_id": 3, "key_id": 9}
    assert limits.scope_loosened(line, {"perm_read": False}) == []
    assert limits.scope_loosened(line, {"perm_write": True}) == ["perm_write"]
    assert limits.scope_loosened(line, {"model_id": 4}) == ["model_id"]
    assert limits.scope_loosened(line, {"model_id": 3, "key_id": 9}) == []
