"""web.hot_purchase answers a plain purchase as Flask does (status, headers, body,
metrics, what is written), and leaves every other request to Flask.

A purchase writes, so the two answers are compared from the same start: the store is
copied (DUMP of every key), the request goes through Flask, the store is put back as
it was (RESTORE), and the same request goes through the lane, on the same app and
clock. The one value that cannot repeat is a transaction id: the id of the entry the
purchase adds to its outbox stream, which Redis takes from its own clock. Ids are
compared as such (`ID`, each where Flask's answer has one, and the lane's the entry
its own store holds); every other byte is compared as it is.
"""

from __future__ import annotations

import dataclasses
import io
import re

import pytest
from prometheus_client import REGISTRY

from tests.conftest import SERVER_KEY, error_of
from tests.hot_lanes import (
    STREAM_ID,
    Lanes,
    answer_of,
    comparable,
    restore,
    snapshot,
    state,
    store_keys,
)
from web import create_app

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis, Redis, the cluster

RULE = "/v1/players/<player:player_id>/purchases"
KEY = {"Authorization": f"Bearer {SERVER_KEY}"}
LOGS = b'{"item": "logs", "quantity": 1}'
LOGS_JSON = {"item": "logs", "quantity": 1}
TX_IN_BODY = re.compile(rb'"transaction_id":"(\d+-\d+)"')


class Paths(Lanes):
    """The app's two ways in, from the same store: through HotRoutes (as a server calls
    it) and straight to Flask; `to_flask` counts what HotRoutes hands on."""

    def __init__(self, app, store) -> None:
        super().__init__(app)
        self.store = store

    def answers(self, path: str, headers: dict, body: bytes | None = LOGS, **kwargs) -> tuple:
        """(Flask's answer, the lane's, whether the lane handed it on), each from the
        same state; the state each left must be the same."""
        options = {"headers": headers, "data": body, **kwargs}
        if body is not None and "content_type" not in kwargs:
            options["content_type"] = "application/json"
        copy = snapshot(self.store)
        theirs = answer_of(self.flask.post(path, **options))
        after_flask = state(self.store)
        restore(self.store, copy)
        before = self.to_flask
        ours = answer_of(self.lane.post(path, **options))
        assert state(self.store) == after_flask
        # the lane's ids are its own store's entries
        assert set(TX_IN_BODY.findall(ours[2])) <= stream_ids(self.store)
        return comparable(theirs), comparable(ours), self.to_flask > before


def stream_ids(store) -> set[bytes]:
    streams = [key for key in store_keys(store) if store.type(key) == b"stream"]
    return {entry_id for key in streams for entry_id, _ in store.xrange(key)}


@pytest.fixture
def paths(app, store, client, admin_headers, clock):
    for player in ("alice", "carol"):
        response = client.post(
            f"/v1/admin/players/{player}/grants",
            headers=admin_headers | {"Idempotency-Key": "funds"},
            json={"resources": {"coins": 1_000}, "reason": "funds"},
        )
        assert response.status_code == 201
    # carol has played and bought today: her purchases earn no bonus, complete no mission
    response = client.post(
        "/v1/players/carol/purchases", headers=KEY | {"Idempotency-Key": "first"}, json=LOGS_JSON
    )
    assert response.status_code == 201
    clock.advance(seconds=1)
    return Paths(app, store)


def buy(paths: Paths, player: str, key: str, body: bytes = LOGS, headers: dict = KEY) -> tuple:
    return paths.answers(
        f"/v1/players/{player}/purchases", headers | {"Idempotency-Key": key}, body
    )


def test_a_plain_purchase_is_answered_by_the_lane_as_flask_answers_it(paths):
    flask_answer, lane_answer, handed_on = buy(paths, "carol", "k1")
    assert flask_answer[0] == "201 CREATED"
    # the answer web.purchases writes itself (PurchaseSchema's dump sorts its keys)
    assert flask_answer[2].startswith(b'{"transaction_id":"ID","item":"logs"')
    assert lane_answer == flask_answer
    assert not handed_on


def test_a_first_purchase_of_the_day_is_dumped_by_the_routes_schema(paths):
    flask_answer, lane_answer, handed_on = buy(paths, "alice", "k1")
    assert flask_answer[0] == "201 CREATED"
    assert b'"daily_bonus":{' in flask_answer[2]  # the bonus: PurchaseSchema's dump
    assert lane_answer == flask_answer
    assert not handed_on


@pytest.mark.parametrize("player", ["alice", "carol"])
def test_a_replay_is_the_first_answer_with_its_header(paths, player):
    first = paths.lane.post(
        f"/v1/players/{player}/purchases",
        headers=KEY | {"Idempotency-Key": "k1"},
        data=LOGS,
        content_type="application/json",
    )
    assert first.status_code == 201
    flask_answer, lane_answer, handed_on = buy(paths, player, "k1")
    assert ("Idempotent-Replayed", "true") in flask_answer[1]
    assert STREAM_ID.sub(b"ID", first.get_data()) == flask_answer[2]
    assert lane_answer == flask_answer
    assert not handed_on


