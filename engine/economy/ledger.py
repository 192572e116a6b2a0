"""The ledger: every balance change of a player, newest first on read."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from engine import keys
from engine.clock import from_ms
from engine.economy.transactions import with_every_resource
from engine.errors import InvalidInputError
from engine.runtime import Engine


@dataclass(frozen=True)
class LedgerEntry:
    transaction_id: str
    kind: str
    deltas: dict[str, int]
    balances_after: dict[str, int]
    reason: str
    at: datetime


STREAM_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
MAX_ID_PART = 2**64 - 1  # each half of a Redis stream id is an unsigned 64-bit integer


def history(
    engine: Engine, player_id: str, limit: int = 50, before: str | None = None
) -> list[LedgerEntry]:
    """The player's newest `limit` entries, older than transaction `before` if given.

    Raises:
        InvalidInputError: `before` is not a transaction id Redis could hold.
    """
    newest = "+"
    if before is not None:
        if _cursor(before) == (0, 0):
            return []  # nothing is older than the first possible id (Redis refuses "(0-0")
        newest = f"({before}"
    rows = engine.redis.xrevrange(keys.ledger(player_id), max=newest, min="-", count=limit)
    return [_entry(engine, entry_id, fields) for entry_id, fields in rows]


def _cursor(before: str) -> tuple[int, int]:
    """`before` as (milliseconds, sequence), checked here so that Redis never sees an id
    it would refuse with an error: each half in 0 .. 2**64-1, ASCII digits only."""
    match = STREAM_ID.fullmatch(before)
    parts = (int(match[1]), int(match[2])) if match else None
    if parts is None or max(parts) > MAX_ID_PART:
        raise InvalidInputError(
            "The cursor is not a transaction id.",
            {"before": [f"Must be a transaction id: <ms>-<seq>, each 0 to {MAX_ID_PART}."]},
        )
    return parts


def _entry(engine: Engine, entry_id: bytes, fields: dict[bytes, bytes]) -> LedgerEntry:
    return LedgerEntry(
        transaction_id=entry_id.decode(),
        kind=fields[b"kind"].decode(),
        deltas=json.loads(fields[b"deltas"]),
        balances_after=with_every_resource(engine, json.loads(fields[b"balances"])),
        reason=fields[b"reason"].decode(),
        at=from_ms(int(fields[b"at"])),
    )
