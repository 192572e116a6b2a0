"""Steps 2 and 3 of counting exams, for a whole batch: each board written once with its
players' new totals (update_board.lua), then each exam's summary kept in its record
(keep_exam_summaries.lua), the answer every copy of the exam gets. The league joins
ride along (engine.leagues.Joining): the players' league records are read in step 2,
the joins sent in step 3. So do the periods' board indexes (engine.boards.board_index):
a category this process has not written lately in step 2, a board step 2 created in
step 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import orjson

from engine import boards, keys, leagues, progression, security
from engine.boards import Board, board_index, exam_record
from engine.boards.exam_frame import Exam, Frame
from engine.calendar import Period
from engine.outcomes import ScriptCode
from engine.runtime import Engine


@dataclass(frozen=True)
class ExamOutcome:
    summary: dict
    created: bool  # False: a replay, answered with the first summary


def boards_of(periods: Sequence[Period], category: str) -> list[Board]:
    """The six boards of an exam, in record_exams.lua's order."""
    return [Board(p.period_type, p, c) for p in periods for c in (None, category)]


class BatchBoards(dict):
    """category -> its exam's six boards, each with its scores key: built once a batch."""

    def __init__(self, periods: Sequence[Period]) -> None:
        super().__init__()
        self.periods = periods

    def __missing__(self, category: str) -> list[tuple[Board, str]]:
        boards_ = self[category] = [(b, b.scores_key) for b in boards_of(self.periods, category)]
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
    totals: list[BoardTotals]  # one per board, in boards_of's order
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
    row: int  # the board's row in each exam's six (the same for every exam: boards_of)
    args: list[Any]
    items: list[int]  # the exams' places among the pending ones


