"""web.hot_exam answers a plain exam result as Flask does (status, headers, body,
metrics, what is written), and leaves every other request to Flask.

As in tests/test_hot_purchase.py, the two answers are compared from the same start:
the store is copied, the request goes through Flask, the store is put back, and the
same request goes through the lane, on the same app and clock; what each left in the
store must be the same too.
"""

from __future__ import annotations

import json

import marshmallow as ma
import pytest
from prometheus_client import REGISTRY

from engine.boards import exam_record
from tests.conftest import SERVER_KEY
from tests.hot_lanes import STREAM_ID, answer_of, comparable, restore, snapshot, state
from tests.test_hot_purchase import Paths, tighten
from web import exams

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis, Redis, the cluster

RULE = "/v1/players/<player:player_id>/exams"
KEY = {"Authorization": f"Bearer {SERVER_KEY}"}


def body(exam_id: str = "e1", score: int = 80, category: str = "math", **more) -> bytes:
    fields = {
        "exam_id": exam_id,
        "category_id": category,
        "score": score,
        "total_questions": 10,
        "correct_answers": 8,
        **more,
    }
    return json.dumps(fields).encode()


class ExamPaths(Paths):
    """Paths whose stores are compared with each exam record's summary unpacked: a
    summary names the entries its rewards added to the outbox, whose ids Redis takes
    from its own clock (compared as `ID`, as in the answers)."""

    def answers(self, path: str, headers: dict, body: bytes | None = None, **kwargs) -> tuple:
        options = {"headers": headers, "data": body, **kwargs}
        if body is not None and "content_type" not in kwargs:
            options["content_type"] = "application/json"
        copy = snapshot(self.store)
        theirs = answer_of(self.flask.post(path, **options))
        after_flask = self.state()
        restore(self.store, copy)
        before = self.to_flask
        ours = answer_of(self.lane.post(path, **options))
        assert self.state() == after_flask
        return comparable(theirs), comparable(ours), self.to_flask > before

    def state(self) -> dict:
        values = state(self.store)
        for key in values:
            if b":exam:" in key:
                fingerprint, summary = exam_record.parse(self.store.get(key))
                unpacked = exam_record.unpack(summary) if summary is not None else None
                values[key] = (fingerprint, unpacked and STREAM_ID.sub(b"ID", unpacked))
        return values


@pytest.fixture
def paths(app, store, client, clock):
    # carol has played today: her exams earn no day's bonus; the math boards and their
    # period indexes exist, as after a game's first minutes
    response = client.post(
        "/v1/players/carol/exams",
        headers=KEY,
        data=body("warm-up"),
        content_type="application/json",
    )
    assert response.status_code == 201
    clock.advance(seconds=5)
    return ExamPaths(app, store)


def exam(paths: Paths, player: str, sent: bytes, headers: dict = KEY) -> tuple:
    return paths.answers(f"/v1/players/{player}/exams", headers, sent)


def test_a_plain_exam_is_answered_by_the_lane_as_flask_answers_it(paths):
    flask_answer, lane_answer, handed_on = exam(paths, "carol", body("e1"))
    assert flask_answer[0] == "201 CREATED"
    assert b'"boards":[' in flask_answer[2]
    assert lane_answer == flask_answer
    assert not handed_on


def test_a_players_first_exam_of_the_day_is_answered_alike(paths):
    flask_answer, lane_answer, handed_on = exam(paths, "alice", body("e1"))
    assert flask_answer[0] == "201 CREATED"
    assert b'"daily_bonus":{' in flask_answer[2]  # the day's bonus, missions, XP
    assert lane_answer == flask_answer
    assert not handed_on


def test_a_replay_is_the_first_answer_with_its_header(paths):
    first = paths.lane.post(
        "/v1/players/carol/exams", headers=KEY, data=body("e1"), content_type="application/json"
    )
    assert first.status_code == 201
    flask_answer, lane_answer, handed_on = exam(paths, "carol", body("e1"))
    assert flask_answer[0] == "200 OK"
    assert ("Idempotent-Replayed", "true") in flask_answer[1]
    assert flask_answer[2] == first.get_data()
    assert lane_answer == flask_answer
    assert not handed_on


def test_the_answer_is_the_schemas_dump_as_flask_writes_one(paths):
    """The body is what flask-smorest's dump of ExamSummarySchema, written by the app's
    JSON provider (keys sorted, compact), was: marshmallow's own dump here."""
    response = paths.lane.post(
        "/v1/players/alice/exams", headers=KEY, data=body("e1"), content_type="application/json"
    )
    assert response.status_code == 201
    summary = response.get_json()
    assert summary["progress"]["missions"] and summary["progress"]["xp"] is not None
    dumped = ma.Schema.dump(exams.ExamSummarySchema(), summary)  # marshmallow's machinery
    assert response.get_data() == json.dumps(dumped, sort_keys=True, separators=(",", ":")).encode()


def test_errors_are_answered_as_flask_answers_them(paths):
    rules = paths.lane.application.extensions["questboard.engine"].rules.leaderboards
    cases = [
        ("carol", body("e1"), KEY),  # the exam id's first use
        ("carol", body("e1", score=70), KEY),  # reused with another result: 422
        ("carol", body("e2", score=rules.max_exam_score + 1), KEY),  # impossible: 400
        ("carol", body("e3"), {}),  # 401
        ("carol", body("e3"), {"Authorization": "Bearer wrong"}),  # 401
        ("carol", body("e3"), KEY | {"X-Player-IP": "not an address"}),  # 400
        ("carol", body("e3"), KEY | {"X-Player-IP": "203.0.113.9"}),  # 201 from an address
    ]
    statuses = []
    for player, sent, headers in cases:
        flask_answer, lane_answer, handed_on = exam(paths, player, sent, headers)
        assert lane_answer == flask_answer
        assert not handed_on
        statuses.append(flask_answer[0][:3])  # the next case starts from the lane's state
    assert statuses == ["201", "422", "400", "401", "401", "400", "201"]


