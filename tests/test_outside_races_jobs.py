"""Races of the scheduled jobs, tried from outside on the real Redis: a calendar job's
due time meeting another run of the job, and an admin's change meeting the webhooks
job. Interleavings are forced with events (a task or a statement that waits), never
sleeps; see tests/test_outside_races.py for the other races."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from rq import Queue
from sqlalchemy import event

from engine import Engine
from engine.clock import to_ms
from engine.ops import job_lease, jobruns
from engine.ops.job_catalog import SPECS
from engine.webhooks import delivery, subscriptions
from jobs import QUEUE, tasks
from tests.job_alerts import alerts_logged
from tests.sql_fixtures import empty_tables
from tests.webhook_receiver import Receiver, webhook_engine


@pytest.fixture
def durable(real_redis, rules, clock, sqlite_url):
    engine = Engine(redis=real_redis, rules=rules, clock=clock, database_url=sqlite_url)
    yield engine
    engine.sql.dispose()


def admin_run_held_open(engine, spec) -> tuple[threading.Thread, threading.Event]:
    """An admin's run of `spec` (no due time), started and held until `go` is set."""
    started, go = threading.Event(), threading.Event()

    def held_open(engine, lease):
        started.set()
        assert go.wait(10)
        return 1

    admin = threading.Thread(target=lambda: jobruns.run(engine, spec, held_open))
    admin.start()
    assert started.wait(10)
    return admin, go


def test_a_due_time_that_finds_an_admins_run_in_progress_is_run_once_that_run_ends(durable, clock):
    """An admin runs the daily reset by hand at 02:59:55; at 03:00:02 the watchdog
    dispatches the 03:00 run, which finds the admin's run holding the lock and is
    skipped. The due time is not lost: the watchdog's next tick runs it."""
    spec, due = SPECS["daily_reset"], datetime(2026, 11, 26, 3, tzinfo=UTC)
    clock.set(datetime(2026, 11, 26, 2, 59, 55, tzinfo=UTC))
    admin, go = admin_run_held_open(durable, spec)
    runs: list[jobruns.JobRun] = []

    def dispatch(name, when):
        runs.append(jobruns.run(durable, SPECS[name], lambda engine, lease: 1, when))

    try:
        clock.set(datetime(2026, 11, 26, 3, 0, 2, tzinfo=UTC))
        assert jobruns.watch(durable, {spec.name: spec}, dispatch) == [spec.name]
    finally:
        go.set()
        admin.join(10)
    assert [(r.scheduled_for, r.status) for r in runs] == [(due, "skipped")]

    clock.set(datetime(2026, 11, 26, 3, 1, 2, tzinfo=UTC))
    assert jobruns.watch(durable, {spec.name: spec}, dispatch) == [spec.name]
    assert [(r.scheduled_for, r.status) for r in runs][1:] == [(due, "succeeded")]


def test_a_due_time_waiting_for_a_long_admin_run_is_alerted_missed_once_when_run(
    durable, clock, caplog, monkeypatch
):
    """The admin's run (its lock renewed for an hour here) lasts past 03:05, the grace
    after which a due time not run is alerted missed: while it runs the due time only
    waits, and job_missed is raised once, by the tick that runs it."""
    monkeypatch.setattr(jobruns, "Lease", partial(job_lease.Lease, ttl=timedelta(hours=1)))
    spec, due = SPECS["daily_reset"], datetime(2026, 11, 26, 3, tzinfo=UTC)
    clock.set(datetime(2026, 11, 26, 2, 59, 55, tzinfo=UTC))
    admin, go = admin_run_held_open(durable, spec)
    runs: list[jobruns.JobRun] = []

    def dispatch(name, when):
        runs.append(jobruns.run(durable, SPECS[name], lambda engine, lease: 1, when))

    with caplog.at_level("WARNING", logger="questboard.alerts"):
        try:
            for minute in range(1, 8):  # the ticks of 03:01 to 03:07
                clock.set(due + timedelta(minutes=minute, seconds=2))
                jobruns.watch(durable, {spec.name: spec}, dispatch)
        finally:
            go.set()
            admin.join(10)
        clock.set(due + timedelta(minutes=8, seconds=2))
        jobruns.watch(durable, {spec.name: spec}, dispatch)

    assert {r.status for r in runs[:-1]} == {"skipped"}
    assert (runs[-1].scheduled_for, runs[-1].status) == (due, "succeeded")
    assert [a["details"]["due"] for a in alerts_logged(caplog, "job_missed")] == [due.isoformat()]


@pytest.fixture
def hooks(real_redis, unlimited_rules, clock, sqlite_url):
    yield from webhook_engine(real_redis, unlimited_rules, clock, sqlite_url)


