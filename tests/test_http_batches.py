"""The batch routes: many players' items in one request, each answered on its own.

`POST /v1/exams:batch`, `POST /v1/admin/grants:batch`, `GET /v1/wallets`: each item
gets the status and body its single route would have answered, a bad item does not
stop the others, and the same batch sent again answers the same (replays marked).
Here the exams' batch; the grants' batch and the wallets: tests/test_http_batches_grants.py.
"""

from __future__ import annotations

import json

import pytest

from bench.redis_count import sent_commands
from tests.conftest import EXAM, error_of
from tests.http_batches import ban_player, error_of_item

BOTH = pytest.mark.app_on_both_backends  # the app on each backend where Redis decides

EXAMS = "/v1/exams:batch"


def exam(player: str, exam_id: str, score: int = 10, correct: int = 5, **more) -> dict:
    item = {
        "player_id": player,
        "exam_id": exam_id,
        "category_id": "math",
        "score": score,
        "total_questions": 10,
        "correct_answers": correct,
    }
    return item | more


def send_exams(client, headers, items):
    response = client.post(EXAMS, headers=headers, json={"exams": items})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def weekly_top(client, headers) -> list[tuple[str, int]]:
    entries = client.get("/v1/leaderboards/weekly", headers=headers).get_json()["entries"]
    return [(entry["player_id"], entry["score"]) for entry in entries]


@BOTH
def test_an_exam_batch_answers_each_item_as_the_single_route_would(client, server_headers):
    results = send_exams(
        client, server_headers, [exam("alice", "a1", 40, 8), exam("bob", "b1", 30, 6)]
    )
    single = client.post(
        "/v1/players/carol/exams",
        headers=server_headers,
        json={k: v for k, v in exam("carol", "c1", 20, 4).items() if k != "player_id"},
    )

    assert [(r["status"], r["replayed"], r["error"]) for r in results] == [(201, False, None)] * 2
    alice = results[0]["result"]
    assert set(alice) == set(single.get_json())
    assert (alice["player_id"], alice["exam_id"], alice["score"]) == ("alice", "a1", 40)
    assert [board["rank"] for board in alice["boards"]] == [1] * 6
    assert [board["rank"] for board in results[1]["result"]["boards"]] == [2] * 6
    assert weekly_top(client, server_headers) == [("alice", 40), ("bob", 30), ("carol", 20)]


@BOTH
def test_a_bad_item_is_answered_with_its_error_and_the_others_count(client, server_headers):
    results = send_exams(
        client,
        server_headers,
        [
            exam("alice", "a1", 40, 8),
            exam("bob", "b1", 30, correct=11),  # more correct answers than questions
            exam("carol", "c1", 20, 4),
        ],
    )

    assert [r["status"] for r in results] == [201, 400, 201]
    assert results[1] == {
        "status": 400,
        "replayed": False,
        "result": None,
        "error": {
            "code": "validation_error",
            "message": "The exam result is not valid.",
            "details": {"correct_answers": ["Must be between 0 and total_questions."]},
        },
    }
    assert weekly_top(client, server_headers) == [("alice", 40), ("carol", 20)]


@BOTH
def test_an_impossible_item_is_a_violation_of_its_player_as_on_the_single_route(
    client, server_headers, admin_headers, rules
):
    too_high = rules.leaderboards.max_exam_score + 1

    results = send_exams(client, server_headers, [exam("bob", "b1", too_high), exam("ann", "a1")])

    assert [r["status"] for r in results] == [400, 201]
    assert error_of_item(results[0])["details"] == {
        "score": [f"Must be between 0 and {rules.leaderboards.max_exam_score}."]
    }
    flags = client.get("/v1/admin/players/bob/flags", headers=admin_headers).get_json()
    assert flags["violations"] == {"impossible_amount": 1}


@BOTH
def test_a_replayed_batch_answers_the_same_and_counts_nothing_twice(client, server_headers):
    items = [exam("alice", "a1", 40, 8), exam("bob", "b1", 30, correct=11), exam("bob", "b2")]
    first = send_exams(client, server_headers, items)

    again = send_exams(client, server_headers, items)

    assert [r["status"] for r in first] == [201, 400, 201]
    assert [r["status"] for r in again] == [200, 400, 200]
    assert [r["replayed"] for r in again] == [True, False, True]
    assert [r["result"] for r in again] == [r["result"] for r in first]
    assert again[1]["error"] == first[1]["error"]
    assert weekly_top(client, server_headers) == [("alice", 40), ("bob", 10)]


@BOTH
def test_each_item_has_its_own_exam_id_idempotency(client, server_headers):
    single = client.post(
        "/v1/players/alice/exams",
        headers=server_headers,
        json={k: v for k, v in exam("alice", "a1", 40, 8).items() if k != "player_id"},
    ).get_json()

    results = send_exams(
        client,
        server_headers,
        [
            exam("alice", "a1", 40, 8),  # the same attempt: a replay
            exam("alice", "a2", 50, 9),  # a new one
            exam("bob", "a1", 40, 8),  # another player's a1: new
            exam("alice", "a1", 45, 8),  # a1 again with other content
        ],
    )

    assert [(r["status"], r["replayed"]) for r in results] == [
        (200, True),
        (201, False),
        (201, False),
        (422, False),
    ]
    assert results[0]["result"] == single
    assert error_of_item(results[3])["code"] == "idempotency_key_reused"
    assert weekly_top(client, server_headers) == [("alice", 90), ("bob", 40)]


