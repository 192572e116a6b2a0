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

`QuestboardWorker` is rq's worker that ignores SIGHUP (a terminal closing, a process
manager's reload), which ended rq's; SIGTERM still stops it after the job in flight,
and a new start loads new code.
"""

from __future__ import annotations

import os
import signal
import sys

from rq.worker import Worker

from config import ConfigError, Settings
from engine.rules import RulesError, load_rules

QUEUE = "questboard"
WORKER_CLASS = "jobs.worker.QuestboardWorker"
HUP_IGNORED = (
    "SIGHUP ignored: the worker works on (SIGTERM stops it after the job in flight; "
    "start it again to load new code)"
)


class QuestboardWorker(Worker):
    """rq's Worker that ignores SIGHUP."""

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()
        signal.signal(signal.SIGHUP, self._ignore_hangup)

    def _ignore_hangup(self, signum: int, frame: object) -> None:
        self.log.warning(HUP_IGNORED)


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
