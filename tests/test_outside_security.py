"""Security and operations seen from outside: bans under the QA clock, the cleanup's
purge of expired bans, a player's flags, a webhook attempt's deadline against a slow
resolver, the `questboard` command's answer to a mistake.

The QA clock (PUT /v1/admin/clock) moves the engine's time; Redis' own expiries keep
real time. A ban's expiry is engine time, so nothing about a ban may hang on Redis'
clock, and every removal of a ban reaches every process's copy of the bans.
"""

from __future__ import annotations

import dataclasses
import io
import socket
import threading
import time

import pytest
from sqlalchemy import select

from cli.main import main as questboard_main
from engine import db, keys, security
from engine.clock import to_ms
from engine.economy import grants
from engine.ops import maintenance, persistence
from engine.security import bans
from engine.webhooks import delivery, guard, subscriptions
from engine.webhooks.deadline import AttemptDeadline, AttemptExpiredError
from tests.cli_harness import questboard as questboard  # a fixture: its own name
from tests.webhook_receiver import webhook_engine
from web import create_app


@pytest.fixture
def qa_apps(settings, store):
    """Two web processes on one Redis with the QA clock on (real time plus an offset)."""
    qa = dataclasses.replace(settings, allow_clock_override=True)
    return create_app(qa, redis_client=store), create_app(qa, redis_client=store)


def set_clock(client, admin_headers, moment):
    response = client.put("/v1/admin/clock", headers=admin_headers, json={"now": moment})
    assert response.status_code == 200, response.get_json()


def wallet_status(client, server_headers):
    return client.get("/v1/players/alice/wallet", headers=server_headers).status_code


@pytest.mark.app_on_both_backends
def test_a_ban_the_cleanup_removed_is_enforced_nowhere_when_the_clock_goes_back(
    qa_apps, admin_headers, server_headers
):
    """The weekly cleanup removes an expired ban; the QA clock then goes back to before
    its expiry. The ban is gone (not listed, a lift is 404), so no process may still
    refuse the player with it from its copy of the bans."""
    first, second = (app.test_client() for app in qa_apps)
    set_clock(first, admin_headers, "2030-01-01T00:00:00Z")
    ban = first.post(
        "/v1/admin/player-bans",
        headers=admin_headers,
        json={"player_id": "alice", "reason": "chargeback", "expires_in_seconds": 3600},
    ).get_json()
    assert [wallet_status(c, server_headers) for c in (first, second)] == [403, 403]

    set_clock(first, admin_headers, "2030-01-01T02:00:00Z")
    assert maintenance.cleanup(qa_apps[0].extensions["questboard.engine"]) == 1
    set_clock(first, admin_headers, "2030-01-01T00:30:00Z")

    assert first.get("/v1/admin/player-bans", headers=admin_headers).get_json() == {"bans": []}
    lifted = first.delete(f"/v1/admin/player-bans/{ban['id']}", headers=admin_headers)
    assert lifted.status_code == 404
    assert [wallet_status(c, server_headers) for c in (first, second)] == [200, 200]


@pytest.mark.app_on_both_backends
def test_a_bans_record_lasts_as_long_as_the_ban_when_the_clock_goes_back(
    qa_apps, admin_headers, server_headers
):
    """Banned for an hour with the clock set in 2030, then the clock reset to real time:
    the ban holds until 2030, so it must stay listed and liftable until then, however
    much real time passes. A record with a Redis expiry (real time) would vanish a day
    later, leaving the player refused by copies that had read it, unlisted and
    impossible to lift."""
    client = qa_apps[0].test_client()
    redis = qa_apps[0].extensions["questboard.engine"].redis
    set_clock(client, admin_headers, "2030-01-01T00:00:00Z")
    ban = client.post(
        "/v1/admin/player-bans",
        headers=admin_headers,
        json={"player_id": "alice", "reason": "chargeback", "expires_in_seconds": 3600},
    ).get_json()
    assert client.delete("/v1/admin/clock", headers=admin_headers).status_code == 200
    assert wallet_status(client, server_headers) == 403

    engine = qa_apps[0].extensions["questboard.engine"]
    in_force_ms = to_ms(bans.load(engine, [ban["id"]])[0].expires_at) - to_ms(engine.clock.now())
    record_ms = redis.pttl(keys.ban(ban["id"]))
    assert record_ms == -1 or record_ms >= in_force_ms
    assert [
        b["id"]
        for b in client.get("/v1/admin/player-bans", headers=admin_headers).get_json()["bans"]
    ] == [ban["id"]]
    assert (
        client.delete(f"/v1/admin/player-bans/{ban['id']}", headers=admin_headers).status_code
        == 204
    )
    assert wallet_status(client, server_headers) == 200


