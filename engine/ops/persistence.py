"""Persist: move the live record from Redis into SQL, losing nothing, doubling nothing.

Each shard's outbox stream carries every ledger entry, a "state" entry per exam and an
"event" entry per mission completed or battle-pass level reached (persisted as its
webhook event only: no ledger row, no balance; the reward it paid, if any, is a ledger
entry of its own).
A Redis consumer group ("persist") hands entries to whichever worker asks; a batch is
written to SQL in one transaction (ledger rows inserted by their natural key
(player_id, transaction_id), ignoring ones already there, then the current balances,
leaderboard aggregates, battle pass, streak and the day's counters of every player the
batch touched, read from Redis), and only after the commit are the entries acknowledged
and removed.

So a worker killed at any moment loses nothing: its unacknowledged entries stay
pending and another worker claims them once they have been idle `claim_idle_ms`
(XAUTOCLAIM); the persist job, one live run at a time under a heartbeat lock
(engine.ops.job_lease), claims them as soon as it takes the lock over. And nothing is
doubled: a batch written twice inserts no row twice, and the state rows are
overwritten with the same or newer values.
The security event stream is drained the same way into `security_events`.

The reading of the outboxes is engine.ops.persistence_outbox, the SQL write of a batch
engine.ops.persistence_sql, the security events engine.ops.persistence_security; this
module runs them in turn and is where the rest of the engine imports them from.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable

from engine.ops.persistence_outbox import (
    BATCH,
    CLAIM_IDLE_MS,
    _acknowledge,
    _lag,
    _read,
    consumer_name,
    lag_ms,
)
from engine.ops.persistence_outbox import GROUP as GROUP
from engine.ops.persistence_outbox import ensure_groups as ensure_groups
from engine.ops.persistence_security import _persist_security_events
from engine.ops.persistence_sql import STREAK_EXTRAS as STREAK_EXTRAS
from engine.ops.persistence_sql import PersistReport, _write
from engine.runtime import Engine

JOB_CONSUMER = "persist-job"  # the persist job's consumer: one live run at a time holds it


def persist(
    engine: Engine,
    consumer: str | None = None,
    batch_size: int = BATCH,
    claim_idle_ms: int = CLAIM_IDLE_MS,
    max_batches: int | None = None,
    keep_going: Callable[[], bool] | None = None,
) -> PersistReport:
    """Drain the outboxes and the security events into SQL until they are empty.

    `keep_going` is asked before each batch (the job passes its lock's check): a run
    that lost its lock to another stops there, its unacknowledged entries left pending
    for the run that took over.
    """
    consumer = consumer or consumer_name()
    report = PersistReport()
    started = time.perf_counter()
    batch = None
    while (max_batches is None or report.batches < max_batches) and (
        keep_going is None or keep_going()
    ):
        batch = _read(engine, consumer, batch_size, claim_idle_ms)
        if not len(batch):
            break
        _write(engine, batch, report)
        _acknowledge(engine, batch)
        report.batches += 1
        report.entries += len(batch)
    if keep_going is None or keep_going():
        report.security_events = _persist_security_events(engine, consumer, claim_idle_ms)
    report.seconds = time.perf_counter() - started
    if batch is not None and not len(batch):  # the last read saw what is still waiting
        report.lag_ms = _lag(engine, batch.heads)
    else:
        report.lag_ms = lag_ms(engine)
    return report


def ledger_sums(rows: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """Per player, the sum of ledger deltas, from (player_id, deltas JSON) rows."""
    sums: dict[str, dict[str, int]] = {}
    for player, deltas in rows:
        totals = sums.setdefault(player, {})
        for resource, delta in json.loads(deltas).items():
            totals[resource] = totals.get(resource, 0) + delta
    return sums
