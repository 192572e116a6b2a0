"""A login sent with an Idempotency-Key that claimed nothing (the day was claimed
already) and retried after Redis was lost and `questboard rebuild` ran is answered with
its first answer (Idempotent-Replayed), on the same day and on a later one, where it
would otherwise claim that day's bonus: its record reaches SQL through the outbox, as a
ledger entry does, and the rebuild writes it back."""

from __future__ import annotations

import pytest

from engine.ops import persistence, rebuild

pytestmark = pytest.mark.app_on_both_backends

LOGIN = "/v1/players/alice/login"


def login(client, headers, key: str | None = None):
    keyed = headers | ({"Idempotency-Key": key} if key else {})
    return client.post(LOGIN, headers=keyed)


def lose_redis_and_rebuild(app) -> None:
    engine = app.extensions["questboard.engine"]
    persistence.persist(engine)
    engine.redis.flushdb()
    rebuild.rebuild(engine)


@pytest.mark.parametrize("days_later", [0, 1])
def test_a_keyed_login_that_claimed_nothing_is_answered_alike_after_a_rebuild(
    app, client, server_headers, clock, days_later
):
    assert login(client, server_headers).get_json()["claimed"] is True
    clock.advance(seconds=60)
    first = login(client, server_headers, "session-2")
    assert first.status_code == 200 and first.get_json()["claimed"] is False
    lose_redis_and_rebuild(app)
    clock.advance(days=days_later, seconds=60)
    wallet = client.get("/v1/players/alice/wallet", headers=server_headers).get_json()

    retry = login(client, server_headers, "session-2")

    assert (retry.status_code, retry.get_json()) == (first.status_code, first.get_json())
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert client.get("/v1/players/alice/wallet", headers=server_headers).get_json() == wallet
