"""The steps that finish a batch of exams: board sums, board updates, ranks, summaries.

engine.boards.exams counts exams into the aggregates first; these steps then write each
board once for the whole batch and answer each exam with its summary. Each step is a
function returning its value, tested here on its own.
"""

from __future__ import annotations

import orjson

from engine import keys
from engine.boards import MULTIPLIER, exam_finish, exam_record
from engine.boards.exam_finish import BoardTotals, BoardUpdate, PendingExam
from engine.boards.exam_frame import Exam, Frame
from engine.outcomes import ScriptCode

NEW, UNANSWERED = ScriptCode.APPLIED, ScriptCode.UNANSWERED

MATH = Exam("m-1", "math", 70, 10, 7)
HISTORY = Exam("h-1", "history", 40, 5, 4)


def rows(score: int, questions: int, correct: int) -> list[list[int]]:
    """record_exams.lua's six board rows of a player's first exam in every period."""
    return [[score, 1, questions, correct, 3600] for _ in range(6)]


def test_a_board_row_reads_as_named_sums():
    totals = BoardTotals._make([70, 2, 20, 14, 3600])

    assert (totals.score, totals.exams, totals.questions, totals.correct) == (70, 2, 20, 14)
    assert totals.reached == 3600


def test_a_pending_exam_carries_its_submission_its_sums_and_whether_this_call_counted_it():
    submissions = [("zoe", HISTORY), ("alice", MATH)]
    result = {"boards": rows(70, 10, 7), "progress": {"xp": {"gained": 100}}}

    counted = PendingExam.of(submissions, 1, NEW, result)
    replayed = PendingExam.of(submissions, 1, UNANSWERED, {"boards": rows(70, 10, 7)})

    assert counted == PendingExam(
        submission=1,
        player_id="alice",
        exam=MATH,
        created=True,
        totals=[BoardTotals(70, 1, 10, 7, 3600)] * 6,
        progress={"xp": {"gained": 100}},
    )
    assert (replayed.created, replayed.progress) == (False, None)


def test_board_updates_group_every_exams_rows_by_board_in_the_batchs_order(engine):
    frame = Frame.at(engine, engine.clock.now())
    pending = [
        PendingExam.of([("alice", MATH)], 0, NEW, {"boards": rows(70, 10, 7)}),
        PendingExam.of([("bob", HISTORY)], 0, NEW, {"boards": rows(40, 5, 4)}),
        PendingExam.of([("carol", MATH)], 0, UNANSWERED, {"boards": rows(90, 10, 9)}),
    ]
    boards_of = exam_finish.BatchBoards(frame.periods)
    expiry = {"weekly": 1_000, "monthly": 2_000, "yearly": 3_000}

    updates = exam_finish.board_updates(frame, pending, boards_of, expiry)

    now_s = int(frame.now.timestamp())
    weekly = frame.periods[0]
    weekly_global = updates[keys.board_scores("weekly", weekly.name, "global")]
    weekly_math = updates[keys.board_scores("weekly", weekly.name, "math")]
    assert len(updates) == 9  # three periods, each: global, math, history
    assert weekly_global == BoardUpdate(
        boards_of["math"][0][0],
        0,
        [MULTIPLIER, 1_000, now_s, "alice|70:1:10:7", "bob|40:1:5:4", "carol|90:1:10:9"],
        [0, 1, 2],
    )
    assert weekly_math.args == [MULTIPLIER, 1_000, now_s, "alice|70:1:10:7", "carol|90:1:10:9"]
    assert (weekly_math.row, weekly_math.items) == (1, [0, 2])
    assert [update.row for update in updates.values()] == [0, 1, 2, 3, 4, 5, 1, 3, 5]
    assert exam_finish.new_categories(pending) == {"math", "history"}


def test_writing_the_boards_answers_each_rows_rank_and_indexes_the_new_categories(engine):
    frame = Frame.at(engine, engine.clock.now())
    pending = [
        PendingExam.of([("alice", MATH)], 0, NEW, {"boards": rows(70, 10, 7)}),
        PendingExam.of([("bob", MATH)], 0, NEW, {"boards": rows(90, 10, 9)}),
    ]
    boards_of = exam_finish.BatchBoards(frame.periods)
    expiry = {
        p.period_type: int(exam_finish.boards.expires_at(engine, p).timestamp())
        for p in frame.periods
    }
    updates = exam_finish.board_updates(frame, pending, boards_of, expiry)

    ranks = exam_finish.write_boards(engine, frame, updates, pending, expiry)

    assert ranks == [[2] * 6, [1] * 6]
    for period in frame.periods:
        index_key = keys.board_index(period.period_type, period.name)
        assert engine.redis.smembers(index_key) == {b"math"}


def test_a_summary_names_each_board_with_its_rank_and_the_exact_accuracy(engine):
    frame = Frame.at(engine, engine.clock.now())
    exam = PendingExam.of([("alice", MATH)], 0, NEW, {"boards": rows(70, 10, 7)})
    boards_ = exam_finish.BatchBoards(frame.periods)["math"]
    summary = exam_finish.summary_of(exam, boards_, [1, 2, 3, 4, 5, 6])

    assert summary["boards"] == [
        {
            "board": board.period_type,
            "category": board.category,
            "period": board.period.name,
            "score": 70,
            "rank": row + 1,
            "exams": 1,
            "accuracy": 0.7,
        }
        for row, (board, _) in enumerate(boards_)
    ]
    assert [b["category"] for b in summary["boards"]] == [None, "math"] * 3
    assert {key: summary[key] for key in summary if key not in ("boards", "progress")} == {
        "exam_id": "m-1",
        "player_id": "alice",
        "category_id": "math",
        "score": 70,
        "total_questions": 10,
        "correct_answers": 7,
    }


def test_keeping_summaries_keeps_the_first_and_answers_what_each_record_holds(engine):
    alice = PendingExam.of([("alice", MATH)], 0, NEW, {"boards": rows(70, 10, 7)})
    bob = PendingExam.of([("bob", MATH)], 0, NEW, {"boards": rows(90, 10, 9)})
    first = orjson.dumps({"first": "alice"})
    engine.redis.hset(keys.exam("alice", "m-1"), "summary", first)

    kept = exam_finish.keep_summaries(engine, [alice, bob], [b'{"second":"alice"}', b'{"bob":1}'])

    assert kept == [first, b'{"bob":1}']
    assert exam_record.read(engine.redis, [keys.exam("bob", "m-1")]) == [(None, b'{"bob":1}')]
