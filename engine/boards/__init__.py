"""Leaderboard identity: which board, which period, how its scores are encoded.

A board is (period type, period, category); category None is the global board.

Ranking: higher totals first; equal totals share a rank (standard competition
ranking: 1, 2, 2, 4), and among equal totals the player who reached the total first
is listed first. Both live in one sorted-set score, the *composite*:

    composite = min(total, CAP) * M + (M - 1 - place)

where `place` is the player's arrival order among those who reached the same total on
the board (update_board.lua gives each arrival the composite just below the last one
holding that total): exact, however close in time two arrivals are, for up to
M = 2**24 (16.7 million) arrivals at one total while it is held. A player's rank is
1 + ZCOUNT(board, (total + 1) * M, +inf), O(log N). Composites stay exact integers
below 2**53, which bounds the total a board ranks by: CAP = 2**29 - 2 (536,870,910);
higher totals rank as CAP, in the order they passed it, and keep their exact sums.

The package also holds `leaderboards` (reads), `exams` (ingestion), `snapshots` and
`moderation` (removing a cheater).

Depends on: core, progression, security, leagues, rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from engine import keys
from engine.boards import exam_stats
from engine.calendar import PERIOD_TYPES, Period, add_periods
from engine.errors import InvalidInputError, PeriodExpiredError
from engine.runtime import Engine
from engine.security import rate_limits

GLOBAL = "global"
CATEGORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

PLACE_BITS = 24  # arrivals at one total a board orders exactly
MULTIPLIER = 1 << PLACE_BITS  # M: the same for every period type
CAP = (1 << 53) // MULTIPLIER - 2  # the largest total a composite carries exactly


@dataclass(frozen=True)
class Sums:
    """A player's exact aggregates on one board of one period, as the player's stats hash
    keeps them (engine.boards.exam_stats): one field a board, its value
    "score:exams:questions:correct:reached" (so record_exams.lua reads and writes a
    period in one call)."""

    score: int
    exams: int
    questions: int
    correct: int
    reached: int  # the second, from the period's start, at which `score` was reached

    @classmethod
    def parse(cls, text: bytes | str) -> Sums:
        if isinstance(text, bytes):
            text = text.decode()
        return cls(*(int(part) for part in text.split(":")))

    def text(self) -> str:
        return f"{self.score}:{self.exams}:{self.questions}:{self.correct}:{self.reached}"


def composite(total: int, place: int) -> int:
    """The composite of the `place`-th (0-based) player to reach `total` on a board, as
    update_board.lua builds it; a rebuild from SQL places players with it."""
    return min(total, CAP) * MULTIPLIER + MULTIPLIER - 1 - min(place, MULTIPLIER - 1)


def check_category(category: str) -> str:
    if category == GLOBAL or not CATEGORY.fullmatch(category):
        raise InvalidInputError(
            f"{category!r} is not a valid category id.",
            {"category": ["Must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ and not be 'global'."]},
        )
    return category


@dataclass(frozen=True)
class Board:
    period_type: str
    period: Period
    category: str | None  # None: the global board

    @property
    def slot_category(self) -> str:
        return self.category or GLOBAL

    @property
    def multiplier(self) -> int:
        return MULTIPLIER

    def key_args(self) -> tuple[str, str, str]:
        return (self.period_type, self.period.name, self.slot_category)

    @property
    def scores_key(self) -> str:
        return keys.board_scores(*self.key_args())

    @property
    def aggregates_key(self) -> str:
        return keys.board_aggregates(*self.key_args())

    @property
    def snapshot_ranks_key(self) -> str:
        return keys.board_snapshot_ranks(*self.key_args())

    @property
    def snapshot_ranking_key(self) -> str:
        return keys.board_snapshot_ranking(*self.key_args())

    @property
    def snapshot_top_key(self) -> str:
        return keys.board_snapshot_top(*self.key_args())

    @property
    def snapshot_building_key(self) -> str:
        return keys.board_snapshot_building(*self.key_args())


def current_period(engine: Engine, period_type: str, now: datetime | None = None) -> Period:
    return engine.calendar.period_of(period_type, now or engine.clock.now())


def kept_periods(engine: Engine, period_type: str, now: datetime | None = None) -> list[Period]:
    """The current period of a type and the past ones the rules still keep, newest first."""
    current = current_period(engine, period_type, now)
    keep = engine.rules.leaderboards.keep(period_type)
    return [add_periods(current, -back) for back in range(keep + 1)]


def player_boards(
    engine: Engine, player_id: str, periods: list[Period], group: str | None = None
) -> list[Board]:
    """The boards of these periods the player has a score on (their stats hash says
    which, or a period's hash of the earlier layout: engine.boards.exam_stats), each
    period's global board before its categories. One round trip; with `group`, counted
    in the player's rate limit of that group (RateLimitedError)."""
    read = [keys.board_stats(player_id), *exam_stats.earlier_keys(player_id, periods)]
    stats, *earlier = rate_limits.read_player(engine, player_id, group, read)
    stats = exam_stats.pairs(stats)
    found = []
    for period, flat in zip(periods, earlier, strict=True):
        sums = exam_stats.of_period(stats, exam_stats.pairs(flat), period)
        categories = sorted(sums, key=lambda c: (c != GLOBAL, c))
        found += [
            Board(period.period_type, period, None if category == GLOBAL else category)
            for category in categories
        ]
    return found


def expires_at(engine: Engine, period: Period) -> datetime:
    """When a period's keys expire: its end plus the rules' retention for its type."""
    keep = engine.rules.leaderboards.keep(period.period_type)
    return engine.calendar.start(add_periods(period, keep + 1))


def seconds_to_expiry(engine: Engine, period: Period) -> int:
    """A period's keys' time to live from now (engine time), for EXPIRE."""
    return int((expires_at(engine, period) - engine.clock.now()).total_seconds())


def resolve(
    engine: Engine, period_type: str, category: str | None = None, period: str | None = None
) -> Board:
    """The board a reader asks for; the current period when `period` is None.

    Raises:
        InvalidInputError: unknown period type, malformed or future period, bad category.
        PeriodExpiredError: the period ended longer ago than the rules keep it.
    """
    if period_type not in PERIOD_TYPES:
        raise InvalidInputError(
            f"{period_type!r} is not a period type.",
            {"period_type": [f"Must be one of {', '.join(PERIOD_TYPES)}."]},
        )
    if category is not None:
        check_category(category)
    now = engine.clock.now()
    current = current_period(engine, period_type, now)
    if period is None:
        return Board(period_type, current, category)
    wanted = engine.calendar.parse(period_type, period)
    if wanted.first_day > current.first_day:
        raise InvalidInputError(
            f"The {period_type} period {period} has not started.",
            {"period": ["Must not be in the future."]},
        )
    if expires_at(engine, wanted) <= now:
        raise PeriodExpiredError(
            f"The {period_type} period {period} is no longer kept.",
            {"period": period, "kept": engine.rules.leaderboards.keep(period_type)},
        )
    return Board(period_type, wanted, category)
