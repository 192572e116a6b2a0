"""A move west onto a date already played keeps the date's counts until it ends in the
new zone (README, Time zones), whether or not the player plays again before the end
the old zone gave the date's hash: the move itself extends it, as clearing the zone
does for the game day. Never shortened by a move east, and no expiry given to a hash
that has none.

The game day and each local day start at 03:00; the daily hash lives an hour (the
grace) past its day's end. At 12:00 UTC on the 25th it is 21:00 on the 25th in Tokyo
(whose 25th ends at 18:00 UTC) and 04:00 on the 25th in Los Angeles (ends 11:00 UTC on
the 26th).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine import keys
from engine.economy import activity
from engine.errors import DailyLimitReachedError
from engine.progression import daily, timezones
from tests.redis_time import advance_to

DAILY = keys.daily("alice", "2026-11-25")
HOUR = 3600


def lives(engine, key: str, seconds: int) -> bool:
    return seconds - 5 <= engine.redis.ttl(key) <= seconds


def test_a_move_west_keeps_the_dates_counts_past_the_old_zones_end(engine):
    timezones.set_timezone(engine, "alice", "Asia/Tokyo")
    activity.ad_reward(engine, "alice", "ad-1")
    assert lives(engine, DAILY, 7 * HOUR)  # Tokyo's 25th ends at 18:00 UTC

    timezones.set_timezone(engine, "alice", "America/Los_Angeles")  # 04:00, the 25th

    # Los Angeles' 25th ends at 11:00 UTC on the 26th; the grace is an hour.
    assert lives(engine, DAILY, 24 * HOUR)
    advance_to(engine, datetime(2026, 11, 25, 20, tzinfo=UTC))  # 12:00 in Los Angeles
    activity.ad_reward(engine, "alice", "ad-2")
    assert int(engine.redis.hget(DAILY, "ads")) == 2  # the same date's second ad


def test_a_move_east_keeps_the_longer_expiry(engine):
    timezones.set_timezone(engine, "alice", "America/Los_Angeles")
    activity.ad_reward(engine, "alice", "ad-1")
    assert lives(engine, DAILY, 24 * HOUR)

    timezones.set_timezone(engine, "alice", "America/New_York")  # 07:00, the 25th

    assert lives(engine, DAILY, 24 * HOUR)


def test_a_move_gives_no_expiry_to_a_date_not_played(engine):
    timezones.set_timezone(engine, "alice", "America/Los_Angeles")

    assert not engine.redis.exists(DAILY)


def test_a_move_west_of_more_than_a_day_gives_the_next_dates_hash_an_expiry(engine):
    """Kiritimati (UTC+14) to Pago Pago (UTC-11), 25 hours west. Kiritimati's 25th is
    claimed; Pago Pago's 25th waits a day past that claim's end (13:00 UTC on the
    26th), and its claim then counts for the 26th, written in the 25th's hash. Pago
    Pago's 26th (from 14:00 UTC on the 26th) is claimed already: the hash its first ad
    writes lives to that date's end there (14:00 UTC on the 27th) plus the grace."""
    timezones.set_timezone(engine, "alice", "Pacific/Kiritimati")  # 02:00 on the 26th
    activity.ad_reward(engine, "alice", "ad-1")  # claims the 25th there
    timezones.set_timezone(engine, "alice", "Pacific/Pago_Pago")  # 01:00 on the 25th
    advance_to(engine, datetime(2026, 11, 26, 13, 30, tzinfo=UTC))  # 02:30 on the 26th
    early = activity.ad_reward(engine, "alice", "ad-2")
    assert early.progress.daily_bonus is not None  # the claim of the 26th

    advance_to(engine, datetime(2026, 11, 26, 15, tzinfo=UTC))  # 04:00 on the 26th
    activity.ad_reward(engine, "alice", "ad-3")

    the_26th = keys.daily("alice", "2026-11-26")
    assert int(engine.redis.hget(the_26th, "ads")) == 1
    assert lives(engine, the_26th, 24 * HOUR)  # not -1: never expiring


def test_a_move_west_of_more_than_a_day_keeps_the_old_zones_date_for_its_turn(engine):
    """At 12:00 UTC on the 25th it is the 25th in Kiritimati (until 13:00 UTC) and the
    24th in Pago Pago, whose 25th runs from 14:00 UTC to 14:00 UTC on the 26th. The
    ads capped on Kiritimati's 25th stay capped when the player's 25th comes round
    again in Pago Pago: the move keeps that date's hash to its end there."""
    timezones.set_timezone(engine, "alice", "Pacific/Kiritimati")
    for n in range(engine.rules.ads.daily_cap):
        activity.ad_reward(engine, "alice", f"ad-{n}")
    timezones.set_timezone(engine, "alice", "Pacific/Pago_Pago")  # 01:00 on the 25th

    assert lives(engine, DAILY, 27 * HOUR)  # to 14:00 UTC on the 26th, plus the grace
    advance_to(engine, datetime(2026, 11, 25, 15, tzinfo=UTC))  # 04:00 on the 25th there
    with pytest.raises(DailyLimitReachedError):
        activity.ad_reward(engine, "alice", "ad-again")


def claim_the_26th_early(engine) -> None:
    """Kiritimati's 25th claimed, then Pago Pago's 25th claims the 26th (in the 25th's
    hash) at 13:30 UTC on the 26th; the clock is then at 04:00 on Pago Pago's 26th,
    whose missions include login_1."""
    timezones.set_timezone(engine, "alice", "Pacific/Kiritimati")
    activity.ad_reward(engine, "alice", "ad-1")
    timezones.set_timezone(engine, "alice", "Pacific/Pago_Pago")
    advance_to(engine, datetime(2026, 11, 26, 13, 30, tzinfo=UTC))
    assert activity.ad_reward(engine, "alice", "ad-2").progress.daily_bonus is not None
    advance_to(engine, datetime(2026, 11, 26, 15, tzinfo=UTC))


def login_mission(engine) -> daily.MissionState:
    [found] = [m for m in daily.state(engine, "alice").missions if m.mission_id == "login_1"]
    return found


def test_a_date_claimed_early_counts_its_login_on_its_first_login(engine):
    claim_the_26th_early(engine)

    first = activity.login(engine, "alice")
    again = activity.login(engine, "alice")

    assert not first.claimed  # the bonus was the early claim's
    assert [m["id"] for m in first.progress.missions or []] == ["login_1"]
    assert login_mission(engine).completed
    assert again.progress.missions in (None, [])  # paid once
    assert lives(engine, keys.daily("alice", "2026-11-26"), 24 * HOUR)


def test_a_date_claimed_early_counts_its_login_on_any_first_activity(engine):
    claim_the_26th_early(engine)

    ad = activity.ad_reward(engine, "alice", "ad-3")

    assert "login_1" in [m["id"] for m in ad.progress.missions]
    assert login_mission(engine).completed
    assert not activity.ad_reward(engine, "alice", "ad-4").progress.missions


def test_a_date_claimed_early_counts_its_login_after_the_zone_is_cleared(engine):
    claim_the_26th_early(engine)
    timezones.set_timezone(engine, "alice", None)  # the game's 26th, claimed early

    first = activity.login(engine, "alice")
    again = activity.login(engine, "alice")

    assert not first.claimed
    assert login_mission(engine).completed
    assert again.progress.missions in (None, [])
