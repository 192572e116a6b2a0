"""Reading leaderboards: the top of a board, a player's neighbourhood, a player's ranks.

Ranks, aggregates and previous ranks come from one `read_board.lua` call per board.
Reads of the top use the board's snapshot while it is fresh (the rules say how
long) unless the caller asks for fresh data; `engine.metrics` counts hits and misses.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime

from engine import boards
from engine.boards import Board
from engine.calendar import PERIOD_TYPES
from engine.clock import from_ms, to_ms
from engine.errors import NotRankedError
from engine.exams import accuracy
from engine.metrics import LEADERBOARD_READ_SECONDS, LEADERBOARD_SNAPSHOT_READS
from engine.runtime import Engine


@dataclass(frozen=True)
class Entry:
    rank: int
    player_id: str
    score: int
    exams: int
    questions: int
    correct: int
    rank_previous: int | None

    @property
    def accuracy(self) -> float:
        return accuracy(self.correct, self.questions)

    @property
    def movement(self) -> str:
        if self.rank_previous is None:
            return "new"
        if self.rank < self.rank_previous:
            return "up"
        return "down" if self.rank > self.rank_previous else "same"


@dataclass(frozen=True)
class BoardPage:
    board: Board
    next_reset_at: datetime
    total_players: int
    source: str  # "live" or "snapshot"
    snapshot_at: datetime | None
    entries: list[Entry]


@dataclass(frozen=True)
class Standing:
    board: Board
    next_reset_at: datetime
    total_players: int
    entry: Entry
    above: list[Entry]
    below: list[Entry]


ROW = 7  # read_board.lua's values per entry


def entries_from_rows(rows: list) -> list[Entry]:
    """read_board.lua's flat rows: player, total, rank, exams, questions, correct, previous."""
    values = iter(rows)
    return [
        Entry(
            rank,
            player.decode() if isinstance(player, bytes) else player,
            total,
            exams,
            questions,
            correct,
            None if previous < 0 else previous,
        )
        for player, total, rank, exams, questions, correct, previous in zip(
            *[values] * ROW, strict=True
        )
    ]


def _read_keys(board: Board) -> list[str]:
    return [board.scores_key, board.aggregates_key, board.snapshot_ranks_key]


def _read(engine: Engine, board: Board, mode: str, *args: object):
    return engine.scripts.read_board(keys=_read_keys(board), args=[mode, board.multiplier, *args])


def next_reset_at(engine: Engine, board: Board) -> datetime:
    """When the board's period type rolls over next (the current period's end)."""
    return engine.calendar.end(boards.current_period(engine, board.period_type))


def top(
    engine: Engine, board: Board, limit: int = 10, offset: int = 0, fresh: bool = False
) -> BoardPage:
    started = time.perf_counter()
    page = None
    if not fresh and offset + limit <= engine.rules.leaderboards.snapshot_size:
        page = _from_snapshot(engine, board, limit, offset)
        LEADERBOARD_SNAPSHOT_READS.labels("hit" if page else "miss").inc()
    if page is None:
        total_players, _, *rows = _read(engine, board, "top", offset, limit)
        page = BoardPage(
            board=board,
            next_reset_at=next_reset_at(engine, board),
            total_players=int(total_players),
            source="live",
            snapshot_at=None,
            entries=entries_from_rows(rows),
        )
    LEADERBOARD_READ_SECONDS.labels("top").observe(time.perf_counter() - started)
    return page


def _from_snapshot(engine: Engine, board: Board, limit: int, offset: int) -> BoardPage | None:
    raw = engine.redis.get(board.snapshot_top_key)
    if raw is None:
        return None
    document = json.loads(raw)
    fresh_ms = engine.rules.leaderboards.snapshot_fresh_minutes * 60_000
    if to_ms(engine.clock.now()) - document["snapshot_at"] > fresh_ms:
        return None
    return BoardPage(
        board=board,
        next_reset_at=next_reset_at(engine, board),
        total_players=document["total_players"],
        source="snapshot",
        snapshot_at=from_ms(document["snapshot_at"]),
        entries=entries_from_rows(document["rows"])[offset : offset + limit],
    )


def around(engine: Engine, board: Board, player_id: str, count: int = 5) -> Standing:
    """The player's entry and up to `count` entries above and below it, live.

    Raises:
        NotRankedError: the player has no score on this board.
    """
    started = time.perf_counter()
    reply = _read(engine, board, "around", player_id, count)
    standing = _standing(engine, board, player_id, reply)
    LEADERBOARD_READ_SECONDS.labels("around").observe(time.perf_counter() - started)
    return standing


def _standing(engine: Engine, board: Board, player_id: str, reply: list) -> Standing:
    if int(reply[0]) < 0:
        raise NotRankedError(
            f"{player_id} has no score on this board.",
            {
                "player_id": player_id,
                "board": board.period_type,
                "period": board.period.name,
                "category": board.category,
            },
        )
    total_players, _, *rows = reply
    entries = entries_from_rows(rows)
    position = next(i for i, entry in enumerate(entries) if entry.player_id == player_id)
    return Standing(
        board=board,
        next_reset_at=next_reset_at(engine, board),
        total_players=int(total_players),
        entry=entries[position],
        above=entries[:position],
        below=entries[position + 1 :],
    )


def player_ranks(engine: Engine, player_id: str) -> list[Standing]:
    """The player's standing on every current board they have a score on."""
    started = time.perf_counter()
    now = engine.clock.now()
    periods = [boards.current_period(engine, period_type, now) for period_type in PERIOD_TYPES]
    found = boards.player_boards(engine, player_id, periods)
    batch = engine.scripts.batch()
    for board in found:
        batch.call("read_board", _read_keys(board), ["around", board.multiplier, player_id, 0])
    standings = [
        _standing(engine, board, player_id, reply)
        for board, reply in zip(found, batch.execute(), strict=True)
        if int(reply[0]) >= 0
    ]
    LEADERBOARD_READ_SECONDS.labels("player_ranks").observe(time.perf_counter() - started)
    return standings
