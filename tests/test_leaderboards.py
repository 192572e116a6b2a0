"""Leaderboards through the engine: ranking, ties, exams counted once, periods.

How a board is written: who ranks first, how ties keep the order players reached a
score in (through a rebuild and a removal too), how an exam counts once on every board
it belongs to, and which periods are kept, refused or expired.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine import boards, db, keys
from engine.boards import exams, leaderboards, moderation, snapshots
from engine.boards.exams import Exam
from engine.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    PeriodExpiredError,
)
from engine.ops import persistence, rebuild
from engine.outcomes import ScriptCode
from tests.leaderboard_play import play, table


def test_higher_scores_rank_first(engine):
    play(engine, "low", 10)
    play(engine, "high", 90)
    play(engine, "mid", 50)
    assert table(engine) == [("high", 90, 1), ("mid", 50, 2), ("low", 10, 3)]


def test_equal_scores_share_a_rank_and_the_first_to_reach_it_is_listed_first(engine, clock):
    play(engine, "first", 100)
    clock.advance(seconds=30)
    play(engine, "second", 100)
    clock.advance(seconds=30)
    play(engine, "third", 40)
    play(engine, "top", 60)
    play(engine, "top", 60)  # 120
    assert table(engine) == [
        ("top", 120, 1),
        ("first", 100, 2),
        ("second", 100, 2),
        ("third", 40, 4),
    ]


def test_reaching_a_tie_later_does_not_pass_the_earlier_player(engine, clock):
    play(engine, "early", 50)
    clock.advance(minutes=5)
    play(engine, "late", 20)
    clock.advance(minutes=5)
    play(engine, "late", 30)  # reaches 50 now, later than "early"
    assert [p for p, _, _ in table(engine)] == ["early", "late"]
    clock.advance(minutes=5)
    play(engine, "early", 0)  # a zero-score exam does not make "early" reach 50 again
    assert [p for p, _, _ in table(engine)] == ["early", "late"]


def test_a_tie_within_one_second_lists_the_first_to_reach_it_first(engine):
    for player, score in [("alice", 50), ("bob", 50), ("dora", 70), ("eve", 30)]:
        play(engine, player, score)
    play(engine, "zoe", 20)
    play(engine, "adam", 20)  # after zoe, though "adam" sorts first
    expected = [
        ("dora", 70, 1),
        ("alice", 50, 2),
        ("bob", 50, 2),
        ("eve", 30, 4),
        ("zoe", 20, 5),
        ("adam", 20, 5),
    ]
    assert table(engine) == expected
    assert table(engine, "yearly", "math") == expected
    board = boards.resolve(engine, "weekly")
    standing = leaderboards.around(engine, board, "bob", 1)
    assert [e.player_id for e in (*standing.above, standing.entry, *standing.below)] == [
        "alice",
        "bob",
        "eve",
    ]
    snapshots.take_snapshots(engine)
    frozen = leaderboards.top(engine, board, source="snapshot")
    assert [(e.player_id, e.score, e.rank) for e in frozen.entries] == expected


def test_a_rebuild_from_sql_restores_the_order_of_ties(durable_engine, clock):
    engine = durable_engine
    play(engine, "zed", 50)
    clock.advance(seconds=1)
    play(engine, "amy", 50)  # a second after zed
    clock.advance(seconds=1)
    play(engine, "alice", 50)
    play(engine, "bob", 50)  # in alice's second, after her
    play(engine, "top", 90)
    persistence.persist(engine)
    before = table(engine)
    assert [player for player, _, _ in before] == ["top", "zed", "amy", "alice", "bob"]

    engine.redis.flushdb()
    rebuild.rebuild(engine)

    assert table(engine) == before
    play(engine, "aaron", 50)  # a new arrival at 50 still comes after them
    assert table(engine)[-1] == ("aaron", 50, 2)


def test_a_snapshot_before_the_persist_writes_sql_rows_with_a_reached_second_in_the_period(
    durable_engine, clock
):
    """The composite holds places, not times: a row the snapshot writes first gets the
    snapshot's second in the period (the latest its total can have been reached)."""
    engine = durable_engine
    play(engine, "alice", 50)  # 2026-11-25 12:00: 2 days 9 hours into the week
    clock.advance(minutes=30)
    play(engine, "bob", 50)
    snapshots.snapshot_board(engine, boards.resolve(engine, "weekly"))
    table_ = db.quiz_leaderboard_aggregates
    query = select(table_.c.player_id, table_.c.reached_s).where(
        table_.c.period == "2026-W48", table_.c.category == "global"
    )
    with engine.sql.connect() as conn:
        assert sorted(conn.execute(query).all()) == [("alice", 207_000), ("bob", 207_000)]
    persistence.persist(engine)
    with engine.sql.connect() as conn:
        assert sorted(conn.execute(query).all()) == [("alice", 205_200), ("bob", 207_000)]


