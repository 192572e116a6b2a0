"""A player's economy at its edges, as a game server meets it over HTTP.

The daily earning caps count what a player was paid (docs/redis-keys.md: the daily
hash's `earned:<kind>:<resource>`, "paid today"): a reward the balance limit cut pays
nothing, so it leaves the cap's room to the rewards that do pay, and a later reward
is neither cut nor a violation of the player's.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis, Redis and the cluster


def with_rules(app, *, max_balance: int, caps: dict[str, dict[str, int]]) -> None:
    """The app's rules with a balance limit and daily earning caps of its own."""
    engine = app.extensions["questboard.engine"]
    rules = engine.rules
    security = rules.security
    earning = dict(security.daily_earning_caps)
    earning |= {kind: MappingProxyType(cap) for kind, cap in caps.items()}
    engine.rules = dataclasses.replace(
        rules,
        limits=dataclasses.replace(rules.limits, max_balance=max_balance),
        security=dataclasses.replace(security, daily_earning_caps=MappingProxyType(earning)),
    )


def grant(client, admin_headers, player: str, resources: dict[str, int]) -> None:
    answer = client.post(
        f"/v1/admin/players/{player}/grants",
        headers=admin_headers | {"Idempotency-Key": f"fund-{player}"},
        json={"resources": resources, "reason": "funds"},
    )
    assert answer.status_code == 201


def exam(client, headers, player: str, exam_id: str) -> dict:
    answer = client.post(
        f"/v1/players/{player}/exams",
        headers=headers,
        json={
            "exam_id": exam_id,
            "category_id": "math",
            "score": 50,
            "total_questions": 10,
            "correct_answers": 5,
        },
    )
    assert answer.status_code == 201
    return answer.get_json()["progress"]


def test_a_mission_reward_the_balance_limit_cut_leaves_the_earning_cap_to_the_next(
    app, client, clock, server_headers, admin_headers
):
    # The 25th's missions: exams_3 pays 25 coins, buy_1 10 coins; the day's cap is 30.
    with_rules(app, max_balance=100, caps={"mission_reward": {"coins": 30}})
    grant(client, admin_headers, "mia", {"coins": 100})  # at the balance limit
    for n in range(3):
        clock.advance(seconds=1)
        progress = exam(client, server_headers, "mia", f"mia-{n}")
    [exams_3] = progress["missions"]
    assert (exams_3["id"], exams_3["completed"], exams_3["reward"]) == ("exams_3", True, {})

    clock.advance(seconds=1)
    bought = client.post(
        "/v1/players/mia/purchases",
        headers=server_headers | {"Idempotency-Key": "mia-logs"},
        json={"item": "logs", "quantity": 1},
    ).get_json()

    [buy_1] = bought["progress"]["missions"]
    assert (buy_1["id"], buy_1["reward"]) == ("buy_1", {"coins": 10})
    assert bought["balances"]["coins"] == 100 - 10 + 10
    flags = client.get("/v1/admin/players/mia/flags", headers=admin_headers).get_json()
    assert flags["violations"] == {}
    events = client.get("/v1/admin/security/events?player_id=mia", headers=admin_headers)
    assert events.get_json()["events"] == []
