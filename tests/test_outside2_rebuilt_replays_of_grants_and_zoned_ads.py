"""A grant and a zoned player's ad reward retried after Redis was lost and rebuilt from
SQL answer 201 from the rebuilt record, in the route's OpenAPI schema, as first
answered where the answer is the transaction's (README, Recovery)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from questboard_client import decode

from tests.test_rebuilt_replays_answer_like_the_api import (
    AD_REWARDS,
    lose_and_rebuild,
    post,
    schema_errors,
)

pytestmark = pytest.mark.app_on_both_backends

GRANTS = "/v1/admin/players/{player_id}/grants"


def test_a_grant_retried_after_a_rebuild_answers_the_routes_schema(app, client, admin_headers):
    body = {"resources": {"coins": 500}, "reason": "compensation"}
    first = post(client, admin_headers, GRANTS, "g-1", body)
    lose_and_rebuild(app)

    again = post(client, admin_headers, GRANTS, "g-1", body)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert schema_errors(client, GRANTS, again.json) == []
    grant = decode.transaction(again.json, replayed=True)
    assert grant.transaction_id == first.json["transaction_id"]
    assert grant.balances == first.json["balances"]


def test_a_zoned_players_ads_retried_after_a_rebuild_count_their_local_date(
    app, client, server_headers, clock
):
    """Los Angeles: 02:00 on the 25th (10:00 UTC) is still their 24th, 04:00 (12:00
    UTC) their 25th; both are the game's 25th. Each ad is the first of its date."""
    assert client.put(
        "/v1/players/alice/settings",
        headers=server_headers,
        json={"timezone": "America/Los_Angeles"},
    ).status_code in (200, 201)
    first = []
    for n, hour in enumerate((10, 12)):
        clock.set(datetime(2026, 11, 25, hour, tzinfo=UTC))
        first.append(post(client, server_headers, AD_REWARDS, f"ad-{n}", {}))
    assert [ad.json["ads_watched"] for ad in first] == [1, 1]
    lose_and_rebuild(app)

    again = [post(client, server_headers, AD_REWARDS, f"ad-{n}", {}) for n in range(2)]

    assert [ad.status_code for ad in again] == [201, 201]
    assert [schema_errors(client, AD_REWARDS, ad.json) for ad in again] == [[], []]
    assert [ad.json["ads_watched"] for ad in again] == [1, 1]
