"""An ad reward's Idempotency-Key, retried after Redis was lost and rebuilt from SQL, is
answered with the reward first paid, not paid again: the rebuild gives its key back a
record, as it does a purchase's and a grant's."""

from __future__ import annotations

import pytest

from engine.ops import persistence, rebuild

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis

AD = "/v1/players/alice/ad-rewards"


def watch(client, headers, key: str):
    return client.post(AD, headers=headers | {"Idempotency-Key": key}, json={})


def daily(client, headers) -> tuple[bytes, int]:
    wallet = client.get("/v1/players/alice/wallet", headers=headers).get_data()
    return wallet, client.get("/v1/players/alice/daily", headers=headers).json["ads"]["watched"]


def test_an_ad_reward_retried_after_a_rebuild_is_not_paid_again(app, client, server_headers):
    first = watch(client, server_headers, "ad-1")
    engine = app.extensions["questboard.engine"]
    persistence.persist(engine)
    engine.redis.flushdb()
    rebuild.rebuild(engine)
    before = daily(client, server_headers)

    again = watch(client, server_headers, "ad-1")

    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json["transaction_id"] == first.json["transaction_id"]
    assert again.json["reward"] == first.json["reward"] == {"coins": 5}
    assert daily(client, server_headers) == before == (before[0], 1)