def test_errors_are_answered_as_flask_answers_them(paths, client, admin_headers, app):
    cases = [
        ("carol", "k1", b'{"item": "logs", "quantity": 2}', KEY),  # the key's first use
        ("carol", "k1", b'{"item": "logs", "quantity": 3}', KEY),  # reused: 422
        ("bob", "k2", LOGS, KEY),  # no coins: 409 insufficient_funds
        ("carol", "k3", b'{"item": "nothing", "quantity": 1}', KEY),  # 404 unknown_item
        ("carol", "k4", b'{"item": "logs", "quantity": 99999}', KEY),  # above the item's max
        ("carol", "k5", LOGS, {}),  # 401
        ("carol", "k5", LOGS, {"Authorization": "Bearer wrong"}),
        ("carol", "k5", LOGS, KEY | {"X-Player-IP": "not an address"}),  # 400
        ("carol", "k5", LOGS, KEY | {"X-Player-IP": "203.0.113.9"}),  # 201 from an address
    ]
    statuses = []
    for player, key, body, headers in cases:
        flask_answer, lane_answer, handed_on = buy(paths, player, key, body, headers)
        assert lane_answer == flask_answer
        assert not handed_on
        statuses.append(flask_answer[0][:3])  # the next case starts from the lane's state
    assert statuses == ["201", "422", "409", "404", "400", "401", "401", "400", "201"]


def test_a_banned_player_is_refused_by_the_lane(paths, client, admin_headers):
    response = client.post(
        "/v1/admin/player-bans", headers=admin_headers, json={"player_id": "carol", "reason": "x"}
    )
    assert response.status_code == 201
    flask_answer, lane_answer, handed_on = buy(paths, "carol", "k1")
    assert flask_answer[0] == "403 FORBIDDEN"
    assert lane_answer == flask_answer
    assert not handed_on


def tighten(app, group: str, **limits) -> None:
    engine = app.extensions["questboard.engine"]
    security = engine.rules.security
    tight = dataclasses.replace(security.rate_limits[group], **limits)
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(security, rate_limits={**security.rate_limits, group: tight}),
    )


def test_an_address_over_its_purchase_limit_is_refused_by_the_lane(paths, app, clock):
    tighten(app, "purchases", address="2/minute")
    address = KEY | {"X-Player-IP": "198.51.100.7"}
    for n in range(2):
        clock.advance(seconds=1)
        flask_answer, lane_answer, _ = buy(paths, "carol", f"k{n}", headers=address)
        assert (lane_answer, flask_answer[0]) == (flask_answer, "201 CREATED")
    clock.advance(seconds=1)
    flask_answer, lane_answer, handed_on = buy(paths, "alice", "k9", headers=address)
    assert flask_answer[0] == "429 TOO MANY REQUESTS"
    assert lane_answer == flask_answer
    assert not handed_on


PADDED = LOGS + b" " * 2_000  # plain, but longer than the lane reads
K1 = KEY | {"Idempotency-Key": "k1"}
CAROL = "/v1/players/carol/purchases"


@pytest.mark.parametrize(
    ("path", "headers", "body", "options"),
    [
        (CAROL, K1, b'{"quantity": 1, "item": "logs"}', {}),  # another order
        (CAROL, K1, b'{"item": "logs", "quantity": 1, "expected_price": {"coins": 10}}', {}),
        (CAROL, K1, b'{"item": "logs", "quantity": 1, "expected_price": {"coins": 9}}', {}),
        (CAROL + "?x=1", K1, LOGS, {}),
        (CAROL, K1, LOGS, {"content_type": "text/plain"}),
        (CAROL, K1, LOGS, {"content_type": "application/json; charset=utf-8"}),
        (CAROL, K1, LOGS, {"content_type": "application/merge-patch+json"}),
        (CAROL, K1, PADDED, {}),
        (CAROL, K1, LOGS + b" " * 16_384, {}),  # over MAX_CONTENT_LENGTH: 413
        (CAROL, K1, b"", {}),
        (CAROL, K1, b'{"item": "logs", "quantity": 1', {}),  # 400
        (CAROL, KEY, LOGS, {}),  # no Idempotency-Key
        (CAROL, {"Idempotency-Key": "k1"}, b'{"quantity": 1}', {}),  # 401 before the body
        ("/v1/players/bad%20id/purchases", K1, LOGS, {}),
        ("/v1/players/" + "p" * 65 + "/purchases", K1, LOGS, {}),
        ("/v1/players/a/b/purchases", K1, LOGS, {}),
        ("/v1/players/purchases", K1, LOGS, {}),
        (CAROL + "/", K1, LOGS, {}),
        ("/v1/players/carol/ad-rewards", K1, None, {}),  # another POST
    ],
)
def test_anything_but_a_plain_purchase_is_flasks(paths, path, headers, body, options):
    flask_answer, lane_answer, handed_on = paths.answers(path, headers, body, **options)
    assert lane_answer == flask_answer
    assert handed_on


def test_a_key_the_header_schema_refuses_is_flasks(paths):
    flask_answer, lane_answer, handed_on = buy(paths, "carol", "k" * 129)
    assert flask_answer[0] == "400 BAD REQUEST"
    assert lane_answer == flask_answer
    assert handed_on