@pytest.mark.app_on_both_backends
def test_the_cleanup_removes_the_record_of_an_expired_ban_another_replaced(
    app, client, admin_headers, clock
):
    """With no Redis expiry on a ban's record, the cleanup removes the records of
    expired bans by the engine's clock, those no longer in the index included."""
    engine = app.extensions["questboard.engine"]
    first = bans.create(engine, "player", "alice", "first", expires_in_seconds=60)
    clock.advance(seconds=61)
    second = bans.create(engine, "player", "alice", "second", expires_in_seconds=60)
    assert second.ban_id != first.ban_id
    clock.advance(seconds=30)
    assert maintenance.cleanup(engine) == 1  # the first: expired, replaced
    assert not engine.redis.exists(keys.ban(first.ban_id))
    assert bans.active_ban(engine, "alice", None) == second
    clock.advance(seconds=31)
    assert maintenance.cleanup(engine) == 1
    assert not engine.redis.exists(keys.ban(second.ban_id))
    assert engine.redis.zrange(keys.bans_index(), 0, -1) == []
    assert engine.redis.hlen(keys.player_bans()) == 0


def test_a_lookup_that_outlasts_the_deadline_expires_the_attempt_at_the_deadline():
    answer = threading.Event()
    started = time.monotonic()
    with AttemptDeadline(0.05) as deadline, pytest.raises(AttemptExpiredError):
        deadline.within(lambda: answer.wait(5))
    assert deadline.expired and time.monotonic() - started < 1
    answer.set()  # the resolver's thread ends
    with AttemptDeadline(5) as quick:
        assert quick.within(lambda: ["93.184.215.14"]) == ["93.184.215.14"]
        with pytest.raises(ValueError, match="bad name"):
            quick.within(lambda: (_ for _ in ()).throw(ValueError("bad name")))
    assert not quick.expired


@pytest.fixture
def webhook_engine_on_redis(real_redis, unlimited_rules, clock, sqlite_url):
    yield from webhook_engine(real_redis, unlimited_rules, clock, sqlite_url)


def test_a_slow_resolver_holds_a_webhook_attempt_no_longer_than_its_deadline(
    webhook_engine_on_redis, monkeypatch
):
    """The receiver's name takes 5 s to resolve (a resolver that answers late); the
    attempt's deadline is 0.2 s here: the attempt fails as timed out at its deadline,
    and the pass is not held for the lookup."""
    engine = webhook_engine_on_redis
    monkeypatch.setattr(delivery, "ATTEMPT_SECONDS", 0.2)
    subscriptions.create(engine, "http://hooks.example.com/q", ["grant.applied"])
    engine.webhook_allow_private = False  # the guard resolves the name before each attempt
    released = threading.Event()
    real_getaddrinfo = socket.getaddrinfo

    def slow_getaddrinfo(host, *args, **kwargs):
        if host != "hooks.example.com":
            return real_getaddrinfo(host, *args, **kwargs)
        released.wait(5)  # a late answer, and a private one: refused if ever waited for
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80))]

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    grants.grant(engine, "alice", {"coins": 5}, "welcome", "g1")
    persistence.persist(engine)  # the grant's event, to deliver
    started = time.monotonic()
    try:
        report = delivery.run(engine)
    finally:
        released.set()
    assert time.monotonic() - started < 2.5
    assert (report.delivered, report.retrying) == (0, 1)
    with engine.sql.connect() as conn:
        [row] = conn.execute(select(db.webhook_deliveries)).all()
    assert row.last_error == (
        "AttemptTimeout: timed out after 0.2 s (the limit for a whole attempt)"
    )
    assert row.latency_ms < 2_500


