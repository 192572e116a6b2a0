"""A failing job's alerts: news once, not once a run.

The persist job runs every few seconds; through an hour of SQL outage it fails some
700 times, and alerting each would bury the one alert that matters. The first failure
of a job raises `job_failed`; its failures within `FAILURE_QUIET` of that alert are
recorded (the run's record, `job_runs`, the failures metric) but not alerted, only
counted; the first failure after the quiet time raises `job_failed` again with
`failures_held_back`, the count since the previous alert. The job's next success after
an alerted failure raises `job_recovered` once. The state is one small hash a job in
Redis (lua/hold_job_alert.lua), shared by every worker, on the engine clock.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Protocol

from engine import alerts, keys
from engine.clock import to_ms
from engine.outcomes import ScriptCode
from engine.runtime import Engine

FAILURE_QUIET = timedelta(minutes=15)
# The state's lifetime after an alert (real time): a job that stops failing and never
# succeeds again (removed from the catalog) leaves nothing behind for good.
_STATE_TTL_SECONDS = 7 * 86_400


class Run(Protocol):
    """A job run's record (engine.ops.jobruns.JobRun): the alert's details."""

    def as_json(self) -> str: ...


def failed(engine: Engine, name: str, message: str, run: Run) -> bool:
    """Alert the job's failure unless one was alerted within the quiet time; whether it
    was alerted."""
    code, *held = engine.scripts.hold_job_alert(
        keys=[keys.job_alerting(name)],
        args=[
            to_ms(engine.clock.now()),
            int(FAILURE_QUIET.total_seconds() * 1000),
            _STATE_TTL_SECONDS,
        ],
    )
    if code == ScriptCode.NO_CHANGE:
        return False
    [held_back] = held
    if held_back:
        message += f" ({held_back} more failures since the last alert)"
    _raise(engine, "job_failed", message, run, held_back)
    return True


def succeeded(engine: Engine, name: str, run: Run) -> bool:
    """Raise `job_recovered` if the job's failures were alerted since its last success;
    whether it did."""
    pipe = engine.redis.pipeline(transaction=False)
    pipe.hget(keys.job_alerting(name), "held")
    pipe.delete(keys.job_alerting(name))
    held, deleted = pipe.execute()
    if not deleted:
        return False
    message = f"The {name} job succeeded again after failing."
    _raise(engine, "job_recovered", message, run, int(held or 0))
    return True


def _raise(engine: Engine, kind: str, message: str, run: Run, held_back: int) -> None:
    details: dict[str, Any] = json.loads(run.as_json()) | {"failures_held_back": held_back}
    alerts.raise_alert(kind, message, details, engine.clock.now(), engine.alert_webhook_url)
