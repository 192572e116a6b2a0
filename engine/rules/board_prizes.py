"""Prizes on the boards: `[leaderboards.prizes]` in the rules file.

Each entry names a board, `weekly`, `monthly` or `yearly` for the global board of that
period type, or `weekly:math` for a category's, and maps final ranks to resources:

    [leaderboards.prizes.weekly]
    1 = { coins = 1000 }
    "2-10" = { coins = 100 }

engine.boards.prizes pays them once a period has ended.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise
from types import MappingProxyType

from engine.rules.fields import Field

BOARD = re.compile(r"^(weekly|monthly|yearly)(?::([a-z0-9][a-z0-9_-]{0,31}))?$")
MAX_RANK = 10_000  # the deepest rank a prize may name: the close reads this many entries


@dataclass(frozen=True)
class BoardPrizes:
    # "<period_type>:<category or global>" -> ((first rank, last rank, resources), ...)
    boards: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def prize_for(self, board: str, rank: int) -> dict[str, int] | None:
        for first, last, resources in self.boards.get(board, ()):
            if first <= rank <= last:
                return dict(resources)
        return None

    def deepest_rank(self, board: str) -> int:
        return max((last for _, last, _ in self.boards.get(board, ())), default=0)


def board_name(period_type: str, category: str | None) -> str:
    """The board's name in the prizes' records: "weekly:global", "weekly:math"."""
    return f"{period_type}:{category or 'global'}"


def parse_board_prizes(
    prizes: Field, resources: tuple[str, ...], reward_limit: int = 1_000_000_000
) -> BoardPrizes:
    """`[leaderboards.prizes]` (None: no prizes); ranks "3" or "2-10", never overlapping."""
    if prizes.value is None:
        return BoardPrizes()
    boards = {}
    for name in prizes.table():
        entry = prizes.child(name)
        matched = BOARD.fullmatch(name)
        if not matched:
            raise entry.fail(
                'must name a board: "weekly", "monthly", "yearly" or "weekly:<category>"'
            )
        ranges = []
        for ranks in entry.table():
            first, last = _rank_range(entry.child(ranks), ranks)
            ranges.append((first, last, entry.child(ranks).amounts(resources, reward_limit)))
        ranges.sort(key=lambda item: item[0])
        for (_, last, _), (first, _, _) in pairwise(ranges):
            if first <= last:
                raise entry.fail("has overlapping rank ranges")
        boards[board_name(matched.group(1), matched.group(2))] = tuple(ranges)
    return BoardPrizes(MappingProxyType(boards))


def _rank_range(ranks: Field, text: str) -> tuple[int, int]:
    """ "3" -> (3, 3); "2-10" -> (2, 10)."""
    try:
        first, _, last = text.partition("-")
        low, high = int(first), int(last or first)
    except ValueError:
        raise ranks.fail('must be a rank ("1") or a range of ranks ("2-10")') from None
    if not 1 <= low <= high <= MAX_RANK:
        raise ranks.fail(f"ranks must be between 1 and {MAX_RANK}")
    return low, high
