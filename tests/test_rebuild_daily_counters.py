"""After Redis is lost in the middle of a game day and rebuilt from SQL, the day's
counters come back: ads watched up to the cap stay watched, a mission completed is not
paid again and one under way goes on from where it was, the earning caps used stay used,
and a player with a time zone gets back the counters of their own local date. Each hash
comes back living until its date has ended in every zone (UTC-12 ends it last) plus the
grace: never shorter than the live hash, whatever zones the player moved through. A day
that is over everywhere is neither brought back nor kept in SQL past the cleanup. On the
real Redis and the cluster, SQLite and MariaDB."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine import db, keys
from engine.boards import exams
from engine.boards.exams import Exam
from engine.economy import activity, grants, purchases, wallet
from engine.errors import DailyLimitReachedError
from engine.ops import maintenance, persistence, rebuild
from engine.progression import daily, timezones

pytestmark = pytest.mark.also_on_cluster

GAME_DAY = "2026-11-25"  # the clock fixture's: its missions are exams_3, ads_2 and buy_1
# The 25th ends last at UTC-12, 03:00 there on the 26th: 15:00 UTC; the grace is an hour.
KEPT_TTL = 28 * 3600  # from 12:00 UTC on the 25th (the game day's hash had 16 hours)


def at(engine, *parts) -> None:
    engine.clock.set(datetime(*parts, tzinfo=UTC))


def lose_redis(engine) -> None:
    """The persist job's run, then Redis lost (the test database flushed) and rebuilt."""
    persistence.persist(engine)
    engine.redis.flushdb()
    rebuild.rebuild(engine)


def watch_ads(engine, player: str, count: int, prefix: str = "ad") -> None:
    for n in range(count):
        activity.ad_reward(engine, player, f"{prefix}-{n}")


def lives(engine, key: str, seconds: int) -> bool:
    """Whether `key` expires in `seconds` from the engine's now: Redis counts its TTL
    down in real time while the test runs, so a few seconds less passes too."""
    return seconds - 5 <= engine.redis.ttl(key) <= seconds


def mission(engine, player: str, mission_id: str) -> daily.MissionState:
    [found] = [m for m in daily.state(engine, player).missions if m.mission_id == mission_id]
    return found


def completed(transaction, mission_id: str) -> bool:
    return any(
        m["id"] == mission_id and m["completed"] for m in transaction.progress.missions or []
    )


def counter_rows(engine) -> list[tuple[str, str]]:
    table = db.user_daily_counters
    with engine.sql.connect() as conn:
        query = select(table.c.player_id, table.c.day).order_by(table.c.day, table.c.player_id)
        return [tuple(row) for row in conn.execute(query)]


def test_ads_watched_up_to_the_cap_stay_watched_after_a_loss(durable_engine):
    engine = durable_engine
    watch_ads(engine, "alice", engine.rules.ads.daily_cap)
    assert mission(engine, "alice", "ads_2").completed
    held = wallet.balances(engine, "alice")
    lose_redis(engine)

    assert daily.state(engine, "alice").ads_watched == engine.rules.ads.daily_cap
    with pytest.raises(DailyLimitReachedError):
        activity.ad_reward(engine, "alice", "ad-after-the-loss")
    assert wallet.balances(engine, "alice") == held
    assert mission(engine, "alice", "ads_2").completed
    assert lives(engine, keys.daily("alice", GAME_DAY), KEPT_TTL)


def test_a_mission_completed_before_a_loss_is_not_paid_again_and_one_under_way_goes_on(
    durable_engine,
):
    engine = durable_engine
    grants.grant(engine, "alice", {"coins": 100}, "welcome", "g1")
    bought = purchases.purchase(engine, "alice", "logs", 1, "p1")
    assert completed(bought.transaction, "buy_1")
    for n in range(2):
        exams.record_exam(engine, "alice", Exam(f"e{n}", "math", 10, 10, 5))
    assert mission(engine, "alice", "exams_3").progress == 2
    lose_redis(engine)

    coins = wallet.balances(engine, "alice")["coins"]
    again = purchases.purchase(engine, "alice", "logs", 1, "p2")
    assert not completed(again.transaction, "buy_1")
    assert wallet.balances(engine, "alice")["coins"] == coins - 10  # the price, no reward
    assert mission(engine, "alice", "exams_3").progress == 2
    exams.record_exam(engine, "alice", Exam("e2", "math", 10, 10, 5))
    assert mission(engine, "alice", "exams_3").completed