def test_removing_a_player_keeps_the_others_in_the_order_they_reached_the_score(engine):
    for player in ("carl", "mallory", "bea"):
        play(engine, player, 50)
    moderation.remove_from_leaderboards(engine, "mallory")
    play(engine, "abe", 50)
    play(engine, "mallory", 50)  # starts again from nothing, after everyone
    assert table(engine) == [
        ("carl", 50, 1),
        ("bea", 50, 1),
        ("abe", 50, 1),
        ("mallory", 50, 1),
    ]


def test_every_board_of_the_exam_is_updated(engine):
    outcome = play(engine, "alice", 70, category="history", questions=10, correct=7)
    touched = {(b["board"], b["category"], b["period"]) for b in outcome.summary["boards"]}
    assert touched == {
        ("weekly", None, "2026-W48"),
        ("weekly", "history", "2026-W48"),
        ("monthly", None, "2026-11"),
        ("monthly", "history", "2026-11"),
        ("yearly", None, "2026"),
        ("yearly", "history", "2026"),
    }
    assert all(b["rank"] == 1 and b["score"] == 70 for b in outcome.summary["boards"])
    assert table(engine, "yearly", "history") == [("alice", 70, 1)]
    assert table(engine, "weekly", "math") == []


def test_aggregates_are_exact_sums(engine):
    play(engine, "alice", 30, questions=10, correct=3)
    play(engine, "alice", 50, questions=20, correct=19)
    board = boards.resolve(engine, "monthly")
    [entry] = leaderboards.top(engine, board, fresh=True).entries
    assert (entry.score, entry.exams, entry.questions, entry.correct) == (80, 2, 30, 22)
    assert entry.accuracy == round(22 / 30, 4)  # not the mean of 0.3 and 0.95


def test_a_replayed_exam_counts_once_and_answers_the_same(engine):
    first = play(engine, "alice", 40, exam_id="attempt-1")
    again = play(engine, "alice", 40, exam_id="attempt-1")
    assert first.created and not again.created
    assert again.summary == first.summary
    assert table(engine) == [("alice", 40, 1)]


def test_a_reused_exam_id_with_other_content_is_refused(engine):
    play(engine, "alice", 40, exam_id="attempt-1")
    with pytest.raises(IdempotencyKeyReusedError):
        play(engine, "alice", 45, exam_id="attempt-1")
    assert table(engine) == [("alice", 40, 1)]


def test_the_same_exam_id_for_two_players_counts_for_both(engine):
    play(engine, "alice", 40, exam_id="shared")
    play(engine, "bob", 30, exam_id="shared")
    assert table(engine) == [("alice", 40, 1), ("bob", 30, 2)]


def test_a_lost_board_write_is_completed_by_the_replay(engine):
    """Step 1 counted the exam but the process died before writing the boards."""
    exam = Exam("attempt-1", "math", 40, 10, 10)
    frame = exams.Frame.at(engine, engine.clock.now())
    code, _ = exams.count_into_aggregates(engine, frame, [("alice", exam)])
    assert code == ScriptCode.APPLIED
    assert table(engine) == []

    outcome = exams.record_exam(engine, "alice", exam)
    assert not outcome.created
    assert table(engine) == [("alice", 40, 1)]
    assert table(engine, "yearly", "math") == [("alice", 40, 1)]


def test_a_batch_counts_each_exam_and_reports_each_error(engine):
    outcomes = exams.record_exams(
        engine,
        [
            ("alice", Exam("a1", "math", 10, 10, 5)),
            ("bob", Exam("b1", "math", 20, 10, 11)),  # more correct than questions
            ("alice", Exam("a2", "math", 15, 10, 5)),
        ],
    )
    assert outcomes[0].created and outcomes[2].created
    assert isinstance(outcomes[1], InvalidInputError)
    assert table(engine) == [("alice", 25, 1)]


