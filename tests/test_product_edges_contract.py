"""What the OpenAPI document tells a game server about the refusals of a player's day.

An ad whose reward would take the balance past the rules' max_balance is refused
(409 balance_limit_exceeded, nothing granted, its refusal replayed with the key), and the
document lists that code on the route; a streak repair's refusal is described by what
it means, as every other code is.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import error_of

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis, Redis and the cluster

AD = "/v1/players/{player_id}/ad-rewards"
REPAIR = "/v1/players/{player_id}/streak/repair"


def documented_codes(client, path: str, method: str, status: int) -> list[str]:
    operation = client.get("/openapi.json").get_json()["paths"][path][method]
    return operation["responses"][str(status)]["x-error-codes"]


def test_an_ad_past_the_balance_limit_is_a_refusal_the_document_lists(
    app, client, server_headers, admin_headers
):
    engine = app.extensions["questboard.engine"]
    limits = dataclasses.replace(engine.rules.limits, max_balance=100)
    engine.rules = dataclasses.replace(engine.rules, limits=limits)
    funded = client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "fund"},
        json={"resources": {"coins": 98}, "reason": "funds"},
    )
    assert funded.status_code == 201
    headers = server_headers | {"Idempotency-Key": "ad-1"}

    refused = client.post("/v1/players/alice/ad-rewards", headers=headers)
    again = client.post("/v1/players/alice/ad-rewards", headers=headers)

    assert refused.status_code == again.status_code == 409
    assert error_of(refused)["code"] == "balance_limit_exceeded"
    assert again.get_json() == refused.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "balance_limit_exceeded" in documented_codes(client, AD, "post", 409)
    wallet = client.get("/v1/players/alice/wallet", headers=server_headers).get_json()
    assert wallet["balances"]["coins"] == 98


def test_a_streak_repairs_refusal_is_described_by_what_it_means(client):
    operation = client.get("/openapi.json").get_json()["paths"][REPAIR]["post"]
    description = operation["responses"]["409"]["description"]

    assert "`streak_not_repairable`: streak_not_repairable" not in description
    assert "`streak_not_repairable`: no broken streak to buy back" in description


def test_an_unknown_time_zone_is_not_described_as_a_reused_key(client):
    operation = client.get("/openapi.json").get_json()["paths"]["/v1/players/{player_id}/settings"]
    description = operation["put"]["responses"]["422"]["description"]

    assert not description.startswith("Idempotency key reused")
    assert "`unknown_timezone`: not an IANA time zone name" in description
