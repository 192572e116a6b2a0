"""web.hot_routes answers the wallet and around-me reads as Flask does, byte for byte
(status, headers, body, metrics), and leaves every other request to Flask."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from werkzeug.test import Client, EnvironBuilder, run_wsgi_app

from tests.conftest import SERVER_KEY
from tests.hot_lanes import Lanes, answer_of
from web import hot_routes

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis, Redis, the cluster

WALLET_RULE = "/v1/players/<player:player_id>/wallet"
AROUND_RULE = "/v1/leaderboards/<period_type:period_type>/players/<player:player_id>"
EXAM = {"category_id": "math", "total_questions": 10, "correct_answers": 8}


class Paths(Lanes):
    """The app's two ways in (tests.hot_lanes.Lanes), a GET through each."""

    def answers(self, path: str, headers: dict, method: str = "GET") -> tuple:
        """(Flask's answer, the lane's answer, whether the lane handed it on)."""
        before = self.to_flask
        theirs = self.flask.open(path, method=method, headers=headers)
        ours = self.lane.open(path, method=method, headers=headers)
        return answer_of(theirs), answer_of(ours), self.to_flask > before


@pytest.fixture
def paths(app, client, server_headers, clock):
    for number, score in enumerate((70, 90, 90, 40)):
        response = client.post(
            f"/v1/players/p{number}/exams",
            headers=server_headers,
            json=EXAM | {"exam_id": f"e{number}", "score": score},
        )
        assert response.status_code == 201
        clock.advance(seconds=1)
    return Paths(app)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/players/p1/wallet",
        "/v1/players/new.player:1/wallet",  # no wallet yet: every resource at 0
        "/v1/leaderboards/weekly/players/p1",
        "/v1/leaderboards/weekly/players/p1?around=1",
        "/v1/leaderboards/monthly/players/p3?around=0&category=math",
        "/v1/leaderboards/yearly/players/p0?period=2026&around=50",
        "/v1/leaderboards/weekly/players/p2?period=2026-W48",
    ],
)
def test_a_plain_read_is_answered_by_the_lane_as_flask_answers_it(paths, server_headers, path):
    flask_answer, lane_answer, handed_on = paths.answers(path, server_headers)
    assert flask_answer[0] == "200 OK"
    assert lane_answer == flask_answer
    assert not handed_on


KEY = {"Authorization": f"Bearer {SERVER_KEY}"}


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/players/p1/wallet", {}),  # no key: 401
        ("/v1/players/p1/wallet", {"Authorization": "Bearer wrong"}),
        ("/v1/players/p1/wallet", {"Authorization": "Basic abc"}),
        ("/v1/players/p1/wallet", KEY | {"X-Player-IP": "not an address"}),  # 400
        ("/v1/players/p1/wallet", KEY | {"X-Player-IP": "203.0.113.9"}),  # 200, counted
        ("/v1/leaderboards/weekly/players/p1", KEY | {"X-Player-IP": "2001:db8::1"}),
        ("/v1/leaderboards/weekly/players/p1", {}),  # 401
        ("/v1/leaderboards/weekly/players/nobody", KEY),  # 404 not_ranked
        ("/v1/leaderboards/weekly/players/p1?period=2026-W50", KEY),  # 400: in the future
        ("/v1/leaderboards/weekly/players/p1?period=2020-W01", KEY),  # 404: no longer kept
        ("/v1/leaderboards/weekly/players/p1?category=chess", KEY),  # 404: not on that board
    ],
)
def test_the_lane_answers_errors_and_headers_as_flask(paths, path, headers):
    flask_answer, lane_answer, handed_on = paths.answers(path, headers)
    assert lane_answer == flask_answer
    assert not handed_on


@pytest.mark.parametrize(
    "path",
    [
        "/v1/players/p1/wallet?x=1",  # the wallet takes no query: Flask's 400
        "/v1/players/bad%20id/wallet",  # an id the converter refuses
        "/v1/players/" + "p" * 65 + "/wallet",
        "/v1/players/p1/wallet/",  # Flask's redirect
        "/v1/players/a/b/wallet",
        "/v1/leaderboards/daily/players/p1",
        "/v1/leaderboards/weekly/players/p1?around=51",  # the schema refuses: webargs' 400
        "/v1/leaderboards/weekly/players/p1?around=1&around=2",  # a name twice
        "/v1/leaderboards/weekly/players/p1?around=%31",  # an escape
        "/v1/leaderboards/weekly/players/p1?around",  # no =
        "/v1/leaderboards/weekly/players/p1?limit=3",  # unknown
        "/v1/leaderboards/weekly/players/p1?category=global",  # the schema refuses
        "/v1/leaderboards/weekly/players/p1/",
        "/v1/leaderboards/weekly/player/p1",
    ],
)
def test_anything_but_a_plain_read_is_flasks(paths, server_headers, path):
    flask_answer, lane_answer, handed_on = paths.answers(path, server_headers)
    assert lane_answer == flask_answer
    assert handed_on


