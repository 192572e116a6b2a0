"""Exam results: counted once into the player's aggregates and every current board.

An exam touches six boards: global and its category, for the current week, month
and year. Ingestion takes three pipelined steps, each safe to repeat:

1. `record_exams.lua` (the players' shard, one call per shard for a whole batch) claims
   each exam id and updates the exact aggregates, returning each board's new totals.
2. `update_board.lua` (each board's own slot, one call per board for a whole batch)
   writes those absolute totals, only ever upwards, placing each player after those who
   reached the same total before, and answers the players' ranks.
3. HSETNX keeps the first summary in the exam's record; every copy answers with it.

A crash between steps leaves the exam counted in the aggregates; a retry of the same
exam id (or the player's next exam, whose totals include it) completes the boards.
`record_exams` does this for many exams in three round trips in all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import orjson

from engine import boards, keys, progression, security
from engine.boards import Board
from engine.calendar import PERIOD_TYPES, Period
from engine.clock import to_ms
from engine.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    QuestboardError,
    RateLimitedError,
    from_script_code,
)
from engine.runtime import Engine
from engine.scripts import ScriptBatch
from engine.security import rate_limits

NEW, ANSWERED, UNANSWERED, REUSED, RAPID_FIRE, RATE_LIMITED = 0, 1, 2, -2, -5, -6
RATE_GROUP = "exams"  # the rules' rate-limit group of exams


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
    Rate limits and rapid fire count new exams only, never a replay of one
    (engine.security.rate_limits).
    """
    frame = Frame.at(engine, engine.clock.now())
    results: list[ExamOutcome | QuestboardError | None] = [None] * len(submissions)
    by_shard: dict[int, list[int]] = {}  # shard -> indexes of the submissions that passed
    slots: dict[int, rate_limits.AddressSlot | None] = {}  # index -> its address's place
    for index, (player_id, exam) in enumerate(submissions):
        try:
            _check(engine, exam)
        except InvalidInputError as error:
            results[index] = error
            impossible = set(error.details) & {"score", "correct_answers"}
            if impossible:  # a result no real exam gives: the game server was tampered with
                security.report(
                    engine, player_id, address, [impossible_result(exam, impossible)], "refused"
                )
            continue
        try:
            slots[index] = rate_limits.take_address_slot(
                engine, RATE_GROUP, address, partial(_is_recorded, engine, player_id, exam)
            )
        except RateLimitedError as error:
            results[index] = error
            continue
        by_shard.setdefault(keys.shard_of(player_id), []).append(index)
    batch = engine.scripts.batch()
    for indexes in by_shard.values():
        count_into_aggregates(engine, frame, [submissions[i] for i in indexes], batch=batch)
    sent = [index for indexes in by_shard.values() for index in indexes]
    recorded = []
    for reply in batch.execute() if sent else []:
        recorded += zip(reply[0::2], reply[1::2], strict=True)

    pending = []  # (index, code, board rows) still to write to the boards
    for index, (code, payload) in zip(sent, recorded, strict=True):
        exam = submissions[index][1]
        slot = slots.get(index)
        if slot is not None and code in (ANSWERED, UNANSWERED, REUSED, RATE_LIMITED):
            slot.give_back(engine)  # not a new exam: never counted
        if code == ANSWERED:
            results[index] = ExamOutcome(orjson.loads(payload), created=False)
        elif code == RAPID_FIRE:
            details = orjson.loads(payload)
            player_id = submissions[index][0]
            security.report(
                engine, player_id, address, [dict(details, rule="rapid_fire")], "refused"
            )
            results[index] = from_script_code(RAPID_FIRE, details)
        elif code == RATE_LIMITED:
            results[index] = from_script_code(RATE_LIMITED, orjson.loads(payload))
        elif code == REUSED:
            results[index] = IdempotencyKeyReusedError(
                "This exam_id was already used for a different result.",
                {"exam_id": exam.exam_id},
            )
        else:
            pending.append((index, code, orjson.loads(payload)))

    if pending:
        _finish(engine, frame, submissions, pending, results, address)
    return results  # type: ignore[return-value]


