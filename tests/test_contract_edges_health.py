"""GET /healthz answers its own degraded body while Redis is unreachable, on the QA clock too.

The spec documents the 503 of /healthz with the health body (`status` "degraded", the
Redis error, `now`), which load balancers and the Python client's `health()` read. With
ALLOW_CLOCK_OVERRIDE the engine's clock is real time plus an offset kept in Redis, so
its reading fails with the ping; the answer is then the degraded body with the clock's
base time (the offset cannot be read), not the error body of an unavailable store.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from engine import keys
from engine.clock import FixedClock, RedisOffsetClock
from web import create_app

REAL_TIME = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def qa_app(settings, fake_redis):
    qa = dataclasses.replace(settings, allow_clock_override=True)
    clock = RedisOffsetClock(fake_redis, keys.clock_offset(), base=FixedClock(REAL_TIME))
    return create_app(qa, redis_client=fake_redis, clock=clock)


def unreachable(*args, **kwargs):
    raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_health_on_the_qa_clock_answers_the_moved_time(qa_app, admin_headers):
    client = qa_app.test_client()
    moved = client.put(
        "/v1/admin/clock", headers=admin_headers, json={"now": "2026-12-01T08:00:00Z"}
    )
    assert moved.status_code == 200

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "redis": "ok",
        "now": "2026-12-01T08:00:00+00:00",
    }


def test_health_on_the_qa_clock_with_redis_unreachable_is_the_degraded_body(
    qa_app, fake_redis, monkeypatch, admin_headers
):
    client = qa_app.test_client()
    client.put("/v1/admin/clock", headers=admin_headers, json={"now": "2026-12-01T08:00:00Z"})
    monkeypatch.setattr(fake_redis, "ping", unreachable)
    monkeypatch.setattr(fake_redis, "get", unreachable)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.get_json() == {
        "status": "degraded",
        "redis": "unreachable: ConnectionError",
        "now": "2026-11-25T12:00:00+00:00",
    }
