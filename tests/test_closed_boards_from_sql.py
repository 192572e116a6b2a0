"""A closed period's boards, listed at its close from its board index and from SQL's
aggregates: a category board whose index entry was lost in the period's last minute
(deleted, evicted, its SADD lost in a failover) still has its prizes paid and its
`leaderboard.period_closed` event recorded, once, and its index entry written back;
a category without a board is not invented. SQLite and MariaDB."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from engine import db, keys
from engine.boards import board_index, prizes, snapshots
from engine.boards.exams import Exam, record_exam
from engine.economy import wallet
from engine.ops import persistence
from engine.webhooks import retention, sources, subscriptions
from tests.test_board_prizes import after_the_week, coins, play_week, with_prizes
from tests.webhook_receiver import webhook_engine

WEEK = keys.board_index("weekly", "2026-W48")


@pytest.fixture
def engine(real_redis, rules, clock, sql_url):
    """Weekly prizes on the global and math boards, and a subscription to closed
    periods made before 2026-W48 ended."""
    for engine in webhook_engine(real_redis, rules, clock, sql_url):
        with_prizes(engine)
        subscriptions.create(engine, "http://127.0.0.1:9/closed", ["leaderboard.period_closed"])
        yield engine


def week_with_math_unindexed(engine) -> None:
    """2026-W48's math and art boards written and persisted, then math's entry of the
    week's index lost before the week ends."""
    play_week(engine, {"alice": 90, "bob": 80}, "math")
    play_week(engine, {"carol": 70}, "art")
    persistence.persist(engine)
    assert engine.redis.srem(WEEK, "math") == 1


def settled(engine) -> None:
    """Past the week's end by more than SQL needs to hold its last writes."""
    after_the_week(engine)  # 10 minutes after the end


def closed_events(engine) -> list[dict]:
    """The data of each recorded period_closed event."""
    table = db.webhook_events
    with engine.sql.connect() as conn:
        rows = conn.execute(
            select(table.c.data).where(table.c.type == "leaderboard.period_closed")
        ).scalars()
        return [json.loads(data) for data in rows]


def closed_weekly(engine) -> list[dict]:
    """The data of each recorded period_closed event of a weekly board."""
    return [data for data in closed_events(engine) if data["board"] == "weekly"]


def closed_weekly_boards(engine) -> Counter:
    """(period, category) of each recorded period_closed event of a weekly board."""
    return Counter((data["period"], data["category"]) for data in closed_weekly(engine))


def delivery_count(engine) -> int:
    with engine.sql.connect() as conn:
        return len(conn.execute(select(db.webhook_deliveries.c.id)).all())


def test_a_board_missing_from_its_index_is_announced_at_the_close(engine):
    week_with_math_unindexed(engine)
    settled(engine)
    record_exam(engine, "dave", Exam("geo-1", "geo", 50, 10, 5))  # 2026-W49: not closed
    persistence.persist(engine)
    sources.close_periods(engine)
    assert closed_weekly_boards(engine) == Counter(
        {("2026-W48", None): 1, ("2026-W48", "art"): 1, ("2026-W48", "math"): 1}
    )
    [math] = [data for data in closed_weekly(engine) if data["category"] == "math"]
    assert [row["player_id"] for row in math["top"]] == ["alice", "bob"]


def test_the_close_writes_the_missing_category_back_into_the_index(engine):
    week_with_math_unindexed(engine)
    settled(engine)
    sources.close_periods(engine)
    assert engine.redis.smembers(WEEK) == {b"art", b"math"}
    assert engine.redis.ttl(WEEK) > 0


def test_the_close_run_twice_announces_and_pays_nothing_twice(engine):
    week_with_math_unindexed(engine)
    before = coins(engine, "alice")
    settled(engine)
    first = sources.close_periods(engine)
    prizes.close_ended(engine)
    paid = coins(engine, "alice")
    engine.redis.srem(WEEK, "math")  # lost again after the close
    engine.clock.advance(minutes=5)
    assert sources.close_periods(engine) == 0
    assert prizes.close_ended(engine) == []
    assert (first, delivery_count(engine), coins(engine, "alice")) == (3, 3, paid)
    assert paid - before == 1000
    assert closed_weekly_boards(engine) == Counter(
        {("2026-W48", None): 1, ("2026-W48", "art"): 1, ("2026-W48", "math"): 1}
    )


def test_the_close_pays_the_prizes_of_a_board_missing_from_its_index(engine):
    """Prizes name their boards in the rules: the close never lists them from the index."""
    week_with_math_unindexed(engine)
    settled(engine)
    reports = prizes.close_ended(engine)
    assert {(r.board, r.period, r.paid) for r in reports} >= {
        ("weekly:global", "2026-W48", 3),
        ("weekly:math", "2026-W48", 1),
    }
    assert wallet.balances(engine, "alice")["bricks"] == 5


def test_a_close_waits_until_sql_holds_the_periods_last_writes(engine, clock):
    week_with_math_unindexed(engine)
    end = engine.calendar.end(engine.calendar.parse("weekly", "2026-W48"))
    clock.set(end + timedelta(seconds=5))
    assert sources.close_periods(engine) == 0
    clock.set(end + timedelta(seconds=board_index.SETTLE_S))
    assert sources.close_periods(engine) == 3


def test_sql_is_asked_once_a_period_type_at_the_close_not_on_every_run(engine, clock):
    week_with_math_unindexed(engine)
    settled(engine)
    statements = []

    def seen(conn, cursor, statement, *args):
        if "quiz_leaderboard_aggregates" in statement:
            statements.append(statement)

    event.listen(engine.sql, "before_cursor_execute", seen)
    try:
        for _ in range(3):
            sources.close_periods(engine)
            clock.advance(seconds=5)
    finally:
        event.remove(engine.sql, "before_cursor_execute", seen)
    # only 2026-W48 has a subscription older than its end: one period type to close
    assert len(statements) == 1


def test_a_snapshot_takes_a_current_board_missing_from_its_index(engine):
    play_week(engine, {"alice": 90, "bob": 80}, "math")
    persistence.persist(engine)
    engine.redis.srem(WEEK, "math")
    snapshots.take_snapshots(engine)
    board = keys.board_snapshot_top("weekly", "2026-W48", "math")
    top = json.loads(engine.redis.get(board))
    assert top["total_players"] == 2
    assert b"math" in engine.redis.smembers(WEEK)


def test_a_period_closed_longer_ago_than_the_webhook_record_is_kept_is_not_announced_again(
    engine, clock
):
    """2026-11 stays the previous month until January: the cleanup removing its
    delivered events after 30 days must not make the next run announce it again."""
    play_week(engine, {"alice": 90}, "math")
    persistence.persist(engine)
    clock.set(datetime(2026, 12, 1, 12, tzinfo=UTC))  # 2026-W48 and 2026-11 ended
    assert sources.close_periods(engine) == 4  # each period's global and math boards
    with engine.sql.begin() as conn:  # the receiver took them
        conn.execute(db.webhook_deliveries.update().values(status="delivered"))
    clock.set(datetime(2026, 12, 31, 13, tzinfo=UTC))
    assert retention.purge(engine) > 0
    assert closed_events(engine) == []
    sources.close_periods(engine)
    assert sorted((data["board"], data["period"]) for data in closed_events(engine)) == [
        # the weeks that ended since the job last ran, in the last 30 days: their global
        # boards, empty; neither 2026-W48 nor 2026-11 again
        ("weekly", f"2026-W{week}")
        for week in (49, 50, 51, 52)
    ]
