"""Cohorts smaller than their zones: a member ranked first is never relegated, and a
member who scored nothing in the period is neither promoted nor paid a placement prize,
in the zones a cohort shows while the period runs and in what its close does (next
tiers, prizes, the SQL rows). Real Redis, SQLite and MariaDB."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from engine import db, leagues
from engine.leagues import close
from engine.rules.leagues import LeagueRules
from tests.test_closed_periods_from_sql import small_leagues
from tests.test_league_close import coins, play, prize_entries, start_in


@pytest.fixture
def small(durable_engine):
    """Cohorts of 4, one promoted and one relegated; silver pays 200 to rank 1, 100 to
    ranks 2-3 (rules.toml)."""
    return small_leagues(durable_engine)


def zones(engine, cohort_id):
    return [(m.player_id, m.zone) for m in leagues.cohort(engine, "2026-W48", cohort_id).members]


def rows(engine):
    table = db.league_results
    with engine.sql.connect() as conn:
        found = conn.execute(select(table).order_by(table.c.position))
        return [(r.player_id, r.rank, r.score, r.next_tier, r.prize) for r in found]


def test_a_lone_top_tier_player_ranked_first_keeps_the_top_tier(small, clock):
    start_in(small, "solo", "diamond")
    play(small, "solo", 40)
    assert zones(small, "diamond-1") == [("solo", "stay")]
    clock.advance(days=7)

    assert close.close(small).closed is True

    assert rows(small) == [("solo", 1, 40, "diamond", None)]
    assert leagues.player_league(small, "solo", clock.now()).tier == "diamond"


def test_a_lone_player_who_scored_nothing_is_neither_promoted_nor_paid(small, clock):
    start_in(small, "idle", "silver")
    play(small, "idle", 0)  # a scored exam of 0: placed, with nothing to show for it
    before = coins(small, "idle")
    assert zones(small, "silver-1") == [("idle", "stay")]
    clock.advance(days=7)

    report = close.close(small)

    assert (report.closed, report.players, report.prizes) == (True, 1, 0)
    assert rows(small) == [("idle", 1, 0, "silver", None)]
    assert (coins(small, "idle") - before, prize_entries(small, "idle")) == (0, [])
    assert leagues.player_league(small, "idle", clock.now()).tier == "silver"


def test_the_ones_who_scored_nothing_share_no_prize_and_the_top_scorer_is_paid(small, clock):
    for player, score in [("ace", 30), ("nil1", 0), ("nil2", 0)]:
        start_in(small, player, "silver")
        play(small, player, score)
    before = {p: coins(small, p) for p in ("ace", "nil1", "nil2")}
    # ranks 1, 2, 2: the two at 0 stay (not promoted), the last by arrival relegated
    assert zones(small, "silver-1") == [
        ("ace", "promotion"),
        ("nil1", "stay"),
        ("nil2", "relegation"),
    ]
    clock.advance(days=7)

    close.close(small)

    assert rows(small) == [
        ("ace", 1, 30, "gold", '{"coins": 200}'),
        ("nil1", 2, 0, "silver", None),
        ("nil2", 2, 0, "bronze", None),
    ]
    assert {p: coins(small, p) - before[p] for p in before} == {"ace": 200, "nil1": 0, "nil2": 0}


def test_players_tied_for_first_in_the_top_tier_are_none_of_them_relegated(small, clock):
    for player in ("twin1", "twin2"):
        start_in(small, player, "diamond")
        play(small, player, 25)
    assert zones(small, "diamond-1") == [("twin1", "stay"), ("twin2", "stay")]
    clock.advance(days=7)

    close.close(small)

    assert [row[3] for row in rows(small)] == ["diamond", "diamond"]


def test_the_next_period_joined_before_the_close_takes_the_same_tier(small, clock):
    """A player who plays the next period before the close runs joins in the tier the
    close will give them (engine.leagues.cohorts.tiers_for), by the same rule."""
    start_in(small, "solo", "diamond")
    play(small, "solo", 40)
    start_in(small, "idle", "silver")
    play(small, "idle", 0)
    clock.advance(days=7)
    for player in ("solo", "idle"):
        play(small, player, 10)  # 2026-W49, 2026-W48 not closed yet
    tiers = {p: leagues.player_league(small, p, clock.now()).tier for p in ("solo", "idle")}
    assert tiers == {"solo": "diamond", "idle": "silver"}


def test_the_zone_rule(rules):
    league = dataclasses.replace(rules.leagues, promote=5, relegate=5)
    assert isinstance(league, LeagueRules)

    def zone(tier, position, members, rank, score):
        return league.zone(tier, position, members, rank=rank, score=score)

    assert zone("diamond", 1, 1, 1, 40) == "stay"  # alone at the top: not relegated
    assert zone("diamond", 1, 1, 1, 0) == "stay"
    assert zone("diamond", 2, 2, 1, 40) == "stay"  # tied for first
    assert zone("diamond", 2, 2, 2, 30) == "relegation"
    assert zone("silver", 1, 1, 1, 0) == "stay"  # nothing scored: not promoted
    assert zone("silver", 1, 1, 1, 1) == "promotion"
    assert zone("bronze", 3, 3, 3, 0) == "stay"  # the lowest tier: nowhere to go down
    assert league.next_tier("silver", 1, 1, rank=1, score=0) == "silver"
    assert league.next_tier("diamond", 1, 30, rank=1, score=9) == "diamond"
