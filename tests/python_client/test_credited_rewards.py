"""The client's results say what the service credited, as its answers do: a streak
repair's `milestone_bonuses`, each mission's `credited` in the day's state, and each
battle pass level's `reward` in `rewards_granted` (all of them cut by a daily earning
cap or the balance limit, so not the rules' rewards).

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from types import MappingProxyType

from questboard_client import AsyncQuestboard
from questboard_client.models import DailyBonus, GrantedLevel

from tests.conftest import SERVER_KEY
from tests.test_http_streak_repair import offer_repair

LOGIN_MISSION = "login_1"  # one of 2026-11-26's missions: { coins = 5 }, 50 XP


def capped(app, kind: str, cap: dict[str, int]) -> None:
    """The rules with the day's `kind` earning cap set to `cap`."""
    engine = app.extensions["questboard.engine"]
    security = engine.rules.security
    caps = dict(security.daily_earning_caps) | {kind: MappingProxyType(cap)}
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(security, daily_earning_caps=MappingProxyType(caps)),
    )


def test_a_repair_to_a_milestone_day_returns_the_milestone_it_paid(app, qb, admin, clock):
    offer_repair(app)
    for _ in range(6):  # six days in a row, one missed, then a restart at 1
        qb.login("alice")
        clock.advance(days=1)
    clock.advance(days=1)
    assert qb.login("alice").streak == 1
    admin.grant("alice", {"coins": 1000}, "funds")

    repaired = qb.repair_streak("alice")  # restored to 7: a milestone day

    [bonus] = repaired.milestone_bonuses
    assert isinstance(bonus, DailyBonus)
    assert (repaired.streak, bonus.streak, bonus.reward) == (7, 7, {"steel": 10})
    [paid] = [e for e in admin.ledger("alice") if e.transaction_id == bonus.transaction_id]
    assert (paid.kind, paid.deltas) == ("login_bonus", {"steel": 10})


def test_an_ordinary_repair_returns_no_milestone(app, qb, admin, clock):
    offer_repair(app)
    for _ in range(3):
        qb.login("alice")
        clock.advance(days=1)
    clock.advance(days=1)
    qb.login("alice")
    admin.grant("alice", {"coins": 1000}, "funds")

    repaired = qb.repair_streak("alice")

    assert (repaired.streak, repaired.milestone_bonuses) == (4, ())


def test_the_days_missions_say_what_completing_them_credited(app, qb, clock):
    capped(app, "mission_reward", {"coins": 2})  # the rules pay login_1 { coins = 5 }
    clock.set(datetime(2026, 11, 26, 12, tzinfo=UTC))
    qb.login("alice")

    for state in (qb.daily("alice"), qb.missions("alice")):
        by_id = {mission.id: mission for mission in state.missions}
        login_mission = by_id.pop(LOGIN_MISSION)
        assert (login_mission.completed, login_mission.reward, login_mission.credited) == (
            True,
            {"coins": 5},
            {"coins": 2},
        )
        assert by_id and all(m.credited is None for m in by_id.values() if not m.completed)


def test_the_async_client_reads_the_same_credits(app, base_url, clock):
    capped(app, "mission_reward", {"coins": 0})  # cut to nothing: credited {}
    clock.set(datetime(2026, 11, 26, 12, tzinfo=UTC))

    async def session() -> tuple:
        async with AsyncQuestboard(base_url, SERVER_KEY) as qb:
            await qb.login("alice")
            return await qb.daily("alice"), await qb.missions("alice")

    for state in asyncio.run(session()):
        [login_mission] = [m for m in state.missions if m.id == LOGIN_MISSION]
        assert (login_mission.completed, login_mission.credited) == (True, {})


def test_the_battle_pass_lists_what_each_level_credited(app, qb):
    capped(app, "level_reward", {"coins": 20})  # the rules pay level 2 { coins = 50 }

    summary = qb.record_exam("alice", "a-1", "math", 100, 100, 100)  # 1,020 XP: level 2

    [answered] = summary.progress.level_rewards
    assert (answered.level, answered.reward) == (2, {"coins": 20})
    assert qb.battle_pass("alice").rewards_granted == (GrantedLevel(2, {"coins": 20}),)