@dataclass(frozen=True)
class Frame:
    """What every exam counted at one moment shares: periods, their arguments, the day."""

    now: datetime
    periods: list[Period]
    shared_args: list[Any]  # record_exams.lua's ARGV[1..8]
    context: progression.DayContext

    @classmethod
    def at(cls, engine: Engine, now: datetime) -> Frame:
        context = progression.day_context(engine, now)
        day = _PeriodsOfDay.of(engine, context)
        now_s = int(now.timestamp())
        spec = ",".join(f"{now_s - start}:{rest}" for start, rest in day.specs)
        shared = [
            to_ms(now),
            engine.rules.limits.max_balance,
            engine.rules.leaderboards.exam_replay_days * 86_400,
            spec,
            day.names,
            context.context,
            context.rewards_json,
            engine.ledger_keep_entries,
        ]
        return cls(now, day.periods, shared, context)


@dataclass(frozen=True)
class _PeriodsOfDay:
    """The current periods of a game day and what record_exams.lua takes of each, but
    the seconds elapsed since the period started: the same all day, so built once a day
    per process (as the day's context is)."""

    periods: list[Period]
    specs: list[tuple[int, str]]  # (period start in unix s, "expire_at")
    names: str  # "weekly:<name>,monthly:<name>,yearly:<name>"

    @classmethod
    def of(cls, engine: Engine, context: progression.DayContext) -> _PeriodsOfDay:
        key = ("exam_periods", context.day)
        day = engine.memo.get(key)
        if day is None:
            periods = [
                boards.current_period(engine, period_type, context.starts_at)
                for period_type in PERIOD_TYPES
            ]
            day = engine.memo[key] = cls(
                periods=periods,
                specs=[
                    (
                        int(engine.calendar.start(p).timestamp()),
                        str(int(boards.expires_at(engine, p).timestamp())),
                    )
                    for p in periods
                ],
                names=",".join(f"{p.period_type}:{p.name}" for p in periods),
            )
        return day


def count_into_aggregates(
    engine: Engine,
    frame: Frame,
    submissions: Sequence[tuple[str, Exam]],
    batch: ScriptBatch | None = None,
) -> Any:
    """Step 1 alone: record_exams.lua for exams of one shard (queued in `batch` if given)."""
    battle_pass = engine.rules.battle_pass
    script_keys: list[str] = []
    args: list[Any] = list(frame.shared_args)
    for player_id, exam in submissions:
        script_keys += [
            keys.exam(player_id, exam.exam_id),
            *(keys.player_board_stats(player_id, p.period_type, p.name) for p in frame.periods),
            keys.wallet(player_id),
            keys.ledger(player_id),
            keys.outbox(keys.shard_of(player_id)),
            *frame.context.player_keys(player_id, frame.now, RATE_GROUP),
        ]
        xp = battle_pass.xp_per_exam + battle_pass.xp_per_correct_answer * exam.correct_answers
        args.append(
            f"{exam.fingerprint()}|{player_id}|{exam.exam_id}|{exam.category}|{exam.score}|"
            f"{exam.total_questions}|{exam.correct_answers}|{xp}"
        )
    if batch is not None:
        return batch.call("record_exams", script_keys, args)
    return engine.scripts.record_exams(keys=script_keys, args=args)


def _boards_of(periods, category: str) -> list[Board]:
    """The six boards of an exam, in record_exams.lua's order."""
    return [Board(p.period_type, p, c) for p in periods for c in (None, category)]


class _BatchBoards(dict):
    """category -> its exam's six boards, each with its scores key: built once a batch."""

    def __init__(self, periods) -> None:
        super().__init__()
        self.periods = periods

    def __missing__(self, category: str) -> list[tuple[Board, str]]:
        boards_ = self[category] = [(b, b.scores_key) for b in _boards_of(self.periods, category)]
        return boards_


