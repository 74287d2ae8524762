"""lib/cursors.py: keyset terms and conditions (checked against PostgreSQL's ordering
rules, NULLs included, in plain Python), and signed cursors."""

import base64
import functools
import itertools
import random
import string

import pytest

from lib import cursors
from lib.errors import BadRequest

KEY = cursors.derive_key("s" * 86)
CALLER = cursors.caller_mark(KEY, 3, 7)
QUERY = ([["is_company", "=", True]], ["name", "email"], "name desc", {"lang": "fr_FR"})


def cursor(values=("Azure Interior", "14"), backward=False, query=QUERY, model="res.partner"):
    return cursors.Cursor(model, query, tuple(values), backward)


# ---------------------------------------------------------------- terms
def test_order_terms_close_with_id_and_follow_postgresql_nulls():
    Term = cursors.Term
    assert cursors.order_terms("complete_name ASC, id DESC") == (
        Term("complete_name"),
        Term("id", desc=True, nulls_first=True, nullable=False),
    )
    assert cursors.order_terms("date desc, name asc nulls first") == (
        Term("date", desc=True, nulls_first=True),
        Term("name", nulls_first=True),
        Term("id", nullable=False),
    )
    assert cursors.order_terms('"sequence" desc nulls last, id, name') == (
        Term("sequence", desc=True, nulls_first=False),
        Term("id", nullable=False),
    )


@pytest.mark.parametrize("order", ["partner_id.name", "date:month", "name sideways", "", "name,,id", "1name"])
def test_orders_of_paths_functions_or_garbage_have_no_terms(order):
    assert cursors.order_terms(order) is None


def test_order_text_and_its_exact_reverse():
    terms = cursors.order_terms("name, date desc, qty asc nulls first")
    assert cursors.order_text(terms) == "name asc, date desc, qty asc nulls first, id asc"
    assert cursors.order_text(terms, reverse=True) == "name desc, date asc, qty desc nulls last, id desc"
    assert cursors.order_terms(cursors.order_text(terms, reverse=True)) == tuple(t.reversed() for t in terms)


# ---------------------------------------------------------------- keyset conditions, as PostgreSQL reads them
def _value(tree, row):
    """A condition's value on a row in SQL's three-valued logic (None: unknown)."""
    kind = tree[0]
    if kind == "null":
        return row[tree[1]] is None
    if kind == "notnull":
        return row[tree[1]] is not None
    if kind == "cmp":
        _kind, index, operator, value = tree
        if row[index] is None:
            return None
        left = row[index]
        return {
            "<": left < value,
            ">": left > value,
            "<=": left <= value,
            ">=": left >= value,
            "=": left == value,
        }[operator]
    parts = [_value(part, row) for part in tree[1:]]
    if kind == "and":
        return False if False in parts else (None if None in parts else True)
    return True if True in parts else (None if None in parts else False)


def _postgresql_order(terms):
    """A sort key: NULLs first or last as each term says, then the direction."""

    def compare(left, right):
        for index, term in enumerate(terms):
            a, b = left[index], right[index]
            if a == b:
                continue
            if a is None or b is None:
                return -1 if (a is None) == term.nulls_first else 1
            return (-1 if a < b else 1) * (-1 if term.desc else 1)
        return 0

    return functools.cmp_to_key(compare)


def _rows_after(terms, rows, anchor):
    """The rows the segments select, each segment's rows in order, as a page reads them."""
    found = []
    for segment in cursors.segments(terms, anchor):
        found += sorted((row for row in rows if _value(segment, row) is True), key=_postgresql_order(terms))
    return found


def _orders():
    for desc1, nulls1, desc2, nulls2 in itertools.product((False, True), repeat=4):
        yield (
            cursors.Term("a", desc1, nulls1),
            cursors.Term("b", desc2, nulls2),
            cursors.Term("id", desc2, desc2, nullable=False),
        )


@pytest.mark.parametrize("terms", list(_orders()), ids=lambda terms: cursors.order_text(terms))
def test_segments_give_every_row_after_the_anchor_once_in_order_nulls_and_duplicates_included(terms):
    draw = random.Random(cursors.order_text(terms))
    rows = [
        (draw.choice([None, 1, 2, 2, 3]), draw.choice([None, "x", "y", "y"]), row_id)
        for row_id in range(1, 120)
    ]
    ordered = sorted(rows, key=_postgresql_order(terms))
    backward = tuple(term.reversed() for term in terms)
    for place, anchor in enumerate(ordered):
        assert _rows_after(terms, rows, anchor) == ordered[place + 1 :]
        assert _rows_after(backward, rows, anchor) == ordered[:place][::-1]


def test_a_non_null_boolean_like_column_needs_no_null_segment():
    terms = (cursors.Term("flag", nullable=False), cursors.Term("id", nullable=False))
    assert len(cursors.segments(terms, (True, 4))) == 1
    assert len(cursors.segments(cursors.order_terms("name"), ("x", 4))) == 2  # then the NULL names


