"""Two rotations of one subscription's secret sent at once under different
Idempotency-Keys (two admins, two tools): they are carried out one after the other, so
each answer's secret is the one in force or, the later rotation having kept it, the
previous one during its grace; never a secret that signs nothing. Real Redis, SQLite and
MariaDB, one app per thread, as web workers are."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.webhooks import encryption
from tests.test_concurrency import run_together
from tests.test_webhook_secrets import stored
from web import create_app

URL = "https://93.184.215.14/questboard-hooks"
BODY = {"url": URL, "events": ["purchase.completed"], "description": "game server"}
ROUNDS = 10


@pytest.fixture
def app(real_redis, settings, clock, sql_url):
    return create_app(replace(settings, database_url=sql_url), redis_client=real_redis, clock=clock)


def in_force(engine, subscription_id) -> tuple[str, str | None]:
    """The secret that signs and the previous one still signing beside it, if any."""
    row = stored(engine, subscription_id)
    box = encryption.box_of(engine)
    now_ms = int(engine.clock.now().timestamp() * 1000)
    previous = row.previous_secret if (row.previous_until_ms or 0) > now_ms else None
    return box.open(row.secret), None if previous is None else box.open(previous)


def rotate(app, path, admin_headers, key):
    return app.test_client().post(
        path, json={"grace_period_seconds": 3600}, headers=admin_headers | {"Idempotency-Key": key}
    )


def test_two_rotations_at_once_each_answer_a_secret_that_signs(app, admin_headers):
    engine = app.extensions["questboard.engine"]
    headers = admin_headers | {"Idempotency-Key": "hook-1"}
    created = app.test_client().post("/v1/admin/webhooks", json=BODY, headers=headers).get_json()
    path = f"/v1/admin/webhooks/{created['id']}/rotate-secret"

    for round_ in range(ROUNDS):
        keys = [f"rotation-{round_}-{n}" for n in range(2)]
        answers = run_together(2, lambda n, keys=keys: rotate(app, path, admin_headers, keys[n]))

        assert [a.status_code for a in answers] == [200, 200]
        current, previous = in_force(engine, created["id"])
        answered = {a.get_json()["secret"] for a in answers}
        assert answered == {current, previous}, round_