def test_the_earning_cap_used_before_a_loss_stays_used(durable_engine):
    engine = durable_engine
    ads = dataclasses.replace(engine.rules.ads, daily_cap=10)  # the coins' cap (25) binds
    engine.rules = dataclasses.replace(engine.rules, ads=ads)
    watch_ads(engine, "alice", 5)  # 5 coins each: 25, the day's cap of ad rewards
    coins = wallet.balances(engine, "alice")["coins"]
    lose_redis(engine)

    paid = activity.ad_reward(engine, "alice", "ad-after-the-loss")
    assert paid.deltas == {}
    assert [v["rule"] for v in paid.progress.violations] == ["daily_earning_cap"]
    assert wallet.balances(engine, "alice")["coins"] == coins


def test_a_zoned_players_local_date_comes_back_until_it_ends_everywhere(durable_engine):
    engine = durable_engine
    timezones.set_timezone(engine, "alice", "Asia/Tokyo")
    grants.grant(engine, "alice", {"coins": 100}, "welcome", "g1")
    at(engine, 2026, 11, 25, 19)  # 04:00 on the 26th in Tokyo, still the 25th's game day
    watch_ads(engine, "alice", engine.rules.ads.daily_cap)
    bought = purchases.purchase(engine, "alice", "logs", 1, "p1")
    assert completed(bought.transaction, "buy_1")  # a mission of the 26th
    local = keys.daily("alice", "2026-11-26")
    # The 26th ends in Tokyo at 18:00 UTC on the 26th; its hash lives an hour longer.
    assert lives(engine, local, 24 * 3600)
    lose_redis(engine)

    # It ends last at 15:00 UTC on the 27th (UTC-12), plus the grace.
    assert lives(engine, local, 45 * 3600)
    assert not engine.redis.exists(keys.daily("alice", GAME_DAY))
    with pytest.raises(DailyLimitReachedError):
        activity.ad_reward(engine, "alice", "ad-after-the-loss")
    coins = wallet.balances(engine, "alice")["coins"]
    again = purchases.purchase(engine, "alice", "logs", 1, "p2")
    assert not completed(again.transaction, "buy_1")
    assert wallet.balances(engine, "alice")["coins"] == coins - 10
    assert not activity.login(engine, "alice").claimed


def test_a_day_that_is_over_is_not_brought_back_and_cleanup_removes_its_rows(
    durable_engine, monkeypatch
):
    engine = durable_engine
    monkeypatch.setattr(maintenance, "CHUNK", 1)  # one row a transaction
    watch_ads(engine, "alice", 1, "day-25")
    watch_ads(engine, "bob", 1, "day-25")
    persistence.persist(engine)
    at(engine, 2026, 11, 26, 17)  # the 25th is over everywhere (15:00 UTC) and its grace
    watch_ads(engine, "alice", 1, "day-26")
    assert counter_rows(engine) == [("alice", GAME_DAY), ("bob", GAME_DAY)]  # not the 26th
    lose_redis(engine)

    assert not engine.redis.exists(keys.daily("alice", GAME_DAY))
    assert daily.state(engine, "alice").ads_watched == 1  # the 26th's
    assert counter_rows(engine) == [
        ("alice", GAME_DAY),
        ("bob", GAME_DAY),
        ("alice", "2026-11-26"),
    ]
    assert maintenance.cleanup(engine) == 2
    assert counter_rows(engine) == [("alice", "2026-11-26")]
    assert maintenance.cleanup(engine) == 0
