"""A grant replayed after the rules changed (max_grant_amount lowered below its amount)
answers what it first answered, as a purchase whose item the catalog no longer sells
does: the rules of the day it was applied made it, and it is not applied again. A new
key with the same grant is refused by the new rules."""

from __future__ import annotations

import dataclasses

import pytest

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis

GRANT = {"resources": {"coins": 500}, "reason": "gift"}


def lower_the_grant_limit(app, limit: int) -> None:
    engine = app.extensions["questboard.engine"]
    limits = dataclasses.replace(engine.rules.limits, max_grant_amount=limit)
    engine.rules = dataclasses.replace(engine.rules, limits=limits)


def grant(client, headers, key: str):
    response = client.post(
        "/v1/admin/players/alice/grants", headers=headers | {"Idempotency-Key": key}, json=GRANT
    )
    return response.status_code, response.get_data(), response.headers.get("Idempotent-Replayed")


def batch(client, headers, key: str) -> dict:
    item = GRANT | {"player_id": "alice", "idempotency_key": key}
    response = client.post("/v1/admin/grants:batch", headers=headers, json={"grants": [item]})
    assert response.status_code == 200
    return response.get_json()["results"][0]


def test_a_grant_replayed_after_its_amount_left_the_rules_answers_as_first_answered(
    app, client, admin_headers
):
    status, first, _ = grant(client, admin_headers, "g1")
    in_batch = batch(client, admin_headers, "g2")

    lower_the_grant_limit(app, 100)

    assert status == 201 and in_batch["status"] == 201
    assert grant(client, admin_headers, "g1") == (201, first, "true")
    assert batch(client, admin_headers, "g2") == in_batch | {"status": 200, "replayed": True}
    assert grant(client, admin_headers, "g3")[0] == 400  # a new grant meets the new rules
    assert batch(client, admin_headers, "g4")["status"] == 400
