"""Taking a cheater off the leaderboards: every kept board, the aggregates behind them,
their SQL copy and the snapshots, on the real Redis with SQLite and MariaDB."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from engine import boards, db
from engine.boards import Board, exams, leaderboards, moderation, snapshots
from engine.boards.exams import Exam
from engine.calendar import PERIOD_TYPES
from engine.errors import NotRankedError
from engine.ops import persistence, rebuild
from tests.conftest import error_of


def boards_at(engine, when, category):
    """The six boards an exam at `when` in `category` counts on."""
    return {
        Board(period_type, boards.current_period(engine, period_type, when), c)
        for period_type in PERIOD_TYPES
        for c in (None, category)
    }


def sql_rows(engine, table, *where):
    with engine.sql.connect() as conn:
        return conn.execute(select(table).where(*where)).mappings().all()


@pytest.fixture
def played(durable_engine, clock):
    """mallory leads bob this week and led him last week; snapshots taken, all persisted."""
    engine = durable_engine
    last_week = clock.now()
    exams.record_exam(engine, "mallory", Exam("m0", "math", 900, 10, 10))
    exams.record_exam(engine, "bob", Exam("b0", "math", 50, 10, 5))
    clock.advance(days=7)
    exams.record_exam(engine, "mallory", Exam("m1", "math", 800, 10, 10))
    clock.advance(seconds=1)
    exams.record_exam(engine, "bob", Exam("b1", "math", 60, 10, 6))
    snapshots.take_snapshots(engine)
    persistence.persist(engine)
    return engine, boards_at(engine, last_week, "math") | boards_at(engine, clock.now(), "math")


def test_a_removed_player_leaves_every_kept_board(played):
    engine, played_on = played
    this_week = boards.resolve(engine, "weekly")
    assert leaderboards.around(engine, this_week, "bob").entry.rank == 2

    removed = moderation.remove_from_leaderboards(engine, "mallory")

    assert set(removed) == played_on  # this week and last, this month, last, this year
    for board in played_on:
        with pytest.raises(NotRankedError):
            leaderboards.around(engine, board, "mallory")
        assert leaderboards.around(engine, board, "bob").entry.rank == 1
    page = leaderboards.top(engine, this_week)
    assert page.source == "live"  # the snapshot that showed mallory is gone
    assert [entry.player_id for entry in page.entries] == ["bob"]
    assert (
        sql_rows(
            engine,
            db.quiz_leaderboard_aggregates,
            db.quiz_leaderboard_aggregates.c.player_id == "mallory",
        )
        == []
    )
    assert sql_rows(engine, db.leaderboard_cache) == []
    assert moderation.remove_from_leaderboards(engine, "mallory") == []  # nothing more to do


def test_snapshot_copies_that_do_not_show_the_player_stay(played, clock):
    engine, _ = played
    exams.record_exam(engine, "bob", Exam("b2", "art", 70, 10, 7))
    snapshots.take_snapshots(engine)
    cache = db.leaderboard_cache

    moderation.remove_from_leaderboards(engine, "mallory")

    assert {row["category"] for row in sql_rows(engine, cache)} == {"art"}
    assert all('"bob"' in row["document"] for row in sql_rows(engine, cache))


def test_a_removed_player_starts_from_zero(played, clock):
    engine, _ = played
    moderation.remove_from_leaderboards(engine, "mallory")
    clock.advance(seconds=1)

    again = exams.record_exam(engine, "mallory", Exam("m2", "math", 10, 10, 1))

    assert {row["score"] for row in again.summary["boards"]} == {10}
    assert leaderboards.around(engine, boards.resolve(engine, "weekly"), "bob").entry.rank == 1


def test_a_rebuild_does_not_bring_a_removed_player_back(played):
    engine, played_on = played
    moderation.remove_from_leaderboards(engine, "mallory")
    persistence.persist(engine)
    engine.redis.flushdb()

    rebuild.rebuild(engine)

    for board in played_on:
        with pytest.raises(NotRankedError):
            leaderboards.around(engine, board, "mallory")
        assert leaderboards.around(engine, board, "bob").entry.rank == 1


def test_the_admin_route_removes_and_lists_the_boards(client, admin_headers, server_headers):
    exam = {
        "exam_id": "m0",
        "category_id": "math",
        "score": 90,
        "total_questions": 10,
        "correct_answers": 9,
    }
    assert (
        client.post("/v1/players/mallory/exams", headers=server_headers, json=exam).status_code
        == 201
    )

    response = client.delete("/v1/admin/players/mallory/leaderboards", headers=admin_headers)

    assert response.status_code == 200
    body = response.get_json()
    assert body["player_id"] == "mallory"
    assert {(b["board"], b["category"]) for b in body["removed"]} == {
        (period_type, category) for period_type in PERIOD_TYPES for category in (None, "math")
    }
    assert {b["period"] for b in body["removed"] if b["board"] == "weekly"} == {"2026-W48"}
    gone = client.get("/v1/leaderboards/weekly/players/mallory", headers=server_headers)
    assert error_of(gone)["code"] == "not_ranked"
    denied = client.delete("/v1/admin/players/mallory/leaderboards", headers=server_headers)
    assert error_of(denied)["code"] == "forbidden"


def test_a_removal_cut_short_in_sql_completes_when_repeated(played, monkeypatch):
    engine, _ = played

    def unavailable(*args):
        raise OperationalError("DELETE", {}, ConnectionError("the database went away"))

    monkeypatch.setattr(moderation, "_remove_from_sql", unavailable)
    with pytest.raises(OperationalError):
        moderation.remove_from_leaderboards(engine, "mallory")
    monkeypatch.undo()

    assert moderation.remove_from_leaderboards(engine, "mallory") == []  # Redis was done
    aggregates = db.quiz_leaderboard_aggregates
    assert sql_rows(engine, aggregates, aggregates.c.player_id == "mallory") == []
    assert sql_rows(engine, db.leaderboard_cache) == []  # every copy showed mallory
