"""The persist job: Redis's record into SQL, nothing lost and nothing doubled.

On the real Redis, against SQLite and the MariaDB server.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import connection, db, keys, security
from engine.boards import exams
from engine.boards.exams import Exam
from engine.economy import activity, grants, ledger, purchases
from engine.ops import persistence
from tests.conftest import real_redis_url

ROOT = Path(__file__).resolve().parent.parent


def rows(engine, table, *where):
    with engine.sql.connect() as conn:
        return conn.execute(select(table).where(*where)).mappings().all()


def count(engine, table):
    with engine.sql.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def outbox_length(engine):
    return sum(engine.redis.xlen(keys.outbox(shard)) for shard in range(keys.player_shards()))


def pending_entries(client):
    """Entries read and not acknowledged, in every outbox (those never read have no group)."""
    outboxes = [keys.outbox(shard) for shard in range(keys.player_shards())]
    return sum(
        client.xpending(outbox, persistence.GROUP)["pending"]
        for outbox in outboxes
        if client.exists(outbox)
    )


def test_a_ledger_trimmed_in_redis_is_whole_in_sql(durable_engine):
    engine = durable_engine
    engine.ledger_keep_entries = 10
    for n in range(250):
        grants.grant(engine, "alice", {"coins": 1}, "daily", f"g{n}")
        if n == 200:
            persistence.persist(engine)
    assert engine.redis.llen(keys.ledger("alice")) == 49  # the unpersisted ones, 10 or more
    newest = ledger.history(engine, "alice", limit=10)
    assert [e.balances_after["coins"] for e in newest] == list(range(250, 240, -1))

    persistence.persist(engine)

    stored = rows(engine, db.user_resource_logs, db.user_resource_logs.c.player_id == "alice")
    assert len(stored) == 250
    assert sum(json.loads(r["deltas"])["coins"] for r in stored) == 250


@pytest.mark.also_on_cluster
def test_persist_writes_the_ledger_and_the_state(durable_engine, clock):
    engine = durable_engine
    grants.grant(engine, "alice", {"coins": 500}, "welcome", "g1")
    exams.record_exam(engine, "alice", Exam("e1", "math", 80, 10, 10))
    clock.advance(seconds=1)
    purchases.purchase(engine, "alice", "steel", 2, "p1")

    report = persistence.persist(engine)

    redis_ledger = ledger.history(engine, "alice", limit=100)
    assert report.ledger_rows == len(redis_ledger) == count(engine, db.user_resource_logs)
    stored = {r["transaction_id"]: r for r in rows(engine, db.user_resource_logs)}
    for entry in redis_ledger:
        row = stored[entry.transaction_id]
        assert (row["kind"], json.loads(row["deltas"])) == (entry.kind, entry.deltas)
    balances = {r["resource"]: r["balance"] for r in rows(engine, db.user_resources)}
    assert balances == {k: v for k, v in engine_wallet(engine, "alice").items() if v}
    aggregates = rows(
        engine, db.quiz_leaderboard_aggregates, db.quiz_leaderboard_aggregates.c.category == "math"
    )
    assert {(r["period_type"], r["total_score"], r["exams_taken"]) for r in aggregates} == {
        ("weekly", 80, 1),
        ("monthly", 80, 1),
        ("yearly", 80, 1),
    }
    [bp] = rows(engine, db.user_battle_pass)
    assert (bp["season_id"], bp["xp"] > 0) == ("2026-autumn", True)
    [streak] = rows(engine, db.user_streaks)
    assert streak["streak"] == 1
    [attempt] = rows(engine, db.quiz_exam_attempts)
    assert json.loads(attempt["summary"])["exam_id"] == "e1"
    assert outbox_length(engine) == 0  # acknowledged and removed
    assert report.lag_ms is None


def test_an_exam_whose_record_expired_before_persist_still_reaches_sql(durable_engine):
    engine = durable_engine
    exam = Exam("e1", "math", 80, 10, 10)
    exams.record_exam(engine, "alice", exam)
    record = keys.exam("alice", "e1")
    fingerprint = exam.fingerprint()
    engine.redis.delete(record)  # the replay record's day passed before the persist run

    persistence.persist(engine)

    [attempt] = rows(engine, db.quiz_exam_attempts)
    assert (attempt["exam_id"], attempt["fingerprint"]) == ("e1", fingerprint)
    assert attempt["summary"] is None  # only the record held it
    assert outbox_length(engine) == 0


def engine_wallet(engine, player):
    from engine.economy import wallet

    return wallet.balances(engine, player)


def day_counters(engine) -> dict[str, tuple[str, dict, int]]:
    """player -> (day, counters, expires_at) of each user_daily_counters row."""
    table = db.user_daily_counters
    return {
        r["player_id"]: (r["day"], json.loads(r["counters"]), r["expires_at"])
        for r in rows(engine, table)
    }


@pytest.mark.also_on_cluster
def test_persist_writes_the_days_counters_of_every_player_an_activity_or_exam_changed(
    durable_engine,
):
    engine = durable_engine
    grants.grant(engine, "carol", {"coins": 100}, "welcome", "g1")
    grants.grant(engine, "erin", {"coins": 100}, "welcome", "g2")  # a grant only
    activity.login(engine, "alice")
    exams.record_exam(engine, "bob", Exam("e1", "math", 80, 10, 10))
    purchases.purchase(engine, "carol", "logs", 1, "p1")
    activity.ad_reward(engine, "dave", "ad-1")

    persistence.persist(engine)

    # The 25th's game day ends at 03:00 UTC on the 26th; its hash lives an hour longer.
    expires_at = int(datetime(2026, 11, 26, 4, tzinfo=UTC).timestamp())
    live = {
        player: engine.redis.hgetall(keys.daily(player, "2026-11-25"))
        for player in ("alice", "bob", "carol", "dave")
    }
    assert day_counters(engine) == {
        player: (
            "2026-11-25",
            {name.decode(): value.decode() for name, value in counters.items()},
            expires_at,
        )
        for player, counters in live.items()
    }
    assert day_counters(engine)["dave"][1]["ads"] == "1"
    activity.ad_reward(engine, "dave", "ad-2")
    persistence.persist(engine)
    assert day_counters(engine)["dave"][1]["ads"] == "2"  # the newer counters replace it


@pytest.mark.also_on_cluster
def test_persist_twice_writes_nothing_twice(durable_engine):
    engine = durable_engine
    for n in range(5):
        grants.grant(engine, f"p{n}", {"coins": 10 + n}, "gift", f"g{n}")
    first = persistence.persist(engine)
    second = persistence.persist(engine)
    assert (first.ledger_rows, second.ledger_rows) == (5, 0)
    assert count(engine, db.user_resource_logs) == 5


def test_an_entry_written_to_sql_but_not_acknowledged_is_not_doubled(durable_engine):
    """The worst moment to die: after the commit, before the acknowledgement."""
    engine = durable_engine
    grants.grant(engine, "alice", {"coins": 10}, "gift", "g1")
    persistence.ensure_groups(engine)
    batch = persistence._read(engine, "doomed", 100, claim_idle_ms=60_000)
    persistence._write(engine, batch, persistence.PersistReport())  # committed, never acked
    report = persistence.persist(engine, consumer="rescuer", claim_idle_ms=0)
    assert report.entries == 1 and report.ledger_rows == 0
    assert count(engine, db.user_resource_logs) == 1
    assert outbox_length(engine) == 0


def test_security_events_are_persisted(durable_engine):
    engine = durable_engine
    security.record_violation(engine, "mallory", "192.0.2.1", "rapid_fire", {"count": 9}, "refused")
    report = persistence.persist(engine)
    assert report.security_events == 1
    [event] = rows(engine, db.security_events)
    assert (event["player_id"], event["rule"], event["address"]) == (
        "mallory",
        "rapid_fire",
        "192.0.2.1",
    )
    assert persistence.persist(engine).security_events == 0


def test_the_lag_is_the_age_of_the_oldest_waiting_entry(durable_engine, clock):
    engine = durable_engine
    grants.grant(engine, "alice", {"coins": 10}, "gift", "g1")
    clock.advance(seconds=42)
    assert persistence.lag_ms(engine) == 42_000
    persistence.persist(engine)
    assert persistence.lag_ms(engine) is None


def test_a_run_that_took_over_and_the_stalled_run_it_replaced_write_each_row_once(
    durable_engine,
):
    """The stalled run wakes up with a batch the new run already claimed and wrote."""
    engine = durable_engine
    for n in range(10):
        grants.grant(engine, f"p{n}", {"coins": 1}, "gift", f"g{n}")
    persistence.ensure_groups(engine)
    consumer = persistence.JOB_CONSUMER
    stalled = persistence._read(engine, consumer, 100, claim_idle_ms=0)
    for n in range(10, 15):
        grants.grant(engine, f"p{n}", {"coins": 1}, "gift", f"g{n}")

    took_over = persistence.persist(engine, consumer=consumer, claim_idle_ms=0)
    woke = persistence.PersistReport()
    persistence._write(engine, stalled, woke)
    persistence._acknowledge(engine, stalled)

    assert (took_over.entries, took_over.ledger_rows, woke.ledger_rows) == (15, 15, 0)
    assert count(engine, db.user_resource_logs) == 15
    assert outbox_length(engine) == 0
    assert persistence.persist(engine, consumer=consumer, claim_idle_ms=0).entries == 0


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


def _lines_until(process, prefix: str, most: int = 500) -> list[str]:
    """The process's stdout lines up to the first that starts with `prefix`."""
    lines = []
    while len(lines) < most:
        line = process.stdout.readline()
        assert line, f"the process ended before saying {prefix!r}: {lines}"
        lines.append(line.strip())
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"no line starting with {prefix!r} in {most}: {lines}")


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
    said = _lines_until(worker, "stuck")  # RQ logs to stdout too
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


