"""What the RQ worker runs: one entry point for every job, recorded by engine.ops.jobruns.

Runs reach the queue three ways (a scheduler tick, the watchdog, an admin's request),
and each adds at most one: a job already queued is not queued again (but a due time the
watchdog dispatches gets a run of its own beside a waiting run of another due time or
of none), and an admin's request for a job that is queued or running gets that run
back (`enqueue_once`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from config import Settings
from engine import alerts, keys, metrics_folder
from engine.clock import from_ms, to_ms
from engine.ops import jobruns
from engine.ops.job_catalog import SPECS, task_for
from engine.runtime import Engine, build_engine
from jobs import QUEUE

WAITING = (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED)
MARKER_TTL_SECONDS = 86_400
# RQ keeps a failed job (its traceback included) a year by default: through an outage a
# job failing every few seconds would pile up that long. The run's record is in job_runs.
FAILURE_TTL_SECONDS = 7 * 86_400
ENQUEUE_MUTEX_SECONDS = 5


@lru_cache(maxsize=1)
def _engine() -> Engine:
    # A work horse is forked for each job, so each job builds its engine: the warning
    # that secrets are plain is the web's to give at start, not every job's.
    return build_engine(Settings.from_env(), warn_plain_secrets=False)


@lru_cache(maxsize=1)
def _queue() -> Queue:
    settings = Settings.from_env()
    return Queue(QUEUE, connection=Redis.from_url(settings.queue_redis_url))


@dataclass(frozen=True)
class Enqueued:
    job_id: str  # the RQ job id
    created: bool  # False: the job was already queued (or running), and this is that run


def enqueue(name: str, due: datetime | None = None, queue: Queue | None = None) -> str:
    """Queue one run of `name` unless one is already waiting; returns the RQ job id."""
    return enqueue_once(queue or _queue(), name, due).job_id


def enqueue_once(
    queue: Queue,
    name: str,
    due: datetime | None = None,
    engine: Engine | None = None,
    description: str = "",
) -> Enqueued:
    """Queue a run of `name`, unless one is already queued; with `engine` (an admin's
    request), also unless one is running. Returns the run queued, or the one found.

    The job's last queued run is remembered in the queue's Redis; a per-job mutex makes
    check-and-enqueue one step, so two requests at once queue one run between them.
    """
    connection = queue.connection
    with connection.lock(
        keys.job_enqueue_mutex(name),
        timeout=ENQUEUE_MUTEX_SECONDS,
        blocking_timeout=ENQUEUE_MUTEX_SECONDS,
    ):
        last = connection.get(keys.job_queued(name))
        due_ms = to_ms(due) if due else None
        if last is not None and _pending(queue, last.decode(), name, engine, due_ms):
            return Enqueued(last.decode(), created=False)
        spec = SPECS[name]
        job = queue.enqueue(
            run_job,
            name,
            due_ms,
            job_timeout=int(spec.expected.total_seconds() * 4),
            result_ttl=86_400,
            failure_ttl=FAILURE_TTL_SECONDS,
            description=f"questboard {name}{description}",
        )
        connection.set(keys.job_queued(name), job.id, ex=MARKER_TTL_SECONDS)
        return Enqueued(job.id, created=True)


def _pending(
    queue: Queue, job_id: str, name: str, engine: Engine | None, due_ms: int | None = None
) -> bool:
    """Whether the run is still waiting in the queue, or (given the engine) running; with
    `due_ms` (the watchdog's dispatch of a due time), only a run for that due time: a
    run of another (an admin's has none) is not recorded as that due time's run, nor
    handed back when it fails (engine.ops.jobruns).

    Running means RQ started it and a live run holds the job's lock (engine.ops.job_lease):
    a run whose worker died loses the lock within seconds and is not joined.
    """
    try:
        job = Job.fetch(job_id, connection=queue.connection)
    except NoSuchJobError:
        return False
    if due_ms is not None and list(job.args[1:2]) != [due_ms]:
        return False
    status = job.get_status()
    if status in WAITING:
        return True
    if engine is None or status != JobStatus.STARTED:
        return False
    holder, expires_ms = engine.redis.hmget(keys.job_lock(name), "run", "expires_ms")
    return holder is not None and int(expires_ms) > to_ms(engine.clock.now())


def run_job(name: str, due_ms: int | None = None, engine: Engine | None = None) -> dict:
    """Run one job and return its record (RQ keeps it as the job's result)."""
    engine = engine or _engine()
    task = task_for(name, lambda other, due: enqueue(other, due))
    record = jobruns.run(engine, SPECS[name], task, from_ms(due_ms) if due_ms else None)
    fold_metrics_of_runs_gone()
    alerts.wait_for_webhooks()  # RQ's work horse ends with os._exit once this returns
    if record.status == "failed":
        raise RuntimeError(f"{name} failed: {record.error}")  # RQ marks the job failed too
    return {"run_id": record.run_id, "status": record.status, "rows": record.rows_affected}


def fold_metrics_of_runs_gone() -> None:
    """Fold the metric files of the processes gone (engine.metrics_folder).

    RQ forks a process for each run, and each leaves its metric files when it exits:
    every run folds those of the runs before it, so the folder stays bounded even
    when nothing scrapes /metrics. A folder that cannot be folded is logged, and the
    run's outcome stands.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    try:
        metrics_folder.fold_dead_processes(directory)
    except OSError as error:
        logging.getLogger("questboard.jobs").warning("metrics folder not folded: %s", error)
