"""The ledger: every balance change of a player, newest first on read.

Redis keeps only the tail of each player's ledger (engine.keys.ledger, a list): every
entry not yet persisted, and the newest `ledger_keep_entries` persisted ones (0 by
default: a page longer than the tail reads SQL anyway, and the API's default page is
50). The persist job trims the lists of the players it committed (lua/trim_ledgers.lua),
a write trims the writer's (lua/include/wallet.lua): both only entries the persist job
has committed. SQL holds
them all: `user_resource_logs`, and `user_resource_logs_archive` after 30 days. A page
is the newest entries older than its cursor from both, merged by transaction id, so
one cursor walks the whole history with no entry missing or doubled at the seam: an
entry is in Redis, in SQL or in both, and Redis is read first, so an entry trimmed
while a page is read was committed to SQL before.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Table, and_, cast, func, or_, select

from engine import db, keys
from engine.clock import from_ms
from engine.economy.transactions import with_every_resource
from engine.errors import InvalidInputError
from engine.runtime import Engine
from engine.security import rate_limits


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
_SQL_MAX = 2**63 - 1  # a signed BIGINT: a larger cursor part bounds nothing stored


def history(
    engine: Engine,
    player_id: str,
    limit: int = 50,
    before: str | None = None,
    group: str | None = None,
) -> list[LedgerEntry]:
    """The player's newest `limit` entries, older than transaction `before` if given.
    With `group`, the read counts in the player's rate limit of that group, in the same
    call as the Redis read (engine.security.rate_limits.read_player).

    Raises:
        InvalidInputError: `before` is not a transaction id Redis could hold.
        RateLimitedError: the player's window of `group` is full.
    """
    cursor = _cursor(before) if before is not None else None
    if cursor == (0, 0):
        return []  # nothing is older than the first possible id
    kept = [
        entry
        for entry in kept_in_redis(engine, player_id, group)
        if cursor is None or order(entry) < cursor
    ]
    if len(kept) >= limit or not engine.database_url:
        return kept[:limit]  # without a durable record (some tests), Redis is all there is
    merged = {entry.transaction_id: entry for entry in kept}
    for table in (db.user_resource_logs, db.user_resource_logs_archive):
        for entry in _sql_page(engine, table, player_id, limit, cursor):
            merged.setdefault(entry.transaction_id, entry)
    return sorted(merged.values(), key=order, reverse=True)[:limit]


def kept_in_redis(engine: Engine, player_id: str, group: str | None = None) -> list[LedgerEntry]:
    """The entries the player's Redis ledger holds, newest first (with `group`, counted
    in the player's rate limit of that group: see `history`)."""
    (rows,) = rate_limits.read_player(
        engine, player_id, group, [keys.ledger(player_id)], read="lrange"
    )
    return [_redis_entry(engine, json.loads(row)) for row in rows]


def order(entry: LedgerEntry) -> tuple[int, int]:
    """The entry's place in the ledger: its transaction id as (milliseconds, sequence)."""
    ms, _, seq = entry.transaction_id.partition("-")
    return int(ms), int(seq)


def _cursor(before: str) -> tuple[int, int]:
    """`before` as (milliseconds, sequence), checked here: each half in 0 .. 2**64-1,
    ASCII digits only."""
    match = STREAM_ID.fullmatch(before)
    parts = (int(match[1]), int(match[2])) if match else None
    if parts is None or max(parts) > MAX_ID_PART:
        raise InvalidInputError(
            "The cursor is not a transaction id.",
            {"before": [f"Must be a transaction id: <ms>-<seq>, each 0 to {MAX_ID_PART}."]},
        )
    return parts


def _sql_page(
    engine: Engine, table: Table, player_id: str, limit: int, cursor: tuple[int, int] | None
) -> list[LedgerEntry]:
    """The player's newest `limit` rows of `table` older than `cursor`, ordered by the
    transaction id's numbers (as text, `…-10` would sort before `…-9`)."""
    tx = table.c.transaction_id
    dash = func.instr(tx, "-")
    ms = cast(func.substr(tx, 1, dash - 1), BigInteger)
    seq = cast(func.substr(tx, dash + 1), BigInteger)
    query = select(table).where(table.c.player_id == player_id)
    if cursor is not None and cursor[0] <= _SQL_MAX:
        older = ms < cursor[0]
        if cursor[1] <= _SQL_MAX:
            older = or_(older, and_(ms == cursor[0], seq < cursor[1]))
        else:
            older = or_(older, ms == cursor[0])
        query = query.where(older)
    query = query.order_by(ms.desc(), seq.desc()).limit(limit)
    with engine.sql.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        LedgerEntry(
            transaction_id=row["transaction_id"],
            kind=row["kind"],
            deltas=json.loads(row["deltas"]),
            balances_after=with_every_resource(engine, json.loads(row["balances_after"])),
            reason=row["reason"],
            at=from_ms(row["at_ms"]),
        )
        for row in rows
    ]


def _redis_entry(engine: Engine, row: list) -> LedgerEntry:
    transaction_id, kind, deltas, balances, reason, at = row
    return LedgerEntry(
        transaction_id=transaction_id,
        kind=kind,
        deltas=deltas,
        balances_after=with_every_resource(engine, balances),
        reason=reason,
        at=from_ms(int(at)),
    )
