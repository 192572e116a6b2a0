"""Every scheduled job: its schedule (engine.ops.schedule.JobSpec) and what it runs.

Interval jobs (persist, leaderboard_snapshot, watchdog) are registered with the
scheduler process; calendar jobs (daily_reset, season_rollover, reconcile, cleanup)
are dispatched by the watchdog at their due time in the game timezone.
"""

from __future__ import annotations

import os
from datetime import timedelta

from engine import keys, shards
from engine.boards import prizes, snapshots
from engine.leagues import close
from engine.ops import maintenance, persistence, zone_tables
from engine.ops.job_lease import Lease
from engine.ops.jobruns import Dispatch, Task, watch
from engine.ops.schedule import JobSpec
from engine.progression import rotation
from engine.runtime import Engine
from engine.webhooks import delivery

PERSIST_INTERVAL = timedelta(seconds=int(os.environ.get("PERSIST_INTERVAL_SECONDS") or 5))
WEBHOOKS_INTERVAL = timedelta(seconds=int(os.environ.get("WEBHOOKS_INTERVAL_SECONDS") or 5))

SPECS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec(
            "persist",
            "Drain the ledger and security events into SQL; balances, aggregates, battle pass.",
            every=PERSIST_INTERVAL,
            expected=timedelta(minutes=2),
        ),
        JobSpec(
            "leaderboard_snapshot",
            "Freeze the top of every current board and record every rank.",
            every=timedelta(hours=2),
            expected=timedelta(minutes=15),
        ),
        JobSpec(
            "webhooks",
            "Send the due webhook deliveries, retried with backoff; record ban and period events.",
            every=WEBHOOKS_INTERVAL,
            expected=timedelta(minutes=2),
        ),
        JobSpec(
            "watchdog",
            "The scheduler's heartbeat: dispatch due calendar jobs, catch up missed runs.",
            every=timedelta(minutes=1),
            expected=timedelta(seconds=30),
            catch_up=False,
        ),
        JobSpec(
            "daily_reset",
            "Rotate the tool of the day and the missions.",
            days=1,
            expected=timedelta(minutes=1),
        ),
        JobSpec(
            "season_rollover",
            "Archive ended battle-pass seasons into SQL and remove their Redis keys.",
            days=1,
            after_reset=timedelta(minutes=30),
            expected=timedelta(minutes=30),
        ),
        JobSpec(
            "reconcile",
            "Check that every balance equals its ledger, in Redis and in SQL.",
            days=1,
            after_reset=timedelta(hours=2),
            expected=timedelta(minutes=30),
        ),
        JobSpec(
            "league_close",
            "Close every league period that ended: next tiers, prizes paid once, results to SQL.",
            days=1,
            after_reset=timedelta(minutes=10),
            expected=timedelta(minutes=5),
        ),
        JobSpec(
            "board_prizes",
            "Pay the prizes of the boards whose period ended, once, from the final standings.",
            days=1,
            after_reset=timedelta(minutes=10),
            expected=timedelta(minutes=5),
        ),
        JobSpec(
            "zone_tables",
            "Recompute zoned players' local days after a new zone database or reset hour; "
            "extend those running out.",
            days=1,
            after_reset=timedelta(minutes=20),
            expected=timedelta(minutes=30),
        ),
        JobSpec(
            "cleanup",
            "Archive old ledger rows; purge expired bans and old security events.",
            days=7,
            weekday=1,
            after_reset=timedelta(hours=1),
            expected=timedelta(minutes=30),
        ),
    )
}

INTERVAL_JOBS = [name for name, spec in SPECS.items() if spec.every is not None]


def task_for(name: str, dispatch: Dispatch) -> Task:
    """What the job runs; `dispatch` is how the watchdog starts other jobs."""
    tasks: dict[str, Task] = {
        "persist": _persist,
        "leaderboard_snapshot": lambda engine, lease: snapshots.take_snapshots(engine).players,
        "watchdog": lambda engine, lease: len(watch(engine, SPECS, dispatch)),
        "daily_reset": lambda engine, lease: 1 + len(rotation.rotate(engine).missions),
        "season_rollover": lambda engine, lease: maintenance.season_rollover(engine),
        "reconcile": lambda engine, lease: maintenance.reconcile(engine),
        "cleanup": lambda engine, lease: maintenance.cleanup(engine),
        "zone_tables": lambda engine, lease: zone_tables.refresh(engine).replaced,
        "webhooks": _webhooks,
        "board_prizes": lambda engine, lease: sum(
            report.paid for report in prizes.close_ended(engine, keep_going=lease.held)
        ),
        "league_close": lambda engine, lease: sum(
            report.players for report in close.close_ended(engine, keep_going=lease.held)
        ),
    }
    return tasks[name]


def _persist(engine: Engine, lease: Lease) -> int:
    """Drain the outboxes as the one live persist run.

    Holding the lock means every other run is dead or has lost it, so the entries they
    left pending are claimed at once (no idle wait) under the job's one consumer name;
    a run that loses the lock stops before its next batch. Rows are inserted by their
    natural key and acknowledged after the commit, so a takeover loses and doubles
    nothing. It first checks the player shard count against Redis's record (a process
    that started while Redis was down was not checked then).
    """
    shards.verify(engine.redis, keys.player_shards())
    report = persistence.persist(
        engine, consumer=persistence.JOB_CONSUMER, claim_idle_ms=0, keep_going=lease.held
    )
    return report.rows


def _webhooks(engine: Engine, lease: Lease) -> int:
    """Send the due webhook deliveries as the one live run; a run that loses its lock
    stops before its next pass (what it was sending is sent again: at least once)."""
    report = delivery.run(engine, keep_going=lease.held)
    return report.delivered + report.failed