def _finish(engine, frame, submissions, pending, results, address) -> None:
    """Steps 2 and 3 for a batch: one update_board call per board, then the summaries."""
    periods = frame.periods
    now_s = int(frame.now.timestamp())
    expiry = {p.period_type: int(boards.expires_at(engine, p).timestamp()) for p in periods}
    by_board: dict[str, tuple[Board, list[tuple[int, int]]]] = {}  # key -> board, (item, row)
    args: dict[str, list] = {}
    new_categories: set[str] = set()
    boards_of = _BatchBoards(periods)
    for item, (index, code, result) in enumerate(pending):
        player_id, exam = submissions[index]
        if code == NEW:
            new_categories.add(exam.category)
        for row, ((board, key), (total, exams, questions, correct, _)) in enumerate(
            zip(boards_of[exam.category], result["boards"], strict=True)
        ):
            if key not in by_board:
                by_board[key] = (board, [])
                args[key] = [board.multiplier, expiry[board.period_type], now_s]
            by_board[key][1].append((item, row))
            args[key].append(f"{player_id}|{total}:{exams}:{questions}:{correct}")

    batch = engine.scripts.batch()
    for key, (board, _) in by_board.items():
        batch.call("update_board", [board.scores_key, board.aggregates_key], args[key])
    for period in periods:
        if new_categories:
            index_key = keys.board_index(period.period_type, period.name)
            batch.pipe.sadd(index_key, *sorted(new_categories))
            batch.pipe.expire(index_key, expiry[period.period_type] - now_s)
    replies = batch.execute()
    ranks: dict[tuple[int, int], int] = {}
    for (_, slots), reply in zip(by_board.values(), replies, strict=False):
        for position, slot in enumerate(slots):
            ranks[slot] = reply[2 * position]

    replay_ttl = engine.rules.leaderboards.exam_replay_days * 86_400
    summaries: list[tuple[dict, str]] = []
    for item, (index, _, result) in enumerate(pending):
        player_id, exam = submissions[index]
        summary_boards = [
            {
                "board": board.period_type,
                "category": board.category,
                "period": board.period.name,
                "score": total,
                "rank": ranks[(item, row)],
                "exams": exams,
                "accuracy": accuracy(correct, questions),
            }
            for row, ((board, _), (total, exams, questions, correct, _)) in enumerate(
                zip(boards_of[exam.category], result["boards"], strict=True)
            )
        ]
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
        summaries.append((summary, orjson.dumps(summary)))

    # Step 3: the first summary stays; every copy of the exam answers with it.
    by_shard: dict[int, list[int]] = {}
    for item, (index, _, _) in enumerate(pending):
        by_shard.setdefault(keys.shard_of(submissions[index][0]), []).append(item)
    batch = engine.scripts.batch()
    for items in by_shard.values():
        batch.call(
            "keep_exam_summaries",
            [keys.exam(*_player_and_exam_id(submissions[pending[i][0]])) for i in items],
            [replay_ttl, *(summaries[i][1] for i in items)],
        )
    kept: list[bytes] = [b""] * len(pending)
    for items, reply in zip(by_shard.values(), batch.execute(), strict=True):
        for item, stored in zip(items, reply, strict=True):
            kept[item] = stored
    for item, (index, code, result) in enumerate(pending):
        ours, text = summaries[item]
        summary = ours if kept[item] == text else orjson.loads(kept[item])
        results[index] = ExamOutcome(summary, created=code == NEW)
        violations = (result.get("progress") or {}).get("violations") or []
        if code == NEW and violations:
            security.report(engine, submissions[index][0], address, violations, "capped")


def _player_and_exam_id(submission: tuple[str, Exam]) -> tuple[str, str]:
    return submission[0], submission[1].exam_id


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


def _is_recorded(engine: Engine, player_id: str, exam: Exam) -> bool:
    """Whether this exam (same id, same content) is already counted: a replay."""
    recorded = engine.redis.hget(keys.exam(player_id, exam.exam_id), "fp")
    return recorded is not None and recorded.decode() == exam.fingerprint()


def impossible_result(exam: Exam, fields: set[str]) -> dict[str, Any]:
    """The `impossible_amount` violation of an exam result no real exam gives."""
    return {
        "rule": "impossible_amount",
        "exam_id": exam.exam_id,
        "fields": sorted(fields),
        "score": exam.score,
        "total_questions": exam.total_questions,
        "correct_answers": exam.correct_answers,
    }


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
