"""Playing exams and reading a board's top, for the engine's leaderboard tests.

tests/test_leaderboards.py and tests/test_leaderboard_reads.py record exams with play()
and read a board as (player, score, rank) rows with table().
"""

from __future__ import annotations

from engine import boards
from engine.boards import exams, leaderboards
from engine.boards.exams import Exam

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
