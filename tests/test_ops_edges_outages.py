"""The `worker` and the `scheduler` ride out an outage of the queue's Redis (stopped, then
started again empty on the same socket, as the embedded Redis of `make run` restarted):
one line when it goes, one when it is back, then they work on; so `make run` keeps
serving through it (README, The processes)."""

from __future__ import annotations

import redis
from rq import Queue

from bench.server import free_port
from jobs import QUEUE
from jobs.scheduler import PREFIX
from tests.long_running import Running, UnixRedis
from tests.test_ops_edges import healthz, make_run_serving
from tests.test_run_command import wait_for

SCHEDULED = "rq:scheduler:scheduled_jobs"  # rq-scheduler's sorted set of registrations
GONE = "unreachable: waiting for it"
BACK = "answers again"


def test_the_worker_rides_out_a_redis_outage_in_the_middle_of_a_job(tmp_path):
    queue_redis = UnixRedis(tmp_path)
    queue_redis.start()
    worker = Running("jobs.worker", {"REDIS_URL": queue_redis.url})
    started, release, ran = tmp_path / "started", tmp_path / "release", tmp_path / "ran"
    try:
        worker.wait_for_line("Listening on questboard")
        with redis.Redis.from_url(queue_redis.url) as client:
            Queue(QUEUE, connection=client).enqueue(
                "tests.long_running.hold_until", str(started), str(release)
            )
        assert wait_for(lambda: started.exists() or worker.process.poll() is not None)

        queue_redis.stop()  # the job ends while Redis is away
        release.touch()
        worker.wait_for_line(GONE)
        assert worker.process.poll() is None

        queue_redis.start()
        worker.wait_for_line(BACK)
        with redis.Redis.from_url(queue_redis.url) as client:
            Queue(QUEUE, connection=client).enqueue("tests.long_running.touch", str(ran))
        assert wait_for(lambda: ran.exists() or worker.process.poll() is not None)
    finally:
        code = worker.stop()
        queue_redis.stop()
    assert code == 0, worker.log()
    assert ran.exists(), worker.log()
    assert (worker.count(GONE), worker.count(BACK)) == (1, 1), worker.log()


def test_the_scheduler_rides_out_a_redis_outage_and_registers_its_jobs_again(tmp_path):
    queue_redis = UnixRedis(tmp_path)
    queue_redis.start()
    scheduler = Running("jobs.scheduler", {"REDIS_URL": queue_redis.url})
    try:
        scheduler.wait_for_line("registered questboard-persist")

        queue_redis.stop()
        scheduler.wait_for_line(GONE)
        assert scheduler.process.poll() is None

        queue_redis.start()  # empty: every registration is gone
        scheduler.wait_for_line(BACK)
        with redis.Redis.from_url(queue_redis.url) as client:
            assert wait_for(lambda: client.zscore(SCHEDULED, f"{PREFIX}persist") is not None)
    finally:
        code = scheduler.stop()
        queue_redis.stop()
    assert code == 0, scheduler.log()
    assert (scheduler.count(GONE), scheduler.count(BACK)) == (1, 1), scheduler.log()


def test_make_run_keeps_serving_through_an_outage_of_the_queues_redis(tmp_path):
    queue_redis = UnixRedis(tmp_path)
    queue_redis.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {"PORT": str(port), "RQ_REDIS_URL": queue_redis.url, "WEB_CONCURRENCY": "1"}
    try:
        with make_run_serving(tmp_path, base, **settings) as run:
            queue_redis.stop()
            # Both have seen it go (before, the first to see it ended the whole run).
            assert wait_for(lambda: run.output.count(GONE) >= 2 or run.launcher.poll() is not None)
            assert run.launcher.poll() is None, run.output
            assert healthz(base)
            queue_redis.start()
            with redis.Redis.from_url(queue_redis.url) as client:  # the scheduler is back
                assert wait_for(lambda: client.zscore(SCHEDULED, f"{PREFIX}persist") is not None)
            assert healthz(base)
    finally:
        queue_redis.stop()
    assert "exited with code" not in run.output
