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
from typing import Any, NamedTuple

import orjson

from engine import boards, keys, progression, security
from engine.boards import Board
from engine.calendar import PERIOD_TYPES, Period
from engine.clock import to_ms
from engine.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    QuestboardError,
    RapidFireError,
    RateLimitedError,
)
from engine.outcomes import ScriptCode, decode
from engine.runtime import Engine
from engine.scripts import ScriptBatch
from engine.security import rate_limits

# Answers that are no new exam: the address's rate-limit slot is given back.
NOT_NEW = (
    ScriptCode.REPLAYED,
    ScriptCode.UNANSWERED,
    ScriptCode.KEY_REUSED,
    ScriptCode.RATE_LIMITED,
)
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
        if slot is not None and code in NOT_NEW:
            slot.give_back(engine)  # not a new exam: never counted
        body = orjson.loads(payload)
        reused = IdempotencyKeyReusedError(
            "This exam_id was already used for a different result.", {"exam_id": exam.exam_id}
        )
        try:
            answer = decode(code, body, reused=reused)
        except RapidFireError as error:
            player_id = submissions[index][0]
            security.report(engine, player_id, address, [dict(body, rule="rapid_fire")], "refused")
            results[index] = error
        except QuestboardError as error:
            results[index] = error
        else:
            if answer is ScriptCode.REPLAYED:
                results[index] = ExamOutcome(body, created=False)
            else:
                pending.append((index, answer, body))

    if pending:
        for index, outcome in _finish(engine, frame, submissions, pending, address).items():
            results[index] = outcome
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


def _boards_of(periods: Sequence[Period], category: str) -> list[Board]:
    """The six boards of an exam, in record_exams.lua's order."""
    return [Board(p.period_type, p, c) for p in periods for c in (None, category)]


class _BatchBoards(dict):
    """category -> its exam's six boards, each with its scores key: built once a batch."""

    def __init__(self, periods: Sequence[Period]) -> None:
        super().__init__()
        self.periods = periods

    def __missing__(self, category: str) -> list[tuple[Board, str]]:
        boards_ = self[category] = [(b, b.scores_key) for b in _boards_of(self.periods, category)]
        return boards_


class BoardTotals(NamedTuple):
    """A player's exact sums on one board after an exam, one row of record_exams.lua's
    `boards`; `reached` (the second of the period the score was reached) stays in Redis."""

    score: int
    exams: int
    questions: int
    correct: int
    reached: int


# A row as BoardTotals, built in C (tuple.__new__, what BoardTotals._make calls after its
# Python frame): a batch of 500 exams builds 3,000 of them.
_board_totals = partial(tuple.__new__, BoardTotals)


class PendingExam(NamedTuple):
    """An exam counted in the aggregates whose boards and summary are still to write."""

    submission: int  # its place among the batch's submissions
    player_id: str
    exam: Exam
    created: bool  # counted by this call, not a replay of an exam left unanswered
    totals: list[BoardTotals]  # one per board, in _boards_of's order
    progress: dict | None  # what the exam earned, as record_exams.lua answered it

    @classmethod
    def of(
        cls, submissions: Sequence[tuple[str, Exam]], index: int, code: int, result: dict
    ) -> PendingExam:
        player_id, exam = submissions[index]
        totals = list(map(_board_totals, result["boards"]))
        new = code == ScriptCode.APPLIED
        return cls._make((index, player_id, exam, new, totals, result.get("progress")))


class BoardUpdate(NamedTuple):
    """One board's update_board.lua call for a batch: its arguments, and the exams whose
    players they carry, in the order of the reply's ranks."""

    board: Board
    row: int  # the board's row in each exam's six (the same for every exam: _boards_of)
    args: list[Any]
    items: list[int]  # the exams' places among the pending ones


def _finish(
    engine: Engine,
    frame: Frame,
    submissions: Sequence[tuple[str, Exam]],
    pending: Sequence[tuple[int, int, dict]],
    address: str | None,
) -> dict[int, ExamOutcome]:
    """Steps 2 and 3 for a batch: one update_board call per board, then the summaries.

    `pending` holds (submission index, record_exams.lua code, decoded result) of each
    exam counted in the aggregates; returns each one's outcome by its index.
    """
    exams_ = [PendingExam.of(submissions, index, code, result) for index, code, result in pending]
    boards_of = _BatchBoards(frame.periods)
    expiry = {p.period_type: int(boards.expires_at(engine, p).timestamp()) for p in frame.periods}
    updates = _board_updates(frame, exams_, boards_of, expiry)
    ranks = _write_boards(engine, frame, updates, exams_, expiry)
    summaries = [
        _summary(pending_exam, boards_of[pending_exam.exam.category], exam_ranks)
        for pending_exam, exam_ranks in zip(exams_, ranks, strict=True)
    ]
    texts = [orjson.dumps(summary) for summary in summaries]
    kept = _keep_summaries(engine, exams_, texts)
    outcomes: dict[int, ExamOutcome] = {}
    for pending_exam, ours, text, stored in zip(exams_, summaries, texts, kept, strict=True):
        summary = ours if stored == text else orjson.loads(stored)
        outcomes[pending_exam.submission] = ExamOutcome(summary, created=pending_exam.created)
        violations = (pending_exam.progress or {}).get("violations") or []
        if pending_exam.created and violations:
            security.report(engine, pending_exam.player_id, address, violations, "capped")
    return outcomes


