"""A member taken out of their cohort (engine.boards.moderation, not banned) before the
close: the close neither ranks nor pays them, and they keep the tier they played the
period in, as a player who played it (not one away for it), live and after Redis is
lost and rebuilt from SQL alike; the closed cohort's page, from Redis or SQL, does not
list them. Real Redis, SQLite and MariaDB."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import db, leagues
from engine.boards import moderation
from engine.leagues import close, results
from engine.ops import persistence, rebuild
from tests.test_closed_periods_from_sql import small_leagues
from tests.test_league_close import play, start_in

SCORES = {"p1": 40, "p2": 30, "p3": 20, "p4": 10}


@pytest.fixture
def durable(durable_engine):
    """Cohorts of 4, one promoted and one relegated; real Redis and SQL."""
    return small_leagues(durable_engine)


def silver_week(engine, week="2026-W48"):
    for player, score in SCORES.items():
        start_in(engine, player, "silver", week)
        play(engine, player, score)


def lose_redis(engine):
    persistence.persist(engine)
    engine.redis.flushdb()
    rebuild.rebuild(engine)


def tier(engine, clock, player):
    return leagues.player_league(engine, player, clock.now()).tier


def members(engine, period="2026-W48", cohort="silver-1"):
    found, _ = results.cohort_with_prizes(engine, period, cohort)
    return [(m.player_id, m.zone) for m in found.members]


def test_a_removed_member_keeps_their_tier_through_a_rebuild(durable, clock):
    silver_week(durable)
    assert [c.cohort_id for c in moderation.remove_player(durable, "p2").cohorts] == ["silver-1"]
    clock.advance(days=7)
    report = close.close(durable)
    assert (report.players, report.prizes) == (3, 3)
    after_the_close = [("p1", "promotion"), ("p3", "stay"), ("p4", "relegation")]
    assert members(durable) == after_the_close
    assert tier(durable, clock, "p2") == "silver"  # the live path: played W48 in silver

    lose_redis(durable)

    assert tier(durable, clock, "p2") == "silver"
    assert members(durable) == after_the_close  # the page, now from SQL
    play(durable, "p2", 5)  # joins 2026-W49 in the tier the live path gave them
    assert leagues.player_league(durable, "p2", clock.now()).cohort.tier == "silver"


def test_a_member_removed_a_week_after_their_last_close_is_not_counted_away(durable, clock):
    silver_week(durable)  # W48: p2 second of four, stays silver
    clock.advance(days=7)
    close.close(durable)
    for player, score in SCORES.items():
        play(durable, player, score)  # W49, in the tiers W48's close gave
    moderation.remove_player(durable, "p2")
    clock.advance(days=7)
    close.close(durable)
    assert tier(durable, clock, "p2") == "silver"  # W50: played W49, not away

    lose_redis(durable)

    assert tier(durable, clock, "p2") == "silver"  # bronze before: W49 counted as away


def test_a_removed_member_who_plays_again_is_ranked_once(durable, clock):
    silver_week(durable)
    moderation.remove_player(durable, "p2")
    play(durable, "p2", 15)  # not banned: back in the week, from zero, in their tier
    clock.advance(days=7)

    assert close.close(durable).players == 4

    table = db.league_results
    with durable.sql.connect() as conn:
        rows = conn.execute(select(table.c.player_id, table.c.position, table.c.skipped))
        assert sorted(rows) == [
            ("p1", 1, False),
            ("p2", 3, False),
            ("p3", 2, False),
            ("p4", 4, False),
        ]