@pytest.fixture
def mariadb_hooks(real_redis, unlimited_rules, clock, mariadb_database):
    """The webhooks' engine on the MariaDB server: SQLite lets one writer in at a time,
    so there the admin's change waits for the job's transaction to end."""
    empty_tables(mariadb_database)
    yield from webhook_engine(real_redis, unlimited_rules, clock, mariadb_database)


def test_a_subscription_an_admin_enables_while_the_job_disables_it_stays_enabled(
    mariadb_hooks, clock
):
    """A receiver down for a day: the webhooks job's pass finds the subscription failing
    for 24 hours and is about to disable it when an admin, who fixed the receiver,
    enables it (PATCH enabled=true clears its failure record). The admin's answer,
    enabled, stands."""
    engine, receiver = mariadb_hooks, Receiver(fail_first=10_000)
    try:
        subscription, _ = subscriptions.create(engine, receiver.url, ["grant.applied"])
        subscriptions.ping(engine, subscription.id)
        delivery.run(engine)  # fails: the subscription is failing from now
        clock.advance(hours=25)
        read, go = threading.Event(), threading.Event()

        def pause_after_reading_failing_since(conn, cursor, statement, *args):
            """The job's read of the subscription's failure record (alone, no join)."""
            job = threading.current_thread().name == "job"
            reads_it = statement.startswith("SELECT") and "failing_since_ms" in statement
            alone = "webhook_deliveries" not in statement
            if job and reads_it and alone and not read.is_set():
                read.set()
                assert go.wait(10)

        event.listen(engine.sql, "after_cursor_execute", pause_after_reading_failing_since)
        job = threading.Thread(name="job", target=lambda: delivery.run(engine))
        job.start()
        assert read.wait(10)
        try:
            enabled = subscriptions.change(engine, subscription.id, enabled=True)
        finally:
            go.set()
            job.join(10)

        assert enabled.enabled
        assert subscriptions.get(engine, subscription.id).enabled
    finally:
        receiver.stop()


def test_a_delivery_redelivered_during_its_last_attempt_is_not_alerted_given_up(
    hooks, clock, caplog
):
    """A delivery failing for a day is on its last attempt when an admin redelivers it:
    the attempt fails, the redelivery stands (pending, sent again), so no alert says
    the delivery was given up."""
    receiver = Receiver(fail_first=10_000)
    try:
        subscription, _ = subscriptions.create(hooks, receiver.url, ["grant.applied"])
        queued = subscriptions.ping(hooks, subscription.id)
        delivery.run(hooks)
        clock.advance(hours=24, minutes=1)  # the next attempt is the last
        held = threading.Event()
        receiver.hold, receiver.arrived = held, threading.Event()
        with caplog.at_level("WARNING", logger="questboard.alerts"):
            job = threading.Thread(target=lambda: delivery.run(hooks, max_passes=1))
            job.start()
            assert receiver.arrived.wait(10)
            subscriptions.redeliver(hooks, subscription.id, queued.id)
            held.set()
            job.join(10)

        [logged] = subscriptions.deliveries(hooks, subscription.id)
        assert logged.status == "pending"
        assert alerts_logged(caplog, "webhook_delivery_failed") == []
    finally:
        receiver.hold = None
        receiver.stop()


def test_a_due_time_dispatched_while_an_admins_run_waits_in_the_queue_gets_its_own_run(
    durable, real_redis, clock
):
    """An admin queued the league close at 02:59:50 (POST /v1/admin/jobs/league_close/run)
    and it still waits for a worker when the watchdog dispatches the 03:10 due time:
    the due time gets a run of its own, which records it done, or hands it back if it
    fails; the admin's run, which has no due time, could do neither."""
    queue = Queue(QUEUE, connection=real_redis)
    clock.set(datetime(2026, 11, 26, 2, 59, 50, tzinfo=UTC))
    admin = tasks.enqueue_once(queue, "league_close", engine=durable)
    clock.set(datetime(2026, 11, 26, 3, 10, 5, tzinfo=UTC))
    due = datetime(2026, 11, 26, 3, 10, tzinfo=UTC)

    def dispatch(name, when):
        tasks.enqueue(name, when, queue=queue)

    spec = SPECS["league_close"]
    assert jobruns.watch(durable, {spec.name: spec}, dispatch) == [spec.name]

    assert [list(job.args) for job in queue.jobs] == [
        ["league_close", None],
        ["league_close", to_ms(due)],
    ]
    again = tasks.enqueue_once(queue, "league_close", engine=durable)  # another admin
    assert (again.created, again.job_id) == (False, queue.jobs[-1].id)
    assert admin.created
