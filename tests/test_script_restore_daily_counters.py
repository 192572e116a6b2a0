"""lua/restore_daily_counters.lua called directly, on fakeredis and Redis: the rebuild's
write of a day's counters from SQL's copy, which never lowers a field Redis holds."""

from __future__ import annotations

from engine import keys
from engine.outcomes import ScriptCode
from engine.scripts import Scripts

DAILY = keys.daily("alice", "2026-11-25")


def restore(redis, ttl: int, **fields: int) -> list:
    pairs = [part for field in fields.items() for part in field]
    return Scripts(redis).restore_daily_counters(keys=[DAILY], args=[ttl, *pairs])


def test_a_day_redis_lost_comes_back_whole_with_its_expiry(any_redis):
    reply = restore(any_redis, 3600, ads=2, bonus=1_795_608_000_000)

    assert reply == [ScriptCode.APPLIED, 2]
    assert any_redis.hgetall(DAILY) == {b"ads": b"2", b"bonus": b"1795608000000"}
    assert 3590 <= any_redis.ttl(DAILY) <= 3600


def test_a_field_redis_holds_higher_is_kept_and_a_lower_or_missing_one_raised(any_redis):
    any_redis.hset(DAILY, mapping={"ads": 5, "mission:ads_2": 1, "earned:ad_reward:coins": 9})

    reply = restore(any_redis, 60, **{"ads": 2, "mission:ads_2": 2, "mission:buy_1": 1})

    assert reply == [ScriptCode.APPLIED, 2]
    assert any_redis.hgetall(DAILY) == {
        b"ads": b"5",  # Redis's, higher
        b"mission:ads_2": b"2",  # the copy's, higher
        b"mission:buy_1": b"1",  # the copy's, missing in Redis
        b"earned:ad_reward:coins": b"9",  # not in the copy
    }
    assert 50 <= any_redis.ttl(DAILY) <= 60


def test_a_copy_without_fields_only_sets_the_expiry(any_redis):
    any_redis.hset(DAILY, "ads", 1)

    assert restore(any_redis, 60) == [ScriptCode.APPLIED, 0]
    assert any_redis.hgetall(DAILY) == {b"ads": b"1"} and 50 <= any_redis.ttl(DAILY) <= 60
