"""A Redis database of one's own on a shared server: leased, used, released.

Test runs and benchmarks share one Redis server. Each leases a database (15 down to
1) with `SET questboard:test-run-lease:<db> <token> NX EX 3600` in database 0 and
flushes only that database, so no run ever flushes another's data. The lease expires
by itself if a run dies without releasing it. Plain redis-py, no pytest: the test
fixtures and the benchmarks import the same code.
"""

from __future__ import annotations

import atexit
import os
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


def lease_key(database: int) -> str:
    return f"{LEASE_PREFIX}{database}"


def new_token() -> str:
    """A token naming this process's lease (checked before a release)."""
    return f"{os.getpid()}-{os.urandom(4).hex()}"


def acquire(base_url: str | None, token: str, seconds: int = LEASE_SECONDS) -> int:
    """Lease the highest free database of the server, 15 down to 1.

    Raises:
        NoDatabaseFreeError: all fifteen are leased.
        redis.exceptions.ConnectionError: the server is not reachable.
    """
    leases = redis.Redis.from_url(server_url(base_url, 0))
    try:
        for database in range(15, 0, -1):
            if leases.set(lease_key(database), token, nx=True, ex=seconds):
                return database
    finally:
        leases.close()
    raise NoDatabaseFreeError("every Redis database 1-15 is leased by another run")


def release(base_url: str | None, database: int, token: str) -> None:
    """Give the database back, only if this token still holds its lease."""
    leases = redis.Redis.from_url(server_url(base_url, 0))
    try:
        key = lease_key(database)
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