# Many shards: the outboxes are read with a few commands, however many there are ------


@pytest.mark.also_on_cluster
@pytest.mark.parametrize("shards", [16, 1024])
def test_an_empty_persist_sends_a_few_commands_whatever_the_shard_count(
    durable_engine, player_shards, shards
):
    """On one server a handful of commands; on a cluster one XREAD per shard (a command
    names streams of one slot only), in one round trip per node."""
    from bench.redis_count import sent_commands

    player_shards(shards)
    engine = durable_engine
    nodes = len(connection.primaries(engine.redis))
    persistence.persist(engine)  # the groups exist from here on
    with sent_commands() as sent:
        report = persistence.persist(engine)
    assert report.entries == 0 and report.lag_ms is None
    assert sent.total <= (5 if nodes == 1 else shards + 5), sent.commands
    assert sent.round_trips <= 2 * nodes + 1


@pytest.mark.also_on_cluster
def test_persist_reads_many_shards_with_one_command_a_step(durable_engine, player_shards):
    """300 players over 1024 shards: every entry reaches SQL, each outbox step (heads,
    claim, read, acknowledge) costs commands for the shards that hold entries only; on
    a cluster a read names the streams of one slot, so one per busy shard."""
    from bench.redis_count import sent_commands

    player_shards(1024)
    engine = durable_engine
    persistence.persist(engine)
    for n in range(300):
        grants.grant(engine, f"player-{n}", {"coins": 1 + n % 7}, "load", f"g{n}")
    busy = {keys.shard_of(f"player-{n}") for n in range(300)}
    with sent_commands() as sent:
        report = persistence.persist(engine)
    assert (report.entries, report.ledger_rows) == (300, 300)
    assert count(engine, db.user_resource_logs) == 300
    assert outbox_length(engine) == 0
    reads = 1 if len(connection.primaries(engine.redis)) == 1 else len(busy)
    # one XREADGROUP names every busy outbox (the other reads the security events)
    assert sent.commands["xreadgroup"] == reads + 1, sent.commands
    assert sent.commands["xautoclaim"] == len(busy) + 1
    assert sent.commands["xgroup create"] == len(busy) + 1
    if reads == 1:
        assert sent.commands["xread"] == 2, sent.commands  # the busy outboxes, then none
    assert sent.commands["xrange"] == 0


