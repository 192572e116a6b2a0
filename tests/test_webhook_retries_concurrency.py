"""Copies of one webhook admin write sent at once (an admin tool retrying on several
connections, eight web workers): one subscription, one rotation, and every copy
answered alike. Real Redis and one app per thread, as web workers are."""

from __future__ import annotations

import pytest

from tests.test_concurrency import posted_at_once
from tests.test_webhook_secrets import stored
from web import create_app

COPIES = 8
URL = "https://93.184.215.14/questboard-hooks"
BODY = {"url": URL, "events": ["purchase.completed"], "description": "game server"}


@pytest.fixture
def app(real_redis, settings, clock):
    return create_app(settings, redis_client=real_redis, clock=clock)


def answered_alike(responses, status):
    """Every copy answered `status` with the same body; all but one as a replay."""
    assert [r.status_code for r in responses] == [status] * len(responses)
    assert len({r.get_data() for r in responses}) == 1
    replayed = [r.headers.get("Idempotent-Replayed") for r in responses]
    assert sorted(replayed, key=str) == [None] + ["true"] * (len(responses) - 1)
    return responses[0].get_json()


def test_eight_copies_of_a_create_make_one_subscription(app, admin_headers):
    headers = admin_headers | {"Idempotency-Key": "hook-1"}

    responses = posted_at_once(app, "/v1/admin/webhooks", headers, [BODY] * COPIES)

    created = answered_alike(responses, 201)
    listed = app.test_client().get("/v1/admin/webhooks", headers=admin_headers).get_json()
    assert [s["id"] for s in listed["subscriptions"]] == [created["id"]]


def test_eight_copies_of_a_rotation_rotate_once_and_keep_the_old_secret_in_grace(
    app, admin_headers
):
    created = (
        app.test_client()
        .post("/v1/admin/webhooks", json=BODY, headers=admin_headers | {"Idempotency-Key": "h"})
        .get_json()
    )
    path = f"/v1/admin/webhooks/{created['id']}/rotate-secret"
    headers = admin_headers | {"Idempotency-Key": "rotation-1"}

    responses = posted_at_once(app, path, headers, [{"grace_period_seconds": 3600}] * COPIES)

    rotated = answered_alike(responses, 200)
    row = stored(app.extensions["questboard.engine"], created["id"])
    assert (row.secret, row.previous_secret) == (rotated["secret"], created["secret"])


def test_one_create_key_sent_at_once_with_different_bodies_creates_one_of_them(app, admin_headers):
    headers = admin_headers | {"Idempotency-Key": "hook-1"}
    bodies = [BODY | {"description": f"copy {n}"} for n in range(COPIES)]

    responses = posted_at_once(app, "/v1/admin/webhooks", headers, bodies)

    assert sorted(r.status_code for r in responses) == [201] + [422] * (COPIES - 1)
    for refused in (r for r in responses if r.status_code == 422):
        assert refused.get_json()["error"]["code"] == "idempotency_key_reused"
    [winner] = [r.get_json() for r in responses if r.status_code == 201]
    listed = app.test_client().get("/v1/admin/webhooks", headers=admin_headers).get_json()
    assert [(s["id"], s["description"]) for s in listed["subscriptions"]] == [
        (winner["id"], winner["description"])
    ]
