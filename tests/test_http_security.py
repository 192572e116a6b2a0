"""The economic defenses through HTTP: bans, rate limits, replays, input, fraud, alerts."""

from __future__ import annotations

import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace

import limits.storage.redis as limits_redis
import pytest

from web import create_app
from web import security as web_security

EXAM = {
    "exam_id": "e1",
    "category_id": "math",
    "score": 10,
    "total_questions": 10,
    "correct_answers": 5,
}


def error_of(response):
    body = response.get_json()
    return body["error"]


@pytest.fixture
def limiter_time(monkeypatch, clock):
    """The rate limiter reads time.time(); make it read the test clock instead."""
    fake = SimpleNamespace(time=lambda: clock.now().timestamp())
    monkeypatch.setattr(limits_redis, "time", fake)
    monkeypatch.setattr(web_security, "time", fake)
    return clock


def ban_ip(client, admin_headers, ip, **extra):
    response = client.post(
        "/v1/admin/bans", headers=admin_headers, json={"ip": ip, "reason": "abuse"} | extra
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def wallet(client, headers, player="alice", address=None):
    extra = {"X-Player-IP": address} if address else {}
    return client.get(f"/v1/players/{player}/wallet", headers=headers | extra)


# Bans -------------------------------------------------------------------------------


def test_a_banned_address_is_403(client, server_headers, admin_headers):
    ban = ban_ip(client, admin_headers, "203.0.113.7")
    assert ban["target"] == "203.0.113.7/32"
    response = wallet(client, server_headers, address="203.0.113.7")
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "banned"
    assert error["details"]["reason"] == "abuse"
    assert error["details"]["ban_id"] == ban["id"]
    assert wallet(client, server_headers, address="203.0.113.8").status_code == 200
    assert wallet(client, server_headers).status_code == 200  # no address given


@pytest.mark.parametrize(
    ("network", "inside", "outside"),
    [
        ("203.0.113.0/24", "203.0.113.250", "203.0.114.1"),
        ("10.0.0.0/8", "10.200.3.4", "11.0.0.1"),
        ("2001:db8:1234::/48", "2001:db8:1234:ffff::1", "2001:db8:1235::1"),
        ("2001:db8::1", "2001:db8::1", "2001:db8::2"),
    ],
)
def test_a_banned_range_covers_its_addresses(
    client, server_headers, admin_headers, network, inside, outside
):
    ban_ip(client, admin_headers, network)
    assert wallet(client, server_headers, address=inside).status_code == 403
    assert wallet(client, server_headers, address=outside).status_code == 200


def test_an_ipv4_mapped_address_is_the_ipv4_address(client, server_headers, admin_headers):
    ban_ip(client, admin_headers, "198.51.100.0/24")
    assert wallet(client, server_headers, address="::ffff:198.51.100.9").status_code == 403


def test_a_ban_expires(client, server_headers, admin_headers, clock):
    ban_ip(client, admin_headers, "203.0.113.7", expires_in_seconds=600)
    assert wallet(client, server_headers, address="203.0.113.7").status_code == 403
    clock.advance(seconds=601)
    assert wallet(client, server_headers, address="203.0.113.7").status_code == 200
    assert client.get("/v1/admin/bans", headers=admin_headers).get_json()["bans"] == []


def test_bans_are_listed_and_lifted(client, server_headers, admin_headers, clock):
    first = ban_ip(client, admin_headers, "203.0.113.7")
    clock.advance(seconds=1)
    ban_ip(client, admin_headers, "2001:db8::/32", expires_in_seconds=60)
    listed = client.get("/v1/admin/bans", headers=admin_headers).get_json()["bans"]
    assert [b["target"] for b in listed] == ["2001:db8::/32", "203.0.113.7/32"]
    assert listed[0]["expires_at"] is not None
    assert client.delete(f"/v1/admin/bans/{first['id']}", headers=admin_headers).status_code == 204
    assert wallet(client, server_headers, address="203.0.113.7").status_code == 200
    again = client.delete(f"/v1/admin/bans/{first['id']}", headers=admin_headers)
    assert again.status_code == 404


def test_player_bans(client, server_headers, admin_headers, clock):
    response = client.post(
        "/v1/admin/player-bans",
        headers=admin_headers,
        json={"player_id": "mallory", "reason": "bot", "expires_in_seconds": 3600},
    )
    assert response.status_code == 201
    ban = response.get_json()
    blocked = client.post("/v1/players/mallory/login", headers=server_headers)
    assert blocked.status_code == 403
    assert error_of(blocked)["details"]["reason"] == "bot"
    assert client.post("/v1/players/alice/login", headers=server_headers).status_code == 200
    listed = client.get("/v1/admin/player-bans", headers=admin_headers).get_json()["bans"]
    assert [b["target"] for b in listed] == ["mallory"]
    # A ban stops the request before any state changes.
    daily = client.get("/v1/players/mallory/daily", headers=server_headers)
    assert daily.status_code == 403
    client.delete(f"/v1/admin/player-bans/{ban['id']}", headers=admin_headers)
    assert client.post("/v1/players/mallory/login", headers=server_headers).status_code == 200


def test_admin_routes_act_on_banned_players(client, admin_headers):
    client.post(
        "/v1/admin/player-bans",
        headers=admin_headers,
        json={"player_id": "mallory", "reason": "bot"},
    )
    grant = client.post(
        "/v1/admin/players/mallory/grants",
        headers=admin_headers | {"Idempotency-Key": "refund"},
        json={"resources": {"coins": 5}, "reason": "refund"},
    )
    assert grant.status_code == 201


@pytest.mark.parametrize("address", ["999.1.1.1", "not-an-ip", " ", "1.2.3.4/24", "::g"])
def test_a_malformed_player_address_is_400(client, server_headers, address):
    response = wallet(client, server_headers, address=address)
    assert response.status_code == 400
    assert "X-Player-IP" in error_of(response)["details"]


@pytest.mark.parametrize(
    "body",
    [
        {"ip": "nonsense", "reason": "x"},
        {"ip": "1.2.3.4"},
        {"ip": "1.2.3.4", "reason": "x", "expires_in_seconds": 0},
        {"ip": "1.2.3.4", "reason": "x", "extra": 1},
    ],
)
def test_bad_ban_requests_are_400(client, admin_headers, body):
    assert client.post("/v1/admin/bans", headers=admin_headers, json=body).status_code == 400


# Rate limits ------------------------------------------------------------------------


def test_purchases_are_limited_to_10_a_minute_per_player(
    client, server_headers, admin_headers, limiter_time
):
    client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "f"},
        json={"resources": {"coins": 10_000}, "reason": "funds"},
    )

    def buy(n, player="alice"):
        limiter_time.advance(seconds=2)  # slower than rapid fire, faster than the limit
        return client.post(
            f"/v1/players/{player}/purchases",
            headers=server_headers | {"Idempotency-Key": f"b-{n}"},
            json={"item": "logs", "quantity": 1},
        )

    assert [buy(n).status_code for n in range(10)] == [201] * 10
    limited = buy(10)
    assert limited.status_code == 429
    assert error_of(limited)["code"] == "rate_limited"
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert buy(11, player="bob").status_code in (201, 409)  # another player is not limited
    limiter_time.advance(seconds=retry_after)
    assert buy(12).status_code == 201