def streamed(body: bytes, length: str = "") -> dict:
    """A chunked body as a WSGI server hands it on: no Content-Length, input terminated."""
    return {
        "input_stream": io.BytesIO(body),
        "environ_overrides": {"wsgi.input_terminated": True, "CONTENT_LENGTH": length},
    }


@pytest.mark.parametrize("chunked", [True, False])
def test_a_body_without_content_length_is_flasks(paths, chunked):
    path = "/v1/players/carol/purchases"
    headers = KEY | {"Idempotency-Key": "k1", "Content-Type": "application/json"}
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
    answers = []
    copy = snapshot(paths.store)
    for client in (paths.flask, paths.lane):
        restore(paths.store, copy)
        answers.append(comparable(answer_of(client.post(path, headers=headers, **streamed(LOGS)))))
    assert answers[1] == answers[0]
    assert answers[0][0] == "201 CREATED"  # Flask reads a terminated input to its end
    assert paths.to_flask == 1


def _count(status: str) -> float:
    value = REGISTRY.get_sample_value(
        "questboard_http_requests_total", {"route": RULE, "status": status}
    )
    return value or 0.0


def test_the_lanes_answers_are_counted_once_in_the_metrics(paths):
    statuses = ("201", "401", "409")
    before = [_count(status) for status in statuses]
    headers = KEY | {"Idempotency-Key": "k1"}
    for player, sent in (
        ("carol", headers),
        ("carol", {"Idempotency-Key": "k2"}),
        ("bob", headers),
    ):
        paths.lane.post(
            f"/v1/players/{player}/purchases",
            headers=sent,
            data=LOGS,
            content_type="application/json",
        )
    paths.lane.post(  # the day's first purchase: dumped in Flask's context, counted there
        "/v1/players/alice/purchases", headers=headers, data=LOGS, content_type="application/json"
    )
    after = [_count(status) for status in statuses]
    assert [b - a for a, b in zip(before, after, strict=True)] == [2, 1, 1]
    assert paths.to_flask == 0


def test_the_lanes_purchase_is_in_the_ledger(paths):
    response = paths.lane.post(
        "/v1/players/carol/purchases",
        headers=KEY | {"Idempotency-Key": "k1"},
        data=LOGS,
        content_type="application/json",
    )
    assert response.status_code == 201
    assert paths.to_flask == 0
    bought = response.get_json()
    ledger = paths.lane.get("/v1/players/carol/ledger", headers=KEY).get_json()
    entry = next(e for e in ledger["entries"] if e["transaction_id"] == bought["transaction_id"])
    assert entry["kind"] == "purchase"
    assert entry["deltas"] == {"coins": -10, "logs": 1}
    assert entry["balances_after"]["coins"] == bought["balances"]["coins"]


def test_the_lane_stands_aside_when_routing_depends_on_the_host(app, store, server_headers):
    app.config["SERVER_NAME"] = "api.example"
    paths = Paths(app, store)
    response = paths.lane.post(
        "/v1/players/carol/purchases",
        headers=server_headers | {"Idempotency-Key": "k1"},
        data=LOGS,
        content_type="application/json",
        base_url="http://api.example",
    )
    assert response.status_code == 409  # no coins
    assert paths.to_flask == 1


def test_purchase_limits_hold_across_processes(settings, real_redis, clock, admin_headers):
    """Two apps on one Redis (two workers), each answering in its lane: the player's
    and the address's purchase windows are one."""
    apps = [create_app(settings, redis_client=real_redis, clock=clock) for _ in range(2)]
    lanes = [Paths(app, real_redis) for app in apps]
    for app in apps:
        tighten(app, "purchases", player="3/minute", address="2/minute")
    for player in ("alice", "bob", "carol"):
        funds = lanes[0].lane.post(
            f"/v1/admin/players/{player}/grants",
            headers=admin_headers | {"Idempotency-Key": "funds"},
            json={"resources": {"coins": 1_000}, "reason": "funds"},
        )
        assert funds.status_code == 201
    for lane in lanes:
        lane.to_flask = 0

    def purchase(n: int, player: str, address: dict):
        clock.advance(seconds=1)
        return lanes[n % 2].lane.post(
            f"/v1/players/{player}/purchases",
            headers=KEY | {"Idempotency-Key": f"k{n}"} | address,
            data=LOGS,
            content_type="application/json",
        )

    alice = [purchase(n, "alice", {}) for n in range(4)]
    assert [response.status_code for response in alice] == [201, 201, 201, 429]
    assert error_of(alice[3])["details"]["scope"] == "player"
    address = {"X-Player-IP": "198.51.100.7"}
    others = [purchase(n, player, address) for n, player in enumerate(("bob", "carol") * 2)]
    assert [response.status_code for response in others] == [201, 201, 429, 429]
    assert {error_of(response)["details"]["scope"] for response in others[2:]} == {"address"}
    assert sum(lane.to_flask for lane in lanes) == 0  # every purchase answered in a lane
