"""The scheduler process: registers the interval jobs with rq-scheduler, then runs it.

Registration is idempotent: each job has a fixed id, and an existing registration is
replaced, so restarting the scheduler never duplicates a job. Each run is registered for
the job's next due time (engine.ops.schedule.next_interval_due: multiples of its interval
since the epoch, what `questboard jobs list` shows), so a start neither runs a job at
once nor moves its due times to an interval after the start. Calendar jobs are not
registered here: the watchdog (every minute) dispatches them in the game timezone.

A tick queues a fresh run of the job only when none is already queued
(jobs.tasks.enqueue_once), so runs never pile up behind a slow worker or behind
runs an admin queued; rq-scheduler alone would push the registration's own job again
at every tick.

Registrations that vanish while the process runs (a FLUSHDB, as the recovery after a
Redis loss asks, or a Redis that came back empty without dropping the connection) are
made again at the next tick, so the jobs do not stop until the scheduler is restarted.

Once started, an outage of its Redis is waited out (jobs.outages: one line when it goes,
one when it is back), where rq-scheduler's loop ended the process and, under a Procfile
runner, the whole service; a Redis that does not answer at start still ends it in one
line. SIGHUP is ignored (logged), SIGTERM and SIGINT stop it.

    python -m jobs.scheduler        # what the Procfile's `scheduler` runs
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import time
from datetime import datetime

from redis import Redis
from redis.exceptions import RedisError
from rq.job import Job
from rq_scheduler import Scheduler
from rq_scheduler.utils import to_unix

from cli.local import without_password
from config import ConfigError, Settings
from engine.clock import Clock, SystemClock
from engine.ops.job_catalog import INTERVAL_JOBS, SPECS
from engine.ops.schedule import next_interval_due
from jobs import QUEUE
from jobs.outages import OUTAGE_ERRORS, Outage
from jobs.tasks import enqueue_once, run_job

PREFIX = "questboard-"
HUP_IGNORED = "SIGHUP ignored: the scheduler runs on (SIGTERM stops it)"


class OneRunPerJobScheduler(Scheduler):
    """rq-scheduler whose ticks add a run only when the job has none queued, and register
    the interval jobs again when their registrations are gone; its loop waits out an
    outage of Redis, and it ignores SIGHUP. `clock` is the real time the runs are
    registered by (rq-scheduler compares with the host's clock, never the QA clock)."""

    clock: Clock = SystemClock()

    def run(self, burst: bool = False) -> None:
        """rq-scheduler's loop (a tick every `interval` seconds under its lock, its birth
        and death registered), except that an outage during a tick is waited out."""
        outage = Outage(self.connection, self.log)
        self.register_birth()
        self._install_signal_handlers()
        try:
            while True:
                started = time.monotonic()
                try:
                    self.tick()
                except OUTAGE_ERRORS as error:
                    outage.began(error)
                    outage.wait_until_back()
                    self.register_again()
                    continue
                if burst:
                    break
                time.sleep(max(0.0, self._interval - (time.monotonic() - started)))
        finally:
            with contextlib.suppress(*OUTAGE_ERRORS):  # a stop while Redis is away
                self.remove_lock()
                self.register_death()

    def tick(self) -> None:
        self.heartbeat()
        if self.acquire_lock():
            self.enqueue_jobs()
            self.heartbeat()
            self.remove_lock()
        else:
            self.log.warning("Lock already taken - skipping run")

    def register_again(self) -> None:
        """After an outage: its lock (held when Redis went) let go, its birth registered
        anew, whether Redis kept its keys or came back empty."""
        self.remove_lock()
        self.register_death()
        self.register_birth()

    def _install_signal_handlers(self) -> None:
        """rq-scheduler's stop registers its death inside the handler, which failed
        (exit code 1) while Redis was away; `run` does that on its way out instead."""

        def stop(signum: int, frame: object) -> None:
            self.log.info("Shutting down RQ scheduler...")
            raise SystemExit()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGHUP, hangup_ignored)

    def enqueue_jobs(self) -> list[Job]:
        pipe = self.connection.pipeline(transaction=False)
        for name in INTERVAL_JOBS:
            pipe.zscore(self.scheduled_jobs_key, f"{PREFIX}{name}")
        if None in pipe.execute():
            registered = register(self)
            logging.getLogger("questboard.scheduler").warning(
                "registrations missing (Redis flushed?): registered %s again",
                ", ".join(registered),
            )
        return super().enqueue_jobs()

    def enqueue_job(self, job: Job) -> None:
        name = job.args[0]
        enqueue_once(self.get_queue_for_job(job), name, description=" (scheduled)")
        if job.meta.get("interval"):
            due = next_interval_due(SPECS[name].every, self.clock.now())
            self.connection.zadd(self.scheduled_jobs_key, {job.id: to_unix(due)})
        else:
            self.connection.zrem(self.scheduled_jobs_key, job.id)


def build(connection: Redis, clock: Clock | None = None) -> Scheduler:
    scheduler = OneRunPerJobScheduler(queue_name=QUEUE, connection=connection, interval=1)
    if clock is not None:
        scheduler.clock = clock
    return scheduler


def register(scheduler: Scheduler, now: datetime | None = None) -> list[str]:
    """(Re)register every interval job under its fixed id, its first run at its next due
    time after `now`; returns the ids."""
    now = now or getattr(scheduler, "clock", SystemClock()).now()
    ids = []
    for name in INTERVAL_JOBS:
        spec = SPECS[name]
        job_id = f"{PREFIX}{name}"
        scheduler.cancel(job_id)
        scheduler.schedule(
            scheduled_time=next_interval_due(spec.every, now).replace(tzinfo=None),
            func=run_job,
            args=[name],
            interval=int(spec.every.total_seconds()),
            repeat=None,
            id=job_id,
            queue_name=QUEUE,
            timeout=int(spec.expected.total_seconds() * 4),
            result_ttl=600,
            description=f"questboard {name} ({spec.schedule})",
        )
        ids.append(job_id)
    return ids


def hangup_ignored(signum: int, frame: object) -> None:
    """SIGHUP's handler: the scheduler runs on, and says so (at start as in the loop)."""
    logging.getLogger("questboard.scheduler").warning(HUP_IGNORED)


def main() -> None:
    """Run the scheduler until stopped; a bad setting, or a queue Redis that cannot be
    reached at start, ends the process in one line with exit code 1."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    signal.signal(signal.SIGHUP, hangup_ignored)  # from the start, not only in the loop
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        sys.exit(f"Cannot start: {error}")
    url = without_password(settings.queue_redis_url)
    try:
        connection = Redis.from_url(settings.queue_redis_url)
    except ValueError as error:  # redis-py's word for a URL it cannot read
        sys.exit(f"Cannot start: the queue's Redis URL {url} is not a Redis URL: {error}")
    try:
        scheduler = build(connection)
        registered = register(scheduler)
        logging.getLogger("questboard.scheduler").info("registered %s", ", ".join(registered))
        scheduler.run()
    except RedisError as error:
        sys.exit(f"scheduler: cannot reach Redis at {url}: {error}")


if __name__ == "__main__":
    main()
