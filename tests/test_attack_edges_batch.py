"""A batch that gets its player blocked: the items after the one that blocks them are
answered as their single route would be once the player is blocked, 403 banned, and
count nothing; the items before it, and other players' items, count as sent."""

from __future__ import annotations

import pytest

from tests.conftest import EXAM

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis

BLOCK_AFTER = 5  # the rules' block_after_violations


def impossible(n: int) -> dict:
    return EXAM | {"player_id": "mallory", "exam_id": f"tampered-{n}", "correct_answers": 11}


def valid(player_id: str, exam_id: str) -> dict:
    return EXAM | {"player_id": player_id, "exam_id": exam_id}


def test_a_players_exams_after_the_violation_that_blocks_them_count_nothing(
    client, server_headers, admin_headers
):
    exams = [
        valid("mallory", "before"),
        *[impossible(n) for n in range(BLOCK_AFTER)],
        valid("mallory", "after-1"),
        valid("alice", "a1"),
        valid("mallory", "after-2"),
    ]
    response = client.post("/v1/exams:batch", headers=server_headers, json={"exams": exams})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [item["status"] for item in results] == [201] + [400] * BLOCK_AFTER + [403, 201, 403]
    flags = client.get("/v1/admin/players/mallory/flags", headers=admin_headers).get_json()
    block = flags["blocked"]
    assert block["created_by"] == "automatic"
    for item in (results[-3], results[-1]):
        assert (item["replayed"], item["result"]) == (False, None)
        assert item["error"]["code"] == "banned"
        assert item["error"]["details"]["ban_id"] == block["id"]

    # Only the exam sent before the block is on mallory's boards; alice's counts.
    standing = client.get("/v1/leaderboards/weekly/players/mallory", headers=server_headers)
    assert standing.status_code == 200
    assert (standing.get_json()["entry"]["exams"], standing.get_json()["entry"]["score"]) == (
        1,
        EXAM["score"],
    )
    alice = client.get("/v1/leaderboards/weekly/players/alice", headers=server_headers)
    assert alice.get_json()["entry"]["exams"] == 1

    # Sent again: mallory is blocked, so every item of hers is 403; alice's a replay.
    again = client.post("/v1/exams:batch", headers=server_headers, json={"exams": exams})
    assert [item["status"] for item in again.get_json()["results"]] == (
        [403] * (BLOCK_AFTER + 2) + [200, 403]
    )


def test_the_same_exams_sent_one_by_one_answer_the_same(client, server_headers):
    # What the batch is held to: its items, each answered as its single route would be.
    statuses = []
    for exam in [
        valid("mallory", "before"),
        *[impossible(n) for n in range(BLOCK_AFTER)],
        valid("mallory", "after-1"),
    ]:
        body = {name: value for name, value in exam.items() if name != "player_id"}
        response = client.post("/v1/players/mallory/exams", headers=server_headers, json=body)
        statuses.append(response.status_code)
    assert statuses == [201] + [400] * BLOCK_AFTER + [403]
