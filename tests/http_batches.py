"""A player banned and an item's error, as the batch route tests read them.

tests/test_http_batches.py (exams) and tests/test_http_batches_grants.py (grants and
wallets) ban a player through the admin API and read a refused item's error body.
"""

from __future__ import annotations


def ban_player(client, admin_headers, player: str) -> dict:
    response = client.post(
        "/v1/admin/player-bans",
        headers=admin_headers,
        json={"player_id": player, "reason": "bot"},
    )
    assert response.status_code == 201
    return response.get_json()


def error_of_item(result: dict) -> dict:
    assert result["result"] is None
    assert set(result["error"]) == {"code", "message", "details"}
    return result["error"]
