"""Scheduled jobs that crash or are missed: the heartbeat lock and the watchdog.

A crashed run holds its job only until its lock expires, a live run keeps its lock as
long as its heartbeat renews it, only the holder renews or releases it, and a run that
lost its lock stops and is recorded failed. The watchdog records a crashed run once,
dispatches a calendar job once when due, catches up a missed daily reset once with an
alert, and tells a missed run from a first start on an empty store.
"""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from engine import alerts, db, keys
from engine.ops import jobruns
from engine.ops.job_catalog import SPECS
from engine.ops.job_lease import LOCK_TTL, Lease
from tests.job_alerts import alerts_logged, utc

# Crashes: a heartbeat lock ------------------------------------------------------------


class Crash(BaseException):
    """The process dies mid-run: nothing after this line of the run happens."""


def crash(engine, lease=None):
    raise Crash


def alerts_of(caplog, kind):
    payloads = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("alerts")]
    return [p for p in payloads if p["alert"] == kind]


def test_a_crashed_run_holds_its_job_only_until_its_lock_expires(durable_engine, clock, caplog):
    engine = durable_engine
    crashed_at = clock.now()
    with pytest.raises(Crash):
        jobruns.run(engine, SPECS["persist"], crash)
    [dead] = jobruns.history(engine, "persist")
    assert dead.status == "running"

    clock.advance(seconds=9.999)
    waiting = jobruns.run(engine, SPECS["persist"], lambda e, lease=None: 1)
    assert (waiting.status, waiting.error) == ("skipped", "another run is in progress")

    clock.set(crashed_at + LOCK_TTL)  # no heartbeat for 10 s: the lock expired
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        taken_over = jobruns.run(engine, SPECS["persist"], lambda e, lease=None: 7)
    assert (taken_over.status, taken_over.rows_affected) == ("succeeded", 7)
    buried = {r.run_id: r for r in jobruns.history(engine, "persist")}[dead.run_id]
    assert (buried.status, buried.error) == ("failed", jobruns.CRASHED)
    assert (buried.finished_at, buried.duration_ms) == (clock.now(), 10_000)
    with engine.sql.connect() as conn:
        stored = conn.execute(
            select(db.job_runs.c.run_id, db.job_runs.c.status, db.job_runs.c.error)
        ).all()
    assert sorted(map(tuple, stored)) == sorted(
        [(dead.run_id, "failed", jobruns.CRASHED), (taken_over.run_id, "succeeded", None)]
    )
    [alert] = alerts_of(caplog, "job_crashed")
    assert (alert["details"]["run_id"], alert["details"]["status"]) == (dead.run_id, "failed")


def test_a_live_run_keeps_its_lock_as_long_as_its_heartbeat_renews_it(durable_engine, clock):
    engine = durable_engine
    first = Lease(engine, "persist", "run_first")
    second = Lease(engine, "persist", "run_second")
    assert first.take() == (True, [])
    clock.advance(seconds=9)
    assert second.take() == (False, [])
    assert first.held()  # the heartbeat: held until 9 + 10 s
    clock.advance(seconds=9.999)
    assert second.take() == (False, [])
    clock.advance(seconds=0.001)
    assert second.take() == (True, ["run_first"])  # handed out once, as dead
    assert not first.held() and first.lost
    assert first.release() is False  # found dead already; the new holder keeps the lock
    assert second.held()
    assert second.release() is True
    assert not engine.redis.exists(keys.job_lock("persist"), keys.job_running("persist"))


def test_only_the_holder_renews_or_releases_the_lock(durable_engine, clock):
    engine = durable_engine
    holder = Lease(engine, "cleanup", "run_holder")
    stranger = Lease(engine, "cleanup", "run_stranger")
    assert holder.take() == (True, [])
    assert not stranger.held()
    assert stranger.release() is False
    clock.advance(seconds=9)
    assert holder.held()  # the stranger neither renewed nor freed it


def test_the_watchdog_records_a_crashed_run_once(durable_engine, clock, caplog):
    engine = durable_engine
    with pytest.raises(Crash):
        jobruns.run(engine, SPECS["cleanup"], crash)
    clock.advance(seconds=11)
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        jobruns.watch(engine, SPECS, lambda name, due: None)
        jobruns.watch(engine, SPECS, lambda name, due: None)
        statuses = {s.spec.name: s for s in jobruns.status(engine, SPECS)}
    [alert] = alerts_of(caplog, "job_crashed")
    assert alert["details"]["name"] == "cleanup"
    assert statuses["cleanup"].last_run.status == "failed"
    assert statuses["cleanup"].last_run.error == jobruns.CRASHED


def test_a_run_that_lost_its_lock_stops_and_is_recorded_failed(durable_engine, clock):
    engine = durable_engine
    steps = []

    def long_task(engine, lease):
        steps.append(lease.held())
        clock.advance(seconds=11)  # its heartbeat stalled; another run took over
        steps.append(Lease(engine, "persist", "run_rescuer").take()[0])
        steps.append(lease.held())
        return 5

    record = jobruns.run(engine, SPECS["persist"], long_task)
    assert steps == [True, True, False]
    assert (record.status, record.error) == ("failed", jobruns.LOST_LOCK)
    assert engine.redis.hget(keys.job_lock("persist"), "run") == b"run_rescuer"


