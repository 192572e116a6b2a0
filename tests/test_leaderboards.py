"""Leaderboards through the engine: ranking, ties, replays, periods, snapshots."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine import boards, db, keys
from engine.boards import exams, leaderboards, moderation, snapshots
from engine.boards.exams import Exam
from engine.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    NotRankedError,
    PeriodExpiredError,
)
from engine.ops import persistence, rebuild
from engine.outcomes import ScriptCode

counter = iter(range(1_000_000))


def play(engine, player, score, category="math", questions=10, correct=None, exam_id=None):
    exam = Exam(
        exam_id=exam_id or f"exam-{next(counter)}",
        category=category,
        score=score,
        total_questions=questions,
        correct_answers=questions if correct is None else correct,
    )
    return exams.record_exam(engine, player, exam)


def table(engine, period_type="weekly", category=None, period=None, **kwargs):
    board = boards.resolve(engine, period_type, category, period)
    page = leaderboards.top(engine, board, fresh=True, **kwargs)
    return [(e.player_id, e.score, e.rank) for e in page.entries]


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


def test_around_me_in_the_middle_at_the_top_and_at_the_bottom(engine):
    for n in range(10):
        play(engine, f"p{n}", 100 - n * 10)  # p0 = 100 ... p9 = 10
    board = boards.resolve(engine, "weekly")

    middle = leaderboards.around(engine, board, "p5", 2)
    assert [e.player_id for e in middle.above] == ["p3", "p4"]
    assert middle.entry.rank == 6
    assert [e.player_id for e in middle.below] == ["p6", "p7"]

    top = leaderboards.around(engine, board, "p0", 3)
    assert top.above == []
    assert top.entry.rank == 1
    assert [e.rank for e in top.below] == [2, 3, 4]

    bottom = leaderboards.around(engine, board, "p9", 3)
    assert [e.rank for e in bottom.above] == [7, 8, 9]
    assert bottom.entry.rank == 10
    assert bottom.below == []
    assert bottom.total_players == 10


def test_around_me_keeps_shared_ranks_across_the_window(engine, clock):
    for player in ("a", "b", "c", "d"):
        play(engine, player, 50)
        clock.advance(seconds=1)
    standing = leaderboards.around(engine, boards.resolve(engine, "weekly"), "d", 1)
    assert [e.rank for e in standing.above] == [1]
    assert standing.entry.rank == 1


def test_around_me_for_a_player_without_a_score(engine):
    play(engine, "alice", 10)
    with pytest.raises(NotRankedError):
        leaderboards.around(engine, boards.resolve(engine, "weekly"), "nobody")


def a_board_with_a_snapshot_a_tie_and_lost_aggregates(engine, clock):
    """alice 100, erin 90 (after the snapshot), bob and carol 80 (bob first), dave 50;
    the snapshot ranked alice 1, bob and carol 2, dave 4; carol's aggregates are gone."""
    play(engine, "alice", 100, correct=7)
    play(engine, "bob", 80, correct=8)
    clock.advance(seconds=1)
    play(engine, "carol", 80, correct=6)
    play(engine, "dave", 50, questions=5, correct=5)
    snapshots.take_snapshots(engine)
    clock.advance(minutes=1)
    play(engine, "erin", 90, correct=9)
    board = boards.resolve(engine, "weekly")
    engine.redis.hdel(board.aggregates_key, "carol")
    return board


def test_around_me_answers_each_entrys_sums_and_previous_rank(engine, clock):
    board = a_board_with_a_snapshot_a_tie_and_lost_aggregates(engine, clock)
    standing = leaderboards.around(engine, board, "bob", 1)
    assert standing.total_players == 5
    assert standing.above == [leaderboards.Entry(2, "erin", 90, 1, 10, 9, None)]
    assert standing.entry == leaderboards.Entry(3, "bob", 80, 1, 10, 8, 2)
    assert standing.below == [leaderboards.Entry(3, "carol", 80, 0, 0, 0, 2)]
    assert [(e.player_id, e.movement) for e in (*standing.above, standing.entry)] == [
        ("erin", "new"),
        ("bob", "down"),
    ]