def test_the_first_segment_starts_with_a_range_an_index_can_serve():
    terms = cursors.order_terms("complete_name asc, id desc")
    first = cursors.segments(terms, ("Azure", 14))[0]
    assert first[:2] == ("and", ("cmp", 0, ">=", "Azure"))
    assert cursors.segments(cursors.order_terms("id desc"), (14,)) == [("cmp", 0, "<", 14)]
    after_null = cursors.segments(terms, (None, 14))
    assert after_null == [("and", ("null", 0), ("cmp", 1, "<", 14))]  # only NULL names follow a NULL name


# ---------------------------------------------------------------- signed cursors
def test_a_cursor_round_trips_and_stays_short_and_url_safe():
    for backward in (False, True):
        text = cursors.encode(KEY, cursor(backward=backward), CALLER)
        assert set(text) <= set(string.ascii_letters + string.digits + "-_")
        assert cursors.decode(KEY, text, CALLER, "res.partner") == cursor(backward=backward)
    plain = cursors.encode(KEY, cursor(query=([], None, None, None)), CALLER)
    assert len(plain) < 120, plain


def test_a_long_search_is_compressed():
    domain = [["name", "in", [f"Partner {i}" for i in range(200)]]]
    text = cursors.encode(KEY, cursor(query=(domain, None, None, None)), CALLER)
    assert len(text) < len(str(domain)) / 2
    assert cursors.decode(KEY, text, CALLER, "res.partner").query[0] == domain


def test_every_altered_cursor_is_refused():
    text = cursors.encode(KEY, cursor(), CALLER)
    alphabet = string.ascii_letters + string.digits + "-_"
    altered = [text[:i] + alphabet[(alphabet.index(c) + 1) % 64] + text[i + 1 :] for i, c in enumerate(text)]
    altered += [
        text[:-4],
        text + "A",
        text[:10] + text[11:],
        "",
        "A" * 40,
        text + "=",
        " " + text,
        "x" * 9000,
    ]
    for bad in altered:
        with pytest.raises(BadRequest) as found:
            cursors.decode(KEY, bad, CALLER, "res.partner")
        assert found.value.detail == cursors.INVALID
        assert not bad or bad not in found.value.detail
    with pytest.raises(BadRequest):
        cursors.decode(KEY, None, CALLER, "res.partner")


def test_a_cursor_whose_unused_last_bits_differ_is_refused():
    """Base64 decoders ignore the bits the last character has beyond the data: another
    spelling of the same bytes is not what the server wrote."""
    alphabet = string.ascii_letters.upper()[:26] + string.ascii_lowercase + string.digits + "-_"
    for width in range(1, 12):
        text = cursors.encode(KEY, cursor(values=("x" * width, "1")), CALLER)
        if len(text) % 4:  # the last character carries unused bits
            other = text[:-1] + alphabet[alphabet.index(text[-1]) ^ 1]
            assert base64.urlsafe_b64decode(other + "=" * (-len(other) % 4)) == base64.urlsafe_b64decode(
                text + "=" * (-len(text) % 4)
            )
            with pytest.raises(BadRequest, match="not one this server gave"):
                cursors.decode(KEY, other, CALLER, "res.partner")
            return
    raise AssertionError("no cursor length with unused bits")


def test_a_cursor_of_another_database_caller_or_model_is_refused():
    text = cursors.encode(KEY, cursor(), CALLER)
    with pytest.raises(BadRequest, match="not one this server gave"):
        cursors.decode(cursors.derive_key("t" * 86), text, CALLER, "res.partner")
    for key_id, user_id in ((3, 8), (4, 7)):
        with pytest.raises(BadRequest, match="another API key or user"):
            cursors.decode(KEY, text, cursors.caller_mark(KEY, key_id, user_id), "res.partner")
    with pytest.raises(BadRequest, match="another model"):
        cursors.decode(KEY, text, CALLER, "res.users")


def test_an_oauth_tokens_cursor_is_its_grant_and_scopes_only():
    narrow = cursors.caller_mark(KEY, 3, 7, "5:res.partner:read")
    text = cursors.encode(KEY, cursor(), narrow)
    assert cursors.decode(KEY, text, narrow, "res.partner").model == "res.partner"
    assert cursors.caller_mark(KEY, 3, 7, "") == CALLER  # the marks of key-only calls are unchanged
    for owner in ("", "5:res.partner:read,write", "6:res.partner:read"):
        with pytest.raises(BadRequest, match="another API key or user"):
            cursors.decode(KEY, text, cursors.caller_mark(KEY, 3, 7, owner), "res.partner")


def test_the_signing_key_is_derived_not_the_secret_itself():
    secret = "s" * 86
    assert cursors.derive_key(secret) == KEY and secret.encode() not in KEY
    assert cursors.derive_key(secret + "x") != KEY
    assert cursors.caller_mark(KEY, 3, 7) != cursors.caller_mark(cursors.derive_key("u" * 86), 3, 7)
