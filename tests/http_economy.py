"""Funding, buying and reading balances through the API, for the economy's HTTP tests.

tests/test_http_economy.py, tests/test_http_grants_and_ledger.py and
tests/test_http_replay_headers.py fund a player (the `funded` fixture), buy and read
the wallet and ledger with these.
"""

from __future__ import annotations

import pytest

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
