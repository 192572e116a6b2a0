"""Exam results: counted once into the player's aggregates and every current board.

An exam touches six boards: global and its category, for the current week, month
and year. Ingestion takes three pipelined steps, each safe to repeat:

1. `record_exam.lua` (the player's slot) claims the exam id and updates the exact
   aggregates, returning each board's new absolute composite score.
2. `update_board.lua` (each board's own slot) writes those absolute values, only
   ever upwards, and answers the player's rank there.
3. `store_exam_summary.lua` keeps the first summary; every copy answers with it.

A crash between steps leaves the exam counted in the aggregates; a retry of the same
exam id (or the player's next exam, whose totals include it) completes the boards.
`record_exams` does this for many exams in three round trips in all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine import boards, keys, progression, security
from engine.boards import Board
from engine.calendar import PERIOD_TYPES, Period
from engine.clock import to_ms
from engine.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    QuestboardError,
    from_script_code,
)
from engine.runtime import Engine

NEW, ANSWERED, UNANSWERED, REUSED, RAPID_FIRE = 0, 1, 2, -2, -5


@dataclass(frozen=True)
class Exam:
    exam_id: str
    category: str
    score: int
    total_questions: int
    correct_answers: int

    def fingerprint(self) -> str:
        content = f"{self.category}|{self.score}|{self.total_questions}|{self.correct_answers}"
        return hashlib.sha256(content.encode()).hexdigest()


@dataclass(frozen=True)
class ExamOutcome:
    summary: dict
    created: bool  # False: a replay, answered with the first summary


def record_exam(
    engine: Engine, player_id: str, exam: Exam, address: str | None = None
) -> ExamOutcome:
    """Count one exam. Raises InvalidInputError, IdempotencyKeyReusedError, RapidFireError."""
    [outcome] = record_exams(engine, [(player_id, exam)], address=address)
    if isinstance(outcome, QuestboardError):
        raise outcome
    return outcome


def record_exams(
    engine: Engine, submissions: Sequence[tuple[str, Exam]], address: str | None = None
) -> list[ExamOutcome | QuestboardError]:
    """Count many exams in three round trips; one outcome or error per submission.

    Impossible results, rapid fire and capped earnings are recorded as violations.
    """
    frame = Frame.at(engine, engine.clock.now())
    results: list[ExamOutcome | QuestboardError | None] = [None] * len(submissions)
    sent = []  # indexes of the submissions that passed the checks
    pipe = engine.redis.pipeline(transaction=False)
    for index, (player_id, exam) in enumerate(submissions):
        try:
            _check(engine, exam)
        except InvalidInputError as error:
            results[index] = error
            impossible = set(error.details) & {"score", "correct_answers"}
            if impossible:
                security.record_violation(
                    engine,
                    player_id,
                    address,
                    "impossible_amount",
                    {
                        "exam_id": exam.exam_id,
                        "fields": sorted(impossible),
                        "score": exam.score,
                        "total_questions": exam.total_questions,
                        "correct_answers": exam.correct_answers,
                    },
                    "refused",
                )
            continue
        sent.append(index)
        count_into_aggregates(engine, frame, player_id, exam, client=pipe)
    recorded = pipe.execute() if sent else []

    pending = []  # (index, code, board rows) still to write to the boards
    for index, (code, payload) in zip(sent, recorded, strict=True):
        exam = submissions[index][1]
        if code == ANSWERED:
            results[index] = ExamOutcome(json.loads(payload), created=False)
        elif code == RAPID_FIRE:
            details = json.loads(payload)
            player_id = submissions[index][0]
            security.report(
                engine, player_id, address, [dict(details, rule="rapid_fire")], "refused"
            )
            results[index] = from_script_code(RAPID_FIRE, details)
        elif code == REUSED:
            results[index] = IdempotencyKeyReusedError(
                "This exam_id was already used for a different result.",
                {"exam_id": exam.exam_id},
            )
        else:
            pending.append((index, code, json.loads(payload)))

    if pending:
        _finish(engine, frame, submissions, pending, results, address)
    return results  # type: ignore[return-value]


@dataclass(frozen=True)
class Frame:
    """What every exam counted at one moment shares: periods, their arguments, the day."""

    now: datetime
    periods: list[Period]
    period_args: list[int]
    context: progression.DayContext

    @classmethod
    def at(cls, engine: Engine, now: datetime) -> Frame:
        periods = [boards.current_period(engine, period_type, now) for period_type in PERIOD_TYPES]
        period_args: list[int] = []
        for period in periods:
            period_args += [
                int((now - engine.calendar.start(period)).total_seconds()),
                int(boards.expires_at(engine, period).timestamp()),
                boards.multiplier(period.period_type),
                boards.cap(period.period_type),
            ]
        return cls(now, periods, period_args, progression.day_context(engine, now))


def count_into_aggregates(
    engine: Engine, frame: Frame, player_id: str, exam: Exam, client: Any = None
) -> Any:
    """Step 1 alone: record_exam.lua for one exam (queued on `client` if it is a pipeline)."""
    battle_pass = engine.rules.battle_pass
    return engine.scripts.record_exam(
        keys=[
            keys.exam(player_id, exam.exam_id),
            *(keys.player_board_stats(player_id, p.period_type, p.name) for p in frame.periods),
            keys.wallet(player_id),
            keys.ledger(player_id),
            keys.player_outbox(player_id),
            *frame.context.player_keys(player_id, frame.now),
        ],
        args=[
            exam.fingerprint(),
            engine.rules.leaderboards.exam_replay_days * 86_400,
            exam.category,
            exam.score,
            exam.total_questions,
            exam.correct_answers,
            *frame.period_args,
            player_id,
            to_ms(frame.now),
            engine.rules.limits.max_balance,
            frame.context.json,
            battle_pass.xp_per_exam + battle_pass.xp_per_correct_answer * exam.correct_answers,
            ",".join(f"{p.period_type}:{p.name}" for p in frame.periods),
            exam.exam_id,
        ],
        client=client,
    )


def _boards_of(periods, category: str) -> list[Board]:
    """The six boards of an exam, in record_exam.lua's order."""
    return [Board(p.period_type, p, c) for p in periods for c in (None, category)]


