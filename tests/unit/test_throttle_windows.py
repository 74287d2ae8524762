"""Placing a call's number in its key's window (lib.throttle.place), alone
and in a simulation of many processes whose statements interleave."""

import random
from collections import Counter

import pytest

from lib import throttle


def test_a_number_after_the_base_ranks_in_the_current_window():
    assert throttle.place(13, (600, 10, 540, 2), 600, limit=5) == (600, 3)


def test_no_window_or_an_older_one_must_be_opened_first():
    assert throttle.place(13, (None, None, None, None), 600, limit=5) is None
    assert throttle.place(13, (540, 10, 480, 2), 600, limit=5) is None


def test_a_number_drawn_before_the_window_opened_belongs_to_the_previous_one():
    assert throttle.place(9, (600, 10, 540, 2), 600, limit=5) == (540, 7)


def test_a_window_opened_by_a_later_clock_takes_the_call():
    assert throttle.place(11, (660, 10, 600, 2), 600, limit=5) == (660, 1)


def test_a_number_older_than_both_windows_ranks_past_the_limit():
    start, rank = throttle.place(2, (600, 10, 540, 2), 600, limit=5)
    assert start == 600 and not throttle.decide(rank, 5, 60, 600.0, start).allowed


class Store:
    """What PostgreSQL keeps for one key: its sequence and the committed
    versions of its windows row (THROTTLE_SQL and THROTTLE_OPEN_SQL)."""

    def __init__(self):
        self.last_number = 0
        self.versions = [(None, None, None, None)]  # (window_start, base, prev_start, prev_base)

    def draw(self):
        self.last_number += 1
        return self.last_number

    def open(self, window, number):
        row = self.versions[-1]
        if row[0] is None:
            row = (window, number - 1, 0, 0)
        elif row[0] < window:
            row = (window, number - 1, row[0], row[1])
        self.versions.append(row)
        return row


def simulate(seed, calls=300, limit=4, period=10):
    """Calls of several processes, each in steps that other calls' steps may
    come between: snapshot, draw number + read clock, place, open a window.
    Returns {window: [ranks of the calls let through]} and the calls' windows."""
    rng = random.Random(seed)
    store, clock = Store(), 1000.0  # window 0 stands for "before the first window"
    running, passed, placed_in = [], {}, Counter()
    started = 0
    while started < calls or running:
        if started < calls and (not running or rng.random() < 0.4):
            running.append({"step": "snapshot"})
            started += 1
        call = rng.choice(running)
        clock += rng.choice([0.0, 0.1, 0.5, 2.0, 7.0])  # the clock only moves forward
        if call["step"] == "snapshot":  # the statement's snapshot, taken when it starts
            call.update(step="draw", row=store.versions[-1])
        elif call["step"] == "draw":  # nextval, then the clock (see THROTTLE_SQL)
            call.update(step="place", number=store.draw(), window=throttle.window_start(clock, period))
        elif call["step"] == "place":
            spot = throttle.place(call["number"], call["row"], call["window"], limit)
            if spot is None:
                call.update(step="open")
                continue
            running.remove(call)
            placed_in[spot[0]] += 1
            if throttle.decide(spot[1], limit, period, clock, spot[0]).allowed:
                passed.setdefault(spot[0], []).append(spot[1])
        else:  # the opening statement: atomic, on the row as it now is
            call.update(step="place", row=store.open(call["window"], call["number"]))
    return passed, placed_in


@pytest.mark.parametrize("seed", range(200))
def test_no_window_ever_lets_more_than_the_limit_through(seed):
    passed, _placed_in = simulate(seed)
    for ranks in passed.values():
        assert len(ranks) == len(set(ranks)) <= 4
        assert all(1 <= rank <= 4 for rank in ranks)


def test_one_caller_at_a_time_gets_exactly_the_limit_in_every_window():
    store, limit, period = Store(), 3, 60
    passed = Counter()
    for clock in [0.5 * i for i in range(600)]:  # 5 windows, 120 calls each
        number, window = store.draw(), throttle.window_start(clock, period)
        spot = throttle.place(number, store.versions[-1], window, limit)
        if spot is None:
            spot = throttle.place(number, store.open(window, number), window, limit)
        if throttle.decide(spot[1], limit, period, clock, spot[0]).allowed:
            passed[spot[0]] += 1
    assert passed == {0: 3, 60: 3, 120: 3, 180: 3, 240: 3}