def test_around_me_starting_inside_a_tie_gives_its_first_entry_the_shared_rank(engine, clock):
    board = a_board_with_a_snapshot_a_tie_and_lost_aggregates(engine, clock)
    standing = leaderboards.around(engine, board, "dave", 1)
    assert (standing.above, standing.entry, standing.below) == (
        [leaderboards.Entry(3, "carol", 80, 0, 0, 0, 2)],
        leaderboards.Entry(5, "dave", 50, 1, 5, 5, 4),
        [],
    )
    alone = leaderboards.around(engine, board, "carol", 0)
    assert (alone.above, alone.entry, alone.below) == ([], standing.above[0], [])


def test_the_snapshot_document_keeps_seven_values_an_entry(engine, clock):
    board = a_board_with_a_snapshot_a_tie_and_lost_aggregates(engine, clock)
    snapshots.take_snapshots(engine)
    document = json.loads(engine.redis.get(board.snapshot_top_key))
    assert document["total_players"] == 5
    assert document["rows"] == [
        *("alice", 100, 1, 1, 10, 7, 1),
        *("erin", 90, 2, 1, 10, 9, -1),
        *("bob", 80, 3, 1, 10, 8, 2),
        *("carol", 80, 3, 0, 0, 0, 2),
        *("dave", 50, 5, 1, 5, 5, 4),
    ]


def test_pages_continue_the_ranking(engine, clock):
    for n in range(6):
        play(engine, f"p{n}", 60 - n * 10 if n != 3 else 40)  # 60 50 40 40 20 10
        clock.advance(seconds=1)
    assert table(engine, limit=3, offset=2) == [("p2", 40, 3), ("p3", 40, 3), ("p4", 20, 5)]


def test_movement_after_a_snapshot(engine, clock):
    play(engine, "alice", 100)
    play(engine, "bob", 80)
    play(engine, "carol", 60)
    snapshots.take_snapshots(engine)
    clock.advance(minutes=10)
    play(engine, "carol", 50)  # 110: up from 3 to 1
    play(engine, "dave", 5)  # new

    board = boards.resolve(engine, "weekly")
    live = leaderboards.top(engine, board, fresh=True)
    moves = {e.player_id: (e.rank, e.rank_previous, e.movement) for e in live.entries}
    assert moves == {
        "carol": (1, 3, "up"),
        "alice": (2, 1, "down"),
        "bob": (3, 2, "down"),
        "dave": (4, None, "new"),
    }
    standing = leaderboards.around(engine, board, "bob", 0)
    assert (standing.entry.rank_previous, standing.entry.movement) == (2, "down")


def test_top_reads_are_live_and_the_snapshot_is_read_only_on_request(engine, clock):
    play(engine, "alice", 100)
    snapshots.take_snapshots(engine)
    taken = engine.clock.now()
    clock.advance(minutes=1)
    play(engine, "bob", 200)
    board = boards.resolve(engine, "weekly")

    live = leaderboards.top(engine, board)
    assert (live.source, live.snapshot_at, live.total_players) == ("live", None, 2)
    assert [(e.player_id, e.rank, e.rank_previous) for e in live.entries] == [
        ("bob", 1, None),
        ("alice", 2, 1),
    ]

    frozen = leaderboards.top(engine, board, source="snapshot")
    assert (frozen.source, frozen.snapshot_at, frozen.total_players) == ("snapshot", taken, 2)
    assert [(e.player_id, e.rank) for e in frozen.entries] == [("alice", 1)]
    clock.advance(days=3)  # an old snapshot is still what was asked for
    assert leaderboards.top(engine, board, source="snapshot").snapshot_at == taken
    assert leaderboards.top(engine, board, offset=1, source="snapshot").entries == []
    with pytest.raises(InvalidInputError):
        leaderboards.top(engine, board, source="cache")


