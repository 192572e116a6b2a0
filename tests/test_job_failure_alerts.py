"""A job failing run after run is alerted once a quiet time, with the failures held
back in between counted, and its next success raises one `job_recovered`."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from engine.ops import job_alerts, jobruns
from engine.ops.job_catalog import SPECS
from tests.job_alerts import alerts_logged

PERSIST = SPECS["persist"]


def broken(engine, lease):
    raise ConnectionError("SQL is down")


def working(engine, lease):
    return 1


@pytest.fixture
def alerts(caplog):
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        yield lambda kind: alerts_logged(caplog, kind)


def run_every(engine, clock, task, times: int, every: timedelta) -> list[jobruns.JobRun]:
    records = []
    for _ in range(times):
        records.append(jobruns.run(engine, PERSIST, task))
        clock.advance(seconds=every.total_seconds())
    return records


def test_a_job_failing_every_run_is_alerted_once_a_quiet_time(durable_engine, clock, alerts):
    runs = run_every(durable_engine, clock, broken, 12, timedelta(minutes=1))

    assert [run.status for run in runs] == ["failed"] * 12  # every failure is recorded
    [alert] = alerts("job_failed")
    assert alert["details"]["run_id"] == runs[0].run_id
    assert alert["details"]["failures_held_back"] == 0
    assert alert["message"] == "The persist job failed: ConnectionError: SQL is down"


def test_the_first_failure_after_the_quiet_time_carries_the_count_held_back(
    durable_engine, clock, alerts
):
    quiet_minutes = int(job_alerts.FAILURE_QUIET.total_seconds() // 60)
    runs = run_every(durable_engine, clock, broken, quiet_minutes + 1, timedelta(minutes=1))

    first, second = alerts("job_failed")
    assert (first["details"]["run_id"], second["details"]["run_id"]) == (
        runs[0].run_id,
        runs[quiet_minutes].run_id,
    )
    assert second["details"]["failures_held_back"] == quiet_minutes - 1
    assert second["message"].endswith(f"({quiet_minutes - 1} more failures since the last alert)")


def test_the_next_success_raises_one_recovery_and_a_new_failure_is_news_again(
    durable_engine, clock, alerts
):
    run_every(durable_engine, clock, broken, 3, timedelta(minutes=1))
    recovered = jobruns.run(durable_engine, PERSIST, working)
    jobruns.run(durable_engine, PERSIST, working)
    failed_again = jobruns.run(durable_engine, PERSIST, broken)

    [recovery] = alerts("job_recovered")
    assert recovery["details"]["run_id"] == recovered.run_id
    assert recovery["details"]["failures_held_back"] == 2
    assert recovery["message"] == "The persist job succeeded again after failing."
    assert [a["details"]["run_id"] for a in alerts("job_failed")][-1] == failed_again.run_id
    assert len(alerts("job_failed")) == 2


def test_a_job_that_never_failed_raises_no_recovery(durable_engine, alerts):
    jobruns.run(durable_engine, PERSIST, working)
    assert alerts("job_recovered") == []


def test_each_job_has_its_own_quiet_time(durable_engine, alerts):
    jobruns.run(durable_engine, PERSIST, broken)
    jobruns.run(durable_engine, SPECS["cleanup"], broken)
    assert [a["details"]["name"] for a in alerts("job_failed")] == ["persist", "cleanup"]
