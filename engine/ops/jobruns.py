"""Running the scheduled jobs, recording every run, and watching that they happen.

Every run writes a record to `job_runs` in SQL and a short history in Redis: name,
scheduled (due) time, start, end, duration, status, rows affected, error. A run that
fails or runs past its expected time raises an alert (engine.alerts; a job failing
run after run is alerted once a quiet time, engine.ops.job_alerts). The watchdog,
run every minute by the scheduler, dispatches the calendar jobs when they are due,
in the game timezone, and notices a run that did not happen: it raises a `job_missed`
alert and runs it once (a week of missed daily resets is caught up once, not seven
times, because only the latest due time is ever dispatched). A calendar run that
fails, or dies, or finds another run of the job in progress, hands its due time back:
the watchdog's next tick dispatches it again (a due time waiting for a run in progress
is not alerted as missed).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine import alerts, keys
from engine.clock import from_ms, to_ms
from engine.metrics import JOB_FAILURES, JOB_SECONDS
from engine.ops import job_alerts, job_records
from engine.ops.job_lease import Lease, reap
from engine.ops.schedule import JobSpec, last_due, next_due
from engine.runtime import Engine

HISTORY = 50
RECORD_TTL = 14 * 86_400
MISSED_GRACE = timedelta(minutes=5)
CRASHED = (
    "its process died or hung: its lock expired without a heartbeat, and another run "
    "may have taken over"
)
LOCK_HELD = "another run is in progress"
LOST_LOCK = "it lost its lock (its heartbeat was late) and stopped; another run may take over"

Task = Callable[[Engine, Lease], int]
Dispatch = Callable[[str, datetime | None], None]


@dataclass(frozen=True)
class JobRun:
    run_id: str
    name: str
    scheduled_for: datetime | None
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    status: str  # running, succeeded, failed, skipped
    rows_affected: int
    error: str | None

    def as_json(self) -> str:
        return json.dumps(
            {
                "run_id": self.run_id,
                "name": self.name,
                "scheduled_ms": to_ms(self.scheduled_for) if self.scheduled_for else None,
                "started_ms": to_ms(self.started_at),
                "finished_ms": to_ms(self.finished_at) if self.finished_at else None,
                "duration_ms": self.duration_ms,
                "status": self.status,
                "rows_affected": self.rows_affected,
                "error": self.error,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> JobRun:
        data = json.loads(raw)
        return cls(
            run_id=data["run_id"],
            name=data["name"],
            scheduled_for=from_ms(data["scheduled_ms"]) if data["scheduled_ms"] else None,
            started_at=from_ms(data["started_ms"]),
            finished_at=from_ms(data["finished_ms"]) if data["finished_ms"] else None,
            duration_ms=data["duration_ms"],
            status=data["status"],
            rows_affected=data["rows_affected"],
            error=data["error"],
        )


def run(
    engine: Engine,
    spec: JobSpec,
    task: Task,
    scheduled_for: datetime | None = None,
) -> JobRun:
    """Run one job now, once for `scheduled_for` (a repeat for the same due time is skipped).

    The run holds the job's lock through a heartbeat (engine.ops.job_lease), so a run whose
    process dies loses it within seconds: the next run takes over and records the dead
    one as failed. The task gets the lease: a long task asks `lease.held()` between
    steps and stops once another run has taken over.
    """
    started = engine.clock.now()
    run_id = f"run_{secrets.token_hex(8)}"
    if scheduled_for is not None and _done(engine, spec, scheduled_for):
        return _skipped(engine, spec, run_id, scheduled_for, started, "already ran for this time")
    lease = Lease(engine, spec.name, run_id)
    taken, dead = lease.take()
    bury(engine, spec, dead)
    if not taken:
        skipped = _skipped(engine, spec, run_id, scheduled_for, started, LOCK_HELD)
        _hand_back(engine, spec, skipped)  # the due time is run once the other run ends
        return skipped
    if scheduled_for is not None and _done(engine, spec, scheduled_for):
        # a run for this due time ended while this one waited for the lock
        lease.release()
        return _skipped(engine, spec, run_id, scheduled_for, started, "already ran for this time")

    _see(engine, spec.name, started)
    record = JobRun(run_id, spec.name, scheduled_for, started, None, None, "running", 0, None)
    _remember(engine, record)
    job_records.write(engine, record)
    lease.keep_alive()
    clock_start = time.perf_counter()
    try:
        rows = int(task(engine, lease) or 0)
        status, error = "succeeded", None
    except Exception as failure:  # any failure of a job is recorded and alerted, not lost
        rows, status = 0, "failed"
        error = "".join(traceback.format_exception_only(failure)).strip()[:2000]
    finally:
        lease.stop()  # a crash that is not an Exception leaves the lock to expire
    duration_ms = int((time.perf_counter() - clock_start) * 1000)
    # The due time is marked done while the lock is held: a run for it that waits for
    # the lock finds it done once it has the lock.
    marked = status == "succeeded" and scheduled_for is not None and lease.held()
    if marked:
        engine.redis.set(keys.job_done(spec.name, to_ms(scheduled_for)), run_id, ex=14 * 86_400)
    if not lease.release() or lease.lost:
        status, error = "failed", error or LOST_LOCK
        if marked:
            engine.redis.delete(keys.job_done(spec.name, to_ms(scheduled_for)))
    finished = started + timedelta(milliseconds=duration_ms)
    record = JobRun(
        run_id, spec.name, scheduled_for, started, finished, duration_ms, status, rows, error
    )
    _remember(engine, record)
    if job_records.write(engine, record):
        job_records.catch_up(engine)  # SQL answers: what an outage kept from it
    JOB_SECONDS.labels(spec.name).observe(duration_ms / 1000)
    if status == "failed":
        JOB_FAILURES.labels(spec.name).inc()
        message = f"The {spec.name} job failed: {error}"
        job_alerts.failed(engine, spec.name, message, record)
        _hand_back(engine, spec, record)
    else:
        job_alerts.succeeded(engine, spec.name, record)
        if duration_ms > spec.expected.total_seconds() * 1000:
            _alert(
                engine,
                "job_overrun",
                f"The {spec.name} job took {duration_ms} ms, more than its expected "
                f"{int(spec.expected.total_seconds())} s.",
                record,
            )
    return record


def _done(engine: Engine, spec: JobSpec, scheduled_for: datetime) -> bool:
    """Whether a run for this due time succeeded."""
    return bool(engine.redis.exists(keys.job_done(spec.name, to_ms(scheduled_for))))


def bury(engine: Engine, spec: JobSpec, run_ids: list[str]) -> list[JobRun]:
    """Record runs found dead (their lock expired without a heartbeat) as failed, and alert.

    `run_ids` come from the lock scripts, which hand each dead run out once, so each is
    recorded and alerted once however many runs or watchdogs notice it.
    """
    now = engine.clock.now()
    buried = []
    for run_id in run_ids:
        raw = engine.redis.get(keys.job_run(run_id))
        if raw is None:
            continue
        running = JobRun.from_json(raw)
        duration_ms = max(0, to_ms(now) - to_ms(running.started_at))
        record = dataclasses.replace(
            running, finished_at=now, duration_ms=duration_ms, status="failed", error=CRASHED
        )
        _remember(engine, record)
        job_records.write(engine, record)
        JOB_FAILURES.labels(spec.name).inc()
        _alert(
            engine,
            "job_crashed",
            f"A run of the {spec.name} job stopped without finishing: {CRASHED}",
            record,
        )
        _hand_back(engine, spec, record)
        buried.append(record)
    return buried


def _hand_back(engine: Engine, spec: JobSpec, record: JobRun) -> None:
    """A calendar job's run for a due time that failed, died or found another run of the
    job holding the lock gives that due time back to the watchdog: its next tick
    dispatches the job again (each job is idempotent), as it would a run that did not
    happen, instead of leaving it to the next due time."""
    if spec.every is None and record.scheduled_for is not None:
        engine.redis.delete(keys.job_dispatched(spec.name, to_ms(record.scheduled_for)))


def _skipped(engine, spec, run_id, scheduled_for, started, reason) -> JobRun:
    record = JobRun(run_id, spec.name, scheduled_for, started, started, 0, "skipped", 0, reason)
    _remember(engine, record)
    return record


def _remember(engine: Engine, record: JobRun) -> None:
    """The run's record under its own key; the job's history lists the newest run ids."""
    pipe = engine.redis.pipeline(transaction=True)
    pipe.set(keys.job_run(record.run_id), record.as_json(), ex=RECORD_TTL)
    if record.status in ("running", "skipped"):
        history = keys.job_history(record.name)
        pipe.lpush(history, record.run_id)
        pipe.ltrim(history, 0, HISTORY - 1)
    if record.status == "succeeded":
        pipe.set(keys.job_last_success(record.name), record.as_json())
    pipe.execute()


def _alert(engine: Engine, kind: str, message: str, record: JobRun) -> None:
    alerts.raise_alert(
        kind,
        message,
        json.loads(record.as_json()),
        at=engine.clock.now(),
        webhook_url=engine.alert_webhook_url,
    )


def history(engine: Engine, name: str, limit: int = HISTORY) -> list[JobRun]:
    """The job's newest runs, newest first."""
    run_ids = [r.decode() for r in engine.redis.lrange(keys.job_history(name), 0, limit - 1)]
    if not run_ids:
        return []
    records = engine.redis.mget([keys.job_run(run_id) for run_id in run_ids])
    return [JobRun.from_json(raw) for raw in records if raw]


