"""lib/changes.py: the change feed's snapshots and signed cursors (API.md section 13)."""

import pytest

from lib import changes, cursors
from lib.errors import BadRequest

KEY = changes.derive_key("database secret")
CALLER = changes.caller_mark(KEY, 3, 2)


def cursor(**values):
    found = {
        "model": "res.partner", "tracking": 4, "query": ([["ref", "=", "x"]], ["name"], 80),
        "base": changes.Snapshot.parse("100:120:105,110"), "at": 1_700_000_000.5,
    }  # fmt: skip
    found.update(values)
    return changes.SyncCursor(**found)


def test_snapshot_text_and_visibility():
    snapshot = changes.Snapshot.parse("100:120:110,105")
    assert snapshot.text == "100:120:105,110"
    assert [x for x in (99, 100, 105, 106, 110, 119, 120) if snapshot.visible(x)] == [99, 100, 106, 119]
    for bad in ("", "1:2", "5:3:", "1:9:12", "a:b:", "1:9:3,x"):
        with pytest.raises(ValueError):
            changes.Snapshot.parse(bad)


def test_a_cursor_round_trips():
    for found in (
        cursor(),
        cursor(scan=42),
        cursor(upto=changes.Snapshot.parse("130:140:"), upto_at=5.0, pos=(9, 3)),
    ):
        text = changes.encode(KEY, found, CALLER)
        assert changes.decode(KEY, text, CALLER, "res.partner") == found


def test_a_cursor_is_refused_when_altered_or_for_another_caller_model_or_kind():
    text = changes.encode(KEY, cursor(), CALLER)
    middle = len(text) // 2
    for bad in (
        text[:middle] + ("A" if text[middle] != "A" else "B") + text[middle + 1 :],
        text[:-3],
        text + "A",
        42,
    ):
        with pytest.raises(BadRequest):
            changes.decode(KEY, bad, CALLER, "res.partner")
    with pytest.raises(BadRequest, match="another API key"):
        changes.decode(KEY, text, changes.caller_mark(KEY, 4, 2), "res.partner")
    with pytest.raises(BadRequest, match="another model"):
        changes.decode(KEY, text, CALLER, "res.country")
    search_key = cursors.derive_key("database secret")
    with pytest.raises(BadRequest):  # a search cursor's key signs nothing here
        changes.decode(search_key, text, cursors.caller_mark(search_key, 3, 2), "res.partner")


def test_retention_counts_from_the_cursors_base():
    found = cursor(at=1000.0)
    assert not changes.expired(found, 1000.0 + 86400, 1)
    assert changes.expired(found, 1000.0 + 86400 + 1, 1)
    assert changes.expired(found, 1000.5, 0)


def test_write_groups_merge_by_fields():
    groups = [(("qty", "name"), [3, 1]), (("name", "qty"), [2]), (("note",), [1])]
    assert changes.merge_groups(groups) == [[["name", "qty"], [1, 2, 3]], [["note"], [1]]]


def test_a_snapshot_taken_inside_a_writing_transaction_keeps_it_in_progress():
    # PostgreSQL leaves the reading transaction's own id out of xip: 105 would read as committed
    snapshot = changes.Snapshot.parse("100:120:110")
    assert snapshot.visible(105)
    own = snapshot.running(105)
    assert own.text == "100:120:105,110" and not own.visible(105)
    assert snapshot.running(None) == snapshot == snapshot.running(120) == snapshot.running(110)


def test_a_cursor_too_long_to_come_back_is_never_given():
    import random

    rng = random.Random(7)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(30)) for _ in range(600)]
    domain = [["name", "not in", words]]
    with pytest.raises(BadRequest) as refused:
        changes.encode(KEY, cursor(query=(domain, ["name"], 80)), CALLER)
    assert "too long to page by cursor" in refused.value.detail
    assert len(changes.encode(KEY, cursor(query=(domain[:0], ["name"], 80)), CALLER)) < 200
