"""The economy's HTTP contract: every status code and body shape.

The catalog, the wallet and purchases with each of their statuses, the answers every
route shares (unknown route, wrong method, an unexpected failure, an unreachable store),
and a purchase answer as its schema's dump.
"""

from __future__ import annotations

import re

import marshmallow as ma
import pytest

from tests.conftest import earned, error_of
from tests.http_economy import NOTHING, PURCHASES, balances, buy
from tests.http_economy import funded as funded  # a fixture: its own name

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis


def test_catalog_lists_server_prices(client, server_headers):
    response = client.get("/v1/catalog", headers=server_headers)
    assert response.status_code == 200
    steel = next(item for item in response.get_json()["items"] if item["item"] == "steel")
    assert steel["price"] == {"coins": 50}
    assert steel["gives"] == {"steel": 1}
    assert steel["max_quantity"] == 100


def test_wallet_of_a_new_player(client, server_headers):
    response = client.get("/v1/players/new.player:1/wallet", headers=server_headers)
    assert response.status_code == 200
    assert response.get_json() == {
        "player_id": "new.player:1",
        "balances": {"coins": 0, "logs": 0, "steel": 0, "bricks": 0, "cement": 0},
    }


def test_purchase_201(client, server_headers, funded):
    funded(120)
    response = buy(client, server_headers, item="steel", quantity=2, expected_price={"coins": 50})
    assert response.status_code == 201
    body = response.get_json()
    assert (body["item"], body["quantity"], body["cost"]) == ("steel", 2, {"coins": 100})
    # 120 - 100, and the day's first activity: the login bonus (1 log) and buy_1 (10 coins)
    assert body["balances"] == NOTHING | {"coins": 30, "logs": 1, "steel": 2}
    assert earned(body["progress"], "coins") == 10
    assert body["progress"]["daily_bonus"]["streak"] == 1
    assert re.fullmatch(r"\d+-\d+", body["transaction_id"])
    assert balances(client, server_headers) == body["balances"]


def test_purchase_replay_returns_the_same_response(client, server_headers, funded):
    funded(500)
    first = buy(client, server_headers, item="steel", quantity=1)
    again = buy(client, server_headers, item="steel", quantity=1)
    assert again.status_code == first.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert balances(client, server_headers) == NOTHING | {"coins": 460, "logs": 1, "steel": 1}
    assert first.get_json()["balances"] == NOTHING | {"coins": 460, "logs": 1, "steel": 1}


def test_purchase_key_reused_with_another_body_422(client, server_headers, funded):
    funded(500)
    assert buy(client, server_headers, item="steel", quantity=1).status_code == 201
    response = buy(client, server_headers, item="steel", quantity=3)
    assert response.status_code == 422
    assert error_of(response)["code"] == "idempotency_key_reused"
    assert balances(client, server_headers) == NOTHING | {"coins": 460, "logs": 1, "steel": 1}


def test_insufficient_funds_409(client, server_headers, funded):
    funded(10)
    response = buy(client, server_headers, item="steel", quantity=1)
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "insufficient_funds"
    assert error["details"] == {"resource": "coins", "required": 50, "available": 10}
    replay = buy(client, server_headers, item="steel", quantity=1)
    assert replay.status_code == 409
    assert replay.get_json() == response.get_json()
    assert balances(client, server_headers) == NOTHING | {"coins": 10}  # nothing charged


def test_price_changed_409(client, server_headers, funded):
    funded(500)
    response = buy(client, server_headers, item="steel", quantity=1, expected_price={"coins": 1})
    assert response.status_code == 409
    assert error_of(response)["code"] == "price_changed"
    assert balances(client, server_headers) == NOTHING | {"coins": 500}  # nothing charged


