"""A rebuild never gives a player's day a shorter life than the live hash had: the
hash may live longer than the end of the date in the zone SQL's copy was persisted in
(the zone cleared since extends it to the game day's end; a move west, to the new
zone's end of the date; a move east after it was extended keeps the longer end), and
cutting it back would let the date's caps and missions pay again on the same date.
The rebuild gives each date until it has ended in every zone, and never shortens a
live hash's expiry. A hash without an expiry gets the copy's."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from engine import db, keys
from engine.economy import activity
from engine.errors import DailyLimitReachedError
from engine.ops import persistence, rebuild
from engine.progression import timezones
from engine.scripts import Scripts
from tests.redis_time import advance_to

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


def test_a_rebuild_after_the_zone_was_cleared_keeps_at_least_the_game_days_end(
    durable_engine,
):
    """Tokyo at 21:00 on the 25th: an ad, persisted; the zone cleared extends the hash to
    the game day's end (16 hours). A rebuild run again keeps at least that: the 25th's
    end in the last zone it ends in (UTC-12, 15:00 UTC on the 26th) plus the grace."""
    engine = durable_engine
    timezones.set_timezone(engine, "alice", "Asia/Tokyo")
    activity.ad_reward(engine, "alice", "ad-1")
    persistence.persist(engine)
    timezones.set_timezone(engine, "alice", None)
    assert lives(engine.redis, DAILY, 16 * HOUR)

    rebuild.rebuild(engine)

    assert int(engine.redis.hget(DAILY, "ads")) == 1
    assert lives(engine.redis, DAILY, 28 * HOUR)


def test_a_rebuild_after_a_move_east_keeps_the_date_for_a_move_back_west(durable_engine):
    """Los Angeles at 04:00 on the 25th: the ads cap watched, the hash living to Los
    Angeles' end of the 25th (11:00 UTC on the 26th) plus the grace. A move to New
    York (its 25th ends at 08:00 UTC), persisted, then Redis lost and rebuilt. Back in
    Los Angeles at 02:00 on its 26th (10:00 UTC), still its 25th there: the 25th's ads
    stay capped, as they would have without the loss."""
    engine = durable_engine
    timezones.set_timezone(engine, "alice", "America/Los_Angeles")
    for n in range(engine.rules.ads.daily_cap):
        activity.ad_reward(engine, "alice", f"ad-{n}")
    timezones.set_timezone(engine, "alice", "America/New_York")
    persistence.persist(engine)
    engine.redis.flushdb()
    rebuild.rebuild(engine)

    advance_to(engine, datetime(2026, 11, 26, 10, tzinfo=UTC))
    timezones.set_timezone(engine, "alice", "America/Los_Angeles")

    with pytest.raises(DailyLimitReachedError):
        activity.ad_reward(engine, "alice", "ad-again")
    assert int(engine.redis.hget(DAILY, "ads")) == engine.rules.ads.daily_cap


def test_a_copy_kept_with_an_earlier_end_comes_back_while_its_date_runs(durable_engine):
    """A copy of the 25th kept until New York's end of it plus the grace (09:00 UTC on
    the 26th), rebuilt at 10:00 UTC: the 25th runs on further west (in Los Angeles
    until 11:00 UTC, at UTC-12 until 15:00), so it comes back until 16:00 UTC."""
    engine = durable_engine
    ended = datetime(2026, 11, 26, 9, tzinfo=UTC)
    with engine.sql.begin() as conn:
        conn.execute(
            db.user_daily_counters.insert().values(
                player_id="alice",
                day="2026-11-25",
                counters=json.dumps({"ads": "5"}),
                expires_at=int(ended.timestamp()),
                updated_ms=int(ended.timestamp()) * 1000,
            )
        )
    engine.clock.set(datetime(2026, 11, 26, 10, tzinfo=UTC))

    rebuild.rebuild(engine)

    assert int(engine.redis.hget(DAILY, "ads")) == 5
    assert lives(engine.redis, DAILY, 6 * HOUR)


def test_a_move_west_after_the_dates_hash_expired_brings_its_counts_back(durable_engine):
    """The ads cap watched on the game's 25th, persisted; its hash expires at 04:00
    UTC on the 26th. At 05:00 the player moves to Los Angeles, where it is 21:00 on the
    25th: the date's counts come back from SQL's copy with the move, living to Los
    Angeles' end of it (11:00 UTC) plus the grace, and its ads stay capped."""
    engine = durable_engine
    for n in range(engine.rules.ads.daily_cap):
        activity.ad_reward(engine, "alice", f"ad-{n}")
    persistence.persist(engine)
    advance_to(engine, datetime(2026, 11, 26, 5, tzinfo=UTC))
    assert not engine.redis.exists(DAILY)

    timezones.set_timezone(engine, "alice", "America/Los_Angeles")

    assert int(engine.redis.hget(DAILY, "ads")) == engine.rules.ads.daily_cap
    assert lives(engine.redis, DAILY, 7 * HOUR)
    with pytest.raises(DailyLimitReachedError):
        activity.ad_reward(engine, "alice", "ad-again")


def test_a_zone_cleared_after_the_dates_hash_expired_brings_its_counts_back(durable_engine):
    """Tokyo's 25th (ends at 18:00 UTC) capped at 12:00 UTC and persisted; at 20:00 the
    hash is gone and the zone is cleared: the game's 25th runs to 03:00 on the 26th,
    and the date's counts come back with the clear, its ads capped."""
    engine = durable_engine
    timezones.set_timezone(engine, "alice", "Asia/Tokyo")
    for n in range(engine.rules.ads.daily_cap):
        activity.ad_reward(engine, "alice", f"ad-{n}")
    persistence.persist(engine)
    advance_to(engine, datetime(2026, 11, 25, 20, tzinfo=UTC))
    assert not engine.redis.exists(DAILY)

    timezones.set_timezone(engine, "alice", None)

    assert lives(engine.redis, DAILY, 8 * HOUR)  # 03:00 UTC on the 26th, plus the grace
    with pytest.raises(DailyLimitReachedError):
        activity.ad_reward(engine, "alice", "ad-again")