def test_a_player_address_is_limited_across_players(client, server_headers, limiter_time):
    statuses = []
    for n in range(31):
        limiter_time.advance(seconds=1)
        statuses.append(
            client.post(
                f"/v1/players/p{n}/login", headers=server_headers | {"X-Player-IP": "198.51.100.1"}
            ).status_code
        )
    assert statuses[:30] == [200] * 30  # login: 300/minute per address, 30/minute per player
    # the per-player login limit never applied: each login was a different player
    assert statuses[30] == 200


def test_the_per_address_limit_holds(app, client, server_headers, limiter_time, monkeypatch):
    engine = app.extensions["questboard.engine"]
    security = engine.rules.security
    tight = dataclasses.replace(security.rate_limits["login"], address="3/minute")
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(
            security, rate_limits={**security.rate_limits, "login": tight}
        ),
    )
    codes = []
    for n in range(4):
        limiter_time.advance(seconds=1)
        codes.append(
            client.post(
                f"/v1/players/p{n}/login", headers=server_headers | {"X-Player-IP": "198.51.100.1"}
            ).status_code
        )
    assert codes == [200, 200, 200, 429]


# Replay protection ------------------------------------------------------------------


STATE_CHANGING = [
    ("POST", "/v1/players/alice/purchases", {"item": "logs", "quantity": 1}),
    ("POST", "/v1/players/alice/ad-rewards", None),
    ("POST", "/v1/admin/players/alice/grants", {"resources": {"coins": 5}, "reason": "x"}),
]


@pytest.mark.parametrize(("method", "path", "body"), STATE_CHANGING)
def test_state_changes_need_an_idempotency_key(client, admin_headers, method, path, body):
    response = client.open(path, method=method, headers=admin_headers, json=body)
    assert response.status_code == 400
    assert "Idempotency-Key" in error_of(response)["details"]


