"""Exam results: counted once into the player's aggregates and every current board.

An exam touches six boards: global and its category, for the current week, month
and year. Ingestion takes three pipelined steps, each safe to repeat:

1. `record_exams.lua` (the players' shard, one call per shard for a whole batch) claims
   each exam id and updates the exact aggregates, returning each board's new totals.
2. `update_board.lua` (each board's own slot, one call per board for a whole batch)
   writes those absolute totals, only ever upwards, placing each player after those who
   reached the same total before, and answers the players' ranks.
3. `keep_exam_summaries.lua` keeps the first summary in the exam's record (in place of
   step 1's result, engine.boards.exam_record); every copy answers with it.

A crash between steps leaves the exam counted in the aggregates; a retry of the same
exam id (or the player's next exam, whose totals include it) completes the boards.
`record_exams` does this for many exams in three round trips in all.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from engine import boards, keys, security
from engine.boards import exam_record
from engine.boards.exam_finish import ExamOutcome, finish
from engine.boards.exam_frame import RATE_GROUP, Exam, Frame, count_into_aggregates
from engine.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    QuestboardError,
    RapidFireError,
    RateLimitedError,
)
from engine.outcomes import ScriptCode, decode
from engine.runtime import Engine
from engine.security import rate_limits
from engine.security.player_bans import banned_players

__all__ = [
    "Exam",
    "ExamOutcome",
    "Frame",
    "count_into_aggregates",
    "record_exam",
    "record_exam_batch",
    "record_exams",
]

# Answers that are no new exam: the address's rate-limit slot is given back.
# Not new because a copy of the exam counted it (in flight beside this call, or before):
# the copies share the address's place (rate_limits.take_address_slot), which stays.
MADE_BY_A_COPY = (*rate_limits.MADE_BY_A_COPY, ScriptCode.UNANSWERED)
NOT_NEW = (
    ScriptCode.REPLAYED,
    ScriptCode.UNANSWERED,
    ScriptCode.KEY_REUSED,
    ScriptCode.RATE_LIMITED,
)


def record_exam(
    engine: Engine, player_id: str, exam: Exam, address: str | None = None
) -> ExamOutcome:
    """Count one exam. Raises InvalidInputError, IdempotencyKeyReusedError, RapidFireError."""
    [outcome] = record_exams(engine, [(player_id, exam)], address=address)
    if isinstance(outcome, QuestboardError):
        raise outcome
    return outcome


def record_exams(
    engine: Engine,
    submissions: Sequence[tuple[str, Exam]],
    address: str | None = None,
    judge_pace: bool = True,
) -> list[ExamOutcome | QuestboardError]:
    """Count many exams in three round trips; one outcome or error per submission.

    Impossible results, rapid fire and capped earnings are recorded as violations. An
    impossible result that blocks its player refuses the player's later submissions
    (BannedError), as the block refuses their next request.
    Rate limits and rapid fire count new exams only, never a replay of one
    (engine.security.rate_limits). `judge_pace` False counts no rapid fire: a game
    server's batch, whose exams were played before it sent them together.
    """
    frame = Frame.at(engine, engine.clock.now())
    results: list[ExamOutcome | QuestboardError | None] = [None] * len(submissions)
    by_shard: dict[int, list[int]] = {}  # shard -> indexes of the submissions that passed
    slots: dict[int, rate_limits.AddressSlot | None] = {}  # index -> its address's place
    known_copies: list[rate_limits.AddressSlot] = []  # places of known replays
    blocked: dict[str, QuestboardError] = {}  # players blocked by an item before
    for index, (player_id, exam) in enumerate(submissions):
        if player_id in blocked:  # its single route, sent after that item, is 403
            results[index] = blocked[player_id]
            continue
        try:
            _check(engine, exam)
        except InvalidInputError as error:
            results[index] = error
            impossible = set(error.details) & {"score", "correct_answers"}
            if impossible:  # a result no real exam gives: the game server was tampered with
                security.report(
                    engine,
                    player_id,
                    address,
                    [impossible_result(exam, impossible)],
                    "refused",
                    request=f"exam/{exam.exam_id}/{exam.fingerprint()}",  # a copy: not again
                )
                # The violation that blocks the player (the process's copy of the bans
                # has it at once) stops their later items of a batch, as it would stop
                # their next request.
                blocked.update(banned_players(engine, [player_id]))
            continue
        try:
            taken = rate_limits.take_address_slot(
                engine,
                RATE_GROUP,
                address,
                partial(_probe, player_id, exam),
                partial(_is_recorded, exam),
                request_name=keys.exam(player_id, exam.exam_id),  # copies share one place
            )
        except RateLimitedError as error:
            results[index] = error
            continue
        if taken.changes_nothing and taken.slot is not None:
            known_copies.append(taken.slot)  # given back with the exams' round trip
        else:
            slots[index] = taken.slot
        by_shard.setdefault(keys.shard_of(player_id), []).append(index)
    batch = engine.scripts.batch()
    for indexes in by_shard.values():
        count_into_aggregates(
            engine, frame, [submissions[i] for i in indexes], batch=batch, judge_pace=judge_pace
        )
    for slot in known_copies:
        slot.give_back(engine, batch.pipe)
    sent = [index for indexes in by_shard.values() for index in indexes]
    recorded = []
    replies = batch.execute() if sent else []
    for reply in replies[: len(replies) - len(known_copies)]:
        recorded += zip(reply[0::2], reply[1::2], strict=True)

    pending = []  # (index, code, board rows) still to write to the boards
    for index, (code, payload) in zip(sent, recorded, strict=True):
        exam = submissions[index][1]
        slot = slots.get(index)
        # not a new exam: never counted; but a place its copy counted in stays
        if slot is not None and code in NOT_NEW and code not in MADE_BY_A_COPY:
            slot.give_back(engine)
        body = exam_record.load(payload)  # REPLAYED's summary is packed; the rest JSON
        reused = IdempotencyKeyReusedError(
            "This exam_id was already used for a different result.", {"exam_id": exam.exam_id}
        )
        try:
            answer = decode(code, body, reused=reused)
        except RapidFireError as error:
            player_id = submissions[index][0]
            violation = [dict(body, rule="rapid_fire")]
            named = f"exam/{exam.exam_id}/{exam.fingerprint()}"  # a copy: not again
            security.report(engine, player_id, address, violation, "refused", request=named)
            results[index] = error
        except QuestboardError as error:
            results[index] = error
        else:
            if answer is ScriptCode.REPLAYED:
                results[index] = ExamOutcome(body, created=False)
            else:
                pending.append((index, answer, body))

    if pending:
        # In the order sent, not the shards': each board places equal totals in the
        # order its players arrive in step 2 (the tie rule, engine.boards).
        pending.sort(key=lambda item: item[0])
        for index, outcome in finish(engine, frame, submissions, pending, address).items():
            results[index] = outcome
    return results  # type: ignore[return-value]


def _probe(player_id: str, exam: Exam, pipe: Any) -> None:
    """Queue the read `_is_recorded` decides on: whether the exam id has a record (a
    string, or a hash of the earlier layout: EXISTS reads either)."""
    pipe.exists(keys.exam(player_id, exam.exam_id))


def _is_recorded(exam: Exam, recorded: int) -> bool:
    """Whether this exam id is already recorded: a replay, or the id reused for another
    result (refused); either way record_exams.lua counts nothing."""
    return recorded > 0


def record_exam_batch(
    engine: Engine, submissions: Sequence[tuple[str, Exam]]
) -> list[ExamOutcome | QuestboardError]:
    """A game server's batch of many players' exams: `record_exams` for every player
    not banned, a `BannedError` for each item of a banned player; one outcome or error
    per item, in order.

    Each item counts against its own player's per-player exam limit in the script, as
    a single exam does, but not against the player's pace: the batch delivers exams
    played before, and many of one player's arriving in one second (a backlog after an
    outage) is the game server's doing, never rapid fire of the player's. The batch
    carries no player address, so no per-address window is taken. The ban look-up is
    one more round trip for the batch.
    """
    refused = banned_players(engine, (player_id for player_id, _ in submissions))
    allowed = [item for item in submissions if item[0] not in refused]
    counted = iter(record_exams(engine, allowed, judge_pace=False) if allowed else [])
    return [refused.get(player_id) or next(counted) for player_id, _ in submissions]


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
