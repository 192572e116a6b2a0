"""Copies of one request sent at once (a game server retrying on several connections)
from an address near its limit: every copy is answered as the first is, and the
address's window counts the request once, whichever copy carried it out. Real Redis,
one app per thread, as web workers are."""

from __future__ import annotations

import pytest

from tests.conftest import error_of
from tests.test_concurrency import posted_at_once
from tests.test_hot_purchase import tighten
from tests.test_http_streak_repair import broken_streak, fund, offer_repair
from web import create_app

ADDRESS = "198.51.100.7"
COPIES = 8
ROUNDS = 4


@pytest.fixture
def app(real_redis, settings, clock):
    return create_app(settings, redis_client=real_redis, clock=clock)


def fund_player(app, admin_headers, player: str) -> None:
    app.test_client().post(
        f"/v1/admin/players/{player}/grants",
        headers=admin_headers | {"Idempotency-Key": f"fund-{player}"},
        json={"resources": {"coins": 10_000}, "reason": "funds"},
    )


def buy(app, headers, player: str, key: str):
    return app.test_client().post(
        f"/v1/players/{player}/purchases",
        headers=headers | {"X-Player-IP": ADDRESS, "Idempotency-Key": key},
        json={"item": "logs", "quantity": 1},
    )


def answered_alike(responses, status):
    assert [r.status_code for r in responses] == [status] * len(responses), [
        r.get_json() for r in responses
    ]
    assert len({r.get_data() for r in responses}) == 1
    replayed = [r.headers.get("Idempotent-Replayed") for r in responses]
    assert sorted(replayed, key=str) == [None] + ["true"] * (len(responses) - 1)


@pytest.mark.parametrize("limit, more", [("2/minute", 0), ("3/minute", 1)])
def test_copies_of_a_purchase_at_an_addresss_last_places_are_answered_alike(
    app, server_headers, admin_headers, clock, limit, more
):
    """The first copy takes the address's last place (2/minute), or one of its last two
    (3/minute): copies neither wait for a place nor take one."""
    tighten(app, "purchases", address=limit)
    for round_ in range(ROUNDS):
        player = f"buyer-{round_}"
        fund_player(app, admin_headers, player)
        assert buy(app, server_headers, player, "first").status_code == 201
        headers = server_headers | {"X-Player-IP": ADDRESS, "Idempotency-Key": "order-1"}
        body = {"item": "logs", "quantity": 1}

        copies = posted_at_once(app, f"/v1/players/{player}/purchases", headers, [body] * COPIES)

        answered_alike(copies, 201)
        # the window counts the request once: `more` requests fit, the next does not
        for n in range(more):
            assert buy(app, server_headers, player, f"more-{n}").status_code == 201
        refused = buy(app, server_headers, player, "one-too-many")
        assert (refused.status_code, error_of(refused)["code"]) == (429, "rate_limited")
        clock.advance(seconds=61)  # the next round starts on an empty window


def test_copies_of_a_purchase_at_a_full_address_are_refused_alike(
    app, server_headers, admin_headers
):
    tighten(app, "purchases", address="1/minute")
    fund_player(app, admin_headers, "buyer")
    assert buy(app, server_headers, "buyer", "first").status_code == 201
    headers = server_headers | {"X-Player-IP": ADDRESS, "Idempotency-Key": "order-1"}
    body = {"item": "logs", "quantity": 1}

    copies = posted_at_once(app, "/v1/players/buyer/purchases", headers, [body] * COPIES)

    assert [r.status_code for r in copies] == [429] * COPIES


def exam(app, headers, player: str, exam_id: str):
    return app.test_client().post(
        f"/v1/players/{player}/exams",
        headers=headers | {"X-Player-IP": ADDRESS},
        json=EXAM | {"exam_id": exam_id},
    )


EXAM = {"category_id": "math", "score": 70, "total_questions": 10, "correct_answers": 7}


@pytest.mark.parametrize("limit, more", [("2/minute", 0), ("3/minute", 1)])
def test_copies_of_an_exam_at_an_addresss_last_places_are_answered_alike(
    app, server_headers, clock, limit, more
):
    tighten(app, "exams", address=limit)
    for round_ in range(ROUNDS):
        player = f"student-{round_}"
        assert exam(app, server_headers, player, "first").status_code == 201
        headers = server_headers | {"X-Player-IP": ADDRESS}
        body = EXAM | {"exam_id": "quiz-1"}

        copies = posted_at_once(app, f"/v1/players/{player}/exams", headers, [body] * COPIES)

        statuses = sorted(r.status_code for r in copies)
        assert statuses == [200] * (COPIES - 1) + [201], [r.get_json() for r in copies]
        assert len({r.get_data() for r in copies}) == 1
        for n in range(more):
            assert exam(app, server_headers, player, f"more-{n}").status_code == 201
        refused = exam(app, server_headers, player, "one-too-many")
        assert (refused.status_code, error_of(refused)["code"]) == (429, "rate_limited")
        clock.advance(seconds=61)


def test_copies_of_a_streak_repair_at_an_addresss_last_place_are_answered_alike(
    app, server_headers, admin_headers, clock
):
    """The first round repairs the break (201); the later ones find none to repair and
    are refused (409), an attempt that counts, answered alike too."""
    offer_repair(app)
    client = app.test_client()
    broken_streak(client, server_headers, clock)
    fund(client, admin_headers)
    fund_player(app, admin_headers, "bob")
    tighten(app, "purchases", address="2/minute")
    for round_ in range(ROUNDS):
        assert buy(app, server_headers, "bob", f"first-{round_}").status_code == 201
        headers = server_headers | {"X-Player-IP": ADDRESS, "Idempotency-Key": f"r-{round_}"}

        copies = posted_at_once(app, "/v1/players/alice/streak/repair", headers, [None] * COPIES)

        answered_alike(copies, 201 if round_ == 0 else 409)
        refused = buy(app, server_headers, "bob", f"one-too-many-{round_}")
        assert (refused.status_code, error_of(refused)["code"]) == (429, "rate_limited")
        clock.advance(seconds=61)
