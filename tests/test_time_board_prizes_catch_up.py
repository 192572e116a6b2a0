"""A board_prizes job stopped for weeks pays every period that ended meanwhile, once.

The job looked back over the last 4 ended periods only: stopped for 6 weeks (an outage,
a worker or scheduler left stopped), it never paid the oldest weeks' prizes though their
boards were still kept (`keep_weeks`, 12). It now looks back over every kept period that
ended after it first saw the board; rules that name a board for the first time still pay
no more than the last 4 periods that ended before.
"""

from __future__ import annotations

from datetime import UTC, datetime

from engine.boards import exams, prizes
from engine.boards.exams import Exam
from tests.test_board_prizes import coins, prize_entries, with_prizes

OUTAGE_OVER = datetime(2027, 1, 11, 3, 10, tzinfo=UTC)  # 2027-W01 ended at 03:00


def _play(engine, player: str, score: int, exam_id: str) -> None:
    exams.record_exam(engine, player, Exam(exam_id, "math", score, 10, 5))


def test_weeks_ended_while_the_job_was_stopped_are_all_paid_once(durable_engine):
    engine = with_prizes(durable_engine)
    engine.clock.set(datetime(2026, 11, 23, 3, 10, tzinfo=UTC))  # the job runs after W47
    prizes.close_ended(engine)
    engine.clock.set(datetime(2026, 11, 25, 12, tzinfo=UTC))  # 2026-W48
    _play(engine, "alice", 90, "x-w48")
    engine.clock.set(datetime(2026, 12, 9, 12, tzinfo=UTC))  # 2026-W50
    _play(engine, "bob", 80, "x-w50")
    before = coins(engine, "alice")

    engine.clock.set(OUTAGE_OVER)  # the job's next run, six weeks later
    closed = {(r.board, r.period) for r in prizes.close_ended(engine) if r.paid}

    assert ("weekly:global", "2026-W48") in closed  # 6 weeks back: never paid before
    assert ("weekly:global", "2026-W50") in closed
    assert coins(engine, "alice") == before + 1000
    assert [e.reason for e in prize_entries(engine, "alice")] == [
        "board weekly:math 2026-W48 rank 1",
        "board weekly:global 2026-W48 rank 1",
    ]
    assert prizes.close_ended(engine) == []  # the next run pays nothing more
    assert coins(engine, "alice") == before + 1000


def test_a_board_first_seen_pays_no_more_than_the_last_four_periods(durable_engine):
    engine = with_prizes(durable_engine)
    engine.clock.set(datetime(2026, 11, 25, 12, tzinfo=UTC))  # 2026-W48
    _play(engine, "alice", 90, "x-w48")
    engine.clock.set(datetime(2026, 12, 23, 12, tzinfo=UTC))  # 2026-W52
    _play(engine, "bob", 80, "x-w52")

    engine.clock.set(OUTAGE_OVER)  # prizes named for the first time, after W48's end
    closed = {(r.board, r.period) for r in prizes.close_ended(engine) if r.paid}

    assert ("weekly:global", "2026-W52") in closed
    assert ("weekly:global", "2026-W48") not in closed
    assert prize_entries(engine, "alice") == []
