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
from engine.errors import InvalidInputError
from engine.ops import persistence
from engine.rules.progression import StreakRepair
from engine.security import bans
from engine.webhooks import EVENT_TYPES, delivery, guard, subscriptions
from tests.webhook_receiver import Receiver, Trickler, run_jobs, webhook_engine


@pytest.fixture
def engine(real_redis, unlimited_rules, clock, sqlite_url):
    yield from webhook_engine(real_redis, unlimited_rules, clock, sqlite_url)


@pytest.fixture
def both_sql_engine(real_redis, unlimited_rules, clock, sql_url):
    """The same on SQLite and on the MariaDB server."""
    yield from webhook_engine(real_redis, unlimited_rules, clock, sql_url)


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


def deliveries(engine):
    with engine.sql.connect() as conn:
        return conn.execute(
            select(db.webhook_deliveries).order_by(db.webhook_deliveries.c.id)
        ).all()


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


def test_private_urls_are_refused_unless_allowed(engine):
    engine.webhook_allow_private = False
    for url in (
        "http://127.0.0.1:8080/hooks",
        "http://localhost/hooks",
        "http://169.254.169.254/latest/meta-data",
        "https://10.1.2.3/x",
        "http://[::1]/x",
        "http://[::ffff:192.168.0.1]/x",
        "ftp://example.com/x",
    ):
        with pytest.raises(InvalidInputError):
            subscriptions.create(engine, url, ["grant.applied"])
    assert guard.check_url("https://93.184.215.14/hooks", allow_private=False, resolve=False)
    engine.webhook_allow_private = True
    assert subscriptions.create(engine, "http://127.0.0.1:9/hooks", ["grant.applied"])


def test_a_url_that_turns_private_after_it_was_saved_is_not_called(engine, receiver, clock):
    _subscription, _ = subscriptions.create(engine, receiver.url, ["grant.applied"])
    engine.webhook_allow_private = False  # as if the name now resolved to loopback
    grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
    report = run_jobs(engine)
    [row] = deliveries(engine)
    assert report.retrying == 1 and receiver.seen == 0
    assert "non-public address" in row.last_error


def test_a_redirect_is_not_followed(engine, clock):
    import http.server
    import threading

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(307)
            self.send_header("Location", "http://169.254.169.254/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        subscriptions.create(engine, f"http://127.0.0.1:{server.server_port}/", ["grant.applied"])
        grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
        run_jobs(engine)
        [row] = deliveries(engine)
        assert (row.status, row.last_status) == ("pending", 307)
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirect_is_not_followed_even_by_a_client_that_follows_them(engine, receiver, clock):
    """The attempt itself says follow_redirects=False: no client passed to the job can
    bounce it to where the Location points (here a receiver that would answer 200)."""
    import http.server
    import threading

    import httpx

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(307)
            self.send_header("Location", receiver.url)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        subscriptions.create(engine, f"http://127.0.0.1:{server.server_port}/", ["grant.applied"])
        grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
        persistence.persist(engine)
        with httpx.Client(follow_redirects=True, trust_env=False) as client:
            delivery.run(engine, client=client)
        [row] = deliveries(engine)
        assert (row.status, row.last_status) == ("pending", 307)
        assert receiver.seen == 0
    finally:
        server.shutdown()
        server.server_close()


def test_a_url_httpx_cannot_read_fails_its_own_delivery_only(engine, receiver, clock):
    """With private receivers allowed the URL goes to httpx as saved; one it refuses
    (IDNA 2008 has no snowman) is that delivery's failure, and the others still go."""
    subscriptions.create(engine, "http://\u2603.example/hooks", ["grant.applied"])
    subscriptions.create(engine, receiver.url, ["grant.applied"])
    grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
    report = run_jobs(engine)
    assert (report.delivered, report.retrying) == (1, 1)
    assert receiver.seen == 1
    [failed] = [row for row in deliveries(engine) if row.status == "pending"]
    assert failed.last_error.startswith("InvalidURL: Invalid IDNA hostname")


def test_a_url_saved_before_its_form_was_checked_fails_its_own_delivery_only(
    engine, receiver, clock
):
    """A URL of a form refused today but stored before (an unclosed bracket, a NUL)
    fails its delivery as refused; the job goes on with the others."""
    stored = ("http://[::1/hooks", "http://example.com/\x00")
    for url in stored:
        subscription, _ = subscriptions.create(engine, receiver.url, ["grant.applied"])
        with engine.sql.begin() as conn:
            conn.execute(
                db.webhook_subscriptions.update()
                .where(db.webhook_subscriptions.c.id == subscription.id)
                .values(url=url)
            )
    subscriptions.create(engine, receiver.url, ["grant.applied"])
    grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
    report = run_jobs(engine)
    assert (report.delivered, report.retrying, receiver.seen) == (1, 2, 1)
    errors = sorted(row.last_error for row in deliveries(engine) if row.status == "pending")
    assert errors[0].startswith("The webhook URL is malformed")
    assert errors[1].startswith("The webhook URL may not hold a space, a control character")


def test_a_receiver_trickling_its_answer_cannot_stretch_an_attempt_past_its_deadline(
    engine, receiver, clock, monkeypatch
):
    """Each byte of the answer comes well within httpx's read timeout, the whole of it
    in 4 s: the attempt fails as timed out at its deadline (0.5 s here), and the other
    subscription's delivery in the same pass goes as usual."""
    monkeypatch.setattr(delivery, "ATTEMPT_SECONDS", 0.5)
    trickler = Trickler(interval=0.1)
    try:
        slow, _ = subscriptions.create(engine, trickler.url, ["grant.applied"])
        subscriptions.create(engine, receiver.url, ["grant.applied"])
        grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
        report = run_jobs(engine)
        assert (report.delivered, report.retrying, report.passes) == (1, 1, 1)
        assert receiver.seen == 1 and trickler.seen == 1
        [cut] = [row for row in deliveries(engine) if row.subscription_id == slow.id]
        assert cut.status == "pending" and cut.last_status is None
        assert cut.last_error == (
            "AttemptTimeout: timed out after 0.5 s (the limit for a whole attempt)"
        )
        assert 500 <= cut.latency_ms < 1_500  # the answer would have taken 4 s
        assert trickler.cut.wait(2) and not trickler.finished.is_set()
    finally:
        trickler.stop()


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


def test_a_delivery_is_pinned_to_the_public_address_its_name_resolved_to(monkeypatch):
    """DNS rebinding: the request goes to the address checked, by address, with the
    name kept in Host and SNI; a name resolving to a private address is refused."""
    answers = {"hooks.example.com": "93.184.215.14", "inside.example.com": "10.0.0.7"}

    def resolve(host, port, *args, **kwargs):
        if host not in answers:
            raise guard.socket.gaierror("no such name")
        return [(guard.socket.AF_INET, guard.socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(guard.socket, "getaddrinfo", resolve)
    pinned = guard.target("https://hooks.example.com:8443/q?x=1", allow_private=False)
    assert pinned == guard.Target(
        "https://93.184.215.14:8443/q?x=1",
        {"Host": "hooks.example.com:8443"},
        {"sni_hostname": "hooks.example.com"},
    )
    assert guard.target("http://hooks.example.com/q", allow_private=False).extensions == {}
    for url in ("https://inside.example.com/q", "https://nowhere.example.com/q"):
        with pytest.raises(InvalidInputError):
            guard.target(url, allow_private=False)
    assert guard.target("https://inside.example.com/q", allow_private=True).url == (
        "https://inside.example.com/q"
    )


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
