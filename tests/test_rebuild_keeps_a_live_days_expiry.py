"""A rebuild that finds a player's day still in Redis never shortens the day's life:
the hash may live longer than SQL's copy says (the zone cleared after the copy was
persisted extends it to the game day's end; a move west extends it to the new zone's
end of the date), and cutting it back would let the date's caps and missions pay
again on the same date. A hash without an expiry still gets the copy's."""

from __future__ import annotations

from engine import keys
from engine.economy import activity
from engine.ops import persistence, rebuild
from engine.progression import timezones
from engine.scripts import Scripts

DAILY = keys.daily("alice", "2026-11-25")
HOUR = 3600


def lives(redis, key: str, seconds: int) -> bool:
    return seconds - 5 <= redis.ttl(key) <= seconds


def test_the_script_never_shortens_a_live_hashs_expiry(any_redis):
    any_redis.hset(DAILY, "ads", 3)
    any_redis.expire(DAILY, 16 * HOUR)

    Scripts(any_redis).restore_daily_counters(keys=[DAILY], args=[7 * HOUR, "ads", 2])

    assert int(any_redis.hget(DAILY, "ads")) == 3
    assert lives(any_redis, DAILY, 16 * HOUR)


def test_the_script_gives_a_hash_without_an_expiry_the_copys(any_redis):
    any_redis.hset(DAILY, "ads", 3)

    Scripts(any_redis).restore_daily_counters(keys=[DAILY], args=[7 * HOUR, "ads", 2])

    assert lives(any_redis, DAILY, 7 * HOUR)


def test_a_rebuild_after_the_zone_was_cleared_keeps_the_game_days_end(durable_engine):
    """Tokyo at 21:00 on the 25th: an ad, persisted (SQL's copy ends with Tokyo's 25th,
    18:00 UTC, plus the grace: 7 hours); the zone cleared extends the hash to the game
    day's end (16 hours). A rebuild run again keeps the 16 hours."""
    engine = durable_engine
    timezones.set_timezone(engine, "alice", "Asia/Tokyo")
    activity.ad_reward(engine, "alice", "ad-1")
    persistence.persist(engine)
    timezones.set_timezone(engine, "alice", None)
    assert lives(engine.redis, DAILY, 16 * HOUR)

    rebuild.rebuild(engine)

    assert int(engine.redis.hget(DAILY, "ads")) == 1
    assert lives(engine.redis, DAILY, 16 * HOUR)
