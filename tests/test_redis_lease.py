"""A test run's or benchmark's Redis database lease (bench.redis_lease): a lease whose
holder process has exited is taken over instead of locking later runs out for an hour.

Each test leases under a prefix of its own, so the real runs' leases are never touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
import redis

from bench import redis_lease


@pytest.fixture
def prefix(real_redis):
    """A lease prefix of this test's own, its keys deleted afterwards."""
    name = f"questboard:test-lease-test:{uuid.uuid4().hex}:"
    leases = redis.Redis.from_url(redis_lease.server_url(None, 0))
    yield name
    for key in leases.scan_iter(f"{name}*"):
        leases.delete(key)
    leases.close()


def exited_process_id() -> int:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(finished.stdout)


def lease_value(prefix: str, database: int) -> bytes | None:
    leases = redis.Redis.from_url(redis_lease.server_url(None, 0))
    try:
        return leases.get(redis_lease.lease_key(database, prefix))
    finally:
        leases.close()


def test_a_lease_held_by_an_exited_process_is_taken_over(prefix):
    databases = range(3, 1, -1)
    for database in databases:
        assert (
            redis_lease.acquire(
                None,
                redis_lease.new_token(exited_process_id()),
                databases=range(database, database - 1, -1),
                prefix=prefix,
            )
            == database
        )
    token = redis_lease.new_token()

    assert redis_lease.acquire(None, token, databases=databases, prefix=prefix) == 3
    assert lease_value(prefix, 3) == token.encode()


def test_a_lease_held_by_a_running_process_is_kept(prefix):
    databases = range(2, 1, -1)
    running = redis_lease.new_token()  # this very process
    assert redis_lease.acquire(None, running, databases=databases, prefix=prefix) == 2

    with pytest.raises(redis_lease.NoDatabaseFreeError):
        redis_lease.acquire(None, redis_lease.new_token(), databases=databases, prefix=prefix)
    assert lease_value(prefix, 2) == running.encode()


@pytest.mark.parametrize(
    "token",
    ["another-host:1:abcd", "not a token"],
    ids=["another host", "unreadable"],
)
def test_a_holder_that_cannot_be_checked_here_is_never_taken_for_gone(token):
    assert not redis_lease.holder_is_gone(token)


def test_a_lease_of_the_earlier_pid_random_form_is_checked_like_the_new_one():
    assert redis_lease.holder_is_gone(f"{exited_process_id()}-abcd")
    assert not redis_lease.holder_is_gone(f"{os.getpid()}-abcd")


def test_a_released_lease_frees_the_database_for_the_next_run(prefix):
    databases = range(2, 1, -1)
    first = redis_lease.new_token()
    assert redis_lease.acquire(None, first, databases=databases, prefix=prefix) == 2
    redis_lease.release(None, 2, first, prefix=prefix)

    assert (
        redis_lease.acquire(None, redis_lease.new_token(), databases=databases, prefix=prefix) == 2
    )
