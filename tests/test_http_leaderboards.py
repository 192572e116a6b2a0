"""Exams and leaderboards over HTTP: status codes, shapes, bad input."""

from __future__ import annotations

import dataclasses

import pytest

from engine.boards import leaderboards
from web.leaderboards import EntrySchema

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis

EXAM = {
    "exam_id": "att-1",
    "category_id": "math",
    "score": 80,
    "total_questions": 10,
    "correct_answers": 8,
}


def post_exam(client, headers, player="alice", **changes):
    return client.post(f"/v1/players/{player}/exams", headers=headers, json=EXAM | changes)


def error_code(response):
    return response.get_json()["error"]["code"]


def test_an_exam_is_201_with_its_summary_and_its_replay_200_with_the_same(client, server_headers):
    first = post_exam(client, server_headers)
    again = post_exam(client, server_headers)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    summary = first.get_json()
    assert summary["exam_id"] == "att-1"
    assert [  # a list, so a board listed twice is seen
        (b["board"], b["category"], b["period"], b["score"], b["rank"]) for b in summary["boards"]
    ] == [
        ("weekly", None, "2026-W48", 80, 1),
        ("weekly", "math", "2026-W48", 80, 1),
        ("monthly", None, "2026-11", 80, 1),
        ("monthly", "math", "2026-11", 80, 1),
        ("yearly", None, "2026", 80, 1),
        ("yearly", "math", "2026", 80, 1),
    ]


