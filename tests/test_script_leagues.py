"""The league Lua scripts called directly: cohorts filled in arrival order, never over
the size, scores written upwards with the boards' tie rule, a cohort read back."""

from __future__ import annotations

from engine.scripts import Scripts
from tests.script_state import state, written

M = 1 << 24
TOP = M - 1  # the first arrival at a total: total * M + TOP
MEMBERS, ROSTERS, SCORES = "qb:{lg:t}:members", "qb:{lg:t}:rosters", "qb:{lg:t}:scores"
KEYS = [MEMBERS, ROSTERS, SCORES]
NOW_S = 1_795_600_000


def join(redis, *players, size=2):
    args = [size, M, NOW_S + 600, NOW_S, *(f"{p}|{t}" for p, t in players)]
    return Scripts(redis).join_league(keys=KEYS, args=args)


def test_new_players_fill_the_last_cohort_then_open_the_next(any_redis):
    before = state(any_redis)
    assert join(any_redis, ("a", 10), ("b", 30), ("c", 20)) == [1, 1, 1, 1, 2, 1]
    assert written(before, state(any_redis)) == {
        MEMBERS: {"a": "1", "b": "1", "c": "2"},
        ROSTERS: {"1": "a b", "2": "c", "last": "2|1"},
        SCORES: [("a", 10 * M + TOP), ("c", 20 * M + TOP), ("b", 30 * M + TOP)],
    }
    assert any_redis.ttl(MEMBERS) == 600 and any_redis.ttl(SCORES) == 600
    assert join(any_redis, ("d", 5)) == [2, 1]  # the last cohort had room
    assert any_redis.hget(ROSTERS, "last") == b"2|2"


def test_a_member_keeps_their_cohort_and_their_score_only_rises(any_redis):
    join(any_redis, ("a", 10), ("b", 10))
    before = state(any_redis)
    assert join(any_redis, ("a", 5), ("b", 10)) == [1, 0, 1, 0]
    assert written(before, state(any_redis)) == {}  # nothing higher: nothing written
    assert join(any_redis, ("a", 40)) == [1, 0]
    assert any_redis.zscore(SCORES, "a") == 40 * M + TOP


def test_equal_totals_keep_arrival_order(any_redis):
    join(any_redis, ("a", 20), ("b", 10), size=5)
    join(any_redis, ("b", 20), size=5)  # b reaches 20 after a: just below a
    assert any_redis.zscore(SCORES, "a") == 20 * M + TOP
    assert any_redis.zscore(SCORES, "b") == 20 * M + TOP - 1


def test_read_cohort_by_player_or_number(any_redis):
    join(any_redis, ("a", 10), ("b", 30), ("c", 20))
    read = Scripts(any_redis).read_cohort
    assert read(keys=KEYS, args=["player", "c"]) == [2, b"c", str(20 * M + TOP).encode()]
    reply = read(keys=KEYS, args=["cohort", 1])
    assert reply[0] == 1 and reply[1::2] == [b"a", b"b"]
    assert [int(float(s)) for s in reply[2::2]] == [10 * M + TOP, 30 * M + TOP]
    before = state(any_redis)
    assert read(keys=KEYS, args=["player", "nobody"]) == []
    assert read(keys=KEYS, args=["cohort", 9]) == []
    assert written(before, state(any_redis)) == {}


def test_read_cohort_reads_many_cohorts_in_one_call(any_redis):
    join(any_redis, ("a", 10), ("b", 30), ("c", 20))
    read = Scripts(any_redis).read_cohort
    before = state(any_redis)
    reply = read(keys=KEYS, args=["cohorts", 3, 2, 1])  # cohort 3 does not exist
    assert [reply[0], reply[1], reply[2]] == [2, 1, b"c"]
    assert [reply[4], reply[5], reply[6], reply[8]] == [1, 2, b"a", b"b"]
    assert [int(float(s)) for s in (reply[3], reply[7], reply[9])] == [
        20 * M + TOP,
        10 * M + TOP,
        30 * M + TOP,
    ]
    assert len(reply) == 10
    assert read(keys=KEYS, args=["cohorts"]) == []
    assert read(keys=KEYS, args=["cohorts", 7]) == []
    assert written(before, state(any_redis)) == {}


def test_record_league_tiers_sets_each_records_next(any_redis):
    a, b = "qb:{p01}:league:a", "qb:{p01}:league:b"
    any_redis.hset(a, mapping={"period": "2026-W48", "tier": "silver"})
    before = state(any_redis)
    reply = Scripts(any_redis).record_league_tiers(keys=[a, b], args=["2026-W48", "gold", "bronze"])
    assert reply == 2
    assert written(before, state(any_redis)) == {
        a: {"period": "2026-W48", "tier": "silver", "next": "2026-W48|gold"},
        b: {"next": "2026-W48|bronze"},
    }
