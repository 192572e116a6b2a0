"""The league_close job after a long outage: every period that ended since the last
close and is still kept (rules [leaderboards] retention) is closed and paid, oldest
first, however many there are; one past the retention has lost its cohorts and is
passed over. Also after Redis is lost and rebuilt in that time. Real Redis, SQLite and
MariaDB."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import db, leagues
from engine.leagues import close
from engine.ops import persistence, rebuild
from tests.test_closed_periods_from_sql import small_leagues
from tests.test_league_close import coins, play, prize_entries, start_in

WEEK = 7  # days


@pytest.fixture
def small(durable_engine):
    """Cohorts of 4, one promoted and one relegated; silver pays 200 to rank 1, 100 to
    ranks 2-3; weekly leagues kept 12 weeks (rules.toml)."""
    engine = small_leagues(durable_engine)
    assert engine.rules.leaderboards.keep("weekly") == 12
    return engine


def silver_week(engine) -> dict[str, int]:
    """2026-W48 played by three silver players; their coins before the close."""
    for player, score in [("p1", 30), ("p2", 20), ("p3", 10)]:
        start_in(engine, player, "silver")
        play(engine, player, score)
    return {p: coins(engine, p) for p in ("p1", "p2", "p3")}


def recorded(engine) -> dict[str, tuple[str, str]]:
    table = db.league_results
    with engine.sql.connect() as conn:
        rows = conn.execute(select(table.c.player_id, table.c.period, table.c.next_tier))
        return {r.player_id: (r.period, r.next_tier) for r in rows}


def test_a_job_stopped_for_ten_weeks_closes_and_pays_every_week_it_missed(small, clock):
    before = silver_week(small)
    clock.advance(days=10 * WEEK)  # 2026-W58: W48 to W57 ended, none closed

    reports = close.close_ended(small)

    # the twelve weeks kept (2026 has 53 ISO weeks), oldest first, each closed once
    weeks = [f"2026-W{n}" for n in range(46, 54)] + [f"2027-W0{n}" for n in range(1, 5)]
    assert [(r.period, r.closed) for r in reports] == [(week, True) for week in weeks]
    assert [(r.period, r.players) for r in reports if r.players] == [("2026-W48", 3)]
    assert {p: coins(small, p) - before[p] for p in before} == {"p1": 200, "p2": 100, "p3": 100}
    assert recorded(small) == {
        "p1": ("2026-W48", "gold"),
        "p2": ("2026-W48", "silver"),
        "p3": ("2026-W48", "bronze"),
    }
    # nothing left to close, nothing paid twice
    assert close.close_ended(small) == []
    assert [len(prize_entries(small, p)) for p in before] == [1, 1, 1]
    # p1: gold from W48, then nine whole weeks away
    assert leagues.player_league(small, "p1", clock.now()).tier == "bronze"


def test_a_week_past_the_retention_is_passed_over_and_the_kept_ones_closed(small, clock):
    silver_week(small)
    clock.advance(days=13 * WEEK)  # 2026-W48 no longer kept: its cohorts expired

    reports = close.close_ended(small)

    assert "2026-W48" not in [r.period for r in reports]
    assert len(reports) == 12  # the weeks still kept, each closed once
    assert all(r.closed and r.players == 0 for r in reports)
    assert recorded(small) == {}


def test_a_redis_lost_after_ten_weeks_without_a_close_still_closes_the_first_one(small, clock):
    players = {"p1": 30, "p2": 20, "p3": 10}  # bronze: 100 to rank 1, 50 to ranks 2-3
    for player, score in players.items():
        play(small, player, score)
    before = {p: coins(small, p) for p in players}
    clock.advance(days=10 * WEEK)
    persistence.persist(small)
    small.redis.flushdb()
    rebuild.rebuild(small)  # the cohorts of every week not closed, formed again

    close.close_ended(small)

    assert {p: coins(small, p) - before[p] for p in before} == {"p1": 100, "p2": 50, "p3": 50}
    assert recorded(small) == {
        "p1": ("2026-W48", "silver"),
        "p2": ("2026-W48", "bronze"),
        "p3": ("2026-W48", "bronze"),
    }
