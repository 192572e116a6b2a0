"""The grants' batch and the wallets' batch: many players' items in one request.

`POST /v1/admin/grants:batch` applies each item once by its own key, answers a replay
the same, refuses an item above the streak freezes held and bad items alone, and is
admin-only; `GET /v1/wallets` reads many players' wallets in the order asked, in one
round trip, refuses a banned player's in its item, and takes one to a hundred valid
ids. The exams' batch: tests/test_http_batches.py.
"""

from __future__ import annotations

import pytest

from bench.redis_count import sent_commands
from tests.conftest import error_of
from tests.http_batches import ban_player, error_of_item

BOTH = pytest.mark.app_on_both_backends  # the app on each backend where Redis decides

GRANTS = "/v1/admin/grants:batch"
NOTHING = {"coins": 0, "logs": 0, "steel": 0, "bricks": 0, "cement": 0}


def grant(player: str, key: str, coins: int = 100, reason: str = "gift") -> dict:
    return {
        "player_id": player,
        "idempotency_key": key,
        "resources": {"coins": coins},
        "reason": reason,
    }


def send_grants(client, headers, items):
    response = client.post(GRANTS, headers=headers, json={"grants": items})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


# Grants -----------------------------------------------------------------------------


def test_a_grant_batch_applies_each_item_once_per_its_own_key(client, admin_headers):
    results = send_grants(
        client,
        admin_headers,
        [grant("alice", "g1", 500), grant("bob", "g1", 300), grant("alice", "g2", -600)],
    )

    assert [(r["status"], r["replayed"]) for r in results] == [
        (201, False),
        (201, False),
        (409, False),
    ]
    assert results[0]["result"]["balances"] == NOTHING | {"coins": 500}
    assert results[1]["result"]["balances"] == NOTHING | {"coins": 300}
    assert error_of_item(results[2])["code"] == "insufficient_funds"


@BOTH
def test_a_replayed_grant_batch_answers_the_same_and_grants_once(client, admin_headers):
    items = [grant("alice", "g1", 500), grant("alice", "g2", -600), grant("bob", "g1", 7)]
    first = send_grants(client, admin_headers, items)

    again = send_grants(client, admin_headers, items)

    assert [(r["status"], r["replayed"]) for r in again] == [(200, True), (409, True), (200, True)]
    assert [r["result"] for r in again] == [r["result"] for r in first]
    assert again[1]["error"] == first[1]["error"]
    wallet = client.get("/v1/players/alice/wallet", headers=admin_headers).get_json()
    assert wallet["balances"] == NOTHING | {"coins": 500}


def test_a_grant_batch_refuses_an_item_above_the_streak_freezes_held(client, admin_headers):
    freezes = {**grant("alice", "g1"), "resources": {"streak_freeze": 3}}
    results = send_grants(client, admin_headers, [freezes, grant("bob", "g1", 300)])

    assert [r["status"] for r in results] == [409, 201]
    assert error_of_item(results[0])["code"] == "balance_limit_exceeded"
    wallet = client.get("/v1/players/alice/wallet", headers=admin_headers).get_json()
    assert wallet["balances"].get("streak_freeze", 0) == 0


def test_a_grant_batch_refuses_bad_items_alone(client, admin_headers):
    results = send_grants(
        client,
        admin_headers,
        [
            grant("alice", "g1", 500),
            grant("alice", "g1", 400),  # the same key, other content
            {**grant("bob", "g1"), "resources": {"gold": 5}},  # no such resource
        ],
    )

    assert [r["status"] for r in results] == [201, 422, 400]
    assert error_of_item(results[1])["code"] == "idempotency_key_reused"
    assert error_of_item(results[2]) == {
        "code": "validation_error",
        "message": "The grant is not valid.",
        "details": {"resources.gold": ["Unknown resource."]},
    }


def test_a_banned_players_grant_is_applied_as_on_its_single_route(client, admin_headers):
    """A grant is an admin's act, and admin routes are not subject to bans: a refund to
    a banned player is paid, in a batch as through POST .../grants."""
    ban_player(client, admin_headers, "mallory")

    results = send_grants(client, admin_headers, [grant("mallory", "refund", coins=5)])

    assert [r["status"] for r in results] == [201]
    assert results[0]["result"]["balances"] == NOTHING | {"coins": 5}


def test_a_grant_batch_is_admin_only(client, server_headers):
    response = client.post(GRANTS, headers=server_headers, json={"grants": [grant("a", "g")]})

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


# Wallets ----------------------------------------------------------------------------


@BOTH
def test_wallets_of_many_players_in_the_order_asked(client, server_headers, admin_headers):
    send_grants(client, admin_headers, [grant("alice", "g1", 500), grant("bob", "g1", 7)])

    response = client.get(
        "/v1/wallets?player_id=bob&player_id=nobody&player_id=alice&player_id=bob",
        headers=server_headers,
    )

    assert response.status_code == 200
    assert response.get_json()["results"] == [
        {
            "status": 200,
            "replayed": False,
            "result": {"player_id": player, "balances": NOTHING | {"coins": coins}},
            "error": None,
        }
        for player, coins in (("bob", 7), ("nobody", 0), ("alice", 500))
    ]


@BOTH
def test_a_banned_players_wallet_is_refused_in_its_item(client, server_headers, admin_headers):
    ban_player(client, admin_headers, "mallory")

    results = client.get(
        "/v1/wallets?player_id=alice&player_id=mallory", headers=server_headers
    ).get_json()["results"]

    assert [r["status"] for r in results] == [200, 403]
    assert error_of_item(results[1])["code"] == "banned"


def test_wallets_are_read_in_one_round_trip(standalone_client, server_headers):
    client = standalone_client
    query = "&".join(f"player_id=p{n}" for n in range(100))
    client.get(f"/v1/wallets?{query}", headers=server_headers)

    with sent_commands() as sent:
        response = client.get(f"/v1/wallets?{query}", headers=server_headers)

    assert len(response.get_json()["results"]) == 100
    assert sent.round_trips == 1


def test_wallets_take_one_to_a_hundred_valid_ids(client, server_headers):
    over = "&".join(f"player_id=p{n}" for n in range(101))
    for query in ("", over, "player_id=bad%20id", "player_id=a&other=1"):
        response = client.get(f"/v1/wallets?{query}", headers=server_headers)
        assert response.status_code == 400
        assert error_of(response)["code"] == "validation_error"
