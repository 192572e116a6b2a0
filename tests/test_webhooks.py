"""Webhooks end to end: engine activity → persist → the webhooks job → a real receiver.

The receiver is an http.server on a loopback port (tests/webhook_receiver.py); the
engine runs on the real Redis and SQLite, with WEBHOOK_ALLOW_PRIVATE on. Time is the
fixed clock: a retry is due when the test moves the clock past its backoff.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import timedelta

import pytest
from questboard_client.webhooks import InvalidSignature, verify
from sqlalchemy import select

from engine import db, security
from engine.boards import exams
from engine.boards.exams import Exam
from engine.clock import to_ms
from engine.economy import activity, grants, purchases, streak_repair
from engine.ops import persistence
from engine.rules.progression import StreakRepair
from engine.security import bans
from engine.webhooks import EVENT_TYPES, delivery, subscriptions
from tests.webhook_fixtures import both_sql_engine as both_sql_engine  # a fixture: its own name
from tests.webhook_fixtures import deliveries
from tests.webhook_fixtures import engine as engine  # a fixture: its own name
from tests.webhook_fixtures import receiver as receiver  # a fixture: its own name
from tests.webhook_receiver import Receiver, run_jobs


def play_a_day(engine):
    """Every kind of event for alice: grant, login bonus, purchase, ads, exams (missions,
    battle-pass levels), a streak broken two days later and repaired, a violation, a
    ban placed and lifted."""
    grants.grant(engine, "alice", {"coins": 1000}, "welcome", "g1")
    activity.login(engine, "alice")
    purchases.purchase(engine, "alice", "steel", 1, "p1")
    activity.ad_reward(engine, "alice", "ad1")
    activity.ad_reward(engine, "alice", "ad2")
    for n in range(3):
        exams.record_exam(engine, "alice", Exam(f"e{n}", "math", 100, 100, 100))
    engine.rules = dataclasses.replace(
        engine.rules, streak_repair=StreakRepair("coins", base=50, per_day=10, max_price=500)
    )
    engine.clock.advance(days=2)  # a day missed: the claim restarts the streak
    activity.login(engine, "alice")
    streak_repair.repair(engine, "alice", "r1")
    security.record_violation(engine, "alice", "203.0.113.7", "impossible_amount", {}, "refused")
    ban = bans.create(engine, "player", "alice", "testing")
    bans.delete(engine, "player", ban.ban_id)


def test_every_event_type_arrives_once_with_a_valid_signature(engine, receiver, clock):
    _subscription, secret = subscriptions.create(engine, receiver.url, ["*"], "all of it")
    play_a_day(engine)
    report = run_jobs(engine)
    assert report.failed == 0 and report.retrying == 0
    clock.set(clock.now().replace(day=30, hour=12) + timedelta(days=1))  # Dec 1: W48 and 11 ended
    run_jobs(engine)

    received = receiver.events()
    ids = Counter(event["id"] for event in received)
    assert set(ids.values()) == {1}  # each event once
    assert {event["type"] for event in received} == set(EVENT_TYPES)
    for headers, body in receiver.requests:
        timestamp = int(headers["Questboard-Signature"].split(",")[0][2:])
        verify(body, headers["Questboard-Signature"], secret, now=timestamp)
        with pytest.raises(InvalidSignature):
            verify(body + b" ", headers["Questboard-Signature"], secret, now=timestamp)
        with pytest.raises(InvalidSignature):  # older than 5 minutes
            verify(body, headers["Questboard-Signature"], secret, now=timestamp + 301)
        assert headers["Questboard-Event-Id"] == __import__("json").loads(body)["id"]
    by_type = {event["type"]: event for event in received}
    assert by_type["login.bonus_claimed"]["data"]["streak"] == 1
    assert (
        by_type["streak.repaired"]["data"]["streak"],
        by_type["streak.repaired"]["data"]["lost"],
    ) == (2, 1)
    assert by_type["purchase.completed"]["data"]["changes"]["steel"] == 1
    levels = [e["data"] for e in received if e["type"] == "battle_pass.level_reached"]
    assert [d["level"] for d in levels] == list(range(2, len(levels) + 2))  # paid or not
    assert any(d["rewards_paid"] for d in levels)
    assert by_type["exam.recorded"]["data"]["boards"][0]["rank"] == 1
    assert by_type["player.banned"]["data"]["reason"] == "testing"
    closed = [e for e in received if e["type"] == "leaderboard.period_closed"]
    assert {(e["data"]["board"], e["data"]["period"]) for e in closed} == {
        ("weekly", "2026-W48"),
        ("monthly", "2026-11"),
    }
    assert all(e["data"]["top"][0]["player_id"] == "alice" for e in closed)
    assert {d.status for d in deliveries(engine)} == {"delivered"}

    run_jobs(engine)  # nothing is sent twice
    assert len(receiver.requests) == len(received)


def test_a_receiver_failing_three_times_gets_the_event_on_the_fourth_attempt(
    both_sql_engine, clock
):
    engine = both_sql_engine
    receiver = Receiver(fail_first=3)
    try:
        subscription, _secret = subscriptions.create(engine, receiver.url, ["grant.applied"])
        grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
        waits = []
        for attempt in range(1, 5):
            report = run_jobs(engine)
            [row] = deliveries(engine)
            assert row.attempts == attempt
            if attempt < 4:
                assert (report.retrying, row.status, row.last_status) == (1, "pending", 500)
                waits.append(row.next_attempt_ms - to_ms(clock.now()))
                assert delivery.run(engine).retrying == 0  # not due before its backoff
                clock.set(clock.now() + timedelta(milliseconds=waits[-1]))
        assert row.status == "delivered" and row.last_error is None
        assert receiver.seen == 4 and len(receiver.requests) == 1
        # exponential with jitter: each wait within [half, all] of 10 s, 20 s, 40 s
        for n, wait in enumerate(waits):
            assert 5_000 * 2**n <= wait <= 10_000 * 2**n
        [log] = subscriptions.deliveries(engine, subscription.id)
        assert (log.status, log.attempts, log.type) == ("delivered", 4, "grant.applied")
    finally:
        receiver.stop()


def test_events_of_one_player_arrive_in_order_even_across_a_failure(both_sql_engine, clock):
    engine = both_sql_engine
    receiver = Receiver(fail_first=1)
    try:
        subscriptions.create(engine, receiver.url, ["grant.applied"])
        for n in range(30):
            grants.grant(engine, f"p{n % 3}", {"coins": n + 1}, "load", f"g{n}")
            clock.advance(milliseconds=1)
        run_jobs(engine)  # the first one failed: its player waits, the others go on
        clock.advance(seconds=11)
        run_jobs(engine)
        received = receiver.events()
        assert len(received) == 30
        for player in ("p0", "p1", "p2"):
            amounts = [e["data"]["changes"]["coins"] for e in received if e["player_id"] == player]
            assert amounts == sorted(amounts) and len(amounts) == 10
    finally:
        receiver.stop()


def test_a_delivery_failing_for_24_hours_fails_with_an_alert_and_the_subscription_is_disabled(
    engine, clock, caplog
):
    receiver = Receiver(fail_first=10_000)
    try:
        subscription, _ = subscriptions.create(engine, receiver.url, ["grant.applied"])
        grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
        started = clock.now()
        with caplog.at_level("WARNING", logger="questboard.alerts"):
            while clock.now() - started <= timedelta(hours=25):
                run_jobs(engine)
                clock.advance(hours=1)
        [row] = deliveries(engine)
        assert row.status == "failed"
        alerts = [r.getMessage() for r in caplog.records]
        assert any("webhook_delivery_failed" in a for a in alerts)
        assert any("webhook_subscription_disabled" in a for a in alerts)
        assert not subscriptions.get(engine, subscription.id).enabled
        grants.grant(engine, "alice", {"coins": 5}, "again", "g2")
        run_jobs(engine)
        assert len(deliveries(engine)) == 1  # a disabled subscription gets no new events
    finally:
        receiver.stop()


def test_rotation_signs_with_both_secrets_until_the_grace_period_ends(engine, receiver, clock):
    subscription, old = subscriptions.create(engine, receiver.url, ["grant.applied"])
    rotated, new = subscriptions.rotate_secret(engine, subscription.id, timedelta(hours=1))
    assert rotated.previous_secret_expires_at == clock.now() + timedelta(hours=1)
    grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
    run_jobs(engine)
    clock.advance(hours=1, seconds=1)
    grants.grant(engine, "alice", {"coins": 5}, "later", "g2")
    run_jobs(engine)
    (first_headers, first), (second_headers, second) = receiver.requests
    now = lambda h: int(h["Questboard-Signature"].split(",")[0][2:])  # noqa: E731
    assert first_headers["Questboard-Signature"].count("v1=") == 2
    verify(first, first_headers["Questboard-Signature"], old, now=now(first_headers))
    verify(first, first_headers["Questboard-Signature"], new, now=now(first_headers))
    assert second_headers["Questboard-Signature"].count("v1=") == 1
    verify(second, second_headers["Questboard-Signature"], new, now=now(second_headers))
    with pytest.raises(InvalidSignature):
        verify(second, second_headers["Questboard-Signature"], old, now=now(second_headers))


def test_ping_and_redeliver(engine, receiver):
    subscription, _ = subscriptions.create(engine, receiver.url, ["grant.applied"])
    queued = subscriptions.ping(engine, subscription.id)
    assert (queued.type, queued.status) == ("ping", "pending")
    delivery.run(engine)
    again = subscriptions.redeliver(engine, subscription.id, queued.id)
    assert again.status == "pending"
    delivery.run(engine)
    assert [e["type"] for e in receiver.events()] == ["ping", "ping"]
    assert [e["id"] for e in receiver.events()] == [queued.event_id] * 2


def test_the_weekly_cleanup_removes_the_webhook_record_after_30_days(engine, receiver, clock):
    from engine.ops import maintenance

    subscription, _ = subscriptions.create(engine, receiver.url, ["grant.applied"])
    grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
    run_jobs(engine)
    grants.grant(engine, "bob", {"coins": 5}, "welcome", "g2")
    persistence.persist(engine)
    subscriptions.change(engine, subscription.id, enabled=False)
    delivery.run(engine)  # bob's event waits: its subscription is disabled
    assert [d.status for d in deliveries(engine)] == ["delivered", "pending"]
    clock.advance(days=29)
    maintenance.cleanup(engine)
    assert len(deliveries(engine)) == 2
    clock.advance(days=2)
    maintenance.cleanup(engine)
    [kept] = deliveries(engine)
    assert kept.status == "pending"  # resumes when the subscription is enabled again
    with engine.sql.connect() as conn:
        assert conn.execute(select(db.webhook_events.c.event_id)).scalars().all() == [kept.event_id]
