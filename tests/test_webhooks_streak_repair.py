"""The streak.repaired webhook event: a repair's ledger entry, once persisted, is
announced with the streak restored, the length lost and the price, and is no other
event (not a grant, not a purchase). The receiver is the real one
tests/test_webhooks.py uses.
"""

from __future__ import annotations

import dataclasses

import pytest

from engine.economy import activity, grants, streak_repair
from engine.rules.progression import StreakRepair
from engine.webhooks import subscriptions
from tests.webhook_fixtures import receiver as receiver  # a fixture: its own name
from tests.webhook_receiver import run_jobs, webhook_engine

LOGIN_EVENTS = ("login.bonus_claimed", "mission.completed", "battle_pass.level_reached")


@pytest.fixture
def engine(real_redis, unlimited_rules, clock, sqlite_url):
    rules = dataclasses.replace(
        unlimited_rules, streak_repair=StreakRepair("coins", base=50, per_day=10, max_price=500)
    )
    yield from webhook_engine(real_redis, rules, clock, sqlite_url)


def break_the_streak(engine, clock, days=3):
    """`days` claimed in a row, one missed, then the claim that restarts the streak."""
    for _ in range(days):
        activity.login(engine, "alice")
        clock.advance(days=1)
    clock.advance(days=1)
    assert activity.login(engine, "alice").streak == 1


def test_a_repair_is_announced_once_as_streak_repaired_and_as_nothing_else(engine, receiver, clock):
    subscriptions.create(engine, receiver.url, ["*"])
    grants.grant(engine, "alice", {"coins": 1000}, "funds", "g1")
    break_the_streak(engine, clock)

    repaired = streak_repair.repair(engine, "alice", "r-1")
    streak_repair.repair(engine, "alice", "r-1")  # a replay: the same repair
    report = run_jobs(engine)
    run_jobs(engine)  # persisted again: nothing new

    assert report.failed == 0 and report.retrying == 0
    received = [e for e in receiver.events() if e["type"] not in LOGIN_EVENTS]
    assert [e["type"] for e in received] == ["grant.applied", "streak.repaired"]
    event = received[1]
    assert event["player_id"] == "alice"
    data = event["data"]
    assert data.pop("balances")["coins"] == repaired.transaction.balances["coins"]
    assert data == {
        "transaction_id": repaired.transaction.transaction_id,
        "streak": 4,
        "lost": 3,
        "price": {"coins": 80},
        "reason": "streak repair: 3 days, streak 4",
        "reference": "streak_repair/r-1",
    }
    assert event["created_at"] == "2026-11-29T12:00:00Z"


def test_only_the_subscriptions_that_asked_get_a_repair(engine, receiver, clock):
    subscriptions.create(engine, receiver.url, ["grant.applied", "purchase.completed"])
    grants.grant(engine, "alice", {"coins": 1000}, "funds", "g1")
    break_the_streak(engine, clock)
    streak_repair.repair(engine, "alice", "r-1")

    run_jobs(engine)

    assert [e["type"] for e in receiver.events()] == ["grant.applied"]
