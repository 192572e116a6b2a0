"""Idempotency records kept in SQL: the outcome of a request with an Idempotency-Key
that no other row gives back, so that `questboard rebuild` can restore it.

Redis holds every request's record (engine.economy.idempotency) and answers a retry
from it. Most come back after a loss from the row the change wrote (a ledger entry, an
exam attempt); a webhook subscription created or its secret rotated writes no such row,
so its record is written here, in the change's own transaction: the change and its
record commit together or not at all. So are a login with an Idempotency-Key that
claimed nothing (the day was claimed), an ad reward the earning cap paid nothing for,
and a refusal the record answers again (a purchase without the coins, an ad past the
day's cap, a grant over the balance limit, a streak repair not possible):
lua/record_activity.lua, lua/apply_transaction.lua and lua/repair_streak.lua add the
record to the outbox as a "record" entry, which the persist job writes here with the
rest of its batch. A row lives as its key does, IDEMPOTENCY_TTL_SECONDS from
`created_ms`; an older one is a key free again, replaced by the next request that uses
it and removed by the weekly cleanup.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from engine import db
from engine.clock import to_ms
from engine.runtime import Engine

TABLE = db.idempotency_records
ADMIN = ""  # the owner of an admin request's record (a player's is the player id)


def _cutoff(engine: Engine) -> int:
    """The oldest `created_ms` of a record whose key still lives."""
    return to_ms(engine.clock.now()) - engine.idempotency_ttl_seconds * 1000


def seconds_left(engine: Engine, created_ms: int) -> int:
    """How long a record made at `created_ms` still lives (at least a second)."""
    return max(1, (created_ms - _cutoff(engine)) // 1000)


def found(engine: Engine, owner: str, route: str, key: str) -> tuple[bytes, int] | None:
    """The record SQL keeps of this request and the seconds it still lives, or None when
    there is none or its key has expired."""
    query = select(TABLE.c.record, TABLE.c.created_ms).where(
        TABLE.c.owner == owner,
        TABLE.c.route == route,
        TABLE.c.idem_key == key,
        TABLE.c.created_ms > _cutoff(engine),
    )
    with engine.sql.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else (row.record.encode(), seconds_left(engine, row.created_ms))


def insert(
    conn: Connection, engine: Engine, owner: str, route: str, key: str, record: bytes
) -> None:
    """Keep `record` in the caller's transaction, over an expired record of the key.

    Raises sqlalchemy's IntegrityError when the key holds a living record already: the
    request was carried out (by a copy of it), and the caller's transaction must not
    commit its change.
    """
    where = (TABLE.c.owner == owner, TABLE.c.route == route, TABLE.c.idem_key == key)
    conn.execute(delete(TABLE).where(*where, TABLE.c.created_ms <= _cutoff(engine)))
    conn.execute(
        TABLE.insert().values(
            owner=owner,
            route=route,
            idem_key=key,
            record=record.decode(),
            created_ms=to_ms(engine.clock.now()),
        )
    )


def living(engine: Engine) -> Any:
    """The query of every record whose key still lives (the rebuild restores them)."""
    return select(TABLE).where(TABLE.c.created_ms > _cutoff(engine)).order_by(TABLE.c.created_ms)


def purge(engine: Engine) -> int:
    """Remove the records whose key has expired; returns how many."""
    with engine.sql.begin() as conn:
        return conn.execute(delete(TABLE).where(TABLE.c.created_ms <= _cutoff(engine))).rowcount
