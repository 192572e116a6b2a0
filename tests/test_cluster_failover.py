"""Balance changes confirmed by replicas (REDIS_WAIT_REPLICAS, engine.replication).

A write no replica confirms in time is answered as a Redis timeout (503 on the API)
although it ran on the master; its retry with the same key applies it exactly once.
"""

from __future__ import annotations

from collections import Counter

import pytest

from engine import Engine
from engine.economy import grants, ledger, purchases, wallet
from engine.replication import ReplicationTimeoutError, ReplicaWait


def ledger_of(engine, player: str) -> list:
    """The player's whole ledger (engine.economy.ledger), after checking it sums to the
    wallet for every resource."""
    entries = ledger.history(engine, player, limit=10_000)
    totals: Counter[str] = Counter()
    for entry in entries:
        totals.update(entry.deltas)
    assert +totals == +Counter(wallet.balances(engine, player))
    return entries


def test_a_write_no_replica_confirms_is_refused_and_its_retry_applies_it_once(
    real_redis, rules, clock
):
    """A standalone server without replicas: WAIT confirms nothing, so the purchase is a
    Redis timeout (503) although it ran; its retry is answered from its record."""
    waiting = Engine(redis=real_redis, rules=rules, clock=clock, replica_wait=ReplicaWait(1, 10))
    plain = Engine(redis=real_redis, rules=rules, clock=clock)
    grants.grant(plain, "solo", {"coins": 1_000}, "failover test", "fund-solo")

    with pytest.raises(ReplicationTimeoutError):
        purchases.purchase(waiting, "solo", "logs", 1, "unconfirmed")
    retried = purchases.purchase(plain, "solo", "logs", 1, "unconfirmed")

    assert retried.transaction.replayed
    bought = [e.transaction_id for e in ledger_of(plain, "solo") if e.kind == "purchase"]
    assert bought == [retried.transaction.transaction_id]
