"""Grants and the ledger over HTTP: each status code and body shape.

An admin's grant, its replay, its refusals (below zero, above held streak freezes,
invalid, without an admin key); the ledger newest first, paged, its query checked.
"""

from __future__ import annotations

import pytest

from tests.conftest import error_of
from tests.http_economy import GRANTS, NOTHING, balances, buy, ledger_kinds
from tests.http_economy import funded as funded  # a fixture: its own name

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis


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
