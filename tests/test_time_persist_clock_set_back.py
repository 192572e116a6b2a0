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

import json
import logging
from datetime import timedelta

from engine import db
from engine.economy import activity, grants, wallet
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


def test_the_days_counters_read_after_the_clock_went_back_are_persisted(durable_engine, clock):
    """dave watches an ad at 12:00, persisted; the clock goes back to 11:00 (the same game
    day) and he watches another: SQL's copy of the day's counters (what a rebuild gives
    back) kept ads 1, the run's time being earlier than the copy's, so after a loss of
    Redis he could watch one ad more than the day's cap."""
    activity.ad_reward(durable_engine, "dave", "ad-1")
    persistence.persist(durable_engine)
    clock.advance(hours=-1)
    activity.ad_reward(durable_engine, "dave", "ad-2")

    persistence.persist(durable_engine)

    [row] = rows(durable_engine, db.user_daily_counters)
    assert json.loads(row["counters"])["ads"] == "2"  # 1 before
