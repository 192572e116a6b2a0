"""The scheduled jobs as an operator meets them: a calendar job's run that fails is run
again by the watchdog, not left until its next due time; a scheduler whose Redis was
flushed (the recovery's FLUSHDB, a Redis back empty) registers its jobs again; after a
Redis loss and `questboard rebuild`, the board_prizes job pays no closed period again and
an archived season's battle passes stay gone; a failing job's alert reaches
ALERT_WEBHOOK_URL from RQ's work horse and from `questboard jobs run`; RQ keeps a failed
run's job for days, not a year.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rq import Queue, SimpleWorker, Worker
from rq.registry import FailedJobRegistry

from engine import alerts, keys
from engine.boards import exams, prizes
from engine.boards.exams import Exam
from engine.economy import wallet
from engine.ops import jobruns, maintenance, persistence, rebuild
from engine.ops.job_catalog import SPECS
from engine.ops.job_lease import LOCK_TTL
from jobs import QUEUE, scheduler, tasks
from tests.conftest import real_redis_url
from tests.job_alerts import utc
from tests.test_board_prizes import after_the_week, play_week, with_prizes


class Crash(BaseException):
    """The worker dies mid-run: nothing after this line of the run happens."""


def broken(engine, lease):
    raise ValueError("the database is down")


def crash(engine, lease):
    raise Crash


def dispatched_by_watchdog(engine) -> list:
    dispatched = []
    jobruns.watch(engine, SPECS, lambda name, due: dispatched.append((name, due)))
    return dispatched


def test_a_league_close_that_failed_is_run_again_by_the_next_watchdog(durable_engine, clock):
    engine = durable_engine
    due = utc(2026, 11, 30, 3, 10)  # Monday: the week's close
    clock.set(due)
    dispatched_by_watchdog(engine)  # first start: everything due is dispatched once
    clock.set(utc(2026, 11, 30, 3, 10, 30))
    failed = jobruns.run(engine, SPECS["league_close"], broken, due)
    assert failed.status == "failed"

    clock.set(utc(2026, 11, 30, 3, 11, 30))  # the next watchdog tick
    assert ("league_close", due) in dispatched_by_watchdog(engine)
    assert ("league_close", due) not in dispatched_by_watchdog(engine)  # once a failure

    assert jobruns.run(engine, SPECS["league_close"], lambda e, lease: 3, due).status == (
        "succeeded"
    )
    clock.set(utc(2026, 11, 30, 3, 20, 30))
    assert ("league_close", due) not in dispatched_by_watchdog(engine)
    status = {s.spec.name: s for s in jobruns.status(engine, SPECS)}
    assert not status["league_close"].overdue


def test_a_daily_reset_whose_worker_died_is_run_again_once_found_dead(durable_engine, clock):
    engine = durable_engine
    due = utc(2026, 11, 26, 3)
    clock.set(due)
    dispatched_by_watchdog(engine)
    with pytest.raises(Crash):
        jobruns.run(engine, SPECS["daily_reset"], crash, due)

    clock.set(due + LOCK_TTL)  # no heartbeat for 10 s: the next watchdog finds it dead
    assert ("daily_reset", due) in dispatched_by_watchdog(engine)
    [latest, *_] = jobruns.history(engine, "daily_reset")
    assert (latest.status, latest.error) == ("failed", jobruns.CRASHED)


def test_a_scheduler_whose_redis_was_flushed_registers_its_jobs_again(real_redis):
    sched = scheduler.build(real_redis)
    scheduler.register(sched, now=utc(2026, 11, 25, 12))
    real_redis.flushdb()  # the recovery's FLUSHDB, with the scheduler left running

    sched.enqueue_jobs()  # its next tick

    registered = sorted(job.id for job in sched.get_jobs())
    assert registered == sorted(f"questboard-{name}" for name in scheduler.INTERVAL_JOBS)
    for job_id in real_redis.zrange(sched.scheduled_jobs_key, 0, -1):
        real_redis.zadd(sched.scheduled_jobs_key, {job_id: 0})  # their next due times come
    sched.enqueue_jobs()
    queued = Queue(QUEUE, connection=real_redis).jobs
    assert sorted(job.args[0] for job in queued) == sorted(scheduler.INTERVAL_JOBS)


def test_after_a_redis_loss_and_a_rebuild_the_board_prizes_are_not_paid_again(
    durable_engine, clock
):
    engine = with_prizes(durable_engine)
    play_week(engine, {"alice": 90, "bob": 80, "carol": 70, "dave": 60})
    after_the_week(engine)  # Monday 03:10: the board_prizes job closes 2026-W48
    closed = {(r.board, r.period): r.paid for r in prizes.close_ended(engine) if r.paid}
    assert closed == {("weekly:global", "2026-W48"): 3, ("weekly:math", "2026-W48"): 1}
    persistence.persist(engine)
    paid = {player: wallet.balances(engine, player) for player in ("alice", "bob", "carol")}

    clock.set(datetime(2026, 12, 2, 12, tzinfo=UTC))  # Wednesday: Redis is lost
    engine.redis.flushdb()
    rebuild.rebuild(engine)  # the boards of 2026-W48 come back from SQL
    again = prizes.close_ended(engine)  # the job's next run
    assert [(r.board, r.period) for r in again if r.paid] == []  # closed before

    assert {player: wallet.balances(engine, player) for player in paid} == paid


def test_a_rebuild_does_not_bring_back_the_battle_passes_of_an_archived_season(
    durable_engine, clock
):
    engine = durable_engine
    exams.record_exam(engine, "alice", Exam("e1", "math", 80, 10, 10))  # 2026-autumn XP
    persistence.persist(engine)
    autumn = keys.battle_pass("alice", "2026-autumn")
    clock.set(datetime(2026, 12, 1, 3, 30, tzinfo=UTC))  # the season ended at the reset
    assert maintenance.season_rollover(engine) == 1  # archived in SQL, gone from Redis

    engine.redis.flushdb()  # Redis is lost
    rebuild.rebuild(engine)

    assert not engine.redis.exists(autumn)
    assert maintenance.season_rollover(engine) == 0  # archived once


def test_a_job_failing_in_the_rq_work_horse_posts_its_alert(
    durable_engine, real_redis, monkeypatch, tmp_path
):
    """RQ runs each job in a forked work horse that ends with os._exit as soon as the
    job returns: an alert still on its way to the receiver must get there first."""
    engine = durable_engine
    engine.alert_webhook_url = "https://alerts.example/hook"
    received = tmp_path / "received"

    def receiver_200_ms_away(url, payload):
        time.sleep(0.2)
        with received.open("a") as out:
            out.write(json.dumps(payload) + "\n")

    monkeypatch.setattr(alerts, "_post", receiver_200_ms_away)
    monkeypatch.setattr(tasks, "_engine", lambda: engine)
    monkeypatch.setattr(tasks, "task_for", lambda name, dispatch: broken)
    queue = Queue(QUEUE, connection=real_redis)
    tasks.enqueue("cleanup", queue=queue)

    Worker([queue], connection=real_redis).work(burst=True)  # forks the work horse

    assert [run.status for run in jobruns.history(engine, "cleanup")] == ["failed"]
    posted = [json.loads(line) for line in received.read_text().splitlines()]
    assert [alert["alert"] for alert in posted] == ["job_failed"]


SLOW_RECEIVER_CLI = """
import json, sys, time
from engine import alerts
from cli import commands, main