def test_a_reused_exam_id_is_422(client, server_headers):
    post_exam(client, server_headers)
    response = post_exam(client, server_headers, score=81)
    assert response.status_code == 422
    assert error_code(response) == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"correct_answers": 11}, "correct_answers"),
        ({"score": -1}, "score"),
        ({"score": 10_001}, "score"),
        ({"total_questions": 0}, "total_questions"),
        ({"score": "80"}, "score"),
        ({"exam_id": "has space"}, "exam_id"),
        ({"category_id": "global"}, "category_id"),
        ({"category_id": ""}, "category_id"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_exams_are_400(client, server_headers, changes, field):
    response = post_exam(client, server_headers, **changes)
    assert response.status_code == 400
    assert error_code(response) == "validation_error"
    assert list(response.get_json()["error"]["details"]) == [field]


def test_the_board_page(client, server_headers, clock):
    post_exam(client, server_headers, "alice")
    clock.advance(seconds=1)
    post_exam(client, server_headers, "bob", exam_id="att-2", score=90)
    response = client.get("/v1/leaderboards/weekly?limit=10", headers=server_headers)
    assert response.status_code == 200
    page = response.get_json()
    assert page["board"] == "weekly"
    assert page["category"] is None
    assert page["period"] == "2026-W48"
    assert page["next_reset_at"] == "2026-11-30T03:00:00+00:00"
    assert page["total_players"] == 2
    assert page["source"] == "live"
    assert page["snapshot_at"] is None
    first_exam = {
        "exams": 1,
        "questions": 10,
        "correct": 8,
        "accuracy": 0.8,
        "rank_previous": None,
        "movement": "new",
    }
    assert page["entries"] == [
        {"rank": 1, "player_id": "bob", "score": 90} | first_exam,
        {"rank": 2, "player_id": "alice", "score": 80} | first_exam,
    ]


def test_a_category_board_and_a_past_period(client, server_headers, clock):
    post_exam(client, server_headers)
    clock.advance(days=7)
    response = client.get(
        "/v1/leaderboards/weekly?category=math&period=2026-W48", headers=server_headers
    )
    assert response.status_code == 200
    assert [e["player_id"] for e in response.get_json()["entries"]] == ["alice"]
    current = client.get("/v1/leaderboards/weekly?category=math", headers=server_headers)
    assert current.get_json()["entries"] == []
    assert current.get_json()["period"] == "2026-W49"


def test_the_top_is_live_after_a_snapshot_and_the_snapshot_is_served_on_request(
    app, client, server_headers, clock
):
    post_exam(client, server_headers, "alice")
    result = app.test_cli_runner().invoke(args=["questboard", "leaderboard-snapshot"])
    assert result.exit_code == 0
    assert "Snapshot 6 boards" in result.output
    clock.advance(minutes=1)
    post_exam(client, server_headers, "bob", exam_id="att-2", score=90)

    live = client.get("/v1/leaderboards/monthly", headers=server_headers)
    assert live.status_code == 200
    page = live.get_json()
    assert (page["source"], page["snapshot_at"], page["total_players"]) == ("live", None, 2)
    assert [
        (e["player_id"], e["rank"], e["rank_previous"], e["movement"]) for e in page["entries"]
    ] == [
        ("bob", 1, None, "new"),
        ("alice", 2, 1, "down"),
    ]

    frozen = client.get("/v1/leaderboards/monthly?source=snapshot", headers=server_headers)
    assert frozen.status_code == 200
    page = frozen.get_json()
    assert page["source"] == "snapshot"
    assert page["snapshot_at"] == "2026-11-25T12:00:00+00:00"
    assert page["total_players"] == 2  # the live board's count
    assert [
        (e["player_id"], e["rank"], e["rank_previous"], e["movement"]) for e in page["entries"]
    ] == [("alice", 1, None, "new")]
    past_top = client.get(
        "/v1/leaderboards/monthly?source=snapshot&offset=100", headers=server_headers
    )
    assert (past_top.status_code, past_top.get_json()["entries"]) == (200, [])
    both = client.get("/v1/leaderboards/monthly?source=snapshot&fresh=true", headers=server_headers)
    assert both.get_json()["source"] == "snapshot"
    again = client.get("/v1/leaderboards/monthly?fresh=true", headers=server_headers).get_json()
    assert again["source"] == "live"


def test_a_snapshot_read_without_a_snapshot_is_404(client, server_headers):
    post_exam(client, server_headers)
    response = client.get("/v1/leaderboards/weekly?source=snapshot", headers=server_headers)
    assert response.status_code == 404
    assert response.get_json()["error"] == {
        "code": "not_found",
        "message": "This board has no snapshot yet; read it live.",
        "details": {"board": "weekly", "category": None, "period": "2026-W48"},
    }


def test_a_past_period_answers_its_own_end_and_the_current_one_its_next_reset(
    client, server_headers, clock
):
    post_exam(client, server_headers)  # November
    clock.advance(days=7)  # 2 December: November is past
    past = client.get("/v1/leaderboards/monthly?period=2026-11", headers=server_headers)
    assert past.status_code == 200
    body = past.get_json()
    assert body["ended_at"] == "2026-12-01T03:00:00+00:00"
    assert "next_reset_at" not in body
    assert [e["player_id"] for e in body["entries"]] == ["alice"]
    around = client.get(
        "/v1/leaderboards/monthly/players/alice?period=2026-11", headers=server_headers
    ).get_json()
    assert around["ended_at"] == "2026-12-01T03:00:00+00:00"
    assert "next_reset_at" not in around
    october = client.get("/v1/leaderboards/monthly?period=2026-10", headers=server_headers)
    assert october.get_json()["ended_at"] == "2026-11-01T03:00:00+00:00"

    current = client.get("/v1/leaderboards/monthly", headers=server_headers).get_json()
    assert current["next_reset_at"] == "2027-01-01T03:00:00+00:00"
    assert "ended_at" not in current
    named = client.get("/v1/leaderboards/monthly?period=2026-12", headers=server_headers)
    assert named.get_json()["next_reset_at"] == "2027-01-01T03:00:00+00:00"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/leaderboards/daily", 400, "validation_error"),
        ("/v1/leaderboards/weekly?limit=0", 400, "validation_error"),
        ("/v1/leaderboards/weekly?limit=101", 400, "validation_error"),
        ("/v1/leaderboards/weekly?offset=-1", 400, "validation_error"),
        ("/v1/leaderboards/weekly?period=2026-W99", 400, "validation_error"),
        ("/v1/leaderboards/weekly?period=2026-W49", 400, "validation_error"),
        ("/v1/leaderboards/weekly?category=no%20spaces", 400, "validation_error"),
        ("/v1/leaderboards/weekly?sort=asc", 400, "validation_error"),
        ("/v1/leaderboards/weekly?source=cache", 400, "validation_error"),
        ("/v1/leaderboards/weekly?period=2025-W01", 404, "period_expired"),
        ("/v1/leaderboards/monthly/players/alice?around=51", 400, "validation_error"),
        ("/v1/leaderboards/monthly/players/nobody", 404, "not_ranked"),
        ("/v1/leaderboards/monthly/players/bad%20id", 400, "validation_error"),
    ],
)
def test_bad_reads(client, server_headers, path, status, code):
    post_exam(client, server_headers)
    response = client.get(path, headers=server_headers)
    assert response.status_code == status
    assert error_code(response) == code


def test_around_me(client, server_headers, clock):
    for n in range(5):
        post_exam(client, server_headers, f"p{n}", exam_id=f"e{n}", score=50 - n)
        clock.advance(seconds=1)
    body = client.get(
        "/v1/leaderboards/weekly/players/p2?around=1", headers=server_headers
    ).get_json()
    assert body["entry"]["player_id"] == "p2"
    assert body["entry"]["rank"] == 3
    assert [e["player_id"] for e in body["above"]] == ["p1"]
    assert [e["player_id"] for e in body["below"]] == ["p3"]
    assert body["total_players"] == 5