def test_a_banned_player_is_refused_by_the_lane(paths, client, admin_headers):
    response = client.post(
        "/v1/admin/player-bans", headers=admin_headers, json={"player_id": "carol", "reason": "x"}
    )
    assert response.status_code == 201
    flask_answer, lane_answer, handed_on = exam(paths, "carol", body("e1"))
    assert flask_answer[0] == "403 FORBIDDEN"
    assert lane_answer == flask_answer
    assert not handed_on


def test_an_address_over_its_exam_limit_is_refused_by_the_lane(paths, app, clock):
    tighten(app, "exams", address="2/minute")
    address = KEY | {"X-Player-IP": "198.51.100.7"}
    for n in range(2):
        clock.advance(seconds=5)
        flask_answer, lane_answer, _ = exam(paths, "carol", body(f"e{n}"), address)
        assert (lane_answer, flask_answer[0]) == (flask_answer, "201 CREATED")
    clock.advance(seconds=5)
    flask_answer, lane_answer, handed_on = exam(paths, "alice", body("e9"), address)
    assert flask_answer[0] == "429 TOO MANY REQUESTS"
    assert lane_answer == flask_answer
    assert not handed_on


PLAIN = body("e1")
CAROL = "/v1/players/carol/exams"


@pytest.mark.parametrize(
    ("path", "headers", "sent", "options"),
    [
        (CAROL, KEY, body("e1", category="global"), {}),  # the schema refuses: 422
        (CAROL, KEY, body("e1", score=-1), {}),
        (CAROL, KEY, body("e1", score=2**31 + 1), {}),
        (CAROL, KEY, body("e1", score=True), {}),
        (CAROL, KEY, body("e1", extra=1), {}),  # unknown field
        (CAROL, KEY, body("bad id"), {}),
        (CAROL, KEY, PLAIN[:-1] + b', "score": 80}', {}),  # a name twice: 400
        (CAROL, KEY, b'{"exam_id": "e1", "score": NaN}', {}),
        (CAROL, KEY, b"[]", {}),
        (CAROL, KEY, b'{"exam_id": "e1"', {}),  # malformed
        (CAROL, KEY, b"", {}),
        (CAROL + "?x=1", KEY, PLAIN, {}),
        (CAROL, KEY, PLAIN, {"content_type": "text/plain"}),
        (CAROL, KEY, PLAIN, {"content_type": "application/json; charset=utf-8"}),
        (CAROL, KEY, PLAIN + b" " * 2_000, {}),  # plain, but longer than the lane reads
        (CAROL, KEY, PLAIN + b" " * 16_384, {}),  # over MAX_CONTENT_LENGTH: 413
        (CAROL, {}, b'{"score": 1}', {}),  # 401 before the body
        ("/v1/players/bad%20id/exams", KEY, PLAIN, {}),
        ("/v1/players/" + "p" * 65 + "/exams", KEY, PLAIN, {}),
        ("/v1/players/a/b/exams", KEY, PLAIN, {}),
        ("/v1/players/exams", KEY, PLAIN, {}),
        (CAROL + "/", KEY, PLAIN, {}),
        ("/v1/exams", KEY, PLAIN, {}),
    ],
)
def test_anything_but_a_plain_exam_is_flasks(paths, path, headers, sent, options):
    flask_answer, lane_answer, handed_on = paths.answers(path, headers, sent, **options)
    assert lane_answer == flask_answer
    assert handed_on


def test_the_lanes_answers_are_counted_once_in_the_metrics(paths):
    def count(status: str) -> float:
        labels = {"route": RULE, "status": status}
        return REGISTRY.get_sample_value("questboard_http_requests_total", labels) or 0.0

    statuses = ("201", "200", "401")
    before = [count(status) for status in statuses]
    for player, sent, headers in (
        ("carol", body("e1"), KEY),
        ("carol", body("e1"), KEY),  # a replay
        ("carol", body("e2"), {}),
        ("alice", body("e1"), KEY),
    ):
        paths.lane.post(
            f"/v1/players/{player}/exams",
            headers=headers,
            data=sent,
            content_type="application/json",
        )
    after = [count(status) for status in statuses]
    assert [b - a for a, b in zip(before, after, strict=True)] == [2, 1, 1]
    assert paths.to_flask == 0


def test_the_lanes_exam_is_on_the_board(paths):
    response = paths.lane.post(
        "/v1/players/dave/exams",
        headers=KEY,
        data=body("e1", score=999),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert paths.to_flask == 0
    weekly = response.get_json()["boards"][0]
    standing = paths.lane.get("/v1/leaderboards/weekly/players/dave", headers=KEY)
    assert standing.status_code == 200
    entry = standing.get_json()["entry"]
    assert (entry["player_id"], entry["score"], entry["rank"]) == ("dave", 999, weekly["rank"])


def test_the_lane_stands_aside_when_routing_depends_on_the_host(app, store, server_headers):
    app.config["SERVER_NAME"] = "api.example"
    paths = Paths(app, store)
    response = paths.lane.post(
        "/v1/players/carol/exams",
        headers=server_headers,
        data=body("e1"),
        content_type="application/json",
        base_url="http://api.example",
    )
    assert response.status_code == 201
    assert paths.to_flask == 1
