"""The league Lua scripts called directly: cohorts filled in arrival order, never over
the size, scores written upwards with the boards' tie rule, nothing once the close has
begun, a cohort read back."""

from __future__ import annotations

from engine.scripts import Scripts
from tests.script_state import expires_in, state, written

M = 1 << 24
TOP = M - 1  # the first arrival at a total: total * M + TOP
MEMBERS, ROSTERS, SCORES = "qb:{lg:t}:members", "qb:{lg:t}:rosters", "qb:{lg:t}:scores"
KEYS = [MEMBERS, ROSTERS, SCORES]
NOW_S = 1_795_600_000


def join(redis, *players, size=2, expire_at=NOW_S + 600):
    args = [size, M, expire_at, NOW_S, *(f"{p}|{t}" for p, t in players)]
    return Scripts(redis).join_league(keys=KEYS, args=args)


def test_new_players_fill_the_last_cohort_then_open_the_next(any_redis):
    before = state(any_redis)
    assert join(any_redis, ("a", 10), ("b", 30), ("c", 20)) == [1, 2, 1, 1, 2, 1]
    assert written(before, state(any_redis)) == {
        MEMBERS: {"a": "1", "b": "1", "c": "2"},
        ROSTERS: {
            "1": "a b",
            "scores:1": f"{10 * M + TOP} {30 * M + TOP}",
            "2": "c",
            "scores:2": f"{20 * M + TOP}",
            "last": "2|1",
        },
        SCORES: [("a", 10 * M + TOP), ("c", 20 * M + TOP), ("b", 30 * M + TOP)],
    }
    assert any_redis.ttl(MEMBERS) == 600 and any_redis.ttl(SCORES) == 600
    assert join(any_redis, ("d", 5)) == [2, 1]  # the last cohort had room
    assert any_redis.hget(ROSTERS, "last") == b"2|2"


def test_the_first_member_of_a_tier_is_answered_as_opening_it(any_redis):
    assert join(any_redis, ("a", 10)) == [1, 2]  # the tier's keys are created
    assert join(any_redis, ("b", 10), ("c", 10)) == [1, 1, 2, 1]  # a second cohort: 1
    any_redis.delete(ROSTERS)  # lost: the next member opens the tier again
    assert join(any_redis, ("d", 10)) == [1, 2]


def test_each_key_gets_its_expiry_in_the_call_that_creates_it_alone(any_redis):
    join(any_redis, ("a", 10), ("b", 10))
    # later calls with another expiry: a join, a raise, a join that opens cohort 2
    join(any_redis, ("a", 20), ("c", 5), expire_at=NOW_S + 9000)
    for key in KEYS:
        assert expires_in(any_redis, key) == 600  # kept from creation, not set again


def test_a_key_lost_alone_gets_its_expiry_when_a_call_creates_it_again(any_redis):
    join(any_redis, ("a", 10), ("b", 10))
    for key in KEYS:
        any_redis.delete(key)
        join(any_redis, ("a", 20), ("c", 5), expire_at=NOW_S + 900)
        assert expires_in(any_redis, key) == 900, key
        any_redis.delete(*KEYS)
        join(any_redis, ("a", 10), ("b", 10))


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


def copies_of(redis):
    """cohort number -> its copy of its composites, as ints."""
    rosters = redis.hgetall(ROSTERS)
    return {
        field.decode().removeprefix("scores:"): [int(v) for v in value.split()]
        for field, value in rosters.items()
        if field.startswith(b"scores:")
    }


def from_the_sorted_set(redis):
    """cohort number -> its members' composites in the tier's sorted set, roster order."""
    rosters = redis.hgetall(ROSTERS)
    return {
        field.decode(): [int(redis.zscore(SCORES, p)) for p in value.split()]
        for field, value in rosters.items()
        if field.isdigit()
    }


def test_each_cohort_keeps_a_copy_of_its_composites_equal_to_the_sorted_set(any_redis):
    join(any_redis, ("a", 10), ("b", 30), ("c", 20), size=3)
    join(any_redis, ("d", 20), ("b", 50), size=3)  # d ties c, later; b rises; d opens 2
    join(any_redis, ("a", 5), ("c", 60), ("e", 1), size=3)  # a's lower total: no write
    assert copies_of(any_redis) == from_the_sorted_set(any_redis)
    assert copies_of(any_redis) == {
        "1": [10 * M + TOP, 50 * M + TOP, 60 * M + TOP],
        "2": [20 * M + TOP - 1, 1 * M + TOP],
    }
    join(any_redis, ("a", 70), ("e", 2), size=3)  # the first of one, the last of another
    assert copies_of(any_redis) == from_the_sorted_set(any_redis)
    assert copies_of(any_redis) == {
        "1": [70 * M + TOP, 50 * M + TOP, 60 * M + TOP],
        "2": [20 * M + TOP - 1, 2 * M + TOP],
    }


def test_a_cohort_placed_before_the_copy_existed_reads_from_the_sorted_set(any_redis):
    join(any_redis, ("a", 10), ("b", 30), ("c", 20), size=3)
    any_redis.hdel(ROSTERS, "scores:1")  # a period that began before this layout
    read = Scripts(any_redis).read_cohort
    expected = [10 * M + TOP, 30 * M + TOP, 20 * M + TOP]
    for reply in (read(keys=KEYS, args=["cohort", 1]), read(keys=KEYS, args=["player", "b"])):
        assert reply[:2] == [1, b"a"] and reply[3::2] == [b"b", b"c"]
        assert [int(float(v)) for v in reply[2::2]] == expected
    reply = read(keys=KEYS, args=["cohorts", 1])
    assert reply[:3] == [1, 3, b"a"] and [int(float(v)) for v in reply[3::2]] == expected
    join(any_redis, ("d", 40), size=4)  # the next write into it rebuilds the copy
    assert copies_of(any_redis) == from_the_sorted_set(any_redis)
    any_redis.hset(ROSTERS, "scores:1", "1 2")  # out of step with its roster: not used
    reply = read(keys=KEYS, args=["cohort", 1])
    assert [int(float(v)) for v in reply[2::2]] == from_the_sorted_set(any_redis)["1"]


def test_a_member_rising_in_a_cohort_without_a_copy_rebuilds_it(any_redis):
    join(any_redis, ("a", 10), ("b", 30), size=3)
    any_redis.hdel(ROSTERS, "scores:1")  # placed before the copy existed
    join(any_redis, ("a", 40), size=3)
    assert copies_of(any_redis) == {"1": [40 * M + TOP, 30 * M + TOP]}
    assert copies_of(any_redis) == from_the_sorted_set(any_redis)


def test_a_member_missing_from_their_roster_gets_a_score_and_no_copy(any_redis):
    any_redis.hset(MEMBERS, "a", "1")  # not in cohort 1's roster
    any_redis.hset(ROSTERS, mapping={"1": "b", "last": "1|1"})
    assert join(any_redis, ("a", 10)) == [1, 0]
    assert any_redis.zscore(SCORES, "a") == 10 * M + TOP
    assert any_redis.hget(ROSTERS, "scores:1") is None


def test_a_join_once_the_close_has_begun_writes_nothing(any_redis):
    join(any_redis, ("a", 10), ("b", 30))
    any_redis.hset(ROSTERS, "closing", 1)  # engine.leagues.close.CLOSING
    before = state(any_redis)
    # a new player, a higher total, a player placed before: answered, nothing written
    assert join(any_redis, ("c", 50), ("a", 40), ("b", 1)) == [0, 0, 1, 0, 1, 0]
    assert written(before, state(any_redis)) == {}


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