# The watchdog -----------------------------------------------------------------------


def test_the_watchdog_dispatches_a_calendar_job_once_when_due(durable_engine, clock):
    engine = durable_engine
    clock.set(utc(2026, 11, 26, 3, 0, 30))  # 30 s after the reset
    dispatched = []
    jobruns.watch(engine, SPECS, lambda name, due: dispatched.append((name, due)))
    assert ("daily_reset", utc(2026, 11, 26, 3)) in dispatched
    again = []
    jobruns.watch(engine, SPECS, lambda name, due: again.append(name))
    assert "daily_reset" not in again
    assert engine.redis.exists(keys.scheduler_heartbeat())


def test_a_missed_daily_reset_is_caught_up_once_and_alerted(durable_engine, clock, caplog):
    engine = durable_engine
    clock.set(utc(2026, 11, 20, 3, 0, 10))
    jobruns.run(engine, SPECS["daily_reset"], lambda e, lease: 1, utc(2026, 11, 20, 3))
    clock.set(utc(2026, 11, 25, 12))  # five resets went by with no scheduler
    dispatched = []
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        jobruns.watch(engine, SPECS, lambda name, due: dispatched.append((name, due)))
    resets = [due for name, due in dispatched if name == "daily_reset"]
    assert resets == [utc(2026, 11, 25, 3)]  # only the latest: caught up once
    assert alerts_logged(caplog, "job_missed") == [
        {
            "alert": "job_missed",
            "message": (
                "The daily_reset job did not run when due (2026-11-25T03:00:00+00:00); "
                "running it now."
            ),
            "details": {
                "job": "daily_reset",
                "due": "2026-11-25T03:00:00+00:00",
                "last_success": "2026-11-20T03:00:10+00:00",
            },
            "at": "2026-11-25T12:00:00+00:00",
        }
    ]
    status = {s.spec.name: s for s in jobruns.status(engine, SPECS)}
    assert status["daily_reset"].overdue


def test_an_interval_job_that_stopped_is_missed(durable_engine, clock, caplog):
    engine = durable_engine
    jobruns.run(engine, SPECS["persist"], lambda e, lease: 0)
    clock.advance(minutes=10)
    dispatched = []
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        jobruns.watch(engine, SPECS, lambda name, due: dispatched.append(name))
    # persist missed its runs; the jobs never run yet are due, and not missed
    assert dispatched == [
        "persist",
        "daily_reset",
        "season_rollover",
        "reconcile",
        "league_close",
        "board_prizes",
        "zone_tables",
        "cleanup",
    ]
    assert [alert["details"]["job"] for alert in alerts_logged(caplog, "job_missed")] == ["persist"]


def test_a_first_start_on_an_empty_store_misses_nothing(durable_engine, clock, caplog, monkeypatch):
    """Jobs that were due before the service first saw them were never missed."""
    engine = durable_engine
    engine.alert_webhook_url = "http://alerts.example/hook"
    posted = []
    monkeypatch.setattr(alerts, "_post", lambda url, payload: posted.append(payload))
    dispatched = []
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        jobruns.watch(engine, SPECS, lambda name, due: dispatched.append((name, due)))
        statuses = jobruns.status(engine, SPECS)
    assert [r.getMessage() for r in caplog.records] == []
    assert posted == []
    assert {s.spec.name: s.overdue for s in statuses} == {name: False for name in SPECS}
    assert sorted(dispatched) == [  # today's calendar runs happen once, without an alarm
        ("board_prizes", utc(2026, 11, 25, 3, 10)),
        ("cleanup", utc(2026, 11, 23, 4)),
        ("daily_reset", utc(2026, 11, 25, 3)),
        ("league_close", utc(2026, 11, 25, 3, 10)),
        ("reconcile", utc(2026, 11, 25, 5)),
        ("season_rollover", utc(2026, 11, 25, 3, 30)),
        ("zone_tables", utc(2026, 11, 25, 3, 20)),
    ]


def test_after_a_first_start_a_due_run_that_does_not_happen_is_missed(
    durable_engine, clock, caplog
):
    engine = durable_engine
    jobruns.watch(engine, SPECS, lambda name, due: None)  # first start, 2026-11-25 12:00
    clock.set(utc(2026, 11, 26, 3, 10))  # the next reset went by without a run
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        jobruns.watch(engine, SPECS, lambda name, due: None)
    missed = [json.loads(r.getMessage()) for r in caplog.records]
    assert [(m["alert"], m["details"]["job"]) for m in missed] == [
        ("job_missed", "persist"),
        ("job_missed", "leaderboard_snapshot"),
        ("job_missed", "webhooks"),
        ("job_missed", "watchdog"),
        ("job_missed", "daily_reset"),
    ]
    assert missed[4]["details"] == {
        "job": "daily_reset",
        "due": "2026-11-26T03:00:00+00:00",
        "last_success": None,
    }
