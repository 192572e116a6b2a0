"""remove_cohort_member.lua called directly: a player leaves their cohort's members,
roster and scores and is listed in the rosters' `removed` once; the last cohort's count
frees their place; a repeat writes nothing."""

from __future__ import annotations

from engine.scripts import Scripts
from tests.script_state import state, written

M = 1 << 24
TOP = M - 1
MEMBERS, ROSTERS, SCORES = "qb:{lg:t}:members", "qb:{lg:t}:rosters", "qb:{lg:t}:scores"
KEYS = [MEMBERS, ROSTERS, SCORES]
NOW_S = 1_795_600_000


def join(redis, *players, size=2):
    args = [size, M, NOW_S + 600, NOW_S, *(f"{p}|{t}" for p, t in players)]
    return Scripts(redis).join_league(keys=KEYS, args=args)


def remove(redis, player):
    return Scripts(redis).remove_cohort_member(keys=KEYS, args=[player])


def test_a_player_leaves_a_full_cohort_and_the_last_keeps_its_count(any_redis):
    join(any_redis, ("a", 10), ("b", 30), ("c", 20))  # cohort 1: a b; cohort 2: c
    before = state(any_redis)
    assert remove(any_redis, "b") == 1
    assert written(before, state(any_redis)) == {
        MEMBERS: {"a": "1", "c": "2"},
        ROSTERS: {
            "1": "a",
            "scores:1": f"{10 * M + TOP}",
            "2": "c",
            "scores:2": f"{20 * M + TOP}",
            "last": "2|1",
            "removed": "b",
        },
        SCORES: [("a", 10 * M + TOP), ("c", 20 * M + TOP)],
    }


def test_leaving_the_last_cohort_frees_a_place_for_the_next_player(any_redis):
    join(any_redis, ("a", 10), ("b", 30), ("c", 20), ("d", 5))  # two full cohorts
    assert remove(any_redis, "c") == 2
    assert any_redis.hget(ROSTERS, "last") == b"2|1"
    assert join(any_redis, ("e", 1)) == [2, 1]  # takes c's place, no third cohort
    assert any_redis.hget(ROSTERS, "2") == b"d e"
    assert any_redis.hget(ROSTERS, "last") == b"2|2"


def test_a_cohort_left_empty_loses_its_roster(any_redis):
    join(any_redis, ("a", 10), ("b", 30), ("c", 20))
    before = state(any_redis)
    assert remove(any_redis, "c") == 2
    assert written(before, state(any_redis)) == {
        MEMBERS: {"a": "1", "b": "1"},
        ROSTERS: {
            "1": "a b",
            "scores:1": f"{10 * M + TOP} {30 * M + TOP}",
            "last": "2|0",
            "removed": "c",
        },
        SCORES: [("a", 10 * M + TOP), ("b", 30 * M + TOP)],
    }
    assert Scripts(any_redis).read_cohort(keys=KEYS, args=["cohort", 2]) == []
    assert join(any_redis, ("d", 1)) == [2, 1]  # the empty last cohort is filled again


def test_a_removal_leaves_the_cohorts_copy_of_its_composites_equal_to_the_sorted_set(
    any_redis,
):
    join(any_redis, ("a", 10), ("b", 30), ("c", 20), ("d", 5), size=4)
    assert remove(any_redis, "b") == 1
    assert any_redis.hget(ROSTERS, "1") == b"a c d"
    copy = [int(v) for v in any_redis.hget(ROSTERS, "scores:1").split()]
    assert copy == [int(any_redis.zscore(SCORES, p)) for p in ("a", "c", "d")]
    assert copy == [10 * M + TOP, 20 * M + TOP, 5 * M + TOP]
    reply = Scripts(any_redis).read_cohort(keys=KEYS, args=["cohort", 1])
    assert reply[1::2] == [b"a", b"c", b"d"] and [int(float(v)) for v in reply[2::2]] == copy


def test_a_removal_from_a_cohort_without_a_copy_reads_from_the_sorted_set(any_redis):
    join(any_redis, ("a", 10), ("b", 30), ("c", 20), size=3)
    any_redis.hdel(ROSTERS, "scores:1")  # placed before the copy existed
    assert remove(any_redis, "a") == 1
    assert any_redis.hget(ROSTERS, "scores:1") is None
    reply = Scripts(any_redis).read_cohort(keys=KEYS, args=["cohort", 1])
    assert reply[1::2] == [b"b", b"c"]
    assert [int(float(v)) for v in reply[2::2]] == [30 * M + TOP, 20 * M + TOP]


def test_a_player_in_no_cohort_or_removed_twice_writes_nothing(any_redis):
    join(any_redis, ("a", 10), ("b", 30))
    remove(any_redis, "a")
    before = state(any_redis)
    assert remove(any_redis, "a") == 0
    assert remove(any_redis, "nobody") == 0
    assert written(before, state(any_redis)) == {}


def test_a_tier_without_a_last_count_keeps_none(any_redis):
    any_redis.hset(MEMBERS, "a", "1")
    any_redis.hset(ROSTERS, mapping={"1": "a b"})
    before = state(any_redis)
    assert remove(any_redis, "a") == 1
    assert written(before, state(any_redis)) == {
        MEMBERS: None,
        ROSTERS: {"1": "b", "removed": "a"},
    }


def test_the_players_removed_are_listed_once_each_for_the_close(any_redis):
    join(any_redis, ("a", 10), ("b", 30), ("c", 20))
    remove(any_redis, "a")
    join(any_redis, ("a", 5))  # back in the period: placed again
    before = state(any_redis)
    remove(any_redis, "a")
    remove(any_redis, "c")
    assert any_redis.hget(ROSTERS, "removed") == b"a c"
    assert written(before, state(any_redis))[ROSTERS]["removed"] == "a c"