def test_lag_and_groups_take_one_round_trip_for_1024_shards(durable_engine, player_shards):
    from bench.redis_count import sent_commands

    player_shards(1024)
    engine = durable_engine
    with sent_commands() as created:
        persistence.ensure_groups(engine)
    assert created.round_trips == 1
    assert engine.redis.xinfo_groups(keys.outbox(1023))[0]["name"] == b"persist"
    grants.grant(engine, "alice", {"coins": 10}, "gift", "g1")
    with sent_commands() as sent:
        assert persistence.lag_ms(engine) == 0
    assert (sent.total, sent.round_trips) == (1, 1)


@pytest.mark.also_on_cluster
def test_persist_recreates_the_groups_of_a_redis_that_was_lost(durable_engine, real_redis):
    """The process remembers it made the groups; a Redis flushed since has none."""
    engine = durable_engine
    grants.grant(engine, "alice", {"coins": 10}, "gift", "g1")
    assert persistence.persist(engine).entries == 1
    for primary in connection.primaries(real_redis):
        primary.flushdb()
    grants.grant(engine, "bob", {"coins": 10}, "gift", "g2")
    assert persistence.persist(engine).entries == 1
    assert {r["player_id"] for r in rows(engine, db.user_resource_logs)} == {"alice", "bob"}
