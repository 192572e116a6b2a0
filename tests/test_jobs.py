"""Scheduled jobs: due times, run records, alerts, the queue, the scheduler and the API.

Crashed runs, the heartbeat lock and the watchdog that catches up missed runs:
tests/test_jobs_watchdog.py.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker
from rq_scheduler import Scheduler
from sqlalchemy import select

from engine import db
from engine.calendar import GameCalendar
from engine.ops import jobruns
from engine.ops.job_catalog import SPECS
from engine.ops.schedule import JobSpec, last_due, next_due
from jobs import QUEUE, scheduler, tasks
from tests.job_alerts import alerts_logged, utc

# Due times --------------------------------------------------------------------------


def test_interval_jobs_are_due_on_multiples_of_their_interval():
    spec = JobSpec("x", "", every=timedelta(hours=2))
    calendar = GameCalendar()
    assert last_due(spec, utc(2026, 11, 25, 13, 7), calendar) == utc(2026, 11, 25, 12)
    assert next_due(spec, utc(2026, 11, 25, 13, 7), calendar) == utc(2026, 11, 25, 14)


def test_daily_jobs_are_due_at_the_reset_in_the_game_timezone_across_dst():
    spec = SPECS["daily_reset"]
    berlin = GameCalendar("Europe/Berlin", 3)
    assert next_due(spec, utc(2026, 10, 24, 12), berlin) == utc(2026, 10, 25, 2)  # 03:00 CET
    assert last_due(spec, utc(2026, 10, 24, 12), berlin) == utc(2026, 10, 24, 1)  # 03:00 CEST
    assert last_due(SPECS["reconcile"], utc(2026, 11, 25, 4), GameCalendar()) == utc(
        2026, 11, 24, 5
    )


def test_weekly_cleanup_is_due_on_monday():
    spec = SPECS["cleanup"]
    calendar = GameCalendar()
    assert last_due(spec, utc(2026, 11, 25, 12), calendar) == utc(2026, 11, 23, 4)
    assert next_due(spec, utc(2026, 11, 25, 12), calendar) == utc(2026, 11, 30, 4)


# Runs and their records -------------------------------------------------------------


def test_a_run_is_recorded_in_redis_and_sql(durable_engine, clock, monkeypatch):
    engine = durable_engine
    due = clock.now()
    ticks = iter([10.0, 10.25])  # the run's start and end on the performance counter
    monkeypatch.setattr(jobruns.time, "perf_counter", lambda: next(ticks))
    record = jobruns.run(engine, SPECS["daily_reset"], lambda e, lease: 4, scheduled_for=due)
    assert (record.status, record.rows_affected, record.error) == ("succeeded", 4, None)
    assert (record.scheduled_for, record.started_at) == (due, due)
    assert record.finished_at == due + timedelta(milliseconds=250)
    assert record.duration_ms == 250
    [latest] = jobruns.history(engine, "daily_reset")
    assert latest.run_id == record.run_id and latest.status == "succeeded"
    assert jobruns.last_success(engine, "daily_reset").run_id == record.run_id
    with engine.sql.connect() as conn:
        [row] = conn.execute(select(db.job_runs)).mappings().all()
    assert (row["name"], row["status"], row["rows_affected"]) == ("daily_reset", "succeeded", 4)
    assert row["scheduled_ms"] == int(due.timestamp() * 1000)


def test_a_second_run_for_the_same_due_time_is_skipped(durable_engine, clock):
    engine = durable_engine
    calls = []
    for _ in range(2):
        jobruns.run(
            engine, SPECS["daily_reset"], lambda e, lease: calls.append(1) or 1, clock.now()
        )
    assert calls == [1]
    assert [r.status for r in jobruns.history(engine, "daily_reset")] == ["skipped", "succeeded"]


def test_a_failing_job_is_recorded_and_alerted(durable_engine, caplog, monkeypatch):
    def broken(engine, lease):
        raise ValueError("the database is on fire")

    ticks = iter([0.0, 0.002])
    monkeypatch.setattr(jobruns.time, "perf_counter", lambda: next(ticks))
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        record = jobruns.run(durable_engine, SPECS["cleanup"], broken)
    assert record.status == "failed"
    assert "the database is on fire" in record.error
    noon_ms = 1_795_608_000_000  # 2026-11-25T12:00:00Z
    assert alerts_logged(caplog, "job_failed") == [
        {
            "alert": "job_failed",
            "message": "The cleanup job failed: ValueError: the database is on fire",
            "details": {
                "run_id": record.run_id,
                "name": "cleanup",
                "status": "failed",
                "error": "ValueError: the database is on fire",
                "rows_affected": 0,
                "scheduled_ms": None,
                "started_ms": noon_ms,
                "finished_ms": noon_ms + 2,
                "duration_ms": 2,
                "failures_held_back": 0,  # the job's first failure (engine.ops.job_alerts)
            },
            "at": "2026-11-25T12:00:00+00:00",
        }
    ]
    with durable_engine.sql.connect() as conn:
        assert conn.execute(select(db.job_runs.c.status)).scalar_one() == "failed"


def test_a_run_past_its_expected_time_is_alerted(durable_engine, caplog, monkeypatch):
    spec = JobSpec("slow", "", every=timedelta(minutes=1), expected=timedelta(milliseconds=1))
    ticks = iter([0.0, 5.0])
    monkeypatch.setattr(jobruns.time, "perf_counter", lambda: next(ticks))
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        record = jobruns.run(durable_engine, spec, lambda e, lease: 1)
    assert record.duration_ms == 5000
    noon_ms = 1_795_608_000_000  # 2026-11-25T12:00:00Z
    assert alerts_logged(caplog, "job_overrun") == [
        {
            "alert": "job_overrun",
            "message": "The slow job took 5000 ms, more than its expected 0 s.",
            "details": {
                "run_id": record.run_id,
                "name": "slow",
                "status": "succeeded",
                "error": None,
                "rows_affected": 1,
                "scheduled_ms": None,
                "started_ms": noon_ms,
                "finished_ms": noon_ms + 5000,
                "duration_ms": 5000,
            },
            "at": "2026-11-25T12:00:00+00:00",
        }
    ]


# The queue, the scheduler process and the API ----------------------------------------


def test_the_scheduler_registers_each_interval_job_once(real_redis):
    sched = Scheduler(queue_name=QUEUE, connection=real_redis)
    first = scheduler.register(sched)
    second = scheduler.register(sched)  # a restart
    assert first == second
    ids = sorted(job.id for job in sched.get_jobs())
    assert ids == sorted(
        f"questboard-{name}" for name in ("persist", "leaderboard_snapshot", "webhooks", "watchdog")
    )


def test_a_queued_job_runs_on_a_worker(durable_engine, real_redis, monkeypatch):
    monkeypatch.setattr(tasks, "_engine", lambda: durable_engine)
    queue = Queue(QUEUE, connection=real_redis)
    tasks.enqueue("daily_reset", queue=queue)
    SimpleWorker([queue], connection=real_redis).work(burst=True)
    [run] = jobruns.history(durable_engine, "daily_reset")
    assert run.status == "succeeded"


def test_jobs_api_lists_and_runs(
    settings, real_redis, clock, admin_headers, monkeypatch, sqlite_url
):
    from engine.runtime import Engine
    from web import create_app

    app = create_app(settings, redis_client=real_redis, clock=clock)
    client = app.test_client()
    body = client.get("/v1/admin/jobs", headers=admin_headers).get_json()
    by_name = {job["name"]: job for job in body["jobs"]}
    assert set(by_name) == set(SPECS)
    assert by_name["daily_reset"]["schedule"] == "daily, at the daily reset"
    assert by_name["daily_reset"]["status"] == "never_run"
    assert by_name["daily_reset"]["next_due"] == "2026-11-26T03:00:00+00:00"

    response = client.post("/v1/admin/jobs/daily_reset/run", headers=admin_headers)
    assert response.status_code == 201
    engine = app.extensions["questboard.engine"]
    assert isinstance(engine, Engine)
    monkeypatch.setattr(tasks, "_engine", lambda: engine)
    SimpleWorker([Queue(QUEUE, connection=real_redis)], connection=real_redis).work(burst=True)
    after = {
        j["name"]: j for j in client.get("/v1/admin/jobs", headers=admin_headers).get_json()["jobs"]
    }
    assert after["daily_reset"]["status"] == "succeeded"
    assert after["daily_reset"]["last_run"]["rows_affected"] == 4
    missing = client.post("/v1/admin/jobs/nope/run", headers=admin_headers)
    assert missing.status_code == 404


def test_a_manual_run_of_a_queued_or_running_job_returns_that_run(
    settings, real_redis, clock, admin_headers, monkeypatch
):
    from web import create_app

    app = create_app(settings, redis_client=real_redis, clock=clock)
    client = app.test_client()
    queue = Queue(QUEUE, connection=real_redis)
    first = client.post("/v1/admin/jobs/daily_reset/run", headers=admin_headers)
    assert first.status_code == 201
    queued_id = first.get_json()["queue_job_id"]
    assert first.get_json() == {"job": "daily_reset", "queue_job_id": queued_id}
    for _ in range(3):  # retries and impatient clicks while it waits
        again = client.post("/v1/admin/jobs/daily_reset/run", headers=admin_headers)
        assert (again.status_code, again.get_json()) == (200, first.get_json())
    assert queue.job_ids == [queued_id]

    while_running = []

    def task_that_asks_again(name, dispatch):
        def task(engine, lease=None):
            response = client.post("/v1/admin/jobs/daily_reset/run", headers=admin_headers)
            while_running.append((response.status_code, response.get_json()))
            return 1

        return task

    monkeypatch.setattr(tasks, "_engine", lambda: app.extensions["questboard.engine"])
    monkeypatch.setattr(tasks, "task_for", task_that_asks_again)
    SimpleWorker([queue], connection=real_redis).work(burst=True)
    assert while_running == [(200, {"job": "daily_reset", "queue_job_id": queued_id})]
    assert queue.count == 0

    after = client.post("/v1/admin/jobs/daily_reset/run", headers=admin_headers)
    assert after.status_code == 201  # the earlier run is over: a new one is queued
    assert after.get_json()["queue_job_id"] != queued_id
    assert queue.job_ids == [after.get_json()["queue_job_id"]]


def test_a_scheduler_tick_adds_nothing_while_the_job_is_queued(real_redis):
    sched = scheduler.build(real_redis)
    scheduler.register(sched, now=utc(2026, 11, 25, 12))
    queue = Queue(QUEUE, connection=real_redis)
    sched.enqueue_jobs()
    first = queue.job_ids
    assert sorted(queue.fetch_job(i).args[0] for i in first) == [
        "leaderboard_snapshot",
        "persist",
        "watchdog",
        "webhooks",
    ]
    for _ in range(3):  # more ticks while the worker is busy elsewhere
        for job_id in real_redis.zrange(sched.scheduled_jobs_key, 0, -1):
            real_redis.zadd(sched.scheduled_jobs_key, {job_id: 0})  # due again now
        sched.enqueue_jobs()
    assert queue.job_ids == first
    assert tasks.enqueue("persist", queue=queue) in first  # nor does the watchdog

    queue.empty()  # the worker took them
    sched.enqueue_jobs()  # not due yet: the next tick is an interval away
    assert queue.count == 0
    for job_id in real_redis.zrange(sched.scheduled_jobs_key, 0, -1):
        real_redis.zadd(sched.scheduled_jobs_key, {job_id: 0})
    sched.enqueue_jobs()
    assert queue.count == 4 and not set(queue.job_ids) & set(first)


def test_the_cli_runs_a_job_inline(app, clock):
    result = app.test_cli_runner().invoke(args=["questboard", "run-job", "daily_reset"])
    assert result.exit_code == 0, result.output
    assert "daily_reset succeeded" in result.output


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_job_runs(durable_engine, name):
    record = jobruns.run(durable_engine, SPECS[name], tasks.task_for(name, lambda other, due: None))
    assert record.status == "succeeded", record.error
