"""What the persist job has left behind, read from SQL and Redis, for the persist tests.

tests/test_persist.py (what a run writes) and tests/test_persist_killed.py (runs
killed midway) count the rows in SQL and the entries still waiting in the outboxes.
"""

from __future__ import annotations

from sqlalchemy import func, select

from engine import keys
from engine.ops import persistence


def rows(engine, table, *where):
    with engine.sql.connect() as conn:
        return conn.execute(select(table).where(*where)).mappings().all()


def count(engine, table):
    with engine.sql.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def outbox_length(engine):
    return sum(engine.redis.xlen(keys.outbox(shard)) for shard in range(keys.player_shards()))


def pending_entries(client):
    """Entries read and not acknowledged, in every outbox (those never read have no group)."""
    outboxes = [keys.outbox(shard) for shard in range(keys.player_shards())]
    return sum(
        client.xpending(outbox, persistence.GROUP)["pending"]
        for outbox in outboxes
        if client.exists(outbox)
    )
