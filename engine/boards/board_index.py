"""Each period's board index (keys.board_index): the categories that have a board.

The snapshot job (engine.boards.snapshots) and the period-closed webhooks
(engine.webhooks.sources) list a period's boards from it; the rebuild from SQL
(engine.ops.rebuild_boards) fills it again. Counting exams puts their categories into
the index of each current period, with its expiry (the period's, as its boards'). A
process does it once a period and category, remembering it in its Engine.memo, and
again:

- when update_board.lua answers that it created the board: a new period's board, or
  every board after Redis lost its data (a flush, a failover to a replica that had not
  caught up), which this process's memo cannot see;
- every REFRESH_S seconds of engine time for a board it keeps counting exams into, so
  an index lost alone (deleted, evicted, or its SADD lost in a failover while the
  board's write was kept) is whole again within that time;
- in every new process, whose memo starts empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.runtime import Engine

MEMO = "board_index"  # the Engine.memo entry
REFRESH_S = 60  # a category written again at most this long after the last time
LIMIT = 10_000  # (index, category) pairs remembered; past it the memo starts again


class IndexMemo:
    """(index key, category) -> the engine second this process last wrote them."""

    def __init__(self) -> None:
        self.written: dict[tuple[str, str], int] = {}

    def due(self, index_key: str, categories: Iterable[str], now_s: int) -> list[str]:
        """The categories to write into the index now, sorted."""
        due = []
        for category in categories:
            at = self.written.get((index_key, category))
            if at is None or not 0 <= now_s - at < REFRESH_S:  # or the clock moved back
                due.append(category)
        return sorted(due)

    def remember(self, index_key: str, categories: Iterable[str], now_s: int) -> None:
        if len(self.written) > LIMIT:
            self.written.clear()
        for category in categories:
            self.written[(index_key, category)] = now_s

    def forget(self, index_key: str, category: str) -> None:
        self.written.pop((index_key, category), None)


def memo_of(engine: Engine) -> IndexMemo:
    memo = engine.memo.get(MEMO)
    if memo is None:
        memo = engine.memo[MEMO] = IndexMemo()
    return memo


@dataclass
class Registrations:
    """Categories to write into the periods' indexes: index key -> its TTL, categories."""

    ttl: dict[str, int] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)

    def add(self, index_key: str, ttl: int, categories: Iterable[str]) -> None:
        self.ttl[index_key] = ttl
        self.categories.setdefault(index_key, []).extend(categories)

    def __bool__(self) -> bool:
        return bool(self.categories)

    def queue(self, pipe: Any) -> None:
        """Each index's SADD and EXPIRE (the same expiry on every write of the period)."""
        for index_key, categories in self.categories.items():
            pipe.sadd(index_key, *categories)
            pipe.expire(index_key, self.ttl[index_key])

    def written(self, memo: IndexMemo, now_s: int) -> None:
        """After the round trip that carried them."""
        for index_key, categories in self.categories.items():
            memo.remember(index_key, categories, now_s)