def finish(
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
    batch_boards = BatchBoards(frame.periods)
    expiry = {p.period_type: int(boards.expires_at(engine, p).timestamp()) for p in frame.periods}
    updates = board_updates(frame, exams_, batch_boards, expiry)
    joining = leagues.Joining(engine, frame.now, league_totals(engine, exams_, batch_boards))
    ranks, created = write_boards(engine, frame, updates, exams_, expiry, joining)
    summaries = [
        summary_of(pending_exam, batch_boards[pending_exam.exam.category], exam_ranks)
        for pending_exam, exam_ranks in zip(exams_, ranks, strict=True)
    ]
    texts = [exam_record.pack(orjson.dumps(summary)) for summary in summaries]
    kept = keep_summaries(engine, exams_, texts, joining, created)
    if created:
        created.written(board_index.memo_of(engine), int(frame.now.timestamp()))
    outcomes: dict[int, ExamOutcome] = {}
    for pending_exam, ours, text, stored in zip(exams_, summaries, texts, kept, strict=True):
        summary = ours if stored == text else exam_record.load(stored)
        outcomes[pending_exam.submission] = ExamOutcome(summary, created=pending_exam.created)
        violations = (pending_exam.progress or {}).get("violations") or []
        if pending_exam.created and violations:
            security.report(engine, pending_exam.player_id, address, violations, "capped")
    return outcomes


def board_updates(
    frame: Frame,
    exams_: Sequence[PendingExam],
    batch_boards: BatchBoards,
    expiry: dict[str, int],
) -> dict[str, BoardUpdate]:
    """scores key -> its board's update: every pending exam's totals grouped by board."""
    now_s = int(frame.now.timestamp())
    updates: dict[str, BoardUpdate] = {}
    for item, pending_exam in enumerate(exams_):
        player_id = pending_exam.player_id
        rows = zip(batch_boards[pending_exam.exam.category], pending_exam.totals, strict=True)
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


def write_boards(
    engine: Engine,
    frame: Frame,
    updates: dict[str, BoardUpdate],
    exams_: Sequence[PendingExam],
    expiry: dict[str, int],
    joining: leagues.Joining | None = None,
) -> tuple[list[list[int]], board_index.Registrations]:
    """Step 2: one update_board call per board, and the exams' categories this process
    has not written lately into each period's board index, in one round trip.

    Returns each exam's rank on each of its boards, in its rows' order, and the category
    boards this call created that it did not index: the boards were lost with their
    index (board_index), which step 3 writes again."""
    now_s = int(frame.now.timestamp())
    memo = board_index.memo_of(engine)
    categories = {pending_exam.exam.category for pending_exam in exams_}
    indexed = board_index.Registrations()
    for period in frame.periods:
        index_key = keys.board_index(period.period_type, period.name)
        due = memo.due(index_key, categories, now_s)
        if due:
            indexed.add(index_key, expiry[period.period_type] - now_s, due)
    batch = engine.scripts.batch()
    for update in updates.values():
        batch.call(
            "update_board", [update.board.scores_key, update.board.aggregates_key], update.args
        )
    indexed.queue(batch.pipe)
    league_records = len(batch.pipe)
    if joining is not None:
        joining.queue_reads(batch.pipe)
    replies = batch.execute()
    indexed.written(memo, now_s)
    if joining is not None:
        joining.read(replies[league_records:])
    replies = replies[: len(updates)]  # the index's replies follow the boards'
    ranks = [[0] * len(pending_exam.totals) for pending_exam in exams_]
    created = board_index.Registrations()
    for update, reply in zip(updates.values(), replies, strict=True):
        row = update.row
        for item, rank in zip(update.items, reply[1::2], strict=True):  # rank, total, ...
            ranks[item][row] = rank
        board = update.board
        if reply[0] and board.category is not None:  # created, and not the global board
            index_key = keys.board_index(board.period_type, board.period.name)
            if board.category not in indexed.members.get(index_key, ()):
                memo.forget(index_key, board.category)  # until step 3 writes it
                created.add(index_key, expiry[board.period_type] - now_s, [board.category])
    return ranks, created


def summary_of(
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


def keep_summaries(
    engine: Engine,
    exams_: Sequence[PendingExam],
    texts: Sequence[bytes],
    joining: leagues.Joining | None = None,
    created: board_index.Registrations | None = None,
) -> list[bytes]:
    """Step 3: the first summary stays; every copy of the exam answers with it.

    One keep_exam_summaries call per players' shard, with the league joins and the
    index of the boards step 2 created (write_boards); returns the summary each exam's
    record now holds (`texts[i]` where this call wrote it)."""
    by_shard: dict[int, list[int]] = {}
    for item, pending_exam in enumerate(exams_):
        by_shard.setdefault(keys.shard_of(pending_exam.player_id), []).append(item)
    batch = engine.scripts.batch()
    replay_ttl = engine.idempotency_ttl_seconds
    for items in by_shard.values():
        batch.call(
            "keep_exam_summaries",
            [keys.exam(exams_[i].player_id, exams_[i].exam.exam_id) for i in items],
            [replay_ttl, *(texts[i] for i in items)],
        )
    if joining is not None:
        joining.queue_joins(batch)  # after the summaries: their replies come first
    if created:
        created.queue(batch.pipe)
    replies = batch.execute()
    if joining is not None:
        joining.joined(replies[len(by_shard) :])
    replies = replies[: len(by_shard)]
    kept: list[bytes] = [b""] * len(exams_)
    for items, reply in zip(by_shard.values(), replies, strict=True):
        for item, stored in zip(items, reply, strict=True):
            kept[item] = stored
    return kept


def league_totals(
    engine: Engine, exams_: Sequence[PendingExam], batch_boards: BatchBoards
) -> dict[str, int]:
    """player -> their total for the period on the league's board (rules [leagues])."""
    rules = engine.rules.leagues
    category = None if rules.score == boards.GLOBAL else rules.score
    totals: dict[str, int] = {}
    for pending_exam in exams_:
        rows = zip(batch_boards[pending_exam.exam.category], pending_exam.totals, strict=True)
        for (board, _), board_totals in rows:
            if board.period_type == rules.period and board.category == category:
                player = pending_exam.player_id
                totals[player] = max(totals.get(player, 0), board_totals.score)
    return totals


def progress_summary(raw: dict | None) -> dict:
    """The exam's progress as the API shows it (see engine.progression.Progress)."""
    progress = progression.Progress.from_script(raw) or progression.Progress()
    return {
        "daily_bonus": progress.daily_bonus,
        "missions": progress.missions,
        "xp": progress.xp,
        "level_rewards": progress.level_rewards,
        "streak": progress.streak,
        "freezes_used": progress.freezes_used,
    }


def accuracy(correct: int, questions: int) -> float:
    """Correct answers over questions, from the exact sums (not an average of averages)."""
    return round(correct / questions, 4) if questions else 0.0
