"""A webhook subscription's creation and a secret rotation, retried with their
Idempotency-Key after Redis was lost and `questboard rebuild` ran, are answered with the
first answer (the same subscription, the same secret, Idempotent-Replayed), not carried
out again: SQL keeps each one's record beside the change it made, and the rebuild
writes it back."""

from __future__ import annotations

import pytest

from engine import keys
from engine.economy import idempotency_records
from engine.ops import rebuild
from engine.webhooks import retention
from tests.test_webhook_retries import BODY, create, listed, rotate
from tests.test_webhook_secrets import stored

pytestmark = pytest.mark.app_on_both_backends


def lose_redis_and_rebuild(app) -> None:
    engine = app.extensions["questboard.engine"]
    engine.redis.flushdb()
    rebuild.rebuild(engine)


def test_a_create_retried_after_a_rebuild_is_the_same_subscription(
    app, client, admin_headers, clock
):
    first = create(client, admin_headers, "hook-1")
    lose_redis_and_rebuild(app)
    engine = app.extensions["questboard.engine"]
    assert engine.redis.get(keys.admin_idempotency("webhooks", "hook-1")) is not None
    clock.advance(seconds=30)

    retry = create(client, admin_headers, "hook-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.get_json() == first.get_json()
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert [s["id"] for s in listed(client, admin_headers)] == [first.get_json()["id"]]
    reused = create(client, admin_headers, "hook-1", description="another")
    assert reused.status_code == 422


def test_a_rotation_retried_after_a_rebuild_rotates_nothing(app, client, admin_headers, clock):
    created = create(client, admin_headers, "hook-1").get_json()
    first = rotate(client, admin_headers, created["id"], "rotation-1")
    lose_redis_and_rebuild(app)
    clock.advance(seconds=30)

    retry = rotate(client, admin_headers, created["id"], "rotation-1")

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.get_json() == first.get_json()
    assert retry.headers.get("Idempotent-Replayed") == "true"
    row = stored(app.extensions["questboard.engine"], created["id"])
    assert (row.secret, row.previous_secret) == (first.get_json()["secret"], created["secret"])


def test_a_request_older_than_the_key_lifetime_is_not_restored(app, client, admin_headers, clock):
    create(client, admin_headers, "hook-1")
    ttl = app.extensions["questboard.engine"].idempotency_ttl_seconds
    clock.advance(seconds=ttl + 1)
    lose_redis_and_rebuild(app)

    again = create(client, admin_headers, "hook-1", **BODY)

    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert len(listed(client, admin_headers)) == 2


def test_the_weekly_cleanup_removes_the_records_of_expired_keys(app, client, admin_headers, clock):
    engine = app.extensions["questboard.engine"]
    create(client, admin_headers, "hook-1")
    clock.advance(seconds=engine.idempotency_ttl_seconds - 1)
    create(client, admin_headers, "hook-2")
    clock.advance(seconds=1)

    assert retention.purge(engine) == 1

    with engine.sql.connect() as conn:
        kept = conn.execute(idempotency_records.living(engine)).all()
    assert [row.idem_key for row in kept] == ["hook-2"]
