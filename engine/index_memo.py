"""A period's index set written once a process, not on every write of what it lists.

The exam path keeps two such indexes: the categories with a board in a period
(engine.boards.board_index) and the league tiers with cohorts in a period
(engine.leagues.cohorts). Each is read by a job that lists the period's keys from it
(the snapshots and webhooks, the league close), so a member must be in it while the
keys it names exist. A process writes a member into an index (SADD, with the index's
expiry) when its IndexMemo says it is due: the first time, then at most REFRESH_S
seconds of engine time after the last write, so an index lost alone is whole again
within that time. The caller also writes it again when a script answers that it
created the keys the member names (after Redis lost its data, which no memo sees):
`forget`, then a `Registrations` of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.runtime import Engine

REFRESH_S = 60  # a member written again at most this long after the last time
LIMIT = 10_000  # (index, member) pairs remembered; past it the memo starts again


class IndexMemo:
    """(index key, member) -> the engine second this process last wrote them."""

    def __init__(self) -> None:
        self.written: dict[tuple[str, str], int] = {}

    def due(self, index_key: str, members: Iterable[str], now_s: int) -> list[str]:
        """The members to write into the index now, sorted."""
        due = []
        for member in members:
            at = self.written.get((index_key, member))
            if at is None or not 0 <= now_s - at < REFRESH_S:  # or the clock moved back
                due.append(member)
        return sorted(due)

    def remember(self, index_key: str, members: Iterable[str], now_s: int) -> None:
        if len(self.written) > LIMIT:
            self.written.clear()
        for member in members:
            self.written[(index_key, member)] = now_s

    def forget(self, index_key: str, member: str) -> None:
        self.written.pop((index_key, member), None)


def memo_of(engine: Engine, name: str) -> IndexMemo:
    """The process's memo of the indexes called `name` (an Engine.memo entry)."""
    memo = engine.memo.get(name)
    if memo is None:
        memo = engine.memo[name] = IndexMemo()
    return memo


@dataclass
class Registrations:
    """Members to write into indexes: index key -> its TTL, its members."""

    ttl: dict[str, int] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)

    def add(self, index_key: str, ttl: int, members: Iterable[str]) -> None:
        self.ttl[index_key] = ttl
        self.members.setdefault(index_key, []).extend(members)

    def __bool__(self) -> bool:
        return bool(self.members)

    def queue(self, pipe: Any) -> None:
        """Each index's SADD and EXPIRE (the same expiry on every write of the period)."""
        for index_key, members in self.members.items():
            pipe.sadd(index_key, *members)
            pipe.expire(index_key, self.ttl[index_key])

    def written(self, memo: IndexMemo, now_s: int) -> None:
        """After the round trip that carried them."""
        for index_key, members in self.members.items():
            memo.remember(index_key, members, now_s)
