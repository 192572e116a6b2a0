"""An ad reward whose reward the day's earning cap cut to nothing leaves no ledger
entry; retried with its Idempotency-Key after Redis was lost and `questboard rebuild`
ran, it is answered with its first answer (Idempotent-Replayed), not watched again: its
record reaches SQL through the outbox, and the day's counters with it."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from engine.ops import persistence, rebuild

pytestmark = pytest.mark.app_on_both_backends

AD = "/v1/players/alice/ad-rewards"


def cap_ad_coins(engine, coins: int) -> None:
    security = engine.rules.security
    caps = dict(security.daily_earning_caps) | {"ad_reward": MappingProxyType({"coins": coins})}
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(security, daily_earning_caps=MappingProxyType(caps)),
    )


def watch(client, headers, key: str):
    return client.post(AD, headers=headers | {"Idempotency-Key": key}, json={})


def test_an_ad_the_cap_paid_nothing_for_is_answered_alike_after_a_rebuild(
    app, client, server_headers
):
    engine = app.extensions["questboard.engine"]
    cap_ad_coins(engine, engine.rules.ads.reward["coins"])  # one ad's reward a day
    assert watch(client, server_headers, "ad-1").status_code == 201
    first = watch(client, server_headers, "ad-2")
    assert first.status_code == 201 and first.get_json()["transaction_id"] is None
    persistence.persist(engine)
    engine.redis.flushdb()
    rebuild.rebuild(engine)
    daily = client.get("/v1/players/alice/daily", headers=server_headers).get_json()

    retry = watch(client, server_headers, "ad-2")

    assert (retry.status_code, retry.get_json()) == (201, first.get_json())
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert daily["ads"]["watched"] == 2
    assert client.get("/v1/players/alice/daily", headers=server_headers).get_json() == daily
