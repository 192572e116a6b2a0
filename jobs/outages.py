"""Riding out an outage of the queue's Redis in the long-running processes.

The `worker` and the `scheduler` ended when their Redis went away once started (a
restart of it, a network blip), and a Procfile runner (`make run`, honcho) then stopped
the `web` process too, which answers 503 through such an outage and serves again when
Redis is back. Each now waits for it instead: one line when it goes, a PING with
backoff (0.5 s doubling up to 10 s) until it answers, one line when it is back, and
then works on. A Redis that does not answer at start still ends the process in one
line: that is more often a wrong URL than an outage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Redis away, or loading its data again after a restart (BusyLoadingError is a
# ConnectionError): a retry can succeed. Any other error is not an outage.
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError)

FIRST_WAIT = 0.5
LONGEST_WAIT = 10.0
GONE = "unreachable: waiting for it"
BACK = "answers again"


def where(connection: Redis) -> str:
    """The Redis a connection reaches, for a log line (never its password)."""
    settings = connection.connection_pool.connection_kwargs
    if settings.get("path"):
        return f"unix://{settings['path']}"
    return f"{settings.get('host')}:{settings.get('port')}/{settings.get('db', 0)}"


class Outage:
    """One process's view of its Redis: away since when, and the two lines it logs."""

    def __init__(
        self,
        connection: Redis,
        log: logging.Logger,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.connection = connection
        self.log = log
        self.sleep = sleep
        self.clock = clock
        self.since: float | None = None

    def began(self, error: Exception) -> None:
        """Noted once an outage: the first error logs its line, the next ones nothing."""
        if self.since is None:
            self.since = self.clock()
            self.log.warning(
                "Redis at %s %s (%s); retrying with backoff",
                where(self.connection),
                GONE,
                str(error).strip() or type(error).__name__,
            )

    def ended(self) -> None:
        """After a command went through: logs the outage's end, if there was one."""
        if self.since is not None:
            away = self.clock() - self.since
            self.since = None
            self.log.warning("Redis at %s %s after %.1f s", where(self.connection), BACK, away)

    def wait_until_back(self) -> None:
        """PING with backoff until Redis answers. A stop signal ends the wait: its handler
        raises out of the sleep, as it would out of the process's own loop."""
        wait = FIRST_WAIT
        while True:
            self.sleep(wait)
            try:
                self.connection.ping()
            except OUTAGE_ERRORS:
                wait = min(wait * 2, LONGEST_WAIT)
                continue
            self.ended()
            return
