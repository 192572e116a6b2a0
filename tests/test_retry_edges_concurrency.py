"""One key sent at once with different bodies, as a game server whose retry logic
rebuilt the request differently does: exactly one body is carried out, every other
copy is 422 idempotency_key_reused and writes nothing, and the winner's retry is
answered with its first answer. Real Redis, one app per thread as web workers are."""

from __future__ import annotations

import pytest

from engine.economy import ledger, wallet
from tests.test_concurrency import posted_at_once
from web import create_app

COPIES = 8
EXAM = {"exam_id": "attempt-1", "category_id": "math", "total_questions": 10}


@pytest.fixture
def app(real_redis, settings, clock):
    return create_app(settings, redis_client=real_redis, clock=clock)


def the_winner(responses, created=201):
    """The one copy carried out; every other is the reuse refusal."""
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [created] + [422] * (len(responses) - 1)
    for refused in (r for r in responses if r.status_code == 422):
        assert refused.get_json()["error"]["code"] == "idempotency_key_reused"
        assert "Idempotent-Replayed" not in refused.headers
    [winner] = [r for r in responses if r.status_code == created]
    return winner


def the_books_balance(app, player):
    engine = app.extensions["questboard.engine"]
    entries = ledger.history(engine, player, limit=1_000)
    for resource, balance in wallet.balances(engine, player).items():
        assert sum(e.deltas.get(resource, 0) for e in entries) == balance, resource
    return entries


def test_a_purchase_key_sent_at_once_with_different_quantities_buys_one_of_them(
    app, server_headers, admin_headers
):
    app.test_client().post(
        "/v1/admin/players/racer/grants",
        headers=admin_headers | {"Idempotency-Key": "funds"},
        json={"resources": {"coins": 5_000}, "reason": "funds"},
    )
    headers = server_headers | {"Idempotency-Key": "order-1"}
    bodies = [{"item": "steel", "quantity": n + 1} for n in range(COPIES)]

    responses = posted_at_once(app, "/v1/players/racer/purchases", headers, bodies)

    winner = the_winner(responses)
    quantity = winner.get_json()["quantity"]
    retry = app.test_client().post(
        "/v1/players/racer/purchases",
        headers=headers,
        json={"item": "steel", "quantity": quantity},
    )
    assert retry.get_data() == winner.get_data()
    assert retry.headers["Idempotent-Replayed"] == "true"
    entries = the_books_balance(app, "racer")
    assert [e.deltas.get("steel") for e in entries if e.kind == "purchase"] == [quantity]


def test_a_grant_key_sent_at_once_with_different_amounts_grants_one_of_them(app, admin_headers):
    headers = admin_headers | {"Idempotency-Key": "prize-1"}
    bodies = [{"resources": {"coins": n + 1}, "reason": "prize"} for n in range(COPIES)]

    responses = posted_at_once(app, "/v1/admin/players/racer/grants", headers, bodies)

    winner = the_winner(responses)
    entries = the_books_balance(app, "racer")
    assert [e.deltas for e in entries] == [{"coins": winner.get_json()["balances"]["coins"]}]


def test_an_exam_id_sent_at_once_with_different_scores_counts_one_of_them(app, server_headers):
    bodies = [EXAM | {"score": n, "correct_answers": 5} for n in range(COPIES)]

    responses = posted_at_once(app, "/v1/players/racer/exams", server_headers, bodies)

    winner = the_winner(responses)
    score = winner.get_json()["score"]
    assert [board["score"] for board in winner.get_json()["boards"]] == [score] * 6
    assert [board["exams"] for board in winner.get_json()["boards"]] == [1] * 6
    retry = app.test_client().post(
        "/v1/players/racer/exams",
        headers=server_headers,
        json=EXAM | {"score": score, "correct_answers": 5},
    )
    assert (retry.status_code, retry.get_json()) == (200, winner.get_json())
