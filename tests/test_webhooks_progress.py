"""Webhook events that pay nothing, and a player's order across the outbox and bans.

A mission whose reward the daily earning cap cut to nothing, and a battle-pass level
that has no reward, still happened: each is announced with the rewards actually paid.
A ban recorded by the webhooks job waits until the persist job has passed it, so an
earlier purchase of the same player is delivered first. The receiver is the real one
tests/test_webhooks.py uses.
"""

from __future__ import annotations

import dataclasses
import json
import random

import pytest
from sqlalchemy import func, select

from engine import db, keys
from engine.boards import exams
from engine.boards.exams import Exam
from engine.economy import activity, grants, purchases
from engine.ops import persistence
from engine.progression.battle_pass import level_for
from engine.security import bans
from engine.webhooks import delivery, subscriptions
from tests.webhook_fixtures import engine as engine  # a fixture: its own name
from tests.webhook_fixtures import receiver as receiver  # a fixture: its own name
from tests.webhook_receiver import run_jobs, webhook_engine

NOTHING_FOR_MISSIONS = {"coins": 0, "bricks": 0, "cement": 0}


@pytest.fixture
def capped_engine(real_redis, unlimited_rules, clock, sqlite_url):
    """Mission rewards capped at nothing a day: every mission completes unpaid."""
    security = unlimited_rules.security
    caps = {**security.daily_earning_caps, "mission_reward": NOTHING_FOR_MISSIONS}
    rules = dataclasses.replace(
        unlimited_rules, security=dataclasses.replace(security, daily_earning_caps=caps)
    )
    yield from webhook_engine(real_redis, rules, clock, sqlite_url)


def test_every_mission_completed_and_level_reached_is_announced_paid_or_not(
    capped_engine, receiver
):
    engine = capped_engine
    subscriptions.create(engine, receiver.url, ["mission.completed", "battle_pass.level_reached"])
    activity.login(engine, "alice")
    completed, levels = set(), []
    for n in range(5):  # 5 x 1,020 XP and the missions': past level 5, level 4 pays nothing
        summary = exams.record_exam(engine, "alice", Exam(f"e{n}", "math", 100, 100, 100)).summary
        progress = summary.get("progress", {})
        completed |= {m["id"] for m in progress.get("missions", []) if m.get("completed")}
        levels += (progress.get("xp") or {}).get("levels_gained", [])
    daily = engine.redis.hgetall(keys.daily("alice", "2026-11-25"))
    completed |= {f.decode()[8:-5] for f in daily if f.decode().endswith(":done")}
    assert completed and 4 in levels and levels == list(range(2, max(levels) + 1))

    report = run_jobs(engine)
    assert report.failed == 0 and report.retrying == 0
    received = receiver.events()
    missions = [e["data"] for e in received if e["type"] == "mission.completed"]
    reached = [e["data"] for e in received if e["type"] == "battle_pass.level_reached"]
    assert {m["mission_id"] for m in missions} == completed
    assert all(m["rewards_paid"] == {} and m["day"] == "2026-11-25" for m in missions)
    assert [r["level"] for r in reached] == levels  # each once, in order
    by_level = {r["level"]: r for r in reached}
    assert by_level[4]["rewards_paid"] == {} and by_level[4]["transaction_id"] is None
    assert by_level[2]["rewards_paid"] == {"coins": 50} and by_level[2]["transaction_id"]

    # Only the paid rewards are ledger rows: the ledger still sums to the wallet, and the
    # battle pass reached SQL though no mission paid anything.
    with engine.sql.connect() as conn:
        rows = conn.execute(
            select(db.user_resource_logs.c.player_id, db.user_resource_logs.c.deltas)
        ).all()
        kinds = set(conn.execute(select(db.user_resource_logs.c.kind)).scalars())
        saved_level = conn.execute(select(func.max(db.user_battle_pass.c.level))).scalar()
    assert all(json.loads(deltas) for _, deltas in rows) and "mission_reward" not in kinds
    wallet = {k.decode(): int(v) for k, v in engine.redis.hgetall(keys.wallet("alice")).items()}
    sums = persistence.ledger_sums(rows)["alice"]
    assert {r: v for r, v in sums.items() if v} == {r: v for r, v in wallet.items() if v}
    assert saved_level == level_for(
        int(engine.redis.hget(keys.battle_pass("alice", reached[0]["season_id"]), "xp")),
        engine.rules.battle_pass.xp_per_level,
    )
    assert persistence.lag_ms(engine) is None  # the event entries were acknowledged

    run_jobs(engine)  # persisted again: nothing new
    assert len(receiver.events()) == len(received)


def test_a_ban_is_delivered_after_the_players_earlier_purchase_persisted_later(engine, receiver):
    subscriptions.create(engine, receiver.url, ["purchase.completed", "player.banned"])
    grants.grant(engine, "alice", {"coins": 1000}, "welcome", "g1")
    persistence.persist(engine)
    purchases.purchase(engine, "alice", "steel", 1, "p1")  # not persisted yet
    bans.create(engine, "player", "alice", "cheating")

    delivery.run(engine, rng=random.Random(7))  # the webhooks job runs first
    assert receiver.events() == []  # the ban waits for the purchase
    run_jobs(engine)
    assert [e["type"] for e in receiver.events()] == ["purchase.completed", "player.banned"]
    run_jobs(engine)
    assert len(receiver.events()) == 2


def test_a_players_events_from_one_batch_arrive_in_the_order_they_happened(capped_engine, receiver):
    engine = capped_engine
    subscriptions.create(
        engine, receiver.url, ["grant.applied", "mission.completed", "battle_pass.level_reached"]
    )
    grants.grant(engine, "alice", {"coins": 1}, "first", "g1")
    for n in range(3):
        exams.record_exam(engine, "alice", Exam(f"e{n}", "math", 100, 100, 100))
    grants.grant(engine, "alice", {"coins": 2}, "last", "g2")
    run_jobs(engine)  # one persisted batch: ledger entries and event entries mixed
    types = [e["type"] for e in receiver.events()]
    assert types[0] == "grant.applied" and types[-1] == "grant.applied"
    assert "mission.completed" in types and "battle_pass.level_reached" in types