def last_success(engine: Engine, name: str) -> JobRun | None:
    raw = engine.redis.get(keys.job_last_success(name))
    return JobRun.from_json(raw) if raw else None


@dataclass(frozen=True)
class JobStatus:
    spec: JobSpec
    last_run: JobRun | None
    last_success: JobRun | None
    next_due: datetime
    last_due: datetime
    overdue: bool


def status(engine: Engine, specs: dict[str, JobSpec]) -> list[JobStatus]:
    now = engine.clock.now()
    statuses = []
    for spec in specs.values():
        bury(engine, spec, reap(engine, spec.name))
        success = last_success(engine, spec.name)
        due = last_due(spec, now, engine.calendar)
        statuses.append(
            JobStatus(
                spec=spec,
                last_run=_last_run(history(engine, spec.name)),
                last_success=success,
                next_due=next_due(spec, now, engine.calendar),
                last_due=due,
                overdue=_overdue(spec, due, success, now, _first_seen(engine, spec.name)),
            )
        )
    return statuses


def _last_run(runs: list[JobRun]) -> JobRun | None:
    """The newest run that ran (running, succeeded or failed), not an attempt skipped
    because another run held the lock or had done the due time: that one is pushed on
    top of the run it found, and would list a job running or done as `skipped`. The
    newest attempt when the history holds nothing else."""
    return next((run for run in runs if run.status != "skipped"), runs[0] if runs else None)


