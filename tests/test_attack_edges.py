"""An attacker's view, and an honest client's retries under it: what a request may be
held against, and what it may never gain."""

from __future__ import annotations

import pytest

from tests.conftest import EXAM

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis

IMPOSSIBLE = EXAM | {"exam_id": "tampered-1", "correct_answers": 11}  # 11 of 10


def flags_of(client, admin_headers, player_id: str) -> dict:
    response = client.get(f"/v1/admin/players/{player_id}/flags", headers=admin_headers)
    assert response.status_code == 200
    return response.get_json()


def test_an_impossible_exam_sent_again_is_one_violation_not_a_block(
    client, server_headers, admin_headers
):
    # A game server retrying on a timeout sends the same exam again: the player sent
    # one impossible result, and five copies of it must not block them for an hour.
    for _ in range(6):
        response = client.post("/v1/players/alice/exams", headers=server_headers, json=IMPOSSIBLE)
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "validation_error"
    flags = flags_of(client, admin_headers, "alice")
    assert (flags["violations"], flags["in_window"], flags["blocked"]) == (
        {"impossible_amount": 1},
        1,
        None,
    )
    assert client.post("/v1/players/alice/login", headers=server_headers).status_code == 200


def test_an_impossible_exam_in_a_batch_sent_again_is_one_violation(
    client, server_headers, admin_headers
):
    batch = {"exams": [IMPOSSIBLE | {"player_id": "alice"}]}
    for _ in range(6):
        response = client.post("/v1/exams:batch", headers=server_headers, json=batch)
        assert response.status_code == 200
        assert [item["status"] for item in response.get_json()["results"]] == [400]
    flags = flags_of(client, admin_headers, "alice")
    assert (flags["in_window"], flags["blocked"]) == (1, None)


def test_other_impossible_exams_each_count_and_block_the_player(
    client, server_headers, admin_headers
):
    # What a copy is: the same exam id with the same result. Five different tampered
    # results are five violations, and the fifth blocks, as before.
    for n in range(5):
        body = IMPOSSIBLE | {"exam_id": f"tampered-{n}"}
        response = client.post("/v1/players/alice/exams", headers=server_headers, json=body)
        assert response.status_code == 400
    flags = flags_of(client, admin_headers, "alice")
    assert flags["in_window"] == 5
    assert flags["blocked"] is not None
    # The same exam id with another impossible result is another request: it counts.
    for body in (IMPOSSIBLE, IMPOSSIBLE | {"correct_answers": 12}):
        response = client.post("/v1/players/bob/exams", headers=server_headers, json=body)
        assert response.status_code == 400
    assert flags_of(client, admin_headers, "bob")["in_window"] == 2
