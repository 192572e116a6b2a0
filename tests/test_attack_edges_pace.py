"""Rapid fire judges a player's pace, not a client's retries: a request refused as rapid
fire and sent again in the same second (a retry after a timeout) is one violation."""

from __future__ import annotations

import pytest

from tests.conftest import EXAM

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis

LIMIT = 8  # the rules' max_changes_per_second; the test clock stands still


def flags_of(client, admin_headers, player_id: str) -> dict:
    response = client.get(f"/v1/admin/players/{player_id}/flags", headers=admin_headers)
    assert response.status_code == 200
    return response.get_json()


def test_an_exam_refused_as_rapid_fire_and_sent_again_is_one_violation(
    client, server_headers, admin_headers
):
    for n in range(LIMIT):
        exam = EXAM | {"exam_id": f"e{n}"}
        response = client.post("/v1/players/alice/exams", headers=server_headers, json=exam)
        assert response.status_code == 201
    late = EXAM | {"exam_id": "late"}
    for _ in range(5):
        response = client.post("/v1/players/alice/exams", headers=server_headers, json=late)
        assert response.status_code == 429
        assert response.get_json()["error"]["code"] == "rapid_fire"
    flags = flags_of(client, admin_headers, "alice")
    assert (flags["violations"], flags["blocked"]) == ({"rapid_fire": 1}, None)
    # Another exam in that second is another attempt too fast: it counts.
    response = client.post(
        "/v1/players/alice/exams", headers=server_headers, json=EXAM | {"exam_id": "later"}
    )
    assert response.status_code == 429
    assert flags_of(client, admin_headers, "alice")["violations"] == {"rapid_fire": 2}


def test_an_ad_reward_refused_as_rapid_fire_and_sent_again_is_one_violation(
    client, server_headers, admin_headers
):
    for n in range(LIMIT):  # five paid, then the daily cap: each an attempt
        response = client.post(
            "/v1/players/alice/ad-rewards", headers=server_headers | {"Idempotency-Key": f"ad{n}"}
        )
        assert response.status_code in (201, 409)
    for _ in range(5):
        response = client.post(
            "/v1/players/alice/ad-rewards", headers=server_headers | {"Idempotency-Key": "late"}
        )
        assert response.status_code == 429
        assert response.get_json()["error"]["code"] == "rapid_fire"
    flags = flags_of(client, admin_headers, "alice")
    assert (flags["violations"], flags["blocked"]) == ({"rapid_fire": 1}, None)
    response = client.post(
        "/v1/players/alice/ad-rewards", headers=server_headers | {"Idempotency-Key": "later"}
    )
    assert response.status_code == 429
    assert flags_of(client, admin_headers, "alice")["violations"] == {"rapid_fire": 2}
