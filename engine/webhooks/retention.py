"""How long the webhook record is kept: 30 days, as Stripe keeps its events.

The weekly `cleanup` job (engine.ops.maintenance) removes deliveries that are done
(delivered or failed) and older than that, then events no delivery refers to any
more. Pending deliveries stay, whatever their age: a disabled subscription that is
enabled again resumes where it stopped. The idempotency records SQL keeps of a
subscription's creation and its secret rotations (engine.economy.idempotency_records)
go once their key has expired.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, exists, select

from engine import db
from engine.clock import to_ms
from engine.economy import idempotency_records
from engine.runtime import Engine

KEEP = timedelta(days=30)


def purge(engine: Engine, keep: timedelta = KEEP) -> int:
    """Remove the done deliveries and unreferenced events older than `keep`, and the
    expired idempotency records; returns the rows removed."""
    cutoff = to_ms(engine.clock.now() - keep)
    deliveries, events = db.webhook_deliveries, db.webhook_events
    with engine.sql.begin() as conn:
        removed = conn.execute(
            delete(deliveries).where(
                deliveries.c.created_ms < cutoff, deliveries.c.status != "pending"
            )
        ).rowcount
        removed += conn.execute(
            delete(events).where(
                events.c.created_ms < cutoff,
                ~exists(select(deliveries.c.id).where(deliveries.c.event_id == events.c.event_id)),
            )
        ).rowcount
    return removed + idempotency_records.purge(engine)