CLOSED_PAGE_ONLY = ("prize", "prize_refused")  # what a past period's page adds to an entry
ENTRY_FIELDS = [name for name in EntrySchema().fields if name not in CLOSED_PAGE_ONLY]


def test_an_engine_entry_has_the_fields_of_the_answers_entry_in_its_order():
    # the routes hand an Entry to orjson as it is: its fields are the answer's
    assert [f.name for f in dataclasses.fields(leaderboards.Entry)] == ENTRY_FIELDS


def test_around_me_answers_each_entrys_fields_in_the_schemas_order(client, server_headers):
    post_exam(client, server_headers, "alice", exam_id="e1", score=90, correct_answers=9)
    post_exam(client, server_headers, "bob", exam_id="e2", score=80, correct_answers=2)
    post_exam(
        client,
        server_headers,
        "carol",
        exam_id="e3",
        score=70,
        total_questions=3,
        correct_answers=2,
    )
    body = client.get(
        "/v1/leaderboards/weekly/players/bob?around=1", headers=server_headers
    ).get_json()
    entries = [*body["above"], body["entry"], *body["below"]]
    assert [list(entry) for entry in entries] == [ENTRY_FIELDS] * 3
    assert [tuple(entry.values()) for entry in entries] == [
        (1, "alice", 90, 1, 10, 9, 0.9, None, "new"),
        (2, "bob", 80, 1, 10, 2, 0.2, None, "new"),
        (3, "carol", 70, 1, 3, 2, 0.6667, None, "new"),
    ]


def test_a_players_ranks(client, server_headers):
    post_exam(client, server_headers)
    body = client.get("/v1/players/alice/ranks", headers=server_headers).get_json()
    assert body["player_id"] == "alice"
    assert [(b["board"], b["category"], b["entry"]["rank"]) for b in body["boards"]] == [
        ("weekly", None, 1),
        ("weekly", "math", 1),
        ("monthly", None, 1),
        ("monthly", "math", 1),
        ("yearly", None, 1),
        ("yearly", "math", 1),
    ]
    empty = client.get("/v1/players/nobody/ranks", headers=server_headers).get_json()
    assert empty == {"player_id": "nobody", "boards": []}


def listing(entries):
    return [(e["player_id"], e["score"], e["rank"]) for e in entries]


def test_a_tie_within_one_second_lists_the_first_to_reach_it_first_everywhere(
    app, client, server_headers
):
    """alice reached 50 before bob, in the same second: she is listed first, in the top,
    around each of them, and in the snapshot."""
    for n, (player, score) in enumerate([("alice", 50), ("bob", 50), ("dora", 70), ("eve", 30)]):
        posted = post_exam(client, server_headers, f"{player}-7", exam_id=f"e{n}", score=score)
        assert posted.status_code == 201
    expected = [("dora-7", 70, 1), ("alice-7", 50, 2), ("bob-7", 50, 2), ("eve-7", 30, 4)]
    board = "/v1/leaderboards/weekly?category=math"
    assert listing(client.get(board, headers=server_headers).get_json()["entries"]) == expected

    def around(player):
        path = f"/v1/leaderboards/weekly/players/{player}?category=math&around=1"
        body = client.get(path, headers=server_headers).get_json()
        return listing(body["above"]), listing([body["entry"]]), listing(body["below"])

    assert around("alice-7") == ([expected[0]], [expected[1]], [expected[2]])
    assert around("bob-7") == ([expected[1]], [expected[2]], [expected[3]])

    app.test_cli_runner().invoke(args=["questboard", "leaderboard-snapshot"])
    frozen = client.get(f"{board}&source=snapshot", headers=server_headers).get_json()
    assert frozen["source"] == "snapshot"
    assert listing(frozen["entries"]) == expected
    previous = [(e["player_id"], e["rank_previous"]) for e in frozen["entries"]]
    live = client.get(board, headers=server_headers).get_json()["entries"]
    assert [(e["player_id"], e["rank_previous"], e["movement"]) for e in live] == [
        (player, rank, "same") for player, _, rank in expected
    ]
    assert previous == [(player, None) for player, _, _ in expected]


def test_a_tie_within_one_second_follows_arrival_not_the_player_id(client, server_headers):
    for n, player in enumerate(["bob", "zoe", "alice"]):
        assert (
            post_exam(client, server_headers, player, exam_id=f"e{n}", score=50).status_code == 201
        )
    page = client.get("/v1/leaderboards/weekly", headers=server_headers).get_json()
    assert listing(page["entries"]) == [("bob", 50, 1), ("zoe", 50, 1), ("alice", 50, 1)]
