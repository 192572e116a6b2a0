"""Fraud detection and alerts through HTTP: each rule, its event, the block, the alert."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.conftest import EXAM, error_of
from web import create_app

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis

# Fraud detection --------------------------------------------------------------------


def events(client, admin_headers, **query):
    response = client.get("/v1/admin/security/events", headers=admin_headers, query_string=query)
    assert response.status_code == 200
    return response.get_json()["events"]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        ("POST", "/v1/players/alice/exams", EXAM | {"score": 10_001}, {}),
        ("POST", "/v1/players/alice/exams", EXAM | {"correct_answers": 11}, {}),
    ],
)
def test_impossible_amounts_are_refused_and_recorded(
    client, server_headers, admin_headers, method, path, body, headers
):
    response = client.open(
        path,
        method=method,
        headers=server_headers | headers | {"X-Player-IP": "192.0.2.5"},
        json=body,
    )
    assert response.status_code == 400
    [event] = events(client, admin_headers, player_id="alice")
    assert event["rule"] == "impossible_amount"
    assert event["address"] == "192.0.2.5"
    assert event["action"] == "refused"
    flags = client.get("/v1/admin/players/alice/flags", headers=admin_headers).get_json()
    assert flags["violations"] == {"impossible_amount": 1}
    assert flags["blocked"] is None


def test_a_quantity_above_the_maximum_is_a_validation_error_and_nothing_more(
    client, server_headers, admin_headers
):
    for n in range(6):  # more than block_after_violations
        response = client.post(
            "/v1/players/alice/purchases",
            headers=server_headers | {"Idempotency-Key": f"k{n}", "X-Player-IP": "192.0.2.5"},
            json={"item": "logs", "quantity": 101},
        )
        assert response.status_code == 400
        assert error_of(response) == {
            "code": "validation_error",
            "message": "Quantity must be between 1 and 100 for logs.",
            "details": {"quantity": ["Must be between 1 and 100."]},
        }
    assert events(client, admin_headers) == []
    flags = client.get("/v1/admin/players/alice/flags", headers=admin_headers).get_json()
    assert (flags["violations"], flags["in_window"], flags["blocked"]) == ({}, 0, None)
    assert client.post("/v1/players/alice/login", headers=server_headers).status_code == 200


def test_an_admins_refused_grant_is_the_admins_error_not_the_players(
    client, server_headers, admin_headers
):
    for n in range(6):  # more than block_after_violations
        response = client.post(
            "/v1/admin/players/alice/grants",
            headers=admin_headers | {"Idempotency-Key": f"big-{n}"},
            json={"resources": {"coins": 10**9 + 1}, "reason": "oops"},
        )
        assert response.status_code == 400
        assert error_of(response) == {
            "code": "validation_error",
            "message": "The grant is not valid.",
            "details": {
                "resources.coins": ["Must be non-zero, between -1000000000 and 1000000000."]
            },
        }
    assert events(client, admin_headers) == []
    flags = client.get("/v1/admin/players/alice/flags", headers=admin_headers).get_json()
    assert (flags["violations"], flags["in_window"], flags["blocked"]) == ({}, 0, None)
    wallet = client.get("/v1/players/alice/wallet", headers=server_headers)
    assert wallet.status_code == 200
    assert wallet.get_json()["balances"]["coins"] == 0


def test_rapid_fire_is_refused_and_recorded(client, server_headers, admin_headers):
    codes = [
        client.post(
            "/v1/players/alice/exams", headers=server_headers, json=EXAM | {"exam_id": f"r{n}"}
        ).status_code
        for n in range(10)
    ]
    assert codes == [201] * 8 + [429, 429]  # the clock stands still: all in one second
    refused = client.post(
        "/v1/players/alice/exams", headers=server_headers, json=EXAM | {"exam_id": "r99"}
    )
    assert error_of(refused)["code"] == "rapid_fire"
    assert refused.headers["Retry-After"] == "1"
    recorded = events(client, admin_headers, rule="rapid_fire")
    assert [
        (e["player_id"], e["action"], e["at"], e["details"]) for e in recorded
    ] == [  # newest first: one event for each refusal
        ("alice", "refused", "2026-11-25T12:00:00+00:00", {"count": count, "limit": 8})
        for count in (11, 10, 9)
    ]


def test_daily_earning_caps_cut_the_reward_and_record_it(
    app, client, server_headers, admin_headers, clock
):
    engine = app.extensions["questboard.engine"]
    security = engine.rules.security
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(
            security, daily_earning_caps={**security.daily_earning_caps, "ad_reward": {"coins": 12}}
        ),
    )
    paid = []
    for n in range(3):
        clock.advance(seconds=1)
        response = client.post(
            "/v1/players/alice/ad-rewards", headers=server_headers | {"Idempotency-Key": f"ad{n}"}
        )
        assert response.status_code == 201
        paid.append(response.get_json()["reward"])
    assert paid == [{"coins": 5}, {"coins": 5}, {"coins": 2}]
    [event] = events(client, admin_headers, rule="daily_earning_cap")
    assert event["details"] == {
        "kind": "ad_reward",
        "resource": "coins",
        "cap": 12,
        "earned": 10,
        "refused": 3,
    }
    assert event["action"] == "capped"


def test_too_many_violations_block_the_player(client, server_headers, admin_headers, clock, caplog):
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        for n in range(5):
            clock.advance(seconds=1)
            response = client.post(
                "/v1/players/mallory/exams",
                headers=server_headers,
                json=EXAM | {"exam_id": f"x{n}", "correct_answers": 99},
            )
            assert response.status_code == 400
            assert error_of(response)["code"] == "validation_error"
    reason = "automatic: 5 fraud violations in 60 minutes (last: impossible_amount)"
    flags = client.get("/v1/admin/players/mallory/flags", headers=admin_headers).get_json()
    ban = flags["blocked"]
    assert flags == {
        "player_id": "mallory",
        "violations": {"impossible_amount": 5},
        "in_window": 5,
        "window_minutes": 60,
        "blocked": {
            "id": ban["id"],
            "kind": "player",
            "target": "mallory",
            "reason": reason,
            "created_at": "2026-11-25T12:00:05+00:00",
            "expires_at": "2026-11-25T13:00:05+00:00",
            "created_by": "automatic",
        },
    }
    blocked = client.post("/v1/players/mallory/login", headers=server_headers)
    assert blocked.status_code == 403
    assert error_of(blocked)["details"] == {
        "ban_id": ban["id"],
        "kind": "player",
        "reason": reason,
        "expires_at": "2026-11-25T13:00:05+00:00",
    }
    alert = {
        "alert": "player_blocked",
        "message": "Player mallory blocked for 60 minutes: 5 fraud violations in 60 minutes.",
        "details": {"player_id": "mallory", "ban_id": ban["id"], "last_rule": "impossible_amount"},
        "at": "2026-11-25T12:00:05+00:00",
    }
    logged = [r.getMessage() for r in caplog.records if r.name == "questboard.alerts"]
    assert logged == [json.dumps(alert, sort_keys=True)]  # one block, one alert
    clock.advance(minutes=61)  # block_minutes = 60
    assert client.post("/v1/players/mallory/login", headers=server_headers).status_code == 200


def test_the_event_list_filters_and_validates(client, server_headers, admin_headers):
    client.post(
        "/v1/players/alice/exams", headers=server_headers, json=EXAM | {"correct_answers": 99}
    )
    client.post("/v1/players/bob/exams", headers=server_headers, json=EXAM | {"score": 10**6})
    assert {e["player_id"] for e in events(client, admin_headers)} == {"alice", "bob"}
    assert [e["player_id"] for e in events(client, admin_headers, player_id="bob")] == ["bob"]
    assert events(client, admin_headers, rule="rapid_fire") == []
    assert len(events(client, admin_headers, limit=1)) == 1
    bad = client.get("/v1/admin/security/events?limit=0", headers=admin_headers)
    assert bad.status_code == 400


# Alerts -----------------------------------------------------------------------------


class Receiver:
    """A local webhook receiver that remembers what was posted to it."""

    def __init__(self):
        self.posts = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                receiver.posts.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()
                receiver.arrived.set()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def test_a_burst_of_violations_raises_one_alert(
    settings, store, clock, receiver, server_headers, caplog
):
    app = create_app(
        dataclasses.replace(settings, alert_webhook_url=receiver.url),
        redis_client=store,
        clock=clock,
    )
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        for n in range(23):  # alert_violations_per_minute = 20
            response = client.post(
                f"/v1/players/p{n}/exams",
                headers=server_headers,
                json=EXAM | {"exam_id": "bad", "correct_answers": 99},
            )
            assert response.status_code == 400
            assert error_of(response)["code"] == "validation_error"
    alert = {
        "alert": "fraud_violations",
        "message": "More than 20 fraud violations in one minute.",
        "details": {
            "minute": "2026-11-25T12:00:00+00:00",
            "last_rule": "impossible_amount",
            "last_player": "p20",
        },
        "at": "2026-11-25T12:00:00+00:00",
    }
    # Each alert is logged before its webhook thread starts: one line, one post.
    logged = [r.getMessage() for r in caplog.records if r.name == "questboard.alerts"]
    assert logged == [json.dumps(alert, sort_keys=True)]
    assert receiver.arrived.wait(timeout=10)
    assert receiver.posts == [alert]


def test_a_failing_webhook_never_breaks_a_request(settings, store, clock, server_headers):
    app = create_app(
        dataclasses.replace(settings, alert_webhook_url="http://127.0.0.1:9/nothing"),
        redis_client=store,
        clock=clock,
    )
    client = app.test_client()
    for n in range(22):
        response = client.post(
            f"/v1/players/p{n}/exams",
            headers=server_headers,
            json=EXAM | {"exam_id": "bad", "correct_answers": 99},
        )
        assert response.status_code == 400