@pytest.mark.parametrize("method", ["HEAD", "POST", "DELETE", "OPTIONS"])
def test_other_methods_are_flasks(paths, server_headers, method):
    flask_answer, lane_answer, handed_on = paths.answers(
        "/v1/players/p1/wallet", server_headers, method
    )
    assert lane_answer == flask_answer
    assert handed_on


def test_a_get_with_a_body_is_flasks(paths, server_headers):
    response = paths.lane.get("/v1/players/p1/wallet", headers=server_headers, data=b"{}")
    assert response.status_code == 200
    assert paths.to_flask == 1
    environ = EnvironBuilder(path="/v1/players/p1/wallet", headers=server_headers).get_environ()
    environ["CONTENT_LENGTH"] = "0"  # sent with the header, and no body
    body, status, _ = run_wsgi_app(paths.lane.application, environ, buffered=True)
    assert status == "200 OK"
    assert b"".join(body).startswith(b'{"player_id":"p1"')
    assert paths.to_flask == 1  # no body: the lane's


def test_a_banned_player_is_refused_by_the_lane(paths, client, server_headers, admin_headers):
    response = client.post(
        "/v1/admin/player-bans", headers=admin_headers, json={"player_id": "p1", "reason": "abuse"}
    )
    assert response.status_code == 201
    flask_answer, lane_answer, handed_on = paths.answers("/v1/players/p1/wallet", server_headers)
    assert lane_answer == flask_answer
    assert lane_answer[0] == "403 FORBIDDEN"
    assert not handed_on
    # a leaderboard read only looks at the player: no ban applies there
    flask_answer, lane_answer, _ = paths.answers(
        "/v1/leaderboards/weekly/players/p1", server_headers
    )
    assert lane_answer == flask_answer
    assert lane_answer[0] == "200 OK"


def test_the_lane_counts_reads_in_the_players_window(app, server_headers):
    limit = app.extensions["questboard.engine"].rules.security.limits_for("default").player
    allowed = int(limit.split("/")[0])  # the shipped rules: 120/minute
    lane = Client(app)
    for _ in range(allowed):
        assert lane.get("/v1/players/alice/wallet", headers=server_headers).status_code == 200
    refused = lane.get("/v1/players/alice/wallet", headers=server_headers)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"  # the fixed clock: the whole minute
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert lane.get("/v1/players/bob/wallet", headers=server_headers).status_code == 200


def _count(rule: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "questboard_http_requests_total", {"route": rule, "status": status}
    )
    return value or 0.0


def test_the_lanes_answers_are_counted_in_the_metrics(paths, server_headers):
    before = _count(WALLET_RULE, "200"), _count(WALLET_RULE, "401"), _count(AROUND_RULE, "404")
    paths.lane.get("/v1/players/p1/wallet", headers=server_headers)
    paths.lane.get("/v1/players/p1/wallet")
    paths.lane.get("/v1/leaderboards/weekly/players/nobody", headers=server_headers)
    after = _count(WALLET_RULE, "200"), _count(WALLET_RULE, "401"), _count(AROUND_RULE, "404")
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1]
    assert paths.to_flask == 0


def test_the_lane_stands_aside_when_routing_depends_on_the_host(app, server_headers):
    app.config["SERVER_NAME"] = "api.example"
    paths = Paths(app)
    response = paths.lane.get(
        "/v1/players/p1/wallet", headers=server_headers, base_url="http://api.example"
    )
    assert response.status_code == 200
    assert paths.to_flask == 1


def test_query_arguments():
    assert hot_routes.query_arguments("") == {}
    assert hot_routes.query_arguments("around=3&period=2026-W48") == {
        "around": "3",
        "period": "2026-W48",
    }
    assert hot_routes.query_arguments("around=") == {"around": ""}
    for query in ("around=1&around=2", "around", "a+b=1", "around=%31", "around=1;x=2", "&"):
        assert hot_routes.query_arguments(query) is None


def test_a_short_query_is_loaded_once_a_process(paths, server_headers, monkeypatch):
    loads = []
    original = hot_routes.leaderboards.AROUND_QUERY.load

    def counting(*args, **kwargs):
        loads.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(hot_routes.leaderboards.AROUND_QUERY, "load", counting)
    hot_routes.around_query.cache_clear()
    for _ in range(3):
        flask_answer, lane_answer, handed_on = paths.answers(
            "/v1/leaderboards/weekly/players/p1?around=2", server_headers
        )
        assert lane_answer == flask_answer
        assert not handed_on
    # Flask's own path loads it each time; the lane once
    assert len(loads) == 3 + 1
    long_query = "around=2&period=2026-W48&category=" + "m" * 40
    assert len(long_query) > hot_routes.REMEMBERED_QUERY
    for _ in range(2):
        paths.lane.get(f"/v1/leaderboards/weekly/players/p1?{long_query}", headers=server_headers)
    assert len(loads) == 3 + 1 + 2
