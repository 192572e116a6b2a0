"""What the ranking calls answer: boards and leagues, as frozen dataclasses.

A board's page, a player's standing and ranks, the boards an exam moved, a league's
cohort and a player's league (field names as in the API's JSON; ranks are 1-based).
`questboard_client.models` re-exports every class here: import them from there.
Prizes are amounts, resource name to amount, as `models.Amounts`; a closed period's
prize the wallet refused is a `PrizeRefused`, never a paid `prize`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class BoardResult:
    board: str
    category: str | None
    period: str
    score: int
    rank: int
    exams: int
    accuracy: float


@dataclass(frozen=True)
class PrizeRefused:
    """A prize a period's close did not pay: the wallet refused it, so nothing was
    credited and the close does not try again."""

    prize: dict[str, int]  # what the rules gave the rank
    code: str  # the wallet's refusal, e.g. "balance_limit_exceeded" (balance at its limit)


@dataclass(frozen=True)
class Entry:
    """A player's line on a board; ranks are 1-based."""

    rank: int
    player_id: str
    score: int
    exams: int
    questions: int
    correct: int
    accuracy: float
    rank_previous: int | None
    movement: str
    # A closed period's page only: what the close paid the entry (rules
    # [leaderboards.prizes]), as its ledger shows it; None on the current period's
    # page, for no prize, or for one the wallet refused (then in `prize_refused`).
    prize: dict[str, int] | None = None
    prize_refused: PrizeRefused | None = None


@dataclass(frozen=True)
class BoardPage:
    """The top of a board. `category` None is the global board."""

    board: str
    category: str | None
    period: str
    next_reset_at: datetime | None
    ended_at: datetime | None
    total_players: int
    source: str
    snapshot_at: datetime | None
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Standing:
    """A player's entry with the players just above and below."""

    board: str
    category: str | None
    period: str
    next_reset_at: datetime | None
    ended_at: datetime | None
    total_players: int
    entry: Entry
    above: tuple[Entry, ...]
    below: tuple[Entry, ...]


@dataclass(frozen=True)
class RankedBoard:
    board: str
    category: str | None
    period: str
    next_reset_at: datetime | None
    ended_at: datetime | None
    total_players: int
    entry: Entry


@dataclass(frozen=True)
class PlayerRanks:
    player_id: str
    boards: tuple[RankedBoard, ...]


@dataclass(frozen=True)
class LeagueMember:
    player_id: str
    rank: int  # competition rank: equal scores share it
    position: int  # place in the order; among equal scores, the first to reach it
    score: int
    # "promotion", "stay" or "relegation"; None only on a closed period's cohort, for a
    # member the close skipped (banned at the close: no zone, no prize)
    zone: str | None
    # A closed period's cohort only: the prize the close paid the member (rules
    # [leagues.prizes]), as their ledger shows it; None before the close, for no
    # prize, or for one the wallet refused (then in `prize_refused`).
    prize: dict[str, int] | None = None
    prize_refused: PrizeRefused | None = None


@dataclass(frozen=True)
class LeagueCohort:
    cohort_id: str  # "bronze-12"
    period_type: str
    period: str
    tier: str
    size: int
    promotion_zone: int
    relegation_zone: int
    members: tuple[LeagueMember, ...]


@dataclass(frozen=True)
class PlayerLeague:
    player_id: str
    period_type: str
    period: str
    ends_at: datetime
    tier: str
    cohort: LeagueCohort | None  # None until the player's first scored exam of the period
