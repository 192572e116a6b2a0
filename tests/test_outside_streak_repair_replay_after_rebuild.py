"""A streak repair's Idempotency-Key, retried after Redis was lost and rebuilt from SQL,
is answered with the repair first answered (its streak, length lost and best), byte for
byte, and charges nothing again: the rebuilt record carries what the answer needs."""

from __future__ import annotations

import pytest

from engine.ops import persistence, rebuild
from tests.test_http_streak_repair import broken_streak, fund, offer_repair, repair

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis


def wallet(client, headers) -> bytes:
    return client.get("/v1/players/alice/wallet", headers=headers).get_data()


def test_a_repair_retried_after_a_rebuild_is_answered_as_first_answered(
    app, client, server_headers, admin_headers, clock
):
    offer_repair(app)
    broken_streak(client, server_headers, clock, days=6)  # best 6
    broken_streak(client, server_headers, clock, days=1)  # lost 1: repaired to 2, best 6
    fund(client, admin_headers)
    first = repair(client, server_headers)
    engine = app.extensions["questboard.engine"]
    persistence.persist(engine)
    held = wallet(client, server_headers)
    engine.redis.flushdb()
    rebuild.rebuild(engine)

    again = repair(client, server_headers)

    assert first.status_code == 201
    body = first.get_json()
    assert (body["streak"], body["lost"], body["best"]) == (2, 1, 6)
    assert (again.status_code, again.get_data()) == (201, first.get_data())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert wallet(client, server_headers) == held


def test_a_repair_that_paid_a_milestone_is_answered_as_first_answered_after_a_rebuild(
    app, client, server_headers, admin_headers, clock
):
    offer_repair(app)
    broken_streak(client, server_headers, clock, days=6)  # lost 6: repaired to 7, a milestone
    fund(client, admin_headers)
    first = repair(client, server_headers)
    assert [m["streak"] for m in first.get_json()["milestone_bonuses"]] == [7]
    engine = app.extensions["questboard.engine"]
    persistence.persist(engine)
    held = wallet(client, server_headers)
    engine.redis.flushdb()
    rebuild.rebuild(engine)

    again = repair(client, server_headers)

    assert (again.status_code, again.get_data()) == (201, first.get_data())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert wallet(client, server_headers) == held
