"""Cleanup, season rollover, reconciliation, and rebuilding Redis from SQL."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine import boards, db, keys, security
from engine.boards import exams, leaderboards, snapshots
from engine.boards.exams import Exam
from engine.economy import activity, grants, ledger, purchases, wallet
from engine.ops import maintenance, persistence, rebuild
from engine.progression import battle_pass, tools
from engine.security import bans


def rows(engine, table):
    with engine.sql.connect() as conn:
        return conn.execute(select(table)).mappings().all()


# Cleanup ----------------------------------------------------------------------------


def test_cleanup_archives_old_ledger_rows_and_purges_old_events(durable_engine, clock):
    engine = durable_engine
    clock.set(datetime(2026, 10, 1, 12, tzinfo=UTC))
    grants.grant(engine, "alice", {"coins": 5}, "old", "g-old")
    security.record_violation(engine, "mallory", None, "rapid_fire", {}, "refused")
    clock.set(datetime(2026, 11, 25, 12, tzinfo=UTC))
    grants.grant(engine, "alice", {"coins": 7}, "new", "g-new")
    persistence.persist(engine)
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(engine.rules.security, event_retention_days=30),
    )

    moved = maintenance.cleanup(engine)

    assert moved == 2  # one ledger row archived, one security event purged
    assert [r["reason"] for r in rows(engine, db.user_resource_logs)] == ["new"]
    assert [r["reason"] for r in rows(engine, db.user_resource_logs_archive)] == ["old"]
    assert rows(engine, db.security_events) == []
    assert maintenance.cleanup(engine) == 0  # nothing left to do


@pytest.mark.also_on_cluster
def test_cleanup_purges_expired_bans(durable_engine, clock):
    engine = durable_engine
    bans.create(engine, "ip", "203.0.113.0/24", "x", expires_in_seconds=60)
    keep = bans.create(engine, "player", "mallory", "x")
    clock.advance(minutes=5)
    assert maintenance.cleanup(engine) == 1
    assert engine.redis.hlen(keys.ip_bans()) == 0
    assert bans.active_ban(engine, "mallory", None).ban_id == keep.ban_id


# Season rollover --------------------------------------------------------------------


@pytest.mark.also_on_cluster
def test_cleanup_bounds_a_daily_hash_left_without_an_expiry(durable_engine, clock):
    """A daily hash without an expiry (a move west of more than a day once left one)
    gets the latest end its date may have, or goes when that is past; one with an
    expiry keeps it."""
    engine = durable_engine
    clock.set(datetime(2026, 11, 25, 12, tzinfo=UTC))
    running = keys.daily("alice", "2026-11-25")
    over = keys.daily("bob", "2026-11-20")
    expiring = keys.daily("carol", "2026-11-25")
    for key in (running, over, expiring):
        engine.redis.hset(key, "ads", 3)
    engine.redis.expire(expiring, 600)

    assert maintenance.cleanup(engine) == 2

    # the 25th ends last at UTC-12: the 26th 03:00 + 12 h, then the grace
    ends = datetime(2026, 11, 26, 15, tzinfo=UTC).timestamp()
    ends += engine.rules.daily_grace_minutes * 60
    assert engine.redis.ttl(running) == ends - clock.now().timestamp()
    assert not engine.redis.exists(over)
    assert 0 < engine.redis.ttl(expiring) <= 600
    assert maintenance.cleanup(engine) == 0  # bounded once


@pytest.mark.also_on_cluster
def test_an_ended_season_is_archived_then_removed(durable_engine, clock):
    engine = durable_engine
    for n in range(3):
        exams.record_exam(engine, f"p{n}", Exam(f"e{n}", "math", 10, 10, 10))
    before = {f"p{n}": battle_pass.state(engine, f"p{n}").xp for n in range(3)}
    assert maintenance.season_rollover(engine) == 0  # the autumn season is still running

    clock.set(datetime(2026, 12, 1, 4, tzinfo=UTC))
    assert maintenance.season_rollover(engine) == 3
    archived = {r["player_id"]: r["xp"] for r in rows(engine, db.user_battle_pass_archive)}
    assert archived == before
    assert not engine.redis.exists(keys.battle_pass("p0", "2026-autumn"))
    assert maintenance.season_rollover(engine) == 0  # done once


# Reconciliation ---------------------------------------------------------------------


def test_reconcile_finds_nothing_when_the_books_balance(durable_engine, caplog):
    engine = durable_engine
    grants.grant(engine, "alice", {"coins": 100}, "funds", "g1")
    purchases.purchase(engine, "alice", "logs", 2, "p1")
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        assert maintenance.reconcile(engine) == 1
    assert not any("reconcile_differences" in r.getMessage() for r in caplog.records)


def test_reconcile_reports_a_balance_that_differs_from_its_ledger(durable_engine, caplog):
    engine = durable_engine
    grants.grant(engine, "alice", {"coins": 100}, "funds", "g1")
    grants.grant(engine, "bob", {"coins": 100}, "funds", "g2")
    engine.redis.hincrby(keys.wallet("bob"), "coins", 5)  # changed behind the ledger's back
    with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
        maintenance.reconcile(engine)
    [alert] = [r.getMessage() for r in caplog.records if "reconcile_differences" in r.getMessage()]
    assert '"player_id": "bob"' in alert and '"redis": 105' in alert
    assert '"alice"' not in alert


# Rebuild ----------------------------------------------------------------------------


def state_of(engine, players):
    board = boards.resolve(engine, "weekly")
    page = leaderboards.top(engine, board, limit=100, fresh=True)
    return {
        "wallets": {p: wallet.balances(engine, p) for p in players},
        "ledgers": {
            p: [(e.transaction_id, e.deltas) for e in ledger.history(engine, p)] for p in players
        },
        "ranks": [(e.player_id, e.score, e.rank, e.exams, e.correct) for e in page.entries],
        "passes": {p: battle_pass.state(engine, p).xp for p in players},
        "streaks": {p: engine.redis.hgetall(keys.streak(p)) for p in players},
        "sums": {p: engine.redis.hgetall(keys.board_stats(p)) for p in players},
    }


@pytest.mark.also_on_cluster
def test_flush_then_rebuild_gives_back_the_same_state(durable_engine, clock):
    engine = durable_engine
    players = ["alice", "bob", "carol"]
    for n, player in enumerate(players):
        grants.grant(engine, player, {"coins": 300}, "funds", f"g{n}")
        for attempt in range(n + 1):
            clock.advance(seconds=1)
            exams.record_exam(
                engine, player, Exam(f"{player}-{attempt}", "math", 10 * (n + 1), 10, 7)
            )
        clock.advance(seconds=1)
        purchases.purchase(engine, player, "logs", n + 1, f"buy-{player}")
        activity.login(engine, player)
    tools.set_tool(
        engine,
        engine.calendar.game_day(clock.now()),
        tools.tool_of_the_day(engine, engine.calendar.game_day(clock.now())),
        ttl_seconds=3600,
    )
    snapshots.take_snapshots(engine)
    persistence.persist(engine)
    before = state_of(engine, players)

    engine.redis.flushdb()
    assert wallet.balances(engine, "alice")["coins"] == 0
    counts = rebuild.rebuild(engine)

    assert counts["wallets"] == 3
    assert state_of(engine, players) == before
    # A retry of a request made before the loss is answered, not applied again.
    again = purchases.purchase(engine, "alice", "logs", 1, "buy-alice")
    assert again.transaction.replayed
    assert wallet.balances(engine, "alice") == before["wallets"]["alice"]
    retry = exams.record_exam(engine, "bob", Exam("bob-0", "math", 20, 10, 7))
    assert not retry.created
    assert state_of(engine, players)["ranks"] == before["ranks"]
    assert rebuild.rebuild(engine)["wallets"] == 3  # safe to run twice
    # The next exam counts on top of the restored sums.
    clock.advance(seconds=1)
    summary = exams.record_exam(engine, "carol", Exam("carol-next", "math", 5, 10, 1)).summary
    weekly = next(b for b in summary["boards"] if b["board"] == "weekly" and not b["category"])
    assert (weekly["score"], weekly["exams"]) == (3 * 30 + 5, 4)


def test_rebuild_reports_progress(durable_engine):
    engine = durable_engine
    for n in range(20):
        grants.grant(engine, f"p{n}", {"coins": 1}, "x", f"g{n}")
    persistence.persist(engine)
    engine.redis.flushdb()
    steps = []
    rebuild.rebuild(engine, lambda step, done, total: steps.append((step, done, total)))
    assert ("wallets", 20, 20) in steps
    assert ("ledger", 20, 20) in steps


def test_after_a_rebuild_the_ledger_is_served_from_sql_and_new_ids_follow_it(durable_engine):
    engine = durable_engine
    made = [grants.grant(engine, "alice", {"coins": 1}, "daily", f"g{n}") for n in range(25)]
    persistence.persist(engine)
    engine.redis.flushdb()
    newest = made[-1].transaction_id
    ahead = int(newest.split("-")[0]) + 60_000  # the lost server's clock ran a minute ahead
    with engine.sql.begin() as conn:
        logs = db.user_resource_logs
        conn.execute(
            logs.update().where(logs.c.transaction_id == newest).values(transaction_id=f"{ahead}-7")
        )

    rebuild.rebuild(engine)
    after = grants.grant(engine, "alice", {"coins": 1}, "daily", "after")

    assert after.transaction_id == f"{ahead}-8"  # follows the newest id in SQL
    page = ledger.history(engine, "alice", limit=10)
    assert [e.balances_after["coins"] for e in page] == list(range(26, 16, -1))
    assert wallet.balances(engine, "alice")["coins"] == 26