def receiver_200_ms_away(url, payload):
    time.sleep(0.2)
    with open(sys.argv[1], "a") as out:
        out.write(json.dumps(payload) + "\\n")

def broken(engine, lease):
    raise ValueError("the database is down")

alerts._post = receiver_200_ms_away
commands.task_for = lambda name, dispatch: broken
sys.exit(main.main(["jobs", "run", "cleanup"]))
"""


def test_questboard_jobs_run_posts_the_alert_of_a_job_that_failed(durable_engine, tmp_path):
    received = tmp_path / "received"
    env = dict(
        os.environ,
        REDIS_URL=real_redis_url(),
        DATABASE_URL=durable_engine.database_url,
        ALERT_WEBHOOK_URL="https://alerts.example/hook",
    )
    done = subprocess.run(
        [sys.executable, "-c", SLOW_RECEIVER_CLI, str(received)],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("cleanup failed in ")
    posted = [json.loads(line) for line in received.read_text().splitlines()]
    assert [alert["alert"] for alert in posted] == ["job_failed"]


def test_rq_keeps_a_failed_run_for_a_week_not_a_year(durable_engine, real_redis, monkeypatch):
    """A persist failing every 5 s through a day's SQL outage is 17,280 failed RQ jobs,
    each with its traceback: RQ's default keeps them a year."""
    monkeypatch.setattr(tasks, "_engine", lambda: durable_engine)
    monkeypatch.setattr(tasks, "task_for", lambda name, dispatch: broken)
    queue = Queue(QUEUE, connection=real_redis)
    job_id = tasks.enqueue("persist", queue=queue)

    SimpleWorker([queue], connection=real_redis).work(burst=True)

    registry = FailedJobRegistry(queue=queue)
    assert registry.get_job_ids() == [job_id]
    week = 7 * 86_400
    assert 0 < real_redis.ttl(f"rq:job:{job_id}") <= week
    assert registry.get_expiration_time(queue.fetch_job(job_id)).timestamp() <= time.time() + week