def _overdue(
    spec: JobSpec,
    due: datetime,
    success: JobRun | None,
    now: datetime,
    first_seen: datetime | None,
) -> bool:
    """Late: an interval job without a success for 3 intervals (plus grace), or a calendar
    job without a success for its latest due time, once that is past its grace.

    Measured from when the service first saw the job (`first_seen`): a due time before
    that, as on a first start, was never the service's to keep.
    """
    if first_seen is None:
        return False
    if spec.every is not None:
        allowed = 3 * spec.every + MISSED_GRACE
        return now - (success.started_at if success else first_seen) > allowed
    if due < first_seen or now - due < MISSED_GRACE:
        return False
    return success is None or (success.scheduled_for or success.started_at) < due


def _first_seen(engine: Engine, name: str) -> datetime | None:
    raw = engine.redis.get(keys.job_first_seen(name))
    return from_ms(int(raw)) if raw else None


def _see(engine: Engine, name: str, now: datetime) -> datetime:
    """Record when the service first saw the job (kept once set); returns that time."""
    key = keys.job_first_seen(name)
    pipe = engine.redis.pipeline(transaction=False)
    pipe.set(key, to_ms(now), nx=True)
    pipe.get(key)
    return from_ms(int(pipe.execute()[1]))


def watch(engine: Engine, specs: dict[str, JobSpec], dispatch: Dispatch) -> list[str]:
    """The scheduler's heartbeat: dispatch due calendar jobs, flag and catch up missed ones.

    Returns the names dispatched. `dispatch(name, due)` enqueues (or, in the CLI, runs) a job.
    """
    now = engine.clock.now()
    engine.redis.set(keys.scheduler_heartbeat(), to_ms(now))
    dispatched = []
    for spec in specs.values():
        bury(engine, spec, reap(engine, spec.name))
        first_seen = _see(engine, spec.name, now)
        due = last_due(spec, now, engine.calendar)
        success = last_success(engine, spec.name)
        if spec.every is None:
            if engine.redis.exists(keys.job_done(spec.name, to_ms(due))):
                continue
            if not engine.redis.set(
                keys.job_dispatched(spec.name, to_ms(due)), 1, nx=True, ex=14 * 86_400
            ):
                continue
            # not missed while a run of the job holds the lock: the due time waits for it
            if due >= first_seen and now - due > MISSED_GRACE and not _running(engine, spec, now):
                _missed(engine, spec, due, success)
            dispatch(spec.name, due)
            dispatched.append(spec.name)
        elif _overdue(spec, due, success, now, first_seen) and engine.redis.set(
            keys.job_dispatched(spec.name, to_ms(due)), 1, nx=True, ex=86_400
        ):
            _missed(engine, spec, due, success)
            if spec.catch_up:
                dispatch(spec.name, None)
                dispatched.append(spec.name)
    return dispatched


def _running(engine: Engine, spec: JobSpec, now: datetime) -> bool:
    """Whether a live run of the job holds its lock (engine.ops.job_lease)."""
    holder, expires_ms = engine.redis.hmget(keys.job_lock(spec.name), "run", "expires_ms")
    return holder is not None and int(expires_ms) > to_ms(now)


def _missed(engine: Engine, spec: JobSpec, due: datetime, success: JobRun | None) -> None:
    alerts.raise_alert(
        "job_missed",
        f"The {spec.name} job did not run when due ({due.isoformat()}); running it now.",
        {
            "job": spec.name,
            "due": due.isoformat(),
            "last_success": success.started_at.isoformat() if success else None,
        },
        at=engine.clock.now(),
        webhook_url=engine.alert_webhook_url,
    )