def _finish(engine, frame, submissions, pending, results, address) -> None:
    periods = frame.periods
    pipe = engine.redis.pipeline(transaction=False)
    for index, code, result in pending:
        player_id, exam = submissions[index]
        for board, (total, exams, questions, correct, composite) in zip(
            _boards_of(periods, exam.category), result["boards"], strict=True
        ):
            engine.scripts.update_board(
                keys=[board.scores_key, board.aggregates_key],
                args=[
                    player_id,
                    composite,
                    f"{total}:{exams}:{questions}:{correct}",
                    exams,
                    int(boards.expires_at(engine, board.period).timestamp()),
                    board.multiplier,
                    int(frame.now.timestamp()),
                ],
                client=pipe,
            )
        if code == NEW:
            for period in periods:
                index_key = keys.board_index(period.period_type, period.name)
                pipe.sadd(index_key, exam.category)
                pipe.expire(index_key, boards.seconds_to_expiry(engine, period))
    written = iter(pipe.execute())

    pipe = engine.redis.pipeline(transaction=False)
    for index, code, result in pending:
        player_id, exam = submissions[index]
        summary_boards = []
        for board, (total, exams, questions, correct, _) in zip(
            _boards_of(periods, exam.category), result["boards"], strict=True
        ):
            rank, _ = next(written)
            summary_boards.append(
                {
                    "board": board.period_type,
                    "category": board.category,
                    "period": board.period.name,
                    "score": total,
                    "rank": rank,
                    "exams": exams,
                    "accuracy": accuracy(correct, questions),
                }
            )
        if code == NEW:
            for _ in range(2 * len(periods)):
                next(written)
        summary = {
            "exam_id": exam.exam_id,
            "player_id": player_id,
            "category_id": exam.category,
            "score": exam.score,
            "total_questions": exam.total_questions,
            "correct_answers": exam.correct_answers,
            "boards": summary_boards,
            "progress": progress_summary(result.get("progress")),
        }
        engine.scripts.store_exam_summary(
            keys=[keys.exam(player_id, exam.exam_id)],
            args=[json.dumps(summary, separators=(",", ":"))],
            client=pipe,
        )
    for (index, code, result), kept in zip(pending, pipe.execute(), strict=True):
        results[index] = ExamOutcome(json.loads(kept), created=code == NEW)
        violations = (result.get("progress") or {}).get("violations") or []
        if code == NEW and violations:
            security.report(engine, submissions[index][0], address, violations, "capped")


def progress_summary(raw: dict | None) -> dict:
    """The exam's progress as the API shows it (see engine.progression.Progress)."""
    progress = progression.Progress.from_script(raw) or progression.Progress()
    return {
        "daily_bonus": progress.daily_bonus,
        "missions": progress.missions,
        "xp": progress.xp,
        "level_rewards": progress.level_rewards,
        "streak": progress.streak,
    }


def accuracy(correct: int, questions: int) -> float:
    """Correct answers over questions, from the exact sums (not an average of averages)."""
    return round(correct / questions, 4) if questions else 0.0


def _check(engine: Engine, exam: Exam) -> None:
    limits = engine.rules.leaderboards
    problems: dict[str, list[str]] = {}
    try:
        boards.check_category(exam.category)
    except InvalidInputError:
        problems["category_id"] = ["Must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$, not 'global'."]
    if not 0 <= exam.score <= limits.max_exam_score:
        problems["score"] = [f"Must be between 0 and {limits.max_exam_score}."]
    if not 1 <= exam.total_questions <= limits.max_questions:
        problems["total_questions"] = [f"Must be between 1 and {limits.max_questions}."]
    if not 0 <= exam.correct_answers <= exam.total_questions:
        problems["correct_answers"] = ["Must be between 0 and total_questions."]
    if problems:
        raise InvalidInputError("The exam result is not valid.", problems)
