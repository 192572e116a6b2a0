"""The steps that finish a batch of exams: board sums, board updates, ranks, summaries.

engine.boards.exams counts exams into the aggregates first; these steps then write each
board once for the whole batch and answer each exam with its summary. Each step is a
function returning its value, tested here on its own.
"""

from __future__ import annotations

import orjson
import pytest

from bench import redis_count
from engine import boards, connection, keys
from engine.boards import MULTIPLIER, board_index, exam_finish, exam_record, exams
from engine.boards.exam_finish import BoardTotals, BoardUpdate, PendingExam
from engine.boards.exam_frame import Exam, Frame
from engine.outcomes import ScriptCode
from engine.runtime import Engine
from tests.script_state import expires_in

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


def write(engine, frame, pending):
    """Step 2 for `pending`: (ranks, the index registrations left for step 3)."""
    boards_of = exam_finish.BatchBoards(frame.periods)
    expiry = {
        p.period_type: int(exam_finish.boards.expires_at(engine, p).timestamp())
        for p in frame.periods
    }
    updates = exam_finish.board_updates(frame, pending, boards_of, expiry)
    return exam_finish.write_boards(engine, frame, updates, pending, expiry)


def test_writing_the_boards_answers_each_rows_rank_and_indexes_the_categories(engine):
    frame = Frame.at(engine, engine.clock.now())
    pending = [
        PendingExam.of([("alice", MATH)], 0, NEW, {"boards": rows(70, 10, 7)}),
        PendingExam.of([("bob", HISTORY)], 0, UNANSWERED, {"boards": rows(90, 10, 9)}),
    ]

    ranks, left = write(engine, frame, pending)

    assert ranks == [[2, 1] * 3, [1, 1] * 3]
    assert not left  # every board created here was indexed in the same round trip
    for period in frame.periods:
        index_key = keys.board_index(period.period_type, period.name)
        # a replay completing its boards indexes them too: its first call may not have
        assert engine.redis.smembers(index_key) == {b"math", b"history"}
        ttl = int(boards.expires_at(engine, period).timestamp() - frame.now.timestamp())
        assert expires_in(engine.redis, index_key) == ttl


def index_commands(engine, frame, pending) -> int:
    """The SADDs of the boards' index step 2 sends for `pending`."""
    with redis_count.sent_commands() as sent:
        write(engine, frame, pending)
    return sent.commands["sadd"]


def test_a_process_indexes_a_board_once_a_period_then_again_after_a_while(engine, clock):
    frame = Frame.at(engine, engine.clock.now())
    alice = PendingExam.of([("alice", MATH)], 0, NEW, {"boards": rows(70, 10, 7)})
    bob = PendingExam.of([("bob", MATH)], 0, NEW, {"boards": rows(90, 10, 9)})
    carol = PendingExam.of([("carol", HISTORY)], 0, NEW, {"boards": rows(90, 10, 9)})

    assert index_commands(engine, frame, [alice]) == 3  # one a period
    assert index_commands(engine, frame, [bob]) == 0
    assert index_commands(engine, frame, [bob, carol]) == 3  # history is new to it

    another_process = Engine(redis=engine.redis, rules=engine.rules, clock=clock)
    assert index_commands(another_process, frame, [alice]) == 3

    clock.advance(seconds=board_index.REFRESH_S - 1)
    assert index_commands(engine, Frame.at(engine, clock.now()), [alice]) == 0
    clock.advance(seconds=1)
    assert index_commands(engine, Frame.at(engine, clock.now()), [alice]) == 3


def lose_everything(redis) -> None:
    """Redis loses its data (a flush, or a failover to an empty replica)."""
    for primary in connection.primaries(redis):
        primary.flushdb()  # on a cluster's node, all it has: a cluster has only database 0


def play(engine, player, exam_id, category="math"):
    return exams.record_exam(engine, player, Exam(exam_id, category, 50, 10, 5))


@pytest.mark.also_on_cluster
def test_boards_created_again_after_redis_lost_its_data_are_indexed_again(engine, clock):
    play(engine, "alice", "a-1")
    lose_everything(engine.redis)

    play(engine, "bob", "b-1")  # the same boards, created again by a process that indexed them

    for board in exam_finish.boards_of(Frame.at(engine, clock.now()).periods, "math"):
        index_key = keys.board_index(board.period_type, board.period.name)
        assert engine.redis.smembers(index_key) == {b"math"}
        ttl = boards.seconds_to_expiry(engine, board.period)
        assert expires_in(engine.redis, index_key) == ttl
        assert expires_in(engine.redis, board.scores_key) == ttl
        assert expires_in(engine.redis, board.aggregates_key) == ttl


def test_a_board_index_lost_alone_is_written_again_within_the_refresh(engine, clock):
    play(engine, "alice", "a-1")
    weekly = exam_finish.boards_of(Frame.at(engine, clock.now()).periods, "math")[1]
    index_key = keys.board_index("weekly", weekly.period.name)
    engine.redis.delete(index_key)  # the boards are kept

    clock.advance(seconds=board_index.REFRESH_S)
    play(engine, "bob", "b-1")

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
