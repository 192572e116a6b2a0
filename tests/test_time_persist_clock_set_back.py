"""A balance change made after the clock was set back reaches SQL's balances.

The persist job kept, per player, the balances after the change with the latest time
(`at`, the engine clock's) and SQL only took a row not older than the one it held: a
change made once the clock had gone back (the QA clock set back, a host whose clock
steps back or runs behind another's) carried an earlier time than the change before
it, so `user_resources` kept the balance before it. Reconcile then alerted, and a
rebuild from SQL would give the player the older balance. The order of a player's
changes is their outbox's (one stream, IDs that only grow), whatever the clocks say.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from engine import db
from engine.economy import grants, wallet
from engine.ops import maintenance, persistence
from tests.job_alerts import alerts_logged
from tests.persist_state import rows


def _sql_coins(engine, player: str) -> int:
    [row] = [
        r
        for r in rows(engine, db.user_resources)
        if (r["player_id"], r["resource"]) == (player, "coins")
    ]
    return row["balance"]


def test_a_change_after_the_clock_went_back_is_persisted_in_the_next_batch(
    durable_engine, clock, caplog
):
    grants.grant(durable_engine, "alice", {"coins": 5}, "gift", "g1")
    persistence.persist(durable_engine)
    clock.advance(hours=-1)
    grants.grant(durable_engine, "alice", {"coins": 7}, "gift", "g2")

    persistence.persist(durable_engine)

    assert wallet.balances(durable_engine, "alice")["coins"] == 12
    assert _sql_coins(durable_engine, "alice") == 12  # 5 before
    caplog.set_level(logging.WARNING, logger="questboard.alerts")
    assert maintenance.reconcile(durable_engine) == 1  # players checked
    assert alerts_logged(caplog, "reconcile_differences") == []  # one before


def test_a_change_after_the_clock_went_back_is_persisted_in_the_same_batch(durable_engine, clock):
    grants.grant(durable_engine, "alice", {"coins": 5}, "gift", "g1")
    clock.set(clock.now() - timedelta(minutes=10))
    grants.grant(durable_engine, "alice", {"coins": 7}, "gift", "g2")

    persistence.persist(durable_engine)

    assert _sql_coins(durable_engine, "alice") == 12  # 5 before


def test_a_late_write_of_an_older_batch_does_not_undo_a_newer_one(durable_engine, clock):
    """The guard SQL kept still holds: a stalled run that wakes up after the run that
    took over writes nothing older over what that run wrote."""
    grants.grant(durable_engine, "alice", {"coins": 5}, "gift", "g1")
    persistence.ensure_groups(durable_engine)
    consumer = persistence.JOB_CONSUMER
    stalled = persistence._read(durable_engine, consumer, 100, claim_idle_ms=0)
    clock.advance(hours=-1)
    grants.grant(durable_engine, "alice", {"coins": 7}, "gift", "g2")
    persistence.persist(durable_engine, consumer=consumer, claim_idle_ms=0)

    persistence._write(durable_engine, stalled, persistence.PersistReport())

    assert _sql_coins(durable_engine, "alice") == 12
