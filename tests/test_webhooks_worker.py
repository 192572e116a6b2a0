"""A real RQ worker SIGKILLed in the middle of a webhook delivery: the event still arrives.

The receiver holds the request open (the worker is mid-delivery), the worker's process
group is killed, and the receiver goes down with it. The next run, once the dead run's
lock has expired, finds the receiver down and schedules a retry; when the receiver is
back, the retry delivers the same event (same id): at least once, nothing lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from rq import Queue
from sqlalchemy import select

from engine import db
from engine.clock import to_ms
from engine.economy import grants
from engine.ops import persistence
from engine.ops.job_lease import LOCK_TTL
from engine.webhooks import subscriptions
from jobs import QUEUE, tasks
from tests.conftest import real_redis_url
from tests.process_lines import lines_until
from tests.webhook_receiver import Receiver, webhook_engine

ROOT = Path(__file__).resolve().parent.parent

WORKER = """
import os, sys
from datetime import datetime
from redis import Redis
from rq import Queue, Worker
from config import Settings
from engine.clock import FixedClock
from engine.runtime import build_engine
from engine.webhooks import delivery
from jobs import QUEUE, tasks

send = delivery._send

def announce(*args):
    print("sending", os.getpid(), flush=True)  # in RQ's work horse, a session of its own
    return send(*args)

delivery._send = announce
clock = FixedClock(datetime.fromisoformat(sys.argv[1]))
tasks._engine = lambda: build_engine(Settings.from_env(), clock=clock)
connection = Redis.from_url(Settings.from_env().queue_redis_url)
print("worker", os.getpid(), flush=True)
Worker([Queue(QUEUE, connection=connection)], connection=connection).work(burst=True)
"""


@pytest.fixture
def engine(real_redis, rules, clock, sqlite_url):
    yield from webhook_engine(real_redis, rules, clock, sqlite_url)


def the_delivery(engine):
    with engine.sql.connect() as conn:
        [row] = conn.execute(select(db.webhook_deliveries)).all()
    return row


def test_a_worker_killed_mid_delivery_to_a_receiver_that_goes_down_still_delivers(
    engine, real_redis, clock
):
    receiver = Receiver()
    receiver.hold = threading.Event()
    port = receiver.port
    subscriptions.create(engine, receiver.url, ["grant.applied"])
    grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
    persistence.persist(engine)
    event_id = the_delivery(engine).event_id
    tasks.enqueue_once(Queue(QUEUE, connection=real_redis), "webhooks")
    started_at = clock.now()

    env = dict(
        os.environ,
        REDIS_URL=real_redis_url(),
        RQ_REDIS_URL=real_redis_url(),
        DATABASE_URL=engine.database_url,
        WEBHOOK_ALLOW_PRIVATE="true",
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, started_at.isoformat()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        horse = int(lines_until(worker, "sending")[-1].split()[1])
        assert receiver.arrived.wait(60), "the worker never called the receiver"
        os.kill(horse, signal.SIGKILL)  # mid-delivery: the receiver holds the request
    finally:
        worker.kill()
        worker.wait(timeout=30)
    receiver.stop()  # the receiver is down too
    row = the_delivery(engine)
    assert (row.status, row.attempts) == ("pending", 0)  # no outcome was written

    clock.set(started_at + LOCK_TTL)  # the dead run's lock has expired
    assert tasks.run_job("webhooks", engine=engine)["status"] == "succeeded"
    row = the_delivery(engine)
    assert (row.status, row.attempts) == ("pending", 1)  # the receiver is down: retry later
    assert "ConnectError" in row.last_error

    back = Receiver(port=port)
    try:
        clock.set(clock.now() + _wait(row, clock))
        assert tasks.run_job("webhooks", engine=engine)["status"] == "succeeded"
        assert [headers["Questboard-Event-Id"] for headers, _ in back.requests] == [event_id]
        assert the_delivery(engine).status == "delivered"
    finally:
        back.stop()


def _wait(row, clock) -> timedelta:
    """From now until a second after the delivery's next attempt is due."""
    return timedelta(milliseconds=row.next_attempt_ms - to_ms(clock.now()) + 1000)
