"""A rebuild that finds a player's day already counted in Redis (run again after the
players came back, or while they play) never lowers a counter Redis holds higher than
SQL's copy: ads watched up to the cap stay at the cap, and nothing is paid twice."""

from __future__ import annotations

import pytest

from engine import keys
from engine.economy import activity
from engine.errors import DailyLimitReachedError
from engine.ops import persistence, rebuild

pytestmark = pytest.mark.also_on_cluster

GAME_DAY = "2026-11-25"  # the clock fixture's


def test_a_rebuild_run_again_after_ads_were_watched_keeps_the_day_at_its_cap(durable_engine):
    engine = durable_engine
    cap = engine.rules.ads.daily_cap
    for n in range(2):
        activity.ad_reward(engine, "alice", f"before-{n}")
    persistence.persist(engine)  # SQL's copy of the day: 2 ads
    engine.redis.flushdb()
    rebuild.rebuild(engine)
    for n in range(cap - 2):  # the day goes on, up to the cap, before the next persist
        activity.ad_reward(engine, "alice", f"after-{n}")

    rebuild.rebuild(engine)  # run again: "safe to run twice"

    daily = keys.daily("alice", GAME_DAY)
    assert int(engine.redis.hget(daily, "ads")) == cap
    with pytest.raises(DailyLimitReachedError):
        activity.ad_reward(engine, "alice", "one-more")