@pytest.mark.parametrize(("method", "path", "body"), STATE_CHANGING)
def test_every_state_change_replays(client, admin_headers, method, path, body):
    client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "funds"},
        json={"resources": {"coins": 1000}, "reason": "funds"},
    )
    headers = admin_headers | {"Idempotency-Key": "replay-1"}
    first = client.open(path, method=method, headers=headers, json=body)
    again = client.open(path, method=method, headers=headers, json=body)
    assert first.status_code == 201
    assert (again.status_code, again.get_json()) == (first.status_code, first.get_json())
    ledger = client.get("/v1/players/alice/ledger?limit=200", headers=admin_headers).get_json()
    kinds = [e["kind"] for e in ledger["entries"]]
    assert kinds.count(
        {"purchases": "purchase", "ad-rewards": "ad_reward"}.get(path.rsplit("/", 1)[1], "grant")
    ) == (2 if "grants" in path else 1)


def test_natural_keys_replay(client, server_headers):
    first = client.post("/v1/players/alice/exams", headers=server_headers, json=EXAM)
    again = client.post("/v1/players/alice/exams", headers=server_headers, json=EXAM)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    login = client.post("/v1/players/alice/login", headers=server_headers)
    assert login.get_json()["claimed"] is False  # the exam already claimed the day


def test_every_player_state_route_is_protected(client):
    """Each route that changes player state takes an Idempotency-Key or a natural key."""
    natural = {"/v1/players/{player_id}/exams", "/v1/players/{player_id}/login"}
    keyed = set()
    paths = client.get("/openapi.json").get_json()["paths"]
    for path, operations in paths.items():
        if "{player_id}" not in path:
            continue
        for method, operation in operations.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            if "Idempotency-Key" in headers:
                keyed.add(path)
            else:
                assert path in natural, path
    assert keyed == {
        "/v1/players/{player_id}/purchases",
        "/v1/players/{player_id}/ad-rewards",
        "/v1/admin/players/{player_id}/grants",
    }


# Input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [("/v1/players/alice/exams", EXAM), ("/v1/admin/bans", {"ip": "1.2.3.4", "reason": "x"})],
)
def test_oversized_and_malformed_bodies(client, admin_headers, path, body):
    huge = client.post(
        path,
        headers=admin_headers,
        data=b'{"a": "' + b"x" * 20_000 + b'"}',
        content_type="application/json",
    )
    assert huge.status_code == 413
    broken = client.post(path, headers=admin_headers, data=b"{", content_type="application/json")
    assert broken.status_code == 400
    assert error_of(broken)["code"] == "validation_error"


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
        (
            "POST",
            "/v1/players/alice/purchases",
            {"item": "logs", "quantity": 101},
            {"Idempotency-Key": "k"},
        ),
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


def test_a_grant_above_its_maximum_is_recorded(client, admin_headers):
    response = client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "big"},
        json={"resources": {"coins": 10**9 + 1}, "reason": "oops"},
    )
    assert response.status_code == 400
    [event] = events(client, admin_headers, rule="impossible_amount")
    assert event["details"]["grant"] == {"coins": 10**9 + 1}


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
    assert len(recorded) == 3
    assert recorded[0]["details"]["limit"] == 8


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


def test_too_many_violations_block_the_player(client, server_headers, admin_headers, clock):
    for n in range(5):
        clock.advance(seconds=1)
        client.post(
            "/v1/players/mallory/exams",
            headers=server_headers,
            json=EXAM | {"exam_id": f"x{n}", "correct_answers": 99},
        )
    blocked = client.post("/v1/players/mallory/login", headers=server_headers)
    assert blocked.status_code == 403
    assert "automatic: 5 fraud violations" in error_of(blocked)["details"]["reason"]
    flags = client.get("/v1/admin/players/mallory/flags", headers=admin_headers).get_json()
    assert flags["in_window"] == 5
    assert flags["blocked"]["created_by"] == "automatic"
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
    settings, fake_redis, clock, receiver, server_headers, caplog
):
    app = create_app(
        dataclasses.replace(settings, alert_webhook_url=receiver.url),
        redis_client=fake_redis,
        clock=clock,
    )
    client = app.test_client()
    for n in range(23):  # alert_violations_per_minute = 20
        client.post(
            f"/v1/players/p{n}/exams",
            headers=server_headers,
            json=EXAM | {"exam_id": "bad", "correct_answers": 99},
        )
    assert receiver.arrived.wait(timeout=10)
    [alert] = receiver.posts
    assert alert["alert"] == "fraud_violations"
    assert alert["details"]["last_rule"] == "impossible_amount"
    assert any("fraud_violations" in record.getMessage() for record in caplog.records)


def test_a_failing_webhook_never_breaks_a_request(settings, fake_redis, clock, server_headers):
    app = create_app(
        dataclasses.replace(settings, alert_webhook_url="http://127.0.0.1:9/nothing"),
        redis_client=fake_redis,
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
