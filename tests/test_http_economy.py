"""The economy's HTTP contract: every status code and body shape."""

from __future__ import annotations

import re

import marshmallow as ma
import pytest

from tests.conftest import earned, error_of

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis

PURCHASES = "/v1/players/alice/purchases"
GRANTS = "/v1/admin/players/alice/grants"


@pytest.fixture
def funded(client, admin_headers):
    def fund(coins, player="alice", key="fund"):
        response = client.post(
            f"/v1/admin/players/{player}/grants",
            headers=admin_headers | {"Idempotency-Key": key},
            json={"resources": {"coins": coins}, "reason": "funding"},
        )
        assert response.status_code == 201
        return response

    return fund


def buy(client, headers, key="k-1", **body):
    return client.post(PURCHASES, headers=headers | {"Idempotency-Key": key}, json=body)


def balances(client, headers, player="alice"):
    response = client.get(f"/v1/players/{player}/wallet", headers=headers)
    assert response.status_code == 200
    return response.get_json()["balances"]


def ledger_kinds(client, admin_headers, player="alice"):
    response = client.get(f"/v1/players/{player}/ledger", headers=admin_headers)
    assert response.status_code == 200
    return [entry["kind"] for entry in response.get_json()["entries"]]


NOTHING = {"coins": 0, "logs": 0, "steel": 0, "bricks": 0, "cement": 0}


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


def test_grant_201_and_replay(client, admin_headers):
    headers = admin_headers | {"Idempotency-Key": "g-1"}
    body = {"resources": {"coins": 100, "steel": 2}, "reason": "event prize"}
    first = client.post(GRANTS, headers=headers, json=body)
    again = client.post(GRANTS, headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["balances"] == NOTHING | {"coins": 100, "steel": 2}
    assert again.get_json() == first.get_json()
    assert ledger_kinds(client, admin_headers) == ["grant"]  # granted once


def test_negative_grant_below_zero_409(client, admin_headers):
    response = client.post(
        GRANTS,
        headers=admin_headers | {"Idempotency-Key": "g-1"},
        json={"resources": {"coins": -1}, "reason": "take back"},
    )
    assert response.status_code == 409
    assert error_of(response)["code"] == "insufficient_funds"
    assert balances(client, admin_headers) == NOTHING
    assert ledger_kinds(client, admin_headers) == []


def test_a_grant_above_the_streak_freezes_held_409(client, admin_headers):
    def give(key, freezes):
        return client.post(
            GRANTS,
            headers=admin_headers | {"Idempotency-Key": key},
            json={"resources": {"streak_freeze": freezes}, "reason": "gift"},
        )

    assert give("g-1", 2).status_code == 201
    response = give("g-2", 1)
    assert response.status_code == 409
    assert error_of(response)["code"] == "balance_limit_exceeded"
    assert error_of(response)["details"] == {"resource": "streak_freeze", "limit": 2, "balance": 2}
    assert balances(client, admin_headers)["streak_freeze"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"resources": {}, "reason": "x"}, "resources"),
        ({"resources": {"gold": 1}, "reason": "x"}, "resources.gold"),
        ({"resources": {"coins": 0}, "reason": "x"}, "resources.coins"),
        ({"resources": {"coins": 1}}, "reason"),
        ({"resources": {"coins": 1}, "reason": ""}, "reason"),
    ],
)
def test_invalid_grant_400(client, admin_headers, body, field):
    response = client.post(GRANTS, headers=admin_headers | {"Idempotency-Key": "g"}, json=body)
    assert response.status_code == 400
    assert field in error_of(response)["details"]