@pytest.mark.parametrize(
    ("exam", "field"),
    [
        (Exam("x", "math", -1, 10, 1), "score"),
        (Exam("x", "math", 10_001, 10, 1), "score"),
        (Exam("x", "math", 10, 0, 0), "total_questions"),
        (Exam("x", "math", 10, 10, 11), "correct_answers"),
        (Exam("x", "global", 10, 10, 1), "category_id"),
        (Exam("x", "bad category", 10, 10, 1), "category_id"),
    ],
)
def test_inconsistent_exams_are_refused(engine, exam, field):
    with pytest.raises(InvalidInputError) as caught:
        exams.record_exam(engine, "alice", exam)
    assert field in caught.value.details
    assert table(engine) == []


def test_an_exam_at_0259_counts_in_the_old_week_and_at_0301_in_the_new(engine, clock):
    clock.set(datetime(2026, 11, 30, 2, 59, tzinfo=UTC))  # Monday, before the reset
    play(engine, "alice", 10)
    clock.set(datetime(2026, 11, 30, 3, 1, tzinfo=UTC))
    play(engine, "alice", 25)
    assert table(engine, "weekly", period="2026-W48") == [("alice", 10, 1)]
    assert table(engine, "weekly") == [("alice", 25, 1)]
    assert table(engine, "monthly") == [("alice", 35, 1)]  # both on November game days
    clock.set(datetime(2026, 12, 1, 2, 59, tzinfo=UTC))
    assert table(engine, "monthly") == [("alice", 35, 1)]
    clock.set(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    assert table(engine, "monthly") == []
    assert table(engine, "monthly", period="2026-11") == [("alice", 35, 1)]


def test_the_year_turn_and_week_53(engine, clock):
    clock.set(datetime(2027, 1, 1, 2, 30, tzinfo=UTC))  # still 31 Dec 2026's game day
    play(engine, "alice", 10)
    clock.set(datetime(2027, 1, 1, 3, 30, tzinfo=UTC))
    play(engine, "alice", 20)
    assert table(engine, "yearly", period="2026") == [("alice", 10, 1)]
    assert table(engine, "yearly") == [("alice", 20, 1)]
    assert table(engine, "weekly") == [("alice", 30, 1)]  # both in 2026-W53
    board = boards.resolve(engine, "weekly")
    assert board.period.name == "2026-W53"


def test_past_periods_are_kept_then_expire(engine, clock):
    play(engine, "alice", 10)
    clock.set(datetime(2027, 2, 20, 12, tzinfo=UTC))  # 2027-W07: W48 ended 12 weeks ago
    assert table(engine, "weekly", period="2026-W48") == [("alice", 10, 1)]
    clock.set(datetime(2027, 2, 22, 3, 0, tzinfo=UTC))  # 2027-W08 starts: W48 is gone
    with pytest.raises(PeriodExpiredError):
        table(engine, "weekly", period="2026-W48")


def test_board_keys_expire_when_the_period_is_no_longer_kept(engine):
    play(engine, "alice", 10)
    week = boards.resolve(engine, "weekly")
    expected = boards.expires_at(engine, week.period).timestamp()
    assert engine.calendar.end(week.period).timestamp() + 12 * 7 * 86_400 == expected
    lifetime = expected - engine.clock.now().timestamp()  # relative to engine time
    for key in (week.scores_key, week.aggregates_key):
        assert lifetime - 5 <= engine.redis.ttl(key) <= lifetime
    # the player's stats hash holds every period: it lives as long as the longest, the year
    year = boards.resolve(engine, "yearly")
    lifetime = boards.expires_at(engine, year.period).timestamp() - engine.clock.now().timestamp()
    assert lifetime - 5 <= engine.redis.ttl(keys.board_stats("alice")) <= lifetime


def test_future_and_malformed_periods_are_refused(engine):
    with pytest.raises(InvalidInputError):
        table(engine, "weekly", period="2026-W49")
    with pytest.raises(InvalidInputError):
        table(engine, "monthly", period="November")
