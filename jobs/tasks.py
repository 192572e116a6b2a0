"""What the RQ worker runs: one entry point for every job, recorded by engine.jobruns."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from redis import Redis
from rq import Queue

from config import Settings
from engine import jobruns
from engine.clock import from_ms, to_ms
from engine.job_catalog import SPECS, task_for
from engine.runtime import Engine, build_engine
from jobs import QUEUE


@lru_cache(maxsize=1)
def _engine() -> Engine:
    return build_engine(Settings.from_env())


@lru_cache(maxsize=1)
def _queue() -> Queue:
    settings = Settings.from_env()
    return Queue(QUEUE, connection=Redis.from_url(settings.queue_redis_url))


def enqueue(name: str, due: datetime | None = None, queue: Queue | None = None) -> str:
    """Put one run of `name` on the queue; returns the RQ job id."""
    spec = SPECS[name]
    due_ms = to_ms(due) if due else None
    job = (queue or _queue()).enqueue(
        run_job,
        name,
        due_ms,
        job_timeout=int(spec.expected.total_seconds() * 4),
        result_ttl=86_400,
        description=f"questboard {name}",
    )
    return job.id


def run_job(name: str, due_ms: int | None = None, engine: Engine | None = None) -> dict:
    """Run one job and return its record (RQ keeps it as the job's result)."""
    engine = engine or _engine()
    task = task_for(name, lambda other, due: enqueue(other, due))
    record = jobruns.run(engine, SPECS[name], task, from_ms(due_ms) if due_ms else None)
    if record.status == "failed":
        raise RuntimeError(f"{name} failed: {record.error}")  # RQ marks the job failed too
    return {"run_id": record.run_id, "status": record.status, "rows": record.rows_affected}
