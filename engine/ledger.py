"""The ledger: every balance change of a player, newest first on read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from engine import keys
from engine.clock import from_ms
from engine.runtime import Engine
from engine.transactions import with_every_resource


@dataclass(frozen=True)
class LedgerEntry:
    transaction_id: str
    kind: str
    deltas: dict[str, int]
    balances_after: dict[str, int]
    reason: str
    at: datetime


def history(
    engine: Engine, player_id: str, limit: int = 50, before: str | None = None
) -> list[LedgerEntry]:
    """The player's newest `limit` entries, older than transaction `before` if given."""
    newest = f"({before}" if before else "+"
    rows = engine.redis.xrevrange(keys.ledger(player_id), max=newest, min="-", count=limit)
    return [_entry(engine, entry_id, fields) for entry_id, fields in rows]


def _entry(engine: Engine, entry_id: bytes, fields: dict[bytes, bytes]) -> LedgerEntry:
    return LedgerEntry(
        transaction_id=entry_id.decode(),
        kind=fields[b"kind"].decode(),
        deltas=json.loads(fields[b"deltas"]),
        balances_after=with_every_resource(engine, json.loads(fields[b"balances"])),
        reason=fields[b"reason"].decode(),
        at=from_ms(int(fields[b"at"])),
    )
