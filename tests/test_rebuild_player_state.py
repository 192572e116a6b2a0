"""After Redis is lost and rebuilt from SQL, nothing is held against a player: their
league tier carries over as the last close gave it (lower after whole periods away, as
without the loss), the league period not closed yet keeps its players in their tiers
with their scores, and their own time zone still applies. SQLite and MariaDB, on the
real Redis and the cluster."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from engine import keys, leagues
from engine.boards import exams
from engine.boards.exams import Exam
from engine.economy import activity, streak_repair
from engine.leagues import close
from engine.ops import persistence, rebuild
from engine.progression import timezones
from tests.test_closed_periods_from_sql import closed_week, small_leagues
from tests.test_streak_repair import REPAIR, broken, coins, fund

PLAYERS = ("alice", "bob", "carol", "dave")
# 2026-W48's close (cohorts of 4, one up and one down): alice up, dave down.
AFTER_W48 = {"alice": "gold", "bob": "silver", "carol": "silver", "dave": "bronze"}

pytestmark = pytest.mark.also_on_cluster


def at(engine, *parts) -> None:
    engine.clock.set(datetime(*parts, tzinfo=UTC))


def lose_redis(engine) -> None:
    persistence.persist(engine)
    engine.redis.flushdb()
    rebuild.rebuild(engine)


def leagues_of(engine) -> dict[str, leagues.PlayerLeague]:
    return {p: leagues.player_league(engine, p, engine.clock.now()) for p in PLAYERS}


def tiers_of(engine) -> dict[str, str]:
    return {p: league.tier for p, league in leagues_of(engine).items()}


def play(engine, player: str, score: int, exam_id: str) -> None:
    exams.record_exam(engine, player, Exam(exam_id, "math", score, 10, 5))


@pytest.fixture
def closed(durable_engine):
    """2026-W48 played by four silver players, closed and persisted; the clock in W49."""
    engine = small_leagues(durable_engine)
    closed_week(engine)
    return engine


def test_after_a_loss_the_next_join_lands_in_the_carried_over_tier(closed):
    assert tiers_of(closed) == AFTER_W48
    lose_redis(closed)
    assert not closed.redis.exists(keys.league_closed("weekly", "2026-W48"))

    assert tiers_of(closed) == AFTER_W48
    at(closed, 2026, 11, 30, 12)
    play(closed, "alice", 50, "alice-w49")
    play(closed, "dave", 20, "dave-w49")
    joined = leagues_of(closed)
    assert joined["alice"].cohort.cohort_id == "gold-1"
    assert joined["dave"].cohort.cohort_id == "bronze-1"

    rebuild.rebuild(closed)  # again: the records of W49 stay as the joins wrote them
    assert leagues_of(closed) == joined


def test_a_player_away_since_the_last_close_drops_as_without_the_loss(closed):
    at(closed, 2026, 12, 7, 12)  # 2026-W50: W49 missed by everyone, one tier down
    before = tiers_of(closed)
    assert before == {"alice": "silver", "bob": "bronze", "carol": "bronze", "dave": "bronze"}
    lose_redis(closed)

    assert tiers_of(closed) == before
    play(closed, "alice", 30, "alice-w50")
    assert leagues_of(closed)["alice"].cohort.cohort_id == "silver-1"


def test_the_period_not_closed_yet_keeps_its_players_tiers_and_scores(closed):
    at(closed, 2026, 11, 30, 12)  # 2026-W49, after W48's close
    for n, (player, score) in enumerate({"alice": 50, "bob": 40, "carol": 45}.items()):
        play(closed, player, score, f"w49-{n}")
    before = leagues_of(closed)
    assert {p: league.cohort.cohort_id for p, league in before.items() if league.cohort} == {
        "alice": "gold-1",
        "bob": "silver-1",
        "carol": "silver-1",
    }
    lose_redis(closed)

    assert leagues_of(closed) == before  # dave, who has not played W49, is still not in it
    rebuild.rebuild(closed)  # again: every player keeps their cohort and score
    assert leagues_of(closed) == before
    at(closed, 2026, 12, 7, 3, 10)  # W49 ended: its close gives the next tiers
    assert close.close(closed, "2026-W49").players == 3
    assert tiers_of(closed) == {
        "alice": "sapphire",  # first of a cohort of one: up
        "bob": "bronze",  # last of a cohort of two: down
        "carol": "gold",  # first: up
        "dave": "bronze",  # away in W49
    }


def test_a_loss_after_the_period_ended_and_before_its_close_loses_nobody_their_place(closed):
    at(closed, 2026, 11, 30, 12)
    play(closed, "alice", 50, "alice-w49")
    play(closed, "bob", 40, "bob-w49")
    at(closed, 2026, 12, 7, 3, 5)  # W49 has ended, its close not run yet
    lose_redis(closed)

    reports = close.close_ended(closed)
    assert [(r.period, r.players) for r in reports if r.closed and r.players] == [("2026-W49", 2)]
    at(closed, 2026, 12, 7, 12)
    assert tiers_of(closed) == {
        "alice": "sapphire",  # alone in gold: first, up
        "bob": "gold",  # alone in silver: first, up
        "carol": "bronze",  # away in W49: one tier down
        "dave": "bronze",
    }


def test_a_players_time_zone_still_applies_after_a_loss(durable_engine):
    engine = durable_engine
    timezones.set_timezone(engine, "alice", "Asia/Tokyo")
    timezones.set_timezone(engine, "bob", "Asia/Tokyo")
    timezones.set_timezone(engine, "bob", None)  # back to the game calendar
    lose_redis(engine)

    assert timezones.get_settings(engine, "alice").timezone == "Asia/Tokyo"
    assert timezones.get_settings(engine, "bob").timezone is None
    at(engine, 2026, 11, 25, 19)  # 04:00 on the 26th in Tokyo, still the 25th's game day
    first = activity.login(engine, "alice")
    assert first.claimed
    assert first.next_claim_at == datetime(2026, 11, 26, 18, tzinfo=UTC)  # 03:00 in Tokyo
    assert activity.login(engine, "bob").next_claim_at == datetime(2026, 11, 26, 3, tzinfo=UTC)
    assert rebuild.rebuild(engine)["timezones"] == 1  # again: the same
    assert timezones.get_settings(engine, "alice").timezone == "Asia/Tokyo"


def test_a_streak_broken_before_the_loss_may_still_be_bought_back(durable_engine):
    engine = durable_engine
    engine.rules = dataclasses.replace(engine.rules, streak_repair=REPAIR)
    broken(engine, "alice", lost=10)  # the 20th missed, restarted at 1 on the 21st
    fund(engine, "alice", 1000)
    before = engine.redis.hgetall(keys.streak("alice"))
    assert before[b"lost"] == b"10"
    lose_redis(engine)

    assert engine.redis.hgetall(keys.streak("alice")) == before
    held = coins(engine, "alice")
    repaired = streak_repair.repair(engine, "alice", "r-1")
    assert (repaired.streak, repaired.lost) == (11, 10)
    assert coins(engine, "alice") == held - 150
    lose_redis(engine)  # the repair, persisted, comes back as repaired: once only
    assert engine.redis.hget(keys.streak("alice"), "lost") == b"0"


def test_a_zoned_players_claim_waits_for_their_own_day_after_a_loss(durable_engine):
    engine = durable_engine
    timezones.set_timezone(engine, "alice", "Asia/Tokyo")
    at(engine, 2026, 11, 25, 19)  # 04:00 on the 26th in Tokyo, still the 25th's game day
    assert activity.login(engine, "alice").claimed
    before = engine.redis.hgetall(keys.streak("alice"))
    assert b"claim_ends" in before
    lose_redis(engine)

    assert engine.redis.hgetall(keys.streak("alice")) == before
    at(engine, 2026, 11, 26, 4)  # a new game day, still the 26th in Tokyo: no second bonus
    again = activity.login(engine, "alice")
    assert not again.claimed
    assert again.next_claim_at == datetime(2026, 11, 26, 18, tzinfo=UTC)
