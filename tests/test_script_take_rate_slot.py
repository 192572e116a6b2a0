"""lua/take_rate_slot.lua called directly: a moving window that counts changes, if they fit."""

from __future__ import annotations

from engine import keys
from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.script_state import state, written

NOW = 1_795_600_000_000
WINDOW_MS = 60_000
WINDOW = keys.address_rate_window("purchases", "203.0.113.7")


def take(redis, member: str, now: int = NOW, count: int = 2):
    return Scripts(redis).take_rate_slot(keys=[WINDOW], args=[now, count, WINDOW_MS, member])


def test_a_change_that_fits_is_counted_in_the_window(any_redis):
    assert take(any_redis, "a") == [ScriptCode.APPLIED]
    assert state(any_redis) == {WINDOW: [("a", NOW)]}
    assert 59_000 < any_redis.pttl(WINDOW) <= WINDOW_MS


def test_a_full_window_refuses_with_the_wait_until_its_oldest_change_leaves(any_redis):
    take(any_redis, "a", now=NOW - 20_000)
    take(any_redis, "b", now=NOW - 5_000)
    before = state(any_redis)
    assert take(any_redis, "c") == [ScriptCode.RATE_LIMITED, 40_000]
    assert written(before, state(any_redis)) == {}


def test_changes_that_left_the_window_are_dropped_and_make_room(any_redis):
    take(any_redis, "a", now=NOW - WINDOW_MS)  # leaves the window exactly now
    take(any_redis, "b", now=NOW - 1_000)
    assert take(any_redis, "c") == [ScriptCode.APPLIED]
    assert state(any_redis) == {WINDOW: [("b", NOW - 1_000), ("c", NOW)]}


def test_a_member_holding_a_place_is_answered_replayed_and_counted_once(any_redis):
    take(any_redis, "order-1", now=NOW - 5_000)
    take(any_redis, "b", now=NOW - 1_000)
    before = state(any_redis)
    assert take(any_redis, "order-1") == [ScriptCode.REPLAYED]  # a full window too
    assert take(any_redis, "order-1", count=3) == [ScriptCode.REPLAYED]
    assert written(before, state(any_redis)) == {}


def test_a_member_whose_place_left_the_window_takes_a_new_one(any_redis):
    take(any_redis, "order-1", now=NOW - WINDOW_MS)
    assert take(any_redis, "order-1") == [ScriptCode.APPLIED]
    assert state(any_redis) == {WINDOW: [("order-1", NOW)]}