@BOTH
def test_a_players_backlog_in_one_batch_is_no_rapid_fire_of_theirs(
    client, server_headers, admin_headers, rules
):
    """A game server delivering a player's exams after an outage sends them together:
    their arrival in one second is the server's doing, so none is refused as rapid fire,
    no violation is held against the player and no automatic block follows."""
    security = rules.security
    backlog = security.max_changes_per_second + security.block_after_violations + 1
    items = [exam("alice", f"a{n}") for n in range(backlog)] + [exam("bob", "b1")]

    results = send_exams(client, server_headers, items)

    assert [r["status"] for r in results] == [201] * (backlog + 1)
    assert weekly_top(client, server_headers) == [("alice", 10 * backlog), ("bob", 10)]
    flags = client.get("/v1/admin/players/alice/flags", headers=admin_headers).get_json()
    assert flags["in_window"] == 0
    single = client.post("/v1/players/alice/exams", headers=server_headers, json=EXAM)
    assert single.status_code == 201  # not blocked


@BOTH
def test_the_single_route_still_judges_the_pace_a_batch_left_alone(client, server_headers, rules):
    pace = rules.security.max_changes_per_second  # the clock stands still: one second
    send_exams(client, server_headers, [exam("alice", f"b{n}") for n in range(pace)])
    answers = [
        client.post(
            "/v1/players/alice/exams", headers=server_headers, json=EXAM | {"exam_id": f"s{n}"}
        )
        for n in range(pace + 1)
    ]

    assert [answer.status_code for answer in answers] == [201] * pace + [429]
    assert error_of(answers[pace])["code"] == "rapid_fire"


@BOTH
def test_a_batch_counts_each_item_against_its_players_rate_limit(
    client, server_headers, rules, clock
):
    limit = rules.security.limits_for("exams").player  # "60/minute"
    count = int(limit.split("/")[0])
    pace = rules.security.max_changes_per_second
    results = []
    for second in range(count // pace + 1):  # within the pace, a second at a time
        items = [exam("alice", f"a{second}-{n}") for n in range(pace)]
        results += send_exams(client, server_headers, items)
        clock.advance(seconds=1)
    bob = send_exams(client, server_headers, [exam("bob", "b1")])

    assert [r["status"] for r in results] == [201] * count + [429] * (len(results) - count)
    assert error_of_item(results[-1])["code"] == "rate_limited"
    assert bob[0]["status"] == 201
    assert weekly_top(client, server_headers) == [("alice", 10 * count), ("bob", 10)]


@BOTH
def test_a_banned_players_items_are_refused_and_the_others_count(
    client, server_headers, admin_headers
):
    ban = ban_player(client, admin_headers, "mallory")

    results = send_exams(
        client, server_headers, [exam("alice", "a1"), exam("mallory", "m1", 90), exam("bob", "b1")]
    )

    assert [r["status"] for r in results] == [201, 403, 201]
    assert error_of_item(results[1]) == {
        "code": "banned",
        "message": "This player or address is banned.",
        "details": {"reason": "bot", "ban_id": ban["id"], "kind": "player", "expires_at": None},
    }
    assert weekly_top(client, server_headers) == [("alice", 10), ("bob", 10)]


def test_a_malformed_batch_is_refused_whole(client, server_headers):
    too_many = [exam("alice", f"a{n}") for n in range(501)]
    for body in (
        {"exams": []},
        {"exams": too_many},
        {"exams": [exam("alice", "a1", unknown=1)]},
        {"exams": [exam("bad id", "a1")]},
        {},
    ):
        response = client.post(EXAMS, headers=server_headers, json=body)
        assert response.status_code == 400
        assert error_of(response)["code"] == "validation_error"
    assert weekly_top(client, server_headers) == []


def test_a_batch_body_may_be_larger_than_a_single_routes(client, server_headers, app):
    items = [exam(f"p{n}", f"exam-{n:04d}") for n in range(160)]
    assert len(json.dumps({"exams": items})) > app.config["MAX_CONTENT_LENGTH"]

    results = send_exams(client, server_headers, items)

    assert [r["status"] for r in results] == [201] * 160


def test_an_exam_batch_takes_a_fixed_number_of_round_trips(standalone_client, server_headers):
    client = standalone_client
    send_exams(client, server_headers, [exam("warm", "w1")])  # scripts loaded
    items = [exam(f"p{n}", "e1") for n in range(40)]

    with sent_commands() as sent:
        results = send_exams(client, server_headers, items)

    assert [r["status"] for r in results] == [201] * 40
    # record_exams per shard, update_board per board, the summaries; the players' bans
    # come from the process's copy (engine.security.ban_cache), as on the single route
    assert sent.round_trips == 3
