"""The battle pass as a player reads it: `rewards_granted` lists the levels reached that
paid, each with what it credited, which a daily earning cap may cut: as the answer's
`level_rewards` and the ledger's entry say, and the document says so."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType


def test_a_level_reward_a_cap_cut_is_paid_answered_and_listed_as_credited(
    app, client, server_headers
):
    engine = app.extensions["questboard.engine"]
    security = engine.rules.security
    caps = dict(security.daily_earning_caps) | {"level_reward": MappingProxyType({"coins": 20})}
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(security, daily_earning_caps=MappingProxyType(caps)),
    )
    exam = {"exam_id": "big", "category_id": "math", "score": 100}
    answer = client.post(
        "/v1/players/alice/exams",
        headers=server_headers,
        json=exam | {"total_questions": 100, "correct_answers": 100},  # 1,020 XP: level 2
    ).get_json()

    [level] = answer["progress"]["level_rewards"]
    assert (level["level"], level["reward"]) == (2, {"coins": 20})
    entries = client.get("/v1/players/alice/ledger", headers=server_headers).get_json()
    [paid] = [e for e in entries["entries"] if e["kind"] == "level_reward"]
    assert paid["deltas"] == {"coins": 20}
    state = client.get("/v1/players/alice/battle-pass", headers=server_headers).get_json()
    assert state["rewards_granted"] == [{"level": 2, "reward": {"coins": 20}}]

    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    granted = schemas["BattlePass"]["properties"]["rewards_granted"]["items"]["$ref"]
    reward = schemas[granted.rsplit("/", 1)[1]]["properties"]["reward"]
    assert reward["description"].startswith("What reaching the level credited")
    assert "level_rewards" in reward["description"]