def test_unknown_item_404(client, server_headers):
    response = buy(client, server_headers, item="gold", quantity=1)
    assert response.status_code == 404
    assert error_of(response)["code"] == "unknown_item"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"item": "steel"}, "quantity"),
        ({"item": "steel", "quantity": "2"}, "quantity"),
        ({"item": "steel", "quantity": 2.5}, "quantity"),
        ({"item": "steel", "quantity": 0}, "quantity"),
        ({"item": "steel", "quantity": 101}, "quantity"),
        ({"item": "steel", "quantity": 1, "price": 1}, "price"),
        ({"item": "", "quantity": 1}, "item"),
        ({"item": "steel", "quantity": 1, "expected_price": {"coins": "x"}}, "expected_price"),
    ],
)
def test_invalid_purchase_400(client, server_headers, body, field):
    response = buy(client, server_headers, **body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert field in error["details"]


def test_missing_idempotency_key_400(client, server_headers):
    response = client.post(PURCHASES, headers=server_headers, json={"item": "steel", "quantity": 1})
    assert response.status_code == 400
    assert "Idempotency-Key" in error_of(response)["details"]


@pytest.mark.parametrize("key", ["", "x" * 129, "has space", "tab\tkey"])
def test_malformed_idempotency_key_400(client, server_headers, key):
    response = client.post(
        PURCHASES,
        headers=server_headers | {"Idempotency-Key": key},
        json={"item": "steel", "quantity": 1},
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_error"


def test_malformed_json_400(client, server_headers):
    response = client.post(
        PURCHASES,
        headers=server_headers | {"Idempotency-Key": "k", "Content-Type": "application/json"},
        data=b'{"item": "steel", "quantity": ',
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_error"


def test_oversized_body_413(client, server_headers):
    response = client.post(
        PURCHASES,
        headers=server_headers | {"Idempotency-Key": "k", "Content-Type": "application/json"},
        data=b'{"item": "' + b"x" * 20_000 + b'", "quantity": 1}',
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "validation_error"


@pytest.mark.parametrize("player", ["has space", "a" * 65, "semi;colon", "br{ace}"])
def test_invalid_player_id_400(client, server_headers, player):
    response = client.get(f"/v1/players/{player}/wallet", headers=server_headers)
    assert response.status_code == 400
    assert error_of(response)["details"] == {
        "player_id": [f"{player!r} is not valid: it must match ^[A-Za-z0-9_.:-]{{1,64}}$."]
    }


def test_wrong_method_405(client, server_headers):
    response = client.delete("/v1/players/alice/wallet", headers=server_headers)
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_unknown_route_404(client, server_headers):
    response = client.get("/v1/nowhere", headers=server_headers)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_unexpected_failure_is_a_500_without_internals(client, server_headers, monkeypatch):
    from engine.economy import wallet

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(wallet, "balances", explode)
    response = client.get("/v1/players/alice/wallet", headers=server_headers)
    assert response.status_code == 500
    assert error_of(response)["code"] == "internal_error"
    assert b"secret internal detail" not in response.get_data()
    assert b"Traceback" not in response.get_data()


def test_an_unreachable_store_is_a_503_to_retry(settings, clock, server_headers):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from web import create_app

    # Nothing listens on port 1; no retries, so the test does not wait out the backoff.
    unreachable = redis.Redis(port=1, retry=Retry(NoBackoff(), 0))
    client = create_app(settings, redis_client=unreachable, clock=clock).test_client()
    for response in (
        client.get("/v1/players/alice/wallet", headers=server_headers),
        client.post(
            "/v1/players/alice/purchases",
            headers=server_headers | {"Idempotency-Key": "k1"},
            json={"item": "steel", "quantity": 1},
        ),
    ):
        assert response.status_code == 503
        assert error_of(response)["code"] == "service_unavailable"
        assert response.headers["Retry-After"] == "1"


def test_an_unreachable_sql_database_is_a_503_to_retry(store, clock):
    from config import ApiKey, Settings
    from web import create_app

    closed = "mysql+pymysql://root@127.0.0.1:1/questboard"  # nothing listens on port 1
    admin = {"Authorization": "Bearer sql-admin"}
    settings = Settings(api_keys=(ApiKey("admin", "sql-admin"),), database_url=closed)
    client = create_app(settings, redis_client=store, clock=clock).test_client()

    response = client.delete("/v1/admin/players/mallory/leaderboards", headers=admin)

    assert response.status_code == 503
    assert error_of(response)["code"] == "service_unavailable"
    assert error_of(response)["details"]["store"] == "durable"
    assert response.headers["Retry-After"] == "1"


def test_a_purchase_answer_is_its_schemas_dump_whether_built_directly_or_not(
    client, server_headers, funded, monkeypatch
):
    from web import purchases as purchase_routes

    funded(10_000)
    results, dumped = [], []
    buy_one = purchase_routes.purchases.purchase
    schema_dump = purchase_routes.PurchaseSchema.dump

    def kept(*args, **kwargs):
        results.append(buy_one(*args, **kwargs))
        return results[-1]

    def counted(schema, obj, **kwargs):
        dumped.append(obj)
        return schema_dump(schema, obj, **kwargs)

    monkeypatch.setattr(purchase_routes.purchases, "purchase", kept)
    monkeypatch.setattr(purchase_routes.PurchaseSchema, "dump", counted)
    answers = [buy(client, server_headers, f"k-{n}", item="bricks", quantity=1) for n in range(6)]
    answers.append(buy(client, server_headers, "k-5", item="bricks", quantity=1))  # a replay

    for answer, result in zip(answers, results, strict=True):
        assert answer.status_code == 201
        assert answer.get_json() == ma.Schema.dump(purchase_routes.PurchaseSchema(), result)
    plain = [r for r in results if not r.transaction.progress.missions]
    assert plain and not any(r.transaction.progress.daily_bonus for r in plain)
    assert not any(r in dumped for r in plain)  # built without the schema
    assert results[0] in dumped  # the day's first: its bonus dumped by the schema
    assert answers[-1].headers["Idempotent-Replayed"] == "true"


def test_a_valid_purchase_loads_its_arguments_without_the_parser(
    client, server_headers, funded, monkeypatch
):
    from web import purchases as purchase_routes

    funded(500)
    parsed = []
    parse = purchase_routes.blp.ARGUMENTS_PARSER.parse

    def kept(schema, *args, **kwargs):
        parsed.append(type(schema).__name__)
        return parse(schema, *args, **kwargs)

    monkeypatch.setattr(purchase_routes.blp.ARGUMENTS_PARSER, "parse", kept)
    assert buy(client, server_headers, item="steel", quantity=1).status_code == 201
    assert parsed == []
    refused = buy(client, server_headers, key="k-2", item="steel", quantity=0)
    assert refused.status_code == 400
    assert error_of(refused)["details"] == {"quantity": ["Must be between 1 and 100."]}
    assert parsed == ["IdempotencyHeaderSchema", "PurchaseRequestSchema"]  # its refusal
