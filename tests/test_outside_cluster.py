"""Questboard on a Redis Cluster, seen from outside: admin routes and commands that
read or write keys of several hash tags at once."""

from __future__ import annotations

import pytest


def exam(player: str, number: int, score: int) -> dict:
    return {
        "exam_id": f"{player}-{number}",
        "category_id": "math",
        "score": score,
        "total_questions": 10,
        "correct_answers": 9,
    }


@pytest.mark.app_on_both_backends  # fakeredis, Redis, the cluster
def test_a_cheater_comes_off_the_leaderboards_and_the_league(client, server_headers, admin_headers):
    """The removal asks each league period whether its close has begun, two keys of two
    hash tags: on a cluster they are asked apart, not as one cross-slot EXISTS."""
    for player, score in (("alice", 50), ("mallory", 90)):
        response = client.post(
            f"/v1/players/{player}/exams", headers=server_headers, json=exam(player, 1, score)
        )
        assert response.status_code == 201

    response = client.delete("/v1/admin/players/mallory/leaderboards", headers=admin_headers)

    assert response.status_code == 200, response.get_data(True)
    body = response.get_json()
    assert body["cohorts"] == [{"period": "2026-W48", "cohort_id": "bronze-1"}]
    assert {board["board"] for board in body["removed"]} >= {"weekly", "monthly", "yearly"}
    top = client.get("/v1/leaderboards/weekly", headers=server_headers).get_json()
    assert [entry["player_id"] for entry in top["entries"]] == ["alice"]
