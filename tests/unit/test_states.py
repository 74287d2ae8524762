import pytest

from lib import states

A, B, C = ("a", "=", 1), ("b", "=", 2), ("c", "=", 3)
DOMAINS = {"one": [A], "two": [B, C], "three": ["|", A, C, B]}


@pytest.mark.parametrize(
    "operator,value,expected",
    [
        ("=", "one", [A]),
        ("=", "two", ["&", B, C]),
        ("=", "three", ["&", "|", A, C, B]),
        ("in", ["two", "one"], ["|", A, "&", B, C]),
        ("!=", "three", ["|", A, "&", B, C]),
        ("not in", ["one", "two", "three"], [(0, "=", 1)]),
        ("=", "unknown", [(0, "=", 1)]),
        ("in", [], [(0, "=", 1)]),
    ],
)
def test_state_domain(operator, value, expected):
    assert states.state_domain(operator, value, DOMAINS) == expected


@pytest.mark.parametrize("operator", ["like", "<", "ilike", "=?"])
def test_other_operators_are_refused(operator):
    with pytest.raises(ValueError):
        states.state_domain(operator, "one", DOMAINS)
