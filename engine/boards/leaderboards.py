"""Reading leaderboards: the top of a board, a player's neighbourhood, a player's ranks.

Ranks, aggregates and previous ranks (from the last snapshot) come from one
`read_board.lua` call per board, live: a real-time board shows the standings as they
are. The frozen top of the last snapshot is read only when the caller asks for it;
`engine.metrics` counts those reads as hits (a snapshot was there) and misses.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from engine import boards
from engine.boards import Board
from engine.boards.exam_finish import accuracy
from engine.calendar import PERIOD_TYPES
from engine.clock import from_ms
from engine.errors import (
    InvalidInputError,
    NotFoundError,
    NotRankedError,
    ScriptContractError,
)
from engine.metrics import LEADERBOARD_READ_SECONDS, LEADERBOARD_SNAPSHOT_READS
from engine.outcomes import ScriptCode
from engine.runtime import Engine


@dataclass(init=False)
class Entry:
    """A player's line on a board. Its fields, in this order, are the entry's JSON (the
    web hands an Entry to orjson as it is): accuracy and movement are computed once,
    from the fields before them, by __init__. Not frozen: a frozen dataclass sets each
    field through object.__setattr__, several times the cost of building a plain one
    (timeit, loaded machine: 5.1 against 0.7 us), and every around-me read builds a
    page of 11. Without __slots__: orjson reads a plain dataclass's fields from its
    __dict__ in C, a slotted one's attribute by attribute (orjson.dumps of an around=5
    answer, timeit, one process, load 6-7: 55 us with slots, 15 without, 5 for the same
    as dicts). It writes them in the __dict__'s order, which __init__ keeps the fields'.
    dataclasses.replace(entry, rank=...) builds a new entry through __init__, its
    movement computed again.
    """

    rank: int
    player_id: str
    score: int
    exams: int
    questions: int
    correct: int
    accuracy: float = field(init=False)  # computed: dataclasses.replace leaves it out
    rank_previous: int | None
    movement: str = field(init=False)

    def __init__(
        self,
        rank: int,
        player_id: str,
        score: int,
        exams: int,
        questions: int,
        correct: int,
        rank_previous: int | None,
    ) -> None:
        self.rank = rank
        self.player_id = player_id
        self.score = score
        self.exams = exams
        self.questions = questions
        self.correct = correct
        self.accuracy = accuracy(correct, questions)
        self.rank_previous = rank_previous
        if rank_previous is None:
            self.movement = "new"
        elif rank < rank_previous:
            self.movement = "up"
        else:
            self.movement = "down" if rank > rank_previous else "same"


SOURCES = ("live", "snapshot")

# Both series exist from the start, so a scraper sees them at zero.
for _result in ("hit", "miss"):
    LEADERBOARD_SNAPSHOT_READS.labels(_result)


@dataclass(frozen=True)
class BoardPage:
    board: Board
    next_reset_at: datetime | None  # the current period's end; None for a past period
    ended_at: datetime | None  # a past period's end; None for the current period
    total_players: int
    source: str  # "live" or "snapshot"
    snapshot_at: datetime | None
    entries: list[Entry]


@dataclass(frozen=True)
class Standing:
    board: Board
    next_reset_at: datetime | None
    ended_at: datetime | None
    total_players: int
    entry: Entry
    above: list[Entry]
    below: list[Entry]


ROW = 7  # values per entry of a snapshot document's rows


def entries_from_rows(rows: list) -> list[Entry]:
    """A snapshot document's flat rows: player, total, rank, exams, questions, correct,
    previous rank (-1 for none)."""
    values = iter(rows)
    return [
        Entry(
            rank,
            player,
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


def rows_of(entries: list[Entry]) -> list:
    """The rows of a snapshot document (entries_from_rows reads them back)."""
    rows: list = []
    for e in entries:
        previous = -1 if e.rank_previous is None else e.rank_previous
        rows += (e.player_id, e.score, e.rank, e.exams, e.questions, e.correct, previous)
    return rows


def _numbers(texts: list[bytes]) -> list:
    """Numbers as Redis writes them (b"12", b"1509949439"), parsed in one orjson call
    rather than an int() or float() each (timeit: 11 aggregates in a quarter of the time)."""
    return orjson.loads(b"[%b]" % b",".join(texts))


NO_SUMS = b"0:0:0:0"  # an entry without aggregates shows none


def entries_from_page(multiplier: int, first: int, reply: list) -> list[Entry]:
    """The entries of read_board.lua's page, `reply` its values after the index of the
    first entry: that entry's rank, the page (player, composite, ...), each entry's
    aggregates ("score:exams:questions:correct" or None) and previous rank (or None).

    A total is the composite's integer part over M, as update_board.lua encodes it; an
    entry whose total differs from the one above it is ranked by its position (1, 2, 2,
    4), one with the same total shares the rank above.
    """
    rank, page, stored, previous = reply
    players = page[::2]
    totals = [int(composite // multiplier) for composite in _numbers(page[1::2])]
    sums = _numbers([(text or NO_SUMS).replace(b":", b",") for text in stored])
    if len(sums) != 4 * len(players):
        raise ScriptContractError("aggregates not of four numbers", {"aggregates": repr(stored)})
    previous_ranks = _numbers([b"null" if text is None else text for text in previous])
    entries = []
    last_total = totals[0]
    for index, total in enumerate(totals):
        if total != last_total:
            rank, last_total = first + index + 1, total
        at = 4 * index
        entries.append(
            Entry(
                rank,
                players[index].decode(),
                total,
                sums[at + 1],
                sums[at + 2],
                sums[at + 3],
                previous_ranks[index],
            )
        )
    return entries


def _read_keys(board: Board) -> list[str]:
    return [board.scores_key, board.aggregates_key, board.snapshot_ranks_key]


def _read(engine: Engine, board: Board, mode: str, *args: object):
    return engine.scripts.read_board(keys=_read_keys(board), args=[mode, board.multiplier, *args])


def read_top(engine: Engine, board: Board, offset: int, limit: int) -> tuple[int, list[Entry]]:
    """(total players, the live entries from `offset` on, at most `limit`)."""
    total_players, first, *page = _read(engine, board, "top", offset, limit)
    entries = entries_from_page(board.multiplier, first, page) if page else []
    return int(total_players), entries


def period_ends(engine: Engine, board: Board) -> tuple[datetime | None, datetime | None]:
    """(next_reset_at, ended_at): the current period's end is when the board resets next;
    a past period has no next reset, only the end it already had."""
    end = engine.calendar.end(board.period)
    if board.period == boards.current_period(engine, board.period_type):
        return end, None
    return None, end


def top(
    engine: Engine,
    board: Board,
    limit: int = 10,
    offset: int = 0,
    source: str = "live",
    fresh: bool = False,
) -> BoardPage:
    """A page of the board: live, or with source="snapshot" the frozen top of the last
    snapshot (whatever its age; `snapshot_at` says it; pages past its top are empty).
    `fresh` is what callers once passed to skip the snapshot: every read is live unless
    it asks for the snapshot, so it changes nothing.

    Raises:
        InvalidInputError: an unknown source.
        NotFoundError: source="snapshot" and the board has no snapshot.
    """
    started = time.perf_counter()
    if source not in SOURCES:
        raise InvalidInputError(
            f"{source!r} is not a source.", {"source": [f"Must be one of {', '.join(SOURCES)}."]}
        )
    if source == "snapshot":
        page = _from_snapshot(engine, board, limit, offset)
    else:
        total_players, entries = read_top(engine, board, offset, limit)
        page = BoardPage(
            board,
            *period_ends(engine, board),
            total_players=total_players,
            source="live",
            snapshot_at=None,
            entries=entries,
        )
    LEADERBOARD_READ_SECONDS.labels("top").observe(time.perf_counter() - started)
    return page


def _from_snapshot(engine: Engine, board: Board, limit: int, offset: int) -> BoardPage:
    pipe = engine.redis.pipeline(transaction=False)
    pipe.get(board.snapshot_top_key)
    pipe.zcard(board.scores_key)
    raw, total_players = pipe.execute()
    LEADERBOARD_SNAPSHOT_READS.labels("miss" if raw is None else "hit").inc()
    if raw is None:
        raise NotFoundError(
            "This board has no snapshot yet; read it live.",
            {
                "board": board.period_type,
                "category": board.category,
                "period": board.period.name,
            },
        )
    document = json.loads(raw)
    return BoardPage(
        board,
        *period_ends(engine, board),
        total_players=int(total_players),
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
    if reply[0] == ScriptCode.NOT_RANKED:
        raise NotRankedError(
            f"{player_id} has no score on this board.",
            {
                "player_id": player_id,
                "board": board.period_type,
                "period": board.period.name,
                "category": board.category,
            },
        )
    total_players, first, *page = reply
    entries = entries_from_page(board.multiplier, first, page)
    position = next(i for i, entry in enumerate(entries) if entry.player_id == player_id)
    return Standing(
        board,
        *period_ends(engine, board),
        total_players=int(total_players),
        entry=entries[position],
        above=entries[:position],
        below=entries[position + 1 :],
    )


def player_ranks(engine: Engine, player_id: str, group: str | None = None) -> list[Standing]:
    """The player's standing on every current board they have a score on; with `group`,
    the read counts in the player's rate limit of that group (RateLimitedError)."""
    started = time.perf_counter()
    now = engine.clock.now()
    periods = [boards.current_period(engine, period_type, now) for period_type in PERIOD_TYPES]
    found = boards.player_boards(engine, player_id, periods, group)
    batch = engine.scripts.batch()
    for board in found:
        batch.call("read_board", _read_keys(board), ["around", board.multiplier, player_id, 0])
    standings = [
        _standing(engine, board, player_id, reply)
        for board, reply in zip(found, batch.execute(), strict=True)
        if reply[0] != ScriptCode.NOT_RANKED
    ]
    LEADERBOARD_READ_SECONDS.labels("player_ranks").observe(time.perf_counter() - started)
    return standings