def _new_categories(exams_: Sequence[PendingExam]) -> set[str]:
    """The categories of the exams counted by this call, for the periods' board index."""
    return {pending_exam.exam.category for pending_exam in exams_ if pending_exam.created}


def _board_updates(
    frame: Frame,
    exams_: Sequence[PendingExam],
    boards_of: _BatchBoards,
    expiry: dict[str, int],
) -> dict[str, BoardUpdate]:
    """scores key -> its board's update: every pending exam's totals grouped by board."""
    now_s = int(frame.now.timestamp())
    updates: dict[str, BoardUpdate] = {}
    for item, pending_exam in enumerate(exams_):
        player_id = pending_exam.player_id
        rows = zip(boards_of[pending_exam.exam.category], pending_exam.totals, strict=True)
        for row, ((board, key), totals) in enumerate(rows):
            update = updates.get(key)
            if update is None:
                args = [board.multiplier, expiry[board.period_type], now_s]
                update = updates[key] = BoardUpdate(board, row, args, [])
            update.items.append(item)
            # update_board.lua's "<player id>|<score:exams:questions:correct>"
            update.args.append(
                f"{player_id}|{totals.score}:{totals.exams}:{totals.questions}:{totals.correct}"
            )
    return updates


def _write_boards(
    engine: Engine,
    frame: Frame,
    updates: dict[str, BoardUpdate],
    exams_: Sequence[PendingExam],
    expiry: dict[str, int],
) -> list[list[int]]:
    """Step 2: one update_board call per board, and the categories of the exams counted
    by this call into each period's board index, in one round trip; returns each
    exam's rank on each of its boards, in its rows' order."""
    now_s = int(frame.now.timestamp())
    new_categories = _new_categories(exams_)
    batch = engine.scripts.batch()
    for update in updates.values():
        batch.call(
            "update_board", [update.board.scores_key, update.board.aggregates_key], update.args
        )
    for period in frame.periods:
        if new_categories:
            index_key = keys.board_index(period.period_type, period.name)
            batch.pipe.sadd(index_key, *sorted(new_categories))
            batch.pipe.expire(index_key, expiry[period.period_type] - now_s)
    replies = batch.execute()[: len(updates)]  # the index's replies follow the boards'
    ranks = [[0] * len(pending_exam.totals) for pending_exam in exams_]
    for update, reply in zip(updates.values(), replies, strict=True):
        row = update.row
        for item, rank in zip(update.items, reply[0::2], strict=True):  # rank, total, ...
            ranks[item][row] = rank
    return ranks


def _summary(
    pending_exam: PendingExam,
    boards_: list[tuple[Board, str]],
    ranks: Sequence[int],
) -> dict[str, Any]:
    """The exam's summary, as the API answers it and its record keeps it; `ranks` are
    the exam's ranks on its boards, in its rows' order."""
    exam = pending_exam.exam
    return {
        "exam_id": exam.exam_id,
        "player_id": pending_exam.player_id,
        "category_id": exam.category,
        "score": exam.score,
        "total_questions": exam.total_questions,
        "correct_answers": exam.correct_answers,
        "boards": [
            {
                "board": board.period_type,
                "category": board.category,
                "period": board.period.name,
                "score": totals.score,
                "rank": ranks[row],
                "exams": totals.exams,
                "accuracy": accuracy(totals.correct, totals.questions),
            }
            for row, ((board, _), totals) in enumerate(
                zip(boards_, pending_exam.totals, strict=True)
            )
        ],
        "progress": progress_summary(pending_exam.progress),
    }


def _keep_summaries(
    engine: Engine, exams_: Sequence[PendingExam], texts: Sequence[bytes]
) -> list[bytes]:
    """Step 3: the first summary stays; every copy of the exam answers with it.

    One keep_exam_summaries call per players' shard; returns the summary each exam's
    record now holds (`texts[i]` where this call wrote it)."""
    by_shard: dict[int, list[int]] = {}
    for item, pending_exam in enumerate(exams_):
        by_shard.setdefault(keys.shard_of(pending_exam.player_id), []).append(item)
    batch = engine.scripts.batch()
    replay_ttl = engine.rules.leaderboards.exam_replay_days * 86_400
    for items in by_shard.values():
        batch.call(
            "keep_exam_summaries",
            [keys.exam(exams_[i].player_id, exams_[i].exam.exam_id) for i in items],
            [replay_ttl, *(texts[i] for i in items)],
        )
    kept: list[bytes] = [b""] * len(exams_)
    for items, reply in zip(by_shard.values(), batch.execute(), strict=True):
        for item, stored in zip(items, reply, strict=True):
            kept[item] = stored
    return kept


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
