"""The persist job killed midway loses and doubles nothing.

A worker, a persist job and an RQ work horse are SIGKILLed while they hold entries
written to SQL and not acknowledged: the next run (once the job's lock expires) takes
over, records the dead run as failed, and drains every entry exactly once. On the real
Redis, against SQLite and the MariaDB server.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import db, keys
from engine.economy import grants
from engine.ops import persistence
from tests.conftest import real_redis_url
from tests.persist_state import count, outbox_length, pending_entries
from tests.process_lines import lines_until

ROOT = Path(__file__).resolve().parent.parent


VICTIM = """
import os, sys
from config import Settings
from engine.runtime import build_engine
from engine.ops import persistence
engine = build_engine(Settings.from_env())
while True:
    report = persistence.persist(engine, consumer="victim", batch_size=64, max_batches=1)
    print(report.entries, flush=True)
    if report.entries == 0:
        break
"""


@pytest.mark.parametrize("kill_after_batches", [3, 7])
def test_a_worker_killed_mid_persist_loses_and_doubles_nothing(
    durable_engine, real_redis, kill_after_batches
):
    engine = durable_engine
    for n in range(1500):
        grants.grant(engine, f"player-{n % 300}", {"coins": 1 + n % 7}, "load", f"g{n}")
    expected = {(e.player_id, e.transaction_id) for e in _all_ledger(engine)}
    assert len(expected) == 1500

    env = dict(os.environ, REDIS_URL=real_redis_url(), DATABASE_URL=engine.database_url)
    victim = subprocess.Popen(
        [sys.executable, "-c", VICTIM], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    for _ in range(kill_after_batches):
        assert victim.stdout.readline().strip() not in ("", "0")
    victim.send_signal(signal.SIGKILL)
    victim.wait()

    report = persistence.persist(engine, consumer="rescuer", claim_idle_ms=0)
    assert report.entries > 0
    with engine.sql.connect() as conn:
        stored = conn.execute(
            select(db.user_resource_logs.c.player_id, db.user_resource_logs.c.transaction_id)
        ).all()
    assert len(stored) == len(set(stored)) == 1500
    assert set(map(tuple, stored)) == expected
    assert outbox_length(engine) == 0
    assert pending_entries(real_redis) == 0


class _Entry:
    def __init__(self, player_id, transaction_id):
        self.player_id, self.transaction_id = player_id, transaction_id


def _all_ledger(engine):
    for shard in range(keys.player_shards()):
        for entry_id, fields in engine.redis.xrange(keys.outbox(shard)):
            if b"kind" in fields:  # a ledger entry, its ID the transaction id
                yield _Entry(fields[b"player"].decode(), entry_id.decode())


PERSIST_JOB_VICTIM = """
import sys, time
from datetime import datetime
from config import Settings
from engine.ops import persistence
from engine.clock import FixedClock
from engine.runtime import build_engine
from jobs import tasks

read, acknowledge, acknowledged = persistence._read, persistence._acknowledge, []

def small_batches(engine, consumer, batch_size, claim_idle_ms):
    return read(engine, consumer, 64, claim_idle_ms)

def acknowledge_three(engine, batch):
    if len(acknowledged) == 3:  # the 4th batch is in SQL and not acknowledged: hang here
        print("stuck", flush=True)
        time.sleep(3600)
    acknowledge(engine, batch)
    acknowledged.append(batch)

persistence._read, persistence._acknowledge = small_batches, acknowledge_three
engine = build_engine(Settings.from_env(), clock=FixedClock(datetime.fromisoformat(sys.argv[1])))
tasks.run_job("persist", engine=engine)
"""


def test_a_persist_job_killed_mid_run_is_taken_over_once_its_lock_expires(
    durable_engine, real_redis, clock, caplog
):
    """SIGKILL of the job's process: the next run takes over within the lock's 10 s,
    records the dead run as failed with an alert, and drains everything exactly once."""
    from engine.ops import jobruns
    from engine.ops.job_lease import LOCK_TTL
    from jobs import tasks

    engine = durable_engine
    for n in range(1500):
        grants.grant(engine, f"player-{n % 300}", {"coins": 1 + n % 7}, "load", f"g{n}")
    expected = {(e.player_id, e.transaction_id) for e in _all_ledger(engine)}
    killed_at = clock.now()

    env = dict(os.environ, REDIS_URL=real_redis_url(), DATABASE_URL=engine.database_url)
    victim = subprocess.Popen(
        [sys.executable, "-c", PERSIST_JOB_VICTIM, killed_at.isoformat()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert victim.stdout.readline() == "stuck\n"
    [dead] = jobruns.history(engine, "persist")
    assert dead.status == "running"
    assert 0 < count(engine, db.user_resource_logs) < 1500
    victim.send_signal(signal.SIGKILL)
    victim.wait()

    clock.advance(seconds=9)
    assert tasks.run_job("persist", engine=engine)["status"] == "skipped"  # still locked
    clock.set(killed_at + LOCK_TTL)
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        taken_over = tasks.run_job("persist", engine=engine)

    assert taken_over["status"] == "succeeded"
    assert 0 < taken_over["rows"] < 1500
    with engine.sql.connect() as conn:
        stored = conn.execute(
            select(db.user_resource_logs.c.player_id, db.user_resource_logs.c.transaction_id)
        ).all()
        runs = dict(conn.execute(select(db.job_runs.c.run_id, db.job_runs.c.status)).all())
    assert len(stored) == len(set(stored)) == 1500
    assert set(map(tuple, stored)) == expected
    assert outbox_length(engine) == 0
    assert persistence.lag_ms(engine) is None
    assert pending_entries(real_redis) == 0
    assert runs == {dead.run_id: "failed", taken_over["run_id"]: "succeeded"}
    crashed = [
        json.loads(r.getMessage()) for r in caplog.records if "job_crashed" in r.getMessage()
    ]
    assert [(a["details"]["run_id"], a["details"]["error"]) for a in crashed] == [
        (dead.run_id, jobruns.CRASHED)
    ]


WORKER_VICTIM = """
import os, sys, time
from datetime import datetime
from redis import Redis
from rq import Queue, Worker
from config import Settings
from engine.ops import persistence
from engine.clock import FixedClock
from engine.runtime import build_engine
from jobs import QUEUE, tasks

