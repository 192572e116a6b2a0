"""A Redis database of one's own on a shared server: leased, used, released.

Test runs and benchmarks share one Redis server. Each leases a database (15 down to
1) with `SET questboard:test-run-lease:<db> <token> NX EX 3600` in database 0 and
flushes only that database, so no run ever flushes another's data. The lease expires
by itself if a run dies without releasing it; before that, a run on the same host takes
over a lease whose holder process has exited (a run killed by a timeout leaves its
lease behind, and fifteen of them would lock every later run out for an hour). The
token names the host and process, `host:pid:random`. Plain redis-py, no pytest: the
test fixtures and the benchmarks import the same code.
"""

from __future__ import annotations

import atexit
import os
import socket
from urllib.parse import urlparse

import redis

LEASE_SECONDS = 3600
LEASE_PREFIX = "questboard:test-run-lease:"


class NoDatabaseFreeError(RuntimeError):
    """Every database 1-15 is leased by another run."""


def server_url(base_url: str | None, database: int) -> str:
    """`base_url`'s server (default 127.0.0.1:6379) with `database` selected."""
    parsed = urlparse(base_url or "redis://127.0.0.1:6379")
    return parsed._replace(path=f"/{database}").geturl()


def lease_key(database: int, prefix: str = LEASE_PREFIX) -> str:
    return f"{prefix}{database}"


def new_token(pid: int | None = None) -> str:
    """A token naming this process's lease (checked before a release)."""
    return f"{socket.gethostname()}:{pid or os.getpid()}:{os.urandom(4).hex()}"


def holder_is_gone(token: str) -> bool:
    """True when `token` names a process of this host that no longer runs. A token of
    another host, or one this code cannot read, is never taken for gone."""
    host, _, rest = token.partition(":")
    pid = rest.partition(":")[0]
    if not rest:  # the earlier `pid-random` form, written by runs of this host only
        host, pid = socket.gethostname(), token.partition("-")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def _take_over(leases: redis.Redis, key: str, token: str, seconds: int) -> bool:
    """Replace a gone holder's lease with `token`, unless it changed meanwhile."""
    with leases.pipeline() as pipe:
        try:
            pipe.watch(key)
            held = pipe.get(key)
            if held is None or not holder_is_gone(held.decode(errors="replace")):
                return False
            pipe.multi()
            pipe.set(key, token, ex=seconds)
            pipe.execute()
            return True
        except redis.exceptions.WatchError:
            return False


def acquire(
    base_url: str | None,
    token: str,
    seconds: int = LEASE_SECONDS,
    databases: range = range(15, 0, -1),
    prefix: str = LEASE_PREFIX,
) -> int:
    """Lease the highest free database of the server, 15 down to 1; when none is free,
    the highest whose holder process on this host has exited.

    Raises:
        NoDatabaseFreeError: all fifteen are leased by processes that still run.
        redis.exceptions.ConnectionError: the server is not reachable.
    """
    leases = redis.Redis.from_url(server_url(base_url, 0))
    try:
        for database in databases:
            if leases.set(lease_key(database, prefix), token, nx=True, ex=seconds):
                return database
        for database in databases:
            if _take_over(leases, lease_key(database, prefix), token, seconds):
                return database
    finally:
        leases.close()
    raise NoDatabaseFreeError("every Redis database 1-15 is leased by a running process")


def release(base_url: str | None, database: int, token: str, prefix: str = LEASE_PREFIX) -> None:
    """Give the database back, only if this token still holds its lease."""
    leases = redis.Redis.from_url(server_url(base_url, 0))
    try:
        key = lease_key(database, prefix)
        if leases.get(key) == token.encode():
            leases.delete(key)
    except redis.exceptions.ConnectionError:
        pass
    finally:
        leases.close()


def benchmark_url(variable: str = "BENCH_REDIS_URL") -> str:
    """The Redis a benchmark may flush: `variable`'s URL when set, else a database
    leased for this process (released when it exits), so a benchmark beside a test
    run never flushes the run's database."""
    given = os.environ.get(variable)
    if given:
        return given
    token = new_token()
    base = os.environ.get("REDIS_URL")
    database = acquire(base, token)
    atexit.register(release, base, database, token)
    return server_url(base, database)