def test_grant_needs_an_admin_key_403(client, server_headers):
    response = client.post(
        GRANTS,
        headers=server_headers | {"Idempotency-Key": "g"},
        json={"resources": {"coins": 1}, "reason": "x"},
    )
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_ledger_newest_first_and_paged(client, server_headers, funded):
    funded(1000)
    for n in range(3):
        assert buy(client, server_headers, key=f"b-{n}", item="logs", quantity=1).status_code == 201

    page = client.get("/v1/players/alice/ledger?limit=2", headers=server_headers).get_json()
    assert [e["kind"] for e in page["entries"]] == ["purchase", "purchase"]
    assert page["entries"][0]["deltas"] == {"coins": -10, "logs": 1}
    wallet = client.get("/v1/players/alice/wallet", headers=server_headers).get_json()
    assert page["entries"][0]["balances_after"] == wallet["balances"]
    cursor = page["entries"][-1]["transaction_id"]
    rest = client.get(f"/v1/players/alice/ledger?before={cursor}", headers=server_headers)
    kinds = [e["kind"] for e in rest.get_json()["entries"]]
    # The first purchase with what it earned (the day's bonus, maybe a mission), the grant.
    assert kinds.count("purchase") == 1
    assert kinds[-1] == "grant"
    assert set(kinds) - {"purchase", "grant"} <= {"login_bonus", "mission_reward"}


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "before=abc", "other=1"])
def test_invalid_ledger_query_400(client, server_headers, query):
    response = client.get(f"/v1/players/alice/ledger?{query}", headers=server_headers)
    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_error"


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


# Every replay says it is one, a refusal as much as a success -------------------------


def test_a_replayed_insufficient_funds_refusal_carries_the_replay_header(
    client, server_headers, funded
):
    funded(10)
    first = buy(client, server_headers, key="short", item="steel", quantity=1)
    replay = buy(client, server_headers, key="short", item="steel", quantity=1)
    assert first.status_code == replay.status_code == 409
    assert replay.get_json() == first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Content-Type"] == "application/json"


def test_a_replayed_purchase_refusal_keeps_its_header_after_the_rules_change(
    client, app, server_headers, funded
):
    """A replay answered from the recorded outcome, not from the script, says so too."""
    import dataclasses

    funded(10)
    first = buy(client, server_headers, key="short", item="steel", quantity=1)
    engine = app.extensions["questboard.engine"]
    catalog = dict(engine.rules.catalog)
    del catalog["steel"]  # the item is gone: only the recorded outcome can answer
    engine.rules = dataclasses.replace(engine.rules, catalog=catalog)
    replay = buy(client, server_headers, key="short", item="steel", quantity=1)
    assert replay.status_code == 409
    assert replay.get_json() == first.get_json()
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_a_replayed_grant_refusal_carries_the_replay_header(client, admin_headers):
    headers = admin_headers | {"Idempotency-Key": "take"}
    body = {"resources": {"coins": -5}, "reason": "correction"}
    first = client.post(GRANTS, headers=headers, json=body)
    replay = client.post(GRANTS, headers=headers, json=body)
    assert first.status_code == replay.status_code == 409
    assert error_of(replay)["code"] == "insufficient_funds"
    assert replay.get_json() == first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_a_replayed_grant_carries_the_replay_header(client, admin_headers):
    headers = admin_headers | {"Idempotency-Key": "give"}
    body = {"resources": {"coins": 5}, "reason": "prize"}
    first = client.post(GRANTS, headers=headers, json=body)
    replay = client.post(GRANTS, headers=headers, json=body)
    assert first.status_code == replay.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_a_replayed_ad_reward_and_ad_refusal_carry_the_replay_header(client, app, server_headers):
    cap = app.extensions["questboard.engine"].rules.ads.daily_cap

    def watch(key):
        return client.post(
            "/v1/players/alice/ad-rewards", headers=server_headers | {"Idempotency-Key": key}
        )

    for n in range(cap):
        assert watch(f"ad-{n}").status_code == 201
    replayed = watch("ad-0")
    assert replayed.status_code == 201
    assert replayed.headers["Idempotent-Replayed"] == "true"
    refused = watch("ad-over")
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "daily_limit_reached"
    assert "Idempotent-Replayed" not in refused.headers
    again = watch("ad-over")
    assert again.status_code == 409
    assert again.get_json() == refused.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_replayed_exam_carries_the_replay_header(client, server_headers):
    exam = {
        "exam_id": "attempt-1",
        "category_id": "math",
        "score": 10,
        "total_questions": 10,
        "correct_answers": 5,
    }
    first = client.post("/v1/players/alice/exams", headers=server_headers, json=exam)
    replay = client.post("/v1/players/alice/exams", headers=server_headers, json=exam)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.get_json() == first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_a_refusal_that_is_not_a_replay_has_no_replay_header(client, server_headers, funded):
    funded(500)
    buy(client, server_headers, key="k", item="steel", quantity=1)
    reused = buy(client, server_headers, key="k", item="steel", quantity=2)
    assert reused.status_code == 422
    assert "Idempotent-Replayed" not in reused.headers


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
