"""A move west onto a date already played goes on with that date's counts (README, Time
zones) until the date ends in the new zone: the date's daily hash lives to the new
zone's end of it, not to the end the old zone gave it when it was created. A move east
never shortens it: the date may still run where the player goes back to. A player
without a zone, and one whose date's claim gave its hash a late enough end, pay no
command for it; after a move west each call reads the hash's PTTL.

The game day and each local day start at 03:00; the daily hash lives an hour (the
grace) past its day's end. From 12:00 UTC on the 25th, the game's 25th ends in 15
hours (its hash lives 16), Los Angeles' in 23 (24), New York's in 20 (21).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fakeredis.commands_mixins.scripting_mixin import ScriptingCommandsMixin

from engine import Engine, keys
from engine.boards import exams
from engine.boards.exams import Exam
from engine.economy import activity
from engine.errors import DailyLimitReachedError
from engine.ops import persistence, rebuild
from engine.progression import timezones
from tests.redis_time import advance_to

DAILY = keys.daily("alice", "2026-11-25")
HOUR = 3600


def at(engine, *parts) -> None:
    engine.clock.set(datetime(*parts, tzinfo=UTC))


def lives(engine, key: str, seconds: int) -> bool:
    """Whether `key` expires in `seconds` from the engine's now: Redis counts its TTL
    down in real time while the test runs, so a few seconds less passes too."""
    return seconds - 5 <= engine.redis.ttl(key) <= seconds


def test_a_move_west_onto_the_date_played_keeps_its_counts_to_the_new_zones_end(engine):
    activity.ad_reward(engine, "alice", "ad-1")  # 12:00 UTC on the 25th, the game day
    assert lives(engine, DAILY, 16 * HOUR)  # 04:00 UTC on the 26th

    timezones.set_timezone(engine, "alice", "America/Los_Angeles")  # 04:00 there, the 25th
    activity.ad_reward(engine, "alice", "ad-2")

    assert int(engine.redis.hget(DAILY, "ads")) == 2  # the same date's counts go on
    # Los Angeles' 25th ends at 03:00 PST on the 26th, 11:00 UTC; the grace is an hour.
    assert lives(engine, DAILY, 24 * HOUR)


def test_an_exam_after_a_move_west_counts_on_in_the_dates_missions(engine):
    exams.record_exam(engine, "alice", Exam("e-1", "math", 10, 10, 5))
    assert lives(engine, DAILY, 16 * HOUR)

    timezones.set_timezone(engine, "alice", "America/Los_Angeles")
    exams.record_exam(engine, "alice", Exam("e-2", "math", 10, 10, 5))

    assert int(engine.redis.hget(DAILY, "mission:exams_3")) == 2
    assert lives(engine, DAILY, 24 * HOUR)


def test_a_move_east_onto_the_same_date_keeps_the_longer_expiry(engine):
    timezones.set_timezone(engine, "alice", "America/Los_Angeles")
    activity.ad_reward(engine, "alice", "ad-1")  # 04:00 on the 25th in Los Angeles
    assert lives(engine, DAILY, 24 * HOUR)

    timezones.set_timezone(engine, "alice", "America/New_York")  # 07:00, the 25th
    activity.ad_reward(engine, "alice", "ad-2")
    assert int(engine.redis.hget(DAILY, "ads")) == 2
    assert lives(engine, DAILY, 24 * HOUR)  # not New York's 21 hours


def test_the_rebuild_gives_the_moved_players_date_at_least_the_same_expiry(durable_engine):
    engine = durable_engine
    activity.ad_reward(engine, "alice", "ad-1")
    timezones.set_timezone(engine, "alice", "America/Los_Angeles")
    activity.ad_reward(engine, "alice", "ad-2")
    assert lives(engine, DAILY, 24 * HOUR)

    persistence.persist(engine)
    engine.redis.flushdb()
    rebuild.rebuild(engine)

    assert int(engine.redis.hget(DAILY, "ads")) == 2
    # At least Los Angeles' end: the 25th's end in the last zone (UTC-12, 15:00 UTC on
    # the 26th) plus the grace, as for every date the rebuild brings back.
    assert lives(engine, DAILY, 28 * HOUR)


def test_a_zone_cleared_on_the_date_played_keeps_its_counts_to_the_game_days_end(engine):
    """Back to the game calendar: the game day's hash lives to the game day's end, not
    to the end the zone gave it (Tokyo's 25th ends at 18:00 UTC, the game's at 03:00 on
    the 26th)."""
    timezones.set_timezone(engine, "alice", "Asia/Tokyo")  # 21:00 there, the 25th
    activity.ad_reward(engine, "alice", "ad-1")
    assert lives(engine, DAILY, 7 * HOUR)

    timezones.set_timezone(engine, "alice", None)
    assert lives(engine, DAILY, 16 * HOUR)
    activity.ad_reward(engine, "alice", "ad-2")
    assert int(engine.redis.hget(DAILY, "ads")) == 2


# What keeping the hash costs: the commands the scripts send ---------------------------


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """The commands fakeredis runs for the scripts' redis.call's on the 25th's daily
    hash, in order."""
    commands: list[str] = []
    run = ScriptingCommandsMixin._lua_redis_call
    daily = DAILY.encode()

    def counted(self, runtime, expected, op, *args):
        if args and args[0] == daily:
            commands.append(op.decode().upper() if isinstance(op, bytes) else str(op).upper())
        return run(self, runtime, expected, op, *args)

    monkeypatch.setattr(ScriptingCommandsMixin, "_lua_redis_call", counted)
    return commands


@pytest.fixture
def fake_engine(fake_redis, rules, clock):
    return Engine(redis=fake_redis, rules=rules, clock=clock)


def expiry_commands(sent: list[str]) -> list[str]:
    return [command for command in sent if command in ("TTL", "PTTL", "EXPIRE", "PEXPIRE")]


@pytest.mark.parametrize("zone", [None, "America/Los_Angeles", "Asia/Tokyo"])
def test_an_activity_of_a_claimed_day_sends_no_expiry_command(fake_engine, sent, zone):
    timezones.set_timezone(fake_engine, "alice", zone)
    activity.ad_reward(fake_engine, "alice", "ad-1")
    assert "EXPIRE" in sent  # the claim's, which creates the hash
    sent.clear()

    activity.ad_reward(fake_engine, "alice", "ad-2")
    exams.record_exam(fake_engine, "alice", Exam("e-1", "math", 10, 10, 5))

    assert expiry_commands(sent) == []


def test_a_move_west_reads_the_hashs_expiry_and_extends_it_once(fake_engine, sent):
    activity.ad_reward(fake_engine, "alice", "ad-1")
    # The zone written as the rebuild writes it: set_timezone would extend the hash itself.
    settings = timezones.settings_for(fake_engine, "America/Los_Angeles")
    fake_engine.redis.hset(keys.settings("alice"), mapping=settings.fields())
    sent.clear()

    activity.ad_reward(fake_engine, "alice", "ad-2")
    assert expiry_commands(sent) == ["PTTL", "EXPIRE"]
    sent.clear()

    activity.ad_reward(fake_engine, "alice", "ad-3")  # the rest of the date: a PTTL each
    assert expiry_commands(sent) == ["PTTL"]


def test_a_move_west_after_the_old_end_gives_the_dates_new_hash_an_expiry(engine):
    """The game day's hash of the 25th has expired (04:00 UTC on the 26th) when the
    player moves to Los Angeles, where the 25th runs on. With no copy in SQL (this
    engine has no database; with one the move brings the counts back:
    test_rebuild_keeps_a_live_days_expiry) its counts are gone, and the hash the next
    ad writes (no claim: the 25th is claimed) lives to that date's end there, 12:00 UTC
    on the 26th, rather than for ever."""
    activity.ad_reward(engine, "alice", "ad-1")
    at(engine, 2026, 11, 26, 5)
    engine.redis.delete(DAILY)  # expired an hour ago
    timezones.set_timezone(engine, "alice", "America/Los_Angeles")  # 21:00 on the 25th

    activity.ad_reward(engine, "alice", "ad-2")

    assert int(engine.redis.hget(DAILY, "ads")) == 1
    assert lives(engine, DAILY, 7 * HOUR)


def test_a_move_east_onto_an_unclaimed_date_gives_the_hash_its_expiry(fake_engine):
    """From Los Angeles' 25th to Tokyo's 26th before Los Angeles' day has ended: no claim
    yet (it waits for that end), so the ad creates the 26th's hash; it expires with
    Tokyo's 26th (03:00 on the 27th there, 18:00 UTC on the 26th) plus the grace."""
    engine = fake_engine
    timezones.set_timezone(engine, "alice", "America/Los_Angeles")
    activity.ad_reward(engine, "alice", "ad-1")
    at(engine, 2026, 11, 25, 20)  # 12:00 in Los Angeles, 05:00 on the 26th in Tokyo
    timezones.set_timezone(engine, "alice", "Asia/Tokyo")

    activity.ad_reward(engine, "alice", "ad-2")

    tokyo_26th = keys.daily("alice", "2026-11-26")
    assert int(engine.redis.hget(tokyo_26th, "ads")) == 1
    assert lives(engine, tokyo_26th, 23 * HOUR)


def test_a_zone_cleared_a_date_ahead_keeps_that_dates_counts_for_its_game_day(engine):
    """At 19:00 UTC on the 25th it is 04:00 on the 26th in Tokyo, whose 26th ends at
    18:00 UTC on the 26th; the game's 26th runs from 03:00 UTC on the 26th to 03:00 on
    the 27th. The ads capped on Tokyo's 26th stay capped on the game's 26th after the
    zone is cleared: clearing it keeps that date's hash to the game day's end."""
    at(engine, 2026, 11, 25, 19)
    timezones.set_timezone(engine, "alice", "Asia/Tokyo")
    for n in range(engine.rules.ads.daily_cap):
        activity.ad_reward(engine, "alice", f"ad-{n}")
    the_26th = keys.daily("alice", "2026-11-26")

    timezones.set_timezone(engine, "alice", None)

    assert lives(engine, the_26th, 33 * HOUR)  # to 04:00 UTC on the 27th
    advance_to(engine, datetime(2026, 11, 26, 20, tzinfo=UTC))  # the game's 26th
    with pytest.raises(DailyLimitReachedError):
        activity.ad_reward(engine, "alice", "ad-again")
