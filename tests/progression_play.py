"""Setting the clock and playing an exam, for the engine's progression tests.

tests/test_progression.py and tests/test_battle_pass.py move the clock with at() and
record an exam, each with its own id, with exam().
"""

from __future__ import annotations

from datetime import UTC, datetime

from engine.boards import exams
from engine.boards.exams import Exam

counter = iter(range(1_000_000))


def at(clock, *parts):
    clock.set(datetime(*parts, tzinfo=UTC))


def exam(engine, player, correct=5, questions=10, score=10):
    return exams.record_exam(
        engine, player, Exam(f"x{next(counter)}", "math", score, questions, correct)
    )
