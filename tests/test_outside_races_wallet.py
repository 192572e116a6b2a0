"""A near-full wallet under one player's requests racing: a purchase, a login and an
admin's grant sent at once, on the real Redis. Whichever comes first, the day's first
activity claims the login bonus; no order may take a balance past the rules' limit.
The orders are forced one at a time (each request sent alone, in turn), never slept."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from tests.conftest import ADMIN_KEY, SERVER_KEY
from web import create_app

LIMIT = 1000
SERVER = {"Authorization": f"Bearer {SERVER_KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def near_full(settings, real_redis, clock):
    """The app on the real Redis with a balance limit of 1000 logs, and alice holding
    999 logs and 100 coins before her first activity of the day."""
    app = create_app(settings, redis_client=real_redis, clock=clock)
    engine = app.extensions["questboard.engine"]
    limits = dataclasses.replace(engine.rules.limits, max_balance=LIMIT)
    engine.rules = dataclasses.replace(engine.rules, limits=limits)
    client = app.test_client()
    filled = client.post(
        "/v1/admin/players/alice/grants",
        headers=ADMIN | {"Idempotency-Key": "fill"},
        json={"resources": {"logs": LIMIT - 1, "coins": 100}, "reason": "near the limit"},
    )
    assert filled.status_code == 201
    return client


def purchase(client):
    return client.post(
        "/v1/players/alice/purchases",
        headers=SERVER | {"Idempotency-Key": "buy-1"},
        json={"item": "logs", "quantity": 1},
    )


def login(client):
    return client.post("/v1/players/alice/login", headers=SERVER)


def grant(client):
    return client.post(
        "/v1/admin/players/alice/grants",
        headers=ADMIN | {"Idempotency-Key": "top-up"},
        json={"resources": {"logs": 1}, "reason": "top up"},
    )


def test_a_purchase_that_is_the_days_first_activity_stays_within_the_limit(near_full):
    """The purchase claims the day's bonus (a log): it was checked against 999 logs and
    fits; the bonus after it is cut to what fits, nothing."""
    bought = purchase(near_full)

    assert bought.status_code == 201
    answer = bought.get_json()
    assert answer["balances"]["logs"] == LIMIT
    assert answer["progress"]["daily_bonus"]["reward"] == {}
    wallet = near_full.get("/v1/players/alice/wallet", headers=SERVER).get_json()
    assert wallet["balances"]["logs"] == LIMIT


@pytest.mark.parametrize("order", list(itertools.permutations(["purchase", "login", "grant"])))
def test_no_order_of_a_purchase_a_login_and_a_grant_passes_the_limit(near_full, order):
    sent = {"purchase": purchase, "login": login, "grant": grant}
    answers = {name: sent[name](near_full) for name in order}

    wallet = near_full.get("/v1/players/alice/wallet", headers=SERVER).get_json()
    assert wallet["balances"]["logs"] <= LIMIT
    ledger = near_full.get("/v1/players/alice/ledger?limit=100", headers=ADMIN).get_json()
    logs = sum(entry["deltas"].get("logs", 0) for entry in ledger["entries"])
    assert logs == wallet["balances"]["logs"]
    for name, answer in answers.items():
        assert answer.status_code in (200, 201, 409), (name, answer.get_json())
