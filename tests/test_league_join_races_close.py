"""An exam of a period that reaches the league once the period's close has begun (a slow
request sent in the period's last seconds, a worker whose clock lags): the cohorts the
close ranked, paid and wrote stay as it ranked them, so the page shows what the close
did and nobody is promoted, or moved, by a standing the close never saw. Real Redis,
SQLite and MariaDB."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine import keys, leagues
from engine.leagues import close, results
from engine.leagues.cohorts import slot_keys
from tests.test_closed_periods_from_sql import small_leagues
from tests.test_league_close import play, start_in

SCORES = {"p1": 40, "p2": 30, "p3": 20, "p4": 10}
LAST_SECOND = datetime(2026, 11, 30, 2, 59, 59, tzinfo=UTC)  # 2026-W48's (reset 03:00 UTC)


@pytest.fixture
def durable(durable_engine):
    """Cohorts of 4, one promoted and one relegated; real Redis and SQL."""
    return small_leagues(durable_engine)


def silver_week(engine):
    for player, score in SCORES.items():
        start_in(engine, player, "silver")
        play(engine, player, score)
    start_in(engine, "late", "silver")  # plays only in the week's last second


def tier_slot(engine):
    """What the silver tier's slot of 2026-W48 holds."""
    members, rosters, scores = slot_keys("weekly", "2026-W48", "silver")
    return (
        engine.redis.hgetall(members),
        engine.redis.hgetall(rosters),
        engine.redis.zrange(scores, 0, -1, withscores=True),
    )


def shown(engine):
    found, _ = results.cohort_with_prizes(engine, "2026-W48", "silver-1")
    return [(m.player_id, m.position, m.score, m.zone) for m in found.members]


CLOSED = [
    ("p1", 1, 40, "promotion"),
    ("p2", 2, 30, "stay"),
    ("p3", 3, 20, "stay"),
    ("p4", 4, 10, "relegation"),
]


def test_a_join_that_lands_after_the_close_read_the_cohorts_changes_nothing(durable, clock):
    silver_week(durable)
    clock.advance(days=7)
    assert close.close(durable).closed is True
    assert shown(durable) == CLOSED
    before = tier_slot(durable)

    # the week's last exams, reaching Redis after its close: a new member, a higher total
    leagues.join(durable, LAST_SECOND, {"late": 50, "p4": 99})

    assert tier_slot(durable) == before
    assert shown(durable) == CLOSED
    tiers = {p: leagues.player_league(durable, p, clock.now()).tier for p in ("late", "p4")}
    assert tiers == {"late": "silver", "p4": "bronze"}  # late: no close promoted them


def test_a_join_once_the_close_has_begun_and_before_it_finished_changes_nothing(durable, clock):
    silver_week(durable)
    clock.advance(days=7)
    close.final_standings(durable, durable.calendar.parse("weekly", "2026-W48"), 0)  # begun
    leagues.join(durable, LAST_SECOND, {"late": 50, "p4": 99})

    assert close.close(durable).closed is True

    assert shown(durable) == CLOSED
    assert durable.redis.hget(keys.league_members("weekly", "2026-W48", "silver"), "late") is None


def test_a_join_between_the_close_reading_the_tiers_and_marking_them_changes_nothing(
    durable, clock, monkeypatch
):
    """The close reads how many cohorts each tier has and marks it closing: a join that
    lands in between (opening a cohort the close would not read) must be refused."""
    silver_week(durable)  # silver-1 is full: "late" would open silver-2
    clock.advance(days=7)
    plain = durable.redis.pipeline

    class JoinAfterTheLastCounts:
        def __init__(self, pipe):
            self.pipe = pipe

        def __getattr__(self, name):
            return getattr(self.pipe, name)

        def execute(self):
            reads_the_counts = any(
                args[0] == "HGET" and args[2] == "last" for args, _ in self.pipe.command_stack
            )
            replies = self.pipe.execute()
            if reads_the_counts:
                monkeypatch.setattr(durable.redis, "pipeline", plain)
                leagues.join(durable, LAST_SECOND, {"late": 50})
            return replies

    monkeypatch.setattr(durable.redis, "pipeline", lambda **kw: JoinAfterTheLastCounts(plain(**kw)))
    assert close.close(durable).closed is True

    assert shown(durable) == CLOSED
    assert durable.redis.hget(keys.league_members("weekly", "2026-W48", "silver"), "late") is None
    assert leagues.player_league(durable, "late", clock.now()).tier == "silver"
