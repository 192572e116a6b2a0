"""Leagues seen from outside: what a closed cohort shows and what a player's tier is
after Redis is lost and rebuilt from SQL, the zones a cohort shows while bans are in
force, and a cheater's removal racing the close."""

from __future__ import annotations

import pytest

from engine import leagues
from engine.boards import moderation
from engine.leagues import close, results
from engine.ops import persistence, rebuild
from engine.security import bans
from tests import test_script_remove_cohort_member as script
from tests.script_state import state
from tests.test_closed_periods_from_sql import small_leagues
from tests.test_league_close import play, start_in

SCORES = {"p1": 40, "p2": 30, "p3": 20, "p4": 10}


@pytest.fixture
def durable(durable_engine):
    """Cohorts of 4, one promoted and one relegated; real Redis and SQL."""
    return small_leagues(durable_engine)


def silver_week(engine):
    """SCORES played by four silver players in 2026-W48."""
    for player, score in SCORES.items():
        start_in(engine, player, "silver")
        play(engine, player, score)


def shown(cohort):
    return [(m.player_id, m.position, m.rank, m.score, m.zone) for m in cohort.members]


def lose_redis(engine):
    persistence.persist(engine)
    engine.redis.flushdb()
    rebuild.rebuild(engine)


def test_a_member_the_close_skipped_is_still_listed_once_redis_is_lost(durable, clock):
    silver_week(durable)
    clock.advance(days=7)
    bans.create(durable, "player", "p1", "cheating")
    close.close(durable)
    before, _ = results.cohort_with_prizes(durable, "2026-W48", "silver-1")
    assert shown(before) == [
        ("p1", 1, 1, 40, None),
        ("p2", 2, 2, 30, "promotion"),
        ("p3", 3, 3, 20, "stay"),
        ("p4", 4, 4, 10, "relegation"),
    ]

    lose_redis(durable)
    after, prizes = results.cohort_with_prizes(durable, "2026-W48", "silver-1")

    assert shown(after) == shown(before)
    assert (after.promotion_zone, after.relegation_zone) == (1, 1)
    assert prizes["p1"] == results.MemberPrize()
    assert prizes["p2"] == results.MemberPrize(paid={"coins": 200})


def test_a_player_banned_at_the_close_keeps_their_tier_through_a_rebuild(durable, clock):
    silver_week(durable)
    clock.advance(days=7)
    ban = bans.create(durable, "player", "p1", "cheating")
    close.close(durable)
    bans.delete(durable, "player", ban.ban_id)
    assert leagues.player_league(durable, "p1", clock.now()).tier == "silver"

    lose_redis(durable)

    assert leagues.player_league(durable, "p1", clock.now()).tier == "silver"
    play(durable, "p1", 5)  # joins 2026-W49 in the tier the close left them
    assert leagues.player_league(durable, "p1", clock.now()).cohort.tier == "silver"


def zones(cohort):
    return [(m.player_id, m.zone) for m in cohort.members]


def test_the_zones_of_a_cohort_in_play_leave_out_a_banned_member_as_the_close_will(durable, clock):
    silver_week(durable)
    bans.create(durable, "player", "p1", "cheating")
    bans.create(durable, "player", "p4", "a day off", expires_in_seconds=3_600)
    clock.advance(hours=2)  # p4's ban has run out; the week goes on

    live = leagues.cohort(durable, "2026-W48", "silver-1")
    assert zones(live) == [("p1", None), ("p2", "promotion"), ("p3", "stay"), ("p4", "relegation")]
    assert (live.promotion_zone, live.relegation_zone) == (1, 1)
    assert zones(leagues.player_league(durable, "p2", clock.now()).cohort) == zones(live)

    clock.advance(days=7)
    close.close(durable)
    closed, _ = results.cohort_with_prizes(durable, "2026-W48", "silver-1")
    assert zones(closed) == zones(live)  # what the page said the close would do, it did


def test_a_banned_last_member_leaves_the_relegation_zone_to_the_one_above(durable, clock):
    silver_week(durable)
    bans.create(durable, "player", "p4", "abuse")
    live = leagues.cohort(durable, "2026-W48", "silver-1")
    assert zones(live) == [("p1", "promotion"), ("p2", "stay"), ("p3", "relegation"), ("p4", None)]


def test_a_removal_that_lands_as_the_close_begins_leaves_the_cohort_as_the_close_ranked_it(
    durable, clock, monkeypatch
):
    """The removal checks that the close has not begun, then takes the player out in a
    second round trip: a close run in between ranks and pays them."""
    silver_week(durable)
    clock.advance(days=7)
    batch = durable.scripts.batch
    closed_in_between = []

    def close_first():
        monkeypatch.setattr(durable.scripts, "batch", batch)  # the close's own calls
        closed_in_between.append(close.close(durable))
        return batch()

    monkeypatch.setattr(durable.scripts, "batch", close_first)
    left = moderation.remove_from_cohorts(durable, "p1")
    monkeypatch.undo()

    assert closed_in_between[0].closed is True
    assert left == []  # too late for the close, which paid and promoted p1
    now, _ = results.cohort_with_prizes(durable, "2026-W48", "silver-1")
    assert zones(now) == [("p1", "promotion"), ("p2", "stay"), ("p3", "stay"), ("p4", "relegation")]
    assert leagues.player_league(durable, "p1", clock.now()).tier == "gold"


def test_the_removal_script_writes_nothing_once_the_tier_is_marked_closing(any_redis):
    script.join(any_redis, ("a", 10), ("b", 30))
    any_redis.hset(script.ROSTERS, close.CLOSING, 1)
    before = state(any_redis)
    assert script.remove(any_redis, "b") == 0
    assert state(any_redis) == before
    assert any_redis.hget(script.MEMBERS, "b") == b"1"
