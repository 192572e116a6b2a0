"""GET /healthz answers 503 with its own body (status "degraded", the Redis error) when
Redis is unreachable, as the spec documents: the client's health() returns that state
at once, where every other call's 503 is a retried ServiceUnavailable.

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import pytest
from questboard_client import ServiceUnavailable
from questboard_client.models import Health
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.python_client.gate import NOON


def test_an_unreachable_redis_is_read_as_a_degraded_health_at_once(qb, app, gate, sleeps):
    engine = app.extensions["questboard.engine"]
    assert qb.health() == Health("ok", "ok", NOON)

    def unreachable() -> None:
        raise RedisConnectionError("connection refused")

    engine.redis.ping = unreachable

    assert qb.health() == Health("degraded", "unreachable: ConnectionError", NOON)
    assert (len(gate.seen), sleeps) == (2, [])


def test_a_proxys_503_to_health_is_still_service_unavailable(qb, gate, sleeps):
    gate.fail_next(5, status=503, retry_after="0")

    with pytest.raises(ServiceUnavailable):
        qb.health()

    assert len(gate.seen) == 5
