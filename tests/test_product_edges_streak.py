"""A streak repair refused as too late says until when it was offered as the day's state
said it: `details.repair_by` is the same time, not the milliseconds the streak hash
keeps, live and when the refusal is answered again under its key."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from engine.rules.progression import StreakRepair
from tests.conftest import error_of

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis, Redis and the cluster


def test_a_repair_too_late_names_the_deadline_the_day_offered(app, client, clock, server_headers):
    engine = app.extensions["questboard.engine"]
    engine.rules = dataclasses.replace(
        engine.rules, streak_repair=StreakRepair("coins", base=50, per_day=10, max_price=500)
    )
    for _ in range(3):  # three days claimed, one missed, then the claim that restarts
        client.post("/v1/players/tara/login", headers=server_headers)
        clock.advance(days=1)
    clock.advance(days=1)
    assert client.post("/v1/players/tara/login", headers=server_headers).json["streak"] == 1
    offer = client.get("/v1/players/tara/daily", headers=server_headers).json["streak_repair"]
    clock.set(clock.now() + timedelta(days=1))  # past the offer's deadline
    headers = server_headers | {"Idempotency-Key": "late"}

    late = client.post("/v1/players/tara/streak/repair", headers=headers)
    again = client.post("/v1/players/tara/streak/repair", headers=headers)

    assert late.status_code == again.status_code == 409
    assert error_of(late)["details"] == {"reason": "expired", "repair_by": offer["repair_by"]}
    assert again.headers["Idempotent-Replayed"] == "true"
    assert error_of(again) == error_of(late)
