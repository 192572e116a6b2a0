"""`questboard jobs list` (and GET /v1/admin/jobs) shows as a job's last run the run that
ran, not an attempt that found it running and did not run.

An admin's `questboard jobs run league_close` made while the watchdog's run of it was
in progress is skipped ("another run is in progress"); that attempt was listed as the
job's last run, `skipped`, while the run went on, and still once it had succeeded,
until the job's next run.
"""

from __future__ import annotations

import io

from cli import commands
from engine.ops import jobruns
from engine.ops.job_catalog import SPECS

SPEC = SPECS["daily_reset"]


def _listed(engine) -> str:
    """The job's row of `questboard jobs list`."""
    out = io.StringIO()
    commands.jobs_list(engine, None, out)
    [row] = [line for line in out.getvalue().splitlines() if line.startswith(SPEC.name)]
    return row


def _status(engine) -> jobruns.JobStatus:
    [state] = [s for s in jobruns.status(engine, SPECS) if s.spec.name == SPEC.name]
    return state


def test_an_attempt_skipped_while_the_job_runs_is_not_its_last_run(durable_engine):
    seen_while_running = []

    def task(engine, lease) -> int:
        attempt = jobruns.run(engine, SPEC, lambda engine, lease: 1)  # the admin's
        assert (attempt.status, attempt.error) == ("skipped", jobruns.LOCK_HELD)
        seen_while_running.append(_status(engine).last_run.status)
        return 7

    record = jobruns.run(durable_engine, SPEC, task)

    assert seen_while_running == ["running"]
    state = _status(durable_engine)
    assert (state.last_run.run_id, state.last_run.status) == (record.run_id, "succeeded")
    assert state.last_run.rows_affected == 7
    assert (
        _listed(durable_engine).split()[6] == "succeeded"
    )  # daily_reset daily, at the daily reset
    history = [r.status for r in jobruns.history(durable_engine, SPEC.name)]
    assert history == ["skipped", "succeeded"]  # the attempt is still in the history
