"""Job keys: run records and history, locks, the queue's guards, the watchdog's due
times and heartbeat, all under the {jobs} hash tag; and a season's archived marker.
"""

from __future__ import annotations

from engine.keys_shards import PREFIX

JOBS = f"{PREFIX}:{{jobs}}"


def job_history(name: str) -> str:
    """List: the job's newest run ids, newest first (50)."""
    return f"{JOBS}:history:{name}"


def job_run(run_id: str) -> str:
    """String (JSON): one run's record; expires after 14 days (SQL keeps them all)."""
    return f"{JOBS}:run:{run_id}"


def job_last_success(name: str) -> str:
    """String (JSON): the job's last successful run."""
    return f"{JOBS}:success:{name}"


def job_lock(name: str) -> str:
    """Hash {run, expires_ms}: the run in progress; its heartbeat renews it (10 s TTL)."""
    return f"{JOBS}:lock:{name}"


def job_running(name: str) -> str:
    """Set: ids of the job's runs that started and have not ended (or been found dead)."""
    return f"{JOBS}:running:{name}"


def job_queued(name: str) -> str:
    """String, in the queue's Redis: the RQ id of the job's last queued run (1 day), so
    a run already queued (or, for an admin's request, running) is not queued again."""
    return f"{JOBS}:queued:{name}"


def job_enqueue_mutex(name: str) -> str:
    """String, in the queue's Redis: held (5 s at most) while a run of the job is queued."""
    return f"{JOBS}:enqueue-mutex:{name}"


def job_done(name: str, due_ms: int) -> str:
    """String: a run for this due time succeeded (14 days)."""
    return f"{JOBS}:done:{name}:{due_ms}"


def job_dispatched(name: str, due_ms: int) -> str:
    """String: the watchdog dispatched the job for this due time (14 days; 1 day for an
    interval job's catch-up run); removed when a calendar job's run for it fails or
    dies, so the watchdog dispatches it again."""
    return f"{JOBS}:dispatched:{name}:{due_ms}"


def job_runs_unrecorded() -> str:
    """Set: ids of runs whose record SQL missed (an outage); the next run whose own write
    succeeds writes them from their records (engine.ops.job_records)."""
    return f"{JOBS}:unrecorded"


def job_alerting(name: str) -> str:
    """Hash {next_ms, held}: when the job's failures are alerted again, and how many were
    held back since the last alert (engine.ops.job_alerts); deleted by its next success,
    else expires 7 days after the alert."""
    return f"{JOBS}:alerting:{name}"


def scheduler_heartbeat() -> str:
    """String: when the watchdog last ran (ms)."""
    return f"{JOBS}:heartbeat"


def job_first_seen(name: str) -> str:
    """String: when the service first saw the job, watched or run (ms); lateness counts
    from then, so a job due before the service started was never missed."""
    return f"{JOBS}:first-seen:{name}"


def season_archived(season_id: str) -> str:
    """String: the season's battle pass is archived to SQL and its keys removed."""
    return f"{JOBS}:season-archived:{season_id}"


def zone_tables() -> str:
    """String: "<zone database version>|<reset hour>" the players' tables of local days
    were last checked against (engine.progression.zone_refresh)."""
    return f"{JOBS}:zone-tables"


def zone_tables_renewal() -> str:
    """String: the game day ("YYYY-MM-DD") from which the zone_tables job looks at the
    players' tables of local days again to extend those that run out within a year
    (engine.ops.zone_tables)."""
    return f"{JOBS}:zone-tables-renewal"