@pytest.mark.parametrize("count", ["0", "-3", "16385"])
def test_shards_migrate_to_a_count_out_of_range_is_one_line_and_a_usage_mistake(questboard, count):
    """Exit code 2 and one line, as the command's other usage mistakes; the recorded
    count is untouched."""
    questboard.redis_client.set(keys.player_shards_record(), "256")
    code, out, err = questboard("shards", "migrate", "--to", count)
    assert (code, out) == (2, "")
    assert err == "questboard: --to must be from 1 to 16384 player shards.\n"
    assert questboard.redis_client.get(keys.player_shards_record()) == b"256"


@pytest.mark.app_on_both_backends
def test_a_players_flags_count_only_the_violations_in_the_window(app, client, admin_headers, clock):
    """GET /v1/admin/players/{id}/flags: `violations` are the counts by rule of the
    violations within the window, as `in_window` is, not of every violation since the
    player was last quiet for a whole window."""
    engine = app.extensions["questboard.engine"]
    window = engine.rules.security.violation_window_minutes
    for rule in ("rapid_fire", "rapid_fire", "daily_earning_cap"):
        security.record_violation(engine, "alice", None, rule, {}, "refused")
        clock.advance(minutes=window * 5 // 6)  # each one within the window of the last
    flags = client.get("/v1/admin/players/alice/flags", headers=admin_headers).get_json()
    assert (flags["in_window"], flags["violations"]) == (1, {"daily_earning_cap": 1})
    security.record_violation(engine, "alice", None, "rapid_fire", {}, "refused")
    flags = client.get("/v1/admin/players/alice/flags", headers=admin_headers).get_json()
    assert (flags["in_window"], flags["violations"]) == (
        2,
        {"daily_earning_cap": 1, "rapid_fire": 1},
    )
    clock.advance(minutes=window + 1)
    flags = client.get("/v1/admin/players/alice/flags", headers=admin_headers).get_json()
    assert (flags["in_window"], flags["violations"]) == (0, {})


def test_saving_a_webhook_waits_for_a_slow_resolver_a_bounded_time(
    client, admin_headers, monkeypatch
):
    """POST /v1/admin/webhooks checks where the URL's name points, but a resolver that
    answers late (5 s here) holds the request only for the lookup's bound (0.1 s here):
    a name not resolved by then is saved as one that does not resolve yet, and delivery
    checks it again before every attempt."""
    monkeypatch.setattr(guard, "SAVE_LOOKUP_SECONDS", 0.1, raising=False)
    released = threading.Event()
    real_getaddrinfo = socket.getaddrinfo

    def slow_getaddrinfo(host, *args, **kwargs):
        if host != "hooks.example.com":
            return real_getaddrinfo(host, *args, **kwargs)
        released.wait(5)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443))]

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    started = time.monotonic()
    try:
        response = client.post(
            "/v1/admin/webhooks",
            headers=admin_headers | {"Idempotency-Key": "slow-resolver"},
            json={"url": "https://hooks.example.com/q", "events": ["grant.applied"]},
        )
    finally:
        released.set()
    assert time.monotonic() - started < 2.5
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("redis://localhost:notaport/0", "Port could not be cast to integer value as 'notaport'"),
        ("nothing://x", "Redis URL must specify one of the following schemes"),
    ],
)
def test_a_malformed_redis_url_is_one_line_and_a_usage_mistake(url, reason, sqlite_url, tmp_path):
    """A REDIS_URL that is no Redis URL is a configuration mistake: exit code 2 and one
    line naming it, as a malformed DATABASE_URL is, never a traceback."""
    out, err = io.StringIO(), io.StringIO()
    env = {"REDIS_URL": url, "DATABASE_URL": sqlite_url, "QUESTBOARD_VAR": str(tmp_path)}
    code = questboard_main(["bans", "list"], env=env, out=out, err=err)
    assert (code, out.getvalue()) == (2, "")
    assert err.getvalue().startswith(f"questboard: REDIS_URL is not a Redis URL: {reason}")
    assert err.getvalue().count("\n") == 1
