"""The Procfile's `worker` process: RQ's worker on the `questboard` queue, started once
the service's settings and rules hold.

`rq worker` reads nothing but its URL, so a setting every other process refuses in one
line (a Redis Cluster `REDIS_URL` with no `RQ_REDIS_URL`, an unreadable `DATABASE_URL`
or rules file, ...) came out of it as rq's traceback at start, or as one in each job.
This checks them as the web process and the scheduler do, `Cannot start: ...` with exit
code 1, then becomes `rq worker --url <the queue's Redis> --worker-class
jobs.worker.QuestboardWorker questboard` (os.execv: the same process, so signals, logs
and exit codes are rq's own). Arguments are passed on to rq before the queue's name
(`python -m jobs.worker --burst`).

`QuestboardWorker` is rq's worker with two differences a long-running process needs:
it waits out an outage of its Redis once started (jobs.outages) where rq's ends the
process (exit code 1, which stopped the whole `make run`), and it ignores SIGHUP (a
terminal closing, a process manager's reload), which ended rq's; SIGTERM still stops it
after the job in flight, and a new start loads new code.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator

from rq.exceptions import StopRequested
from rq.worker import Worker, WorkerStatus

from config import ConfigError, Settings
from engine.rules import RulesError, load_rules
from jobs.outages import OUTAGE_ERRORS, Outage

QUEUE = "questboard"
WORKER_CLASS = "jobs.worker.QuestboardWorker"
HUP_IGNORED = (
    "SIGHUP ignored: the worker works on (SIGTERM stops it after the job in flight; "
    "start it again to load new code)"
)
# rq's own lines for what jobs.outages says once an outage: one a retry, or a traceback.
_RQ_OUTAGE_LINES = (
    "Worker %s: could not connect to Redis instance",
    "Worker %s: Redis connection timeout, quitting",
)


class _OneLinePerOutage(logging.Filter):
    """Leaves out rq's lines about an outage the worker rides out and logs itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(_RQ_OUTAGE_LINES):
            return False
        return not (record.exc_info and isinstance(record.exc_info[1], OUTAGE_ERRORS))


class QuestboardWorker(Worker):
    """rq's Worker that waits out a Redis outage instead of ending, and ignores SIGHUP."""

    max_connection_wait_time = 10.0  # rq's own retries while idle: as jobs.outages

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.outage = Outage(self.connection, self.log)
        self._outage_error: Exception | None = None
        self.log.addFilter(_OneLinePerOutage())

    def work(self, burst: bool = False, **options) -> bool:
        """rq's work loop, entered again each time an outage of Redis ended it."""
        worked = False
        while True:
            self._outage_error = None
            try:
                worked = super().work(burst=burst, **options) or worked
            except OUTAGE_ERRORS as error:  # its last writes (teardown) failed too
                self._outage_error = self._outage_error or error
            if self._outage_error is None or self._stop_requested:
                return worked
            try:
                self._ride_out(self._outage_error)
            except StopRequested:  # SIGTERM while Redis was away
                return worked

    def _ride_out(self, error: Exception) -> None:
        self.outage.began(error)
        self._state = WorkerStatus.IDLE  # so a stop now ends the wait at once
        if self.horse_pid:  # a job's process rq lost track of: it ends on its own
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.horse_pid, 0)
            self._horse_pid = 0
        while True:
            self.outage.wait_until_back()
            try:  # what rq's teardown could not write: its death, the pubsub thread
                self.teardown()
                return
            except OUTAGE_ERRORS as again:
                self.outage.began(again)

    @contextlib.contextmanager
    def _noting_outage(self) -> Iterator[None]:
        """Around each step of rq's loop: an outage that ends the loop is remembered."""
        try:
            yield
        except OUTAGE_ERRORS as error:
            self._outage_error = error
            self.outage.began(error)
            raise

    def heartbeat(self, timeout=None, pipeline=None) -> None:
        with self._noting_outage():
            super().heartbeat(timeout, pipeline)
        if pipeline is None:  # a write went through: an outage rq rode out has ended
            self.outage.ended()

    def check_for_suspension(self, burst: bool) -> None:
        with self._noting_outage():
            super().check_for_suspension(burst)

    def run_maintenance_tasks(self) -> None:
        with self._noting_outage():
            super().run_maintenance_tasks()

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        with self._noting_outage():
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    def execute_job(self, job, queue) -> None:
        with self._noting_outage():
            super().execute_job(job, queue)

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()
        signal.signal(signal.SIGHUP, self._ignore_hangup)

    def _ignore_hangup(self, signum: int, frame: object) -> None:
        self.log.warning(HUP_IGNORED)

    def _pubsub_exception_handler(self, exc, pubsub, pubsub_thread) -> None:
        """rq's, without its line every 2 s: the work loop says when Redis is away."""
        if not isinstance(exc, OUTAGE_ERRORS):
            super()._pubsub_exception_handler(exc, pubsub, pubsub_thread)
            return
        self.outage.sleep(2.0)


def rq_command(settings: Settings, arguments: list[str]) -> list[str]:
    """The `rq worker` command line this process becomes."""
    return [
        sys.executable,
        "-m",
        "rq.cli",
        "worker",
        "--url",
        settings.queue_redis_url,
        "--worker-class",
        WORKER_CLASS,
        *arguments,
        QUEUE,
    ]


def main(arguments: list[str] | None = None) -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # kept across exec: until rq's handlers
    try:
        settings = Settings.from_env()
        load_rules(settings.rules_file)
    except (ConfigError, RulesError) as error:
        sys.exit(f"Cannot start: {error}")
    command = rq_command(settings, sys.argv[1:] if arguments is None else arguments)
    sys.stdout.flush()
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
