"""The day's missions say what a completed mission credited, not only the rules' reward.

A mission's reward is paid within the day's `mission_reward` earning cap and under the
balance limit, which may cut it (to nothing). The answer that completed it and its
ledger entry say what was credited; `GET .../daily` and `.../missions` list each
mission with the rules' `reward` (what completing it pays) and, once completed,
`credited`: what completing it did pay.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from types import MappingProxyType

import pytest

from engine.economy import activity
from engine.progression import daily

LOGIN_MISSION = "login_1"  # one of 2026-11-26's missions: { coins = 5 }, 50 XP


def capped(engine, mission_reward: dict[str, int]) -> None:
    security = engine.rules.security
    caps = dict(security.daily_earning_caps) | {"mission_reward": MappingProxyType(mission_reward)}
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(security, daily_earning_caps=MappingProxyType(caps)),
    )


def login_on_the_26th(engine) -> dict:
    engine.clock.set(datetime(2026, 11, 26, 12, tzinfo=UTC))
    result = activity.login(engine, "alice")
    [completed] = [m for m in result.progress.missions if m["id"] == LOGIN_MISSION]
    return completed


def mission(engine, mission_id: str = LOGIN_MISSION) -> daily.MissionState:
    [found] = [m for m in daily.state(engine, "alice").missions if m.mission_id == mission_id]
    return found


@pytest.mark.parametrize(("cap", "credited"), [(2, {"coins": 2}), (0, {})])
def test_a_completed_mission_lists_what_it_credited(engine, cap, credited):
    capped(engine, {"coins": cap})

    answered = login_on_the_26th(engine)

    assert answered["reward"] == credited
    state = mission(engine)
    assert (state.completed, state.reward, state.credited) == (True, {"coins": 5}, credited)


def test_a_mission_not_completed_has_credited_nothing_yet(engine):
    login_on_the_26th(engine)
    others = [m for m in daily.state(engine, "alice").missions if m.mission_id != LOGIN_MISSION]
    assert others and all(not m.completed and m.credited is None for m in others)


def test_uncut_the_credit_is_the_rules_reward(engine):
    login_on_the_26th(engine)
    assert mission(engine).credited == {"coins": 5}


def test_the_routes_list_it_and_the_document_says_so(app, client, server_headers, clock):
    capped(app.extensions["questboard.engine"], {"coins": 2})
    clock.set(datetime(2026, 11, 26, 12, tzinfo=UTC))
    client.post("/v1/players/alice/login", headers=server_headers)

    for route in ("daily", "missions"):
        body = client.get(f"/v1/players/alice/{route}", headers=server_headers).get_json()
        listed = {m["id"]: m for m in body["missions"]}
        assert (listed[LOGIN_MISSION]["reward"], listed[LOGIN_MISSION]["credited"]) == (
            {"coins": 5},
            {"coins": 2},
        )
        assert all(m["credited"] is None for m in listed.values() if not m["completed"])

    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    state = schemas["MissionState"]["properties"]
    assert "credited" in schemas["MissionState"]["required"]
    assert "what completing it credited" in state["credited"]["description"]
    assert "rules" in state["reward"]["description"]