def test_a_snapshot_read_of_a_board_without_one_is_not_found(engine):
    play(engine, "alice", 100)
    with pytest.raises(NotFoundError):
        leaderboards.top(engine, boards.resolve(engine, "weekly"), source="snapshot")


def test_only_the_current_period_has_a_next_reset(engine, clock):
    play(engine, "alice", 100)
    clock.set(datetime(2026, 12, 2, 12, tzinfo=UTC))
    past = leaderboards.top(engine, boards.resolve(engine, "monthly", period="2026-11"))
    assert (past.next_reset_at, past.ended_at) == (None, datetime(2026, 12, 1, 3, tzinfo=UTC))
    standing = leaderboards.around(
        engine, boards.resolve(engine, "monthly", period="2026-11"), "alice"
    )
    assert (standing.next_reset_at, standing.ended_at) == (
        None,
        datetime(2026, 12, 1, 3, tzinfo=UTC),
    )
    current = leaderboards.top(engine, boards.resolve(engine, "monthly"))
    assert (current.next_reset_at, current.ended_at) == (datetime(2027, 1, 1, 3, tzinfo=UTC), None)


def test_snapshot_entries_carry_their_movement_against_the_previous_snapshot(engine, clock):
    play(engine, "alice", 100)
    play(engine, "bob", 50)
    snapshots.take_snapshots(engine)
    clock.advance(hours=2)
    play(engine, "bob", 100)  # 150
    snapshots.take_snapshots(engine)
    page = leaderboards.top(engine, boards.resolve(engine, "weekly"), source="snapshot")
    assert page.source == "snapshot"
    assert [(e.player_id, e.rank, e.rank_previous, e.movement) for e in page.entries] == [
        ("bob", 1, 2, "up"),
        ("alice", 2, 1, "down"),
    ]


def test_snapshot_ranks_every_player_even_with_many_equal_scores(engine, monkeypatch):
    monkeypatch.setattr(snapshots, "CHUNK", 7)
    for n in range(30):
        play(engine, f"p{n:02d}", 10 if n < 20 else n)  # p20..p29 score 20..29, the rest 10
    board = boards.resolve(engine, "weekly")
    assert snapshots.snapshot_board(engine, board) == 30
    ranks = {
        p.decode(): int(r)
        for p, r in engine.redis.zrange(board.snapshot_ranks_key, 0, -1, withscores=True)
    }
    assert ranks == {f"p{n:02d}": 30 - n for n in range(20, 30)} | {
        f"p{n:02d}": 11 for n in range(20)
    }
    assert not engine.redis.exists(board.snapshot_building_key)


def test_snapshot_runs_over_every_current_board(engine):
    play(engine, "alice", 10, category="math")
    play(engine, "bob", 10, category="history")
    report = snapshots.take_snapshots(engine)
    assert report.boards == 3 * 3  # global, math, history for each period type
    assert engine.redis.exists(boards.resolve(engine, "yearly", "history").snapshot_top_key)


def test_a_players_ranks_on_every_current_board(engine):
    play(engine, "alice", 50, category="math")
    play(engine, "bob", 70, category="math")
    play(engine, "alice", 10, category="art")
    standings = leaderboards.player_ranks(engine, "alice")
    summary = [
        (s.board.period_type, s.board.category, s.entry.rank, s.entry.score) for s in standings
    ]
    assert summary == [
        ("weekly", None, 2, 60),
        ("weekly", "art", 1, 10),
        ("weekly", "math", 2, 50),
        ("monthly", None, 2, 60),
        ("monthly", "art", 1, 10),
        ("monthly", "math", 2, 50),
        ("yearly", None, 2, 60),
        ("yearly", "art", 1, 10),
        ("yearly", "math", 2, 50),
    ]
    assert leaderboards.player_ranks(engine, "nobody") == []
