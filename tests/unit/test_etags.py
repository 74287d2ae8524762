import datetime as dt

import pytest

from lib import errors, etags

WHEN = dt.datetime(2026, 11, 30, 12, 0, 0, 123456)


def test_a_version_is_a_strong_tag_that_changes_with_every_write():
    first = etags.etag(7, WHEN)
    assert first.startswith('"') and first.endswith('"') and not first.startswith("W/")
    assert etags.etag(7, WHEN + dt.timedelta(microseconds=1)) != first
    assert etags.etag(8, WHEN) != first
    assert etags.etag(7, WHEN) == first


@pytest.mark.parametrize(
    "header,tags",
    [
        (None, None),
        ("*", ["*"]),
        (' "a" ', ['"a"']),
        ('"a", W/"b",  "c"', ['"a"', 'W/"b"', '"c"']),
    ],
)
def test_parse(header, tags):
    assert etags.parse(header) == tags


@pytest.mark.parametrize("header", ["", "a", '"a" "b"', '"a", b', "W/a", '"a', '*, "a"'])
def test_malformed_headers_are_400(header):
    with pytest.raises(errors.BadRequest):
        etags.parse(header)


def test_if_none_match_compares_weakly():
    current = etags.etag(1, WHEN)
    assert etags.none_match([current], current)
    assert etags.none_match(["W/" + current], current)
    assert etags.none_match(["*"], current)
    assert not etags.none_match(['"other"'], current)
    assert not etags.none_match(None, current)


def test_if_match_compares_strongly_and_star_needs_the_record():
    current = etags.etag(1, WHEN)
    assert etags.match(None, current) and etags.match([current], current) and etags.match(["*"], current)
    assert not etags.match(["W/" + current], current)
    assert not etags.match(['"other"'], current)
    assert not etags.match(["*"], None) and not etags.match([current], None)


def test_a_record_without_versions_matches_only_star():
    assert etags.match(["*"], "") and not etags.match(['"unversioned"'], "") and not etags.match(['""'], "")


def test_an_answer_tag_is_weak_and_follows_the_bytes():
    tag = etags.of_answer(b'{"id": 1, "child_ids": [{"id": 2, "name": "a"}]}')
    assert tag.startswith('W/"') and tag == etags.of_answer(
        b'{"id": 1, "child_ids": [{"id": 2, "name": "a"}]}'
    )
    assert etags.of_answer(b'{"id": 1, "child_ids": [{"id": 2, "name": "b"}]}') != tag
    # If-None-Match compares it weakly, sent back as it came or without W/; If-Match never matches it
    assert etags.none_match([tag], tag) and etags.none_match([tag[2:]], tag)
    assert not etags.none_match([etags.of_answer(b"{}")], tag)
    assert not etags.match([tag], etags.etag(1, WHEN))  # If-Match: against the record's version
