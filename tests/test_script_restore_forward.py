"""lua/restore_forward.lua called directly, on fakeredis and Redis: the rebuild's write
of a player's hash from SQL's copy, which never sets back a newer state Redis holds
(field by field for board stats, the whole hash by one field for a streak or a battle
pass), and only ever extends the hash's expiry."""

from __future__ import annotations

from engine import keys
from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.script_state import state, written

STATS = keys.board_stats("alice")
STREAK = keys.streak("alice")
PASS = keys.battle_pass("alice", "2026-autumn")


def restore(redis, key: str, ttl: int, by: str, **fields) -> list:
    pairs = [part for field in fields.items() for part in field]
    return Scripts(redis).restore_forward(keys=[key], args=[ttl, by, *pairs])


def test_a_hash_redis_lost_comes_back_whole_with_its_expiry(any_redis):
    before = state(any_redis)

    reply = restore(any_redis, STATS, 3600, "", **{"2026-W48:math": "30:1:10:5:205200"})

    assert reply == [ScriptCode.APPLIED, 1]
    assert written(before, state(any_redis)) == {STATS: {"2026-W48:math": "30:1:10:5:205200"}}
    assert 3590 <= any_redis.ttl(STATS) <= 3600


def test_board_stats_go_forward_field_by_field_by_score_then_exams(any_redis):
    any_redis.hset(
        STATS,
        mapping={
            "2026-W48:math": "55:2:20:10:291600",  # live, ahead of the copy
            "2026-W48:global": "30:1:10:5:205200",  # the copy has one more exam at 30
            "2026-11:math": "30:1:10:5:2106000",  # the copy's score is higher
        },
    )
    any_redis.expire(STATS, 7200)
    before = state(any_redis)

    reply = restore(
        any_redis,
        STATS,
        3600,
        "",
        **{
            "2026-W48:math": "30:1:10:5:205200",
            "2026-W48:global": "30:2:20:9:205300",
            "2026-11:math": "55:2:20:10:2192400",
            "2026-11:global": "55:2:20:10:2192400",  # missing in Redis
        },
    )

    assert reply == [ScriptCode.APPLIED, 3]
    assert written(before, state(any_redis)) == {
        STATS: {
            "2026-W48:math": "55:2:20:10:291600",
            "2026-W48:global": "30:2:20:9:205300",
            "2026-11:math": "55:2:20:10:2192400",
            "2026-11:global": "55:2:20:10:2192400",
        }
    }
    assert 7190 <= any_redis.ttl(STATS) <= 7200  # never shortened


def test_a_streak_redis_holds_on_a_later_or_the_same_day_is_kept_whole(any_redis):
    any_redis.hset(STREAK, mapping={"last_day": 739946, "streak": 1, "best": 9})
    before = state(any_redis)

    later = restore(any_redis, STREAK, 0, "last_day", last_day=739945, streak=9, best=9)
    same = restore(any_redis, STREAK, 0, "last_day", last_day=739946, streak=3, best=9)

    assert (later, same) == ([ScriptCode.APPLIED, 0], [ScriptCode.APPLIED, 0])
    assert written(before, state(any_redis)) == {}
    assert any_redis.ttl(STREAK) == -1


def test_a_streak_redis_holds_on_an_earlier_day_takes_the_copy(any_redis):
    any_redis.hset(STREAK, mapping={"last_day": 739944, "streak": 4, "best": 4, "lost": 2})
    before = state(any_redis)

    reply = restore(any_redis, STREAK, 0, "last_day", last_day=739946, streak=1, best=4)

    assert reply == [ScriptCode.APPLIED, 3]
    assert written(before, state(any_redis)) == {
        STREAK: {"last_day": "739946", "streak": "1", "best": "4", "lost": "2"}
    }
    assert any_redis.ttl(STREAK) == -1  # a hash that never expires keeps none


def test_a_battle_pass_is_judged_by_its_xp(any_redis):
    any_redis.hset(PASS, "xp", 190)  # its rewarded level still the default
    before = state(any_redis)

    behind = restore(any_redis, PASS, 0, "xp", xp=70, rewarded_level=1)
    assert behind == [ScriptCode.APPLIED, 0]
    assert written(before, state(any_redis)) == {}

    ahead = restore(any_redis, PASS, 0, "xp", xp=250, rewarded_level=3)
    assert ahead == [ScriptCode.APPLIED, 2]
    assert written(before, state(any_redis)) == {PASS: {"xp": "250", "rewarded_level": "3"}}


def test_a_copy_without_the_ordering_field_writes_nothing(any_redis):
    before = state(any_redis)

    assert restore(any_redis, STREAK, 0, "last_day", streak=3) == [ScriptCode.APPLIED, 0]
    assert written(before, state(any_redis)) == {}


def test_a_value_redis_holds_with_fewer_numbers_is_behind_one_that_goes_on(any_redis):
    any_redis.hset(STATS, "2026-W48:math", "30:1")  # as far as it goes: the copy says more
    before = state(any_redis)

    reply = restore(any_redis, STATS, 0, "", **{"2026-W48:math": "30:1:10:5:205200"})

    assert reply == [ScriptCode.APPLIED, 1]
    assert written(before, state(any_redis)) == {STATS: {"2026-W48:math": "30:1:10:5:205200"}}
    assert any_redis.ttl(STATS) == -1  # ttl 0: the expiry left alone


def test_a_copy_without_fields_only_extends_the_expiry(any_redis):
    any_redis.hset(STATS, "2026-W48:math", "55:2:20:10:291600")
    any_redis.expire(STATS, 60)

    assert restore(any_redis, STATS, 3600, "") == [ScriptCode.APPLIED, 0]
    assert any_redis.hgetall(STATS) == {b"2026-W48:math": b"55:2:20:10:291600"}
    assert 3590 <= any_redis.ttl(STATS) <= 3600