read, acknowledge, acknowledged = persistence._read, persistence._acknowledge, []

def small_batches(engine, consumer, batch_size, claim_idle_ms):
    return read(engine, consumer, 64, claim_idle_ms)

def acknowledge_three(engine, batch):
    if len(acknowledged) == 3:  # in the work horse: the 4th batch is in SQL, not acknowledged
        print("stuck", os.getpid(), flush=True)
        time.sleep(3600)
    acknowledge(engine, batch)
    acknowledged.append(batch)

persistence._read, persistence._acknowledge = small_batches, acknowledge_three
clock = FixedClock(datetime.fromisoformat(sys.argv[1]))
tasks._engine = lambda: build_engine(Settings.from_env(), clock=clock)
connection = Redis.from_url(Settings.from_env().queue_redis_url)
print("worker", os.getpid(), flush=True)
Worker([Queue(QUEUE, connection=connection)], connection=connection).work(burst=True)
"""


def test_killing_the_rq_work_horse_mid_persist_fails_that_run_and_the_next_takes_over(
    durable_engine, real_redis, clock, caplog
):
    """A real RQ worker runs the queued persist job; its work horse is SIGKILLed while
    the job holds SQL rows it has not acknowledged. Until the lock expires, an admin's
    request joins the run; after, the next run takes over and drains exactly once."""
    from rq import Queue

    from engine.ops import jobruns
    from engine.ops.job_lease import LOCK_TTL
    from jobs import QUEUE, tasks

    engine = durable_engine
    for n in range(900):
        grants.grant(engine, f"player-{n % 200}", {"coins": 1 + n % 5}, "load", f"g{n}")
    expected = {(e.player_id, e.transaction_id) for e in _all_ledger(engine)}
    queue = Queue(QUEUE, connection=real_redis)
    queued = tasks.enqueue_once(queue, "persist")
    started_at = clock.now()

    env = dict(
        os.environ,
        REDIS_URL=real_redis_url(),
        RQ_REDIS_URL=real_redis_url(),
        DATABASE_URL=engine.database_url,
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER_VICTIM, started_at.isoformat()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    said = lines_until(worker, "stuck")  # RQ logs to stdout too
    worker_pid = int(next(line for line in said if line.startswith("worker ")).split()[1])
    horse = int(said[-1].split()[1])
    assert horse != worker_pid  # the job runs in RQ's forked work horse
    assert tasks.enqueue_once(queue, "persist", engine=engine) == tasks.Enqueued(
        queued.job_id, created=False
    )
    os.kill(horse, signal.SIGKILL)
    assert worker.wait(timeout=60) == 0  # the worker saw its horse die, and finished
    [dead] = jobruns.history(engine, "persist")
    assert dead.status == "running"

    clock.advance(seconds=9)
    assert tasks.run_job("persist", engine=engine)["status"] == "skipped"
    clock.set(started_at + LOCK_TTL)
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        taken_over = tasks.run_job("persist", engine=engine)
        crashed = [
            json.loads(r.getMessage()) for r in caplog.records if "job_crashed" in r.getMessage()
        ]

    assert taken_over["status"] == "succeeded"
    with engine.sql.connect() as conn:
        stored = conn.execute(
            select(db.user_resource_logs.c.player_id, db.user_resource_logs.c.transaction_id)
        ).all()
        runs = dict(conn.execute(select(db.job_runs.c.run_id, db.job_runs.c.status)).all())
    assert len(stored) == len(set(stored)) == 900
    assert set(map(tuple, stored)) == expected
    assert outbox_length(engine) == 0
    assert runs == {dead.run_id: "failed", taken_over["run_id"]: "succeeded"}
    assert [a["details"]["run_id"] for a in crashed] == [dead.run_id]
    assert queue.fetch_job(queued.job_id).get_status() == "failed"
    assert tasks.enqueue_once(queue, "persist", engine=engine).created  # not joined: dead
