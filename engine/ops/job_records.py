"""A job run's record in SQL (`job_runs`), and the records an SQL outage kept from it.

Every run is recorded in Redis first (engine.ops.jobruns: its own key for 14 days and
the job's history of 50) and then in SQL, which keeps them all. Through an SQL outage
the SQL write fails: the run's id goes into a set in Redis (`keys.job_runs_unrecorded`),
and the first run whose own write succeeds afterwards writes those runs from their
Redis records, a bounded number a run. Without it a day's outage would leave SQL
without the very runs that show the outage (the persist job's history in Redis holds
its last four minutes).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from engine import alerts, db, keys
from engine.runtime import Engine

CATCH_UP_BATCH = 200  # runs written from Redis after an outage, at most, by one run


class Run(Protocol):
    """A job run's record (engine.ops.jobruns.JobRun)."""

    run_id: str

    def as_json(self) -> str: ...


def write(engine: Engine, run: Run) -> bool:
    """The run's record in SQL as it is now (its start, then its end); whether it was
    written. A failure is logged and remembered for a later run to write."""
    if not engine.database_url:
        return True
    try:
        _upsert(engine, [json.loads(run.as_json())])
    except SQLAlchemyError as error:  # the Redis record stands; SQL may be down
        alerts.log.error(json.dumps({"job_runs_write_failed": str(error)[:500]}))
        engine.redis.sadd(keys.job_runs_unrecorded(), run.run_id)
        return False
    return True


def catch_up(engine: Engine) -> int:
    """Write runs an outage kept from SQL, from their Redis records; how many."""
    unrecorded = keys.job_runs_unrecorded()
    run_ids = [r.decode() for r in engine.redis.srandmember(unrecorded, CATCH_UP_BATCH)]
    if not run_ids:
        return 0
    raws = engine.redis.mget([keys.job_run(run_id) for run_id in run_ids])
    rows = [json.loads(raw) for raw in raws if raw is not None]  # gone after 14 days
    try:
        _upsert(engine, rows)
    except SQLAlchemyError as error:
        alerts.log.error(json.dumps({"job_runs_write_failed": str(error)[:500]}))
        return 0
    engine.redis.srem(unrecorded, *run_ids)
    return len(rows)


def _upsert(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """Each row updated by its run id, inserted where SQL has none yet (its start's
    write failed). Two writers inserting one run at once (a run's end and a catch-up)
    break the unique run id: the loser's write fails whole and is remembered, and the
    next catch-up updates it."""
    table = db.job_runs
    with engine.sql.begin() as conn:
        for row in rows:
            values = {
                "finished_ms": row["finished_ms"],
                "duration_ms": row["duration_ms"],
                "status": row["status"],
                "rows_affected": row["rows_affected"],
                "error": row["error"],
            }
            where = table.c.run_id == row["run_id"]
            if conn.execute(update(table).where(where).values(values)).rowcount:
                continue
            full = values | {
                "run_id": row["run_id"],
                "name": row["name"],
                "scheduled_ms": row["scheduled_ms"],
                "started_ms": row["started_ms"],
            }
            conn.execute(table.insert(), full)
