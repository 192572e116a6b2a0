"""The persist job: Redis's record into SQL, nothing lost and nothing doubled.

What a run writes (the ledger, the state, the day's counters, security events), that
a second run or a run taking over a stalled one writes nothing twice, and that the
outboxes of many shards are read with a few commands. On the real Redis, against
SQLite and the MariaDB server; runs killed midway are in tests/test_persist_killed.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from engine import connection, db, keys, security
from engine.boards import exams
from engine.boards.exams import Exam
from engine.economy import activity, grants, ledger, purchases
from engine.ops import persistence
from tests.persist_state import count, outbox_length, rows


def test_a_ledger_trimmed_in_redis_is_whole_in_sql(durable_engine):
    engine = durable_engine
    engine.ledger_keep_entries = 10
    for n in range(250):
        grants.grant(engine, "alice", {"coins": 1}, "daily", f"g{n}")
        if n == 200:
            persistence.persist(engine)
    assert engine.redis.llen(keys.ledger("alice")) == 49  # the unpersisted ones, 10 or more
    newest = ledger.history(engine, "alice", limit=10)
    assert [e.balances_after["coins"] for e in newest] == list(range(250, 240, -1))

    persistence.persist(engine)

    stored = rows(engine, db.user_resource_logs, db.user_resource_logs.c.player_id == "alice")
    assert len(stored) == 250
    assert sum(json.loads(r["deltas"])["coins"] for r in stored) == 250


@pytest.mark.also_on_cluster
def test_persist_writes_the_ledger_and_the_state(durable_engine, clock):
    engine = durable_engine
    grants.grant(engine, "alice", {"coins": 500}, "welcome", "g1")
    exams.record_exam(engine, "alice", Exam("e1", "math", 80, 10, 10))
    clock.advance(seconds=1)
    purchases.purchase(engine, "alice", "steel", 2, "p1")

    report = persistence.persist(engine)

    redis_ledger = ledger.history(engine, "alice", limit=100)
    assert report.ledger_rows == len(redis_ledger) == count(engine, db.user_resource_logs)
    stored = {r["transaction_id"]: r for r in rows(engine, db.user_resource_logs)}
    for entry in redis_ledger:
        row = stored[entry.transaction_id]
        assert (row["kind"], json.loads(row["deltas"])) == (entry.kind, entry.deltas)
    balances = {r["resource"]: r["balance"] for r in rows(engine, db.user_resources)}
    assert balances == {k: v for k, v in engine_wallet(engine, "alice").items() if v}
    aggregates = rows(
        engine, db.quiz_leaderboard_aggregates, db.quiz_leaderboard_aggregates.c.category == "math"
    )
    assert {(r["period_type"], r["total_score"], r["exams_taken"]) for r in aggregates} == {
        ("weekly", 80, 1),
        ("monthly", 80, 1),
        ("yearly", 80, 1),
    }
    [bp] = rows(engine, db.user_battle_pass)
    assert (bp["season_id"], bp["xp"] > 0) == ("2026-autumn", True)
    [streak] = rows(engine, db.user_streaks)
    assert streak["streak"] == 1
    [attempt] = rows(engine, db.quiz_exam_attempts)
    assert json.loads(attempt["summary"])["exam_id"] == "e1"
    assert outbox_length(engine) == 0  # acknowledged and removed
    assert report.lag_ms is None


def test_an_exam_whose_record_expired_before_persist_still_reaches_sql(durable_engine):
    engine = durable_engine
    exam = Exam("e1", "math", 80, 10, 10)
    exams.record_exam(engine, "alice", exam)
    record = keys.exam("alice", "e1")
    fingerprint = exam.fingerprint()
    engine.redis.delete(record)  # the replay record's day passed before the persist run

    persistence.persist(engine)

    [attempt] = rows(engine, db.quiz_exam_attempts)
    assert (attempt["exam_id"], attempt["fingerprint"]) == ("e1", fingerprint)
    assert attempt["summary"] is None  # only the record held it
    assert outbox_length(engine) == 0


def engine_wallet(engine, player):
    from engine.economy import wallet

    return wallet.balances(engine, player)


def day_counters(engine) -> dict[str, tuple[str, dict, int]]:
    """player -> (day, counters, expires_at) of each user_daily_counters row."""
    table = db.user_daily_counters
    return {
        r["player_id"]: (r["day"], json.loads(r["counters"]), r["expires_at"])
        for r in rows(engine, table)
    }


@pytest.mark.also_on_cluster
def test_persist_writes_the_days_counters_of_every_player_an_activity_or_exam_changed(
    durable_engine,
):
    engine = durable_engine
    grants.grant(engine, "carol", {"coins": 100}, "welcome", "g1")
    grants.grant(engine, "erin", {"coins": 100}, "welcome", "g2")  # a grant only
    activity.login(engine, "alice")
    exams.record_exam(engine, "bob", Exam("e1", "math", 80, 10, 10))
    purchases.purchase(engine, "carol", "logs", 1, "p1")
    activity.ad_reward(engine, "dave", "ad-1")

    persistence.persist(engine)

    # The 25th ends last at UTC-12, 15:00 UTC on the 26th; the copy keeps an hour longer.
    expires_at = int(datetime(2026, 11, 26, 16, tzinfo=UTC).timestamp())
    live = {
        player: engine.redis.hgetall(keys.daily(player, "2026-11-25"))
        for player in ("alice", "bob", "carol", "dave")
    }
    assert day_counters(engine) == {
        player: (
            "2026-11-25",
            {name.decode(): value.decode() for name, value in counters.items()},
            expires_at,
        )
        for player, counters in live.items()
    }
    assert day_counters(engine)["dave"][1]["ads"] == "1"
    activity.ad_reward(engine, "dave", "ad-2")
    persistence.persist(engine)
    assert day_counters(engine)["dave"][1]["ads"] == "2"  # the newer counters replace it


@pytest.mark.also_on_cluster
def test_persist_twice_writes_nothing_twice(durable_engine):
    engine = durable_engine
    for n in range(5):
        grants.grant(engine, f"p{n}", {"coins": 10 + n}, "gift", f"g{n}")
    first = persistence.persist(engine)
    second = persistence.persist(engine)
    assert (first.ledger_rows, second.ledger_rows) == (5, 0)
    assert count(engine, db.user_resource_logs) == 5


def test_an_entry_written_to_sql_but_not_acknowledged_is_not_doubled(durable_engine):
    """The worst moment to die: after the commit, before the acknowledgement."""
    engine = durable_engine
    grants.grant(engine, "alice", {"coins": 10}, "gift", "g1")
    persistence.ensure_groups(engine)
    batch = persistence._read(engine, "doomed", 100, claim_idle_ms=60_000)
    persistence._write(engine, batch, persistence.PersistReport())  # committed, never acked
    report = persistence.persist(engine, consumer="rescuer", claim_idle_ms=0)
    assert report.entries == 1 and report.ledger_rows == 0
    assert count(engine, db.user_resource_logs) == 1
    assert outbox_length(engine) == 0


def test_security_events_are_persisted(durable_engine):
    engine = durable_engine
    security.record_violation(engine, "mallory", "192.0.2.1", "rapid_fire", {"count": 9}, "refused")
    report = persistence.persist(engine)
    assert report.security_events == 1
    [event] = rows(engine, db.security_events)
    assert (event["player_id"], event["rule"], event["address"]) == (
        "mallory",
        "rapid_fire",
        "192.0.2.1",
    )
    assert persistence.persist(engine).security_events == 0


def test_the_lag_is_the_age_of_the_oldest_waiting_entry(durable_engine, clock):
    engine = durable_engine
    grants.grant(engine, "alice", {"coins": 10}, "gift", "g1")
    clock.advance(seconds=42)
    assert persistence.lag_ms(engine) == 42_000
    persistence.persist(engine)
    assert persistence.lag_ms(engine) is None


def test_a_run_that_took_over_and_the_stalled_run_it_replaced_write_each_row_once(
    durable_engine,
):
    """The stalled run wakes up with a batch the new run already claimed and wrote."""
    engine = durable_engine
    for n in range(10):
        grants.grant(engine, f"p{n}", {"coins": 1}, "gift", f"g{n}")
    persistence.ensure_groups(engine)
    consumer = persistence.JOB_CONSUMER
    stalled = persistence._read(engine, consumer, 100, claim_idle_ms=0)
    for n in range(10, 15):
        grants.grant(engine, f"p{n}", {"coins": 1}, "gift", f"g{n}")

    took_over = persistence.persist(engine, consumer=consumer, claim_idle_ms=0)
    woke = persistence.PersistReport()
    persistence._write(engine, stalled, woke)
    persistence._acknowledge(engine, stalled)

    assert (took_over.entries, took_over.ledger_rows, woke.ledger_rows) == (15, 15, 0)
    assert count(engine, db.user_resource_logs) == 15
    assert outbox_length(engine) == 0
    assert persistence.persist(engine, consumer=consumer, claim_idle_ms=0).entries == 0


# Many shards: the outboxes are read with a few commands, however many there are ------


@pytest.mark.also_on_cluster
@pytest.mark.parametrize("shards", [16, 1024])
def test_an_empty_persist_sends_a_few_commands_whatever_the_shard_count(
    durable_engine, player_shards, shards
):
    """On one server a handful of commands; on a cluster one XREAD per shard (a command
    names streams of one slot only), in one round trip per node."""
    from bench.redis_count import sent_commands

    player_shards(shards)
    engine = durable_engine
    nodes = len(connection.primaries(engine.redis))
    persistence.persist(engine)  # the groups exist from here on
    with sent_commands() as sent:
        report = persistence.persist(engine)
    assert report.entries == 0 and report.lag_ms is None
    assert sent.total <= (5 if nodes == 1 else shards + 5), sent.commands
    assert sent.round_trips <= 2 * nodes + 1


@pytest.mark.also_on_cluster
def test_persist_reads_many_shards_with_one_command_a_step(durable_engine, player_shards):
    """300 players over 1024 shards: every entry reaches SQL, each outbox step (heads,
    claim, read, acknowledge) costs commands for the shards that hold entries only; on
    a cluster a read names the streams of one slot, so one per busy shard."""
    from bench.redis_count import sent_commands

    player_shards(1024)
    engine = durable_engine
    persistence.persist(engine)
    for n in range(300):
        grants.grant(engine, f"player-{n}", {"coins": 1 + n % 7}, "load", f"g{n}")
    busy = {keys.shard_of(f"player-{n}") for n in range(300)}
    with sent_commands() as sent:
        report = persistence.persist(engine)
    assert (report.entries, report.ledger_rows) == (300, 300)
    assert count(engine, db.user_resource_logs) == 300
    assert outbox_length(engine) == 0
    reads = 1 if len(connection.primaries(engine.redis)) == 1 else len(busy)
    # one XREADGROUP names every busy outbox (the other reads the security events)
    assert sent.commands["xreadgroup"] == reads + 1, sent.commands
    assert sent.commands["xautoclaim"] == len(busy) + 1
    assert sent.commands["xgroup create"] == len(busy) + 1
    if reads == 1:
        assert sent.commands["xread"] == 2, sent.commands  # the busy outboxes, then none
    assert sent.commands["xrange"] == 0


def test_lag_and_groups_take_one_round_trip_for_1024_shards(durable_engine, player_shards):
    from bench.redis_count import sent_commands

    player_shards(1024)
    engine = durable_engine
    with sent_commands() as created:
        persistence.ensure_groups(engine)
    assert created.round_trips == 1
    assert engine.redis.xinfo_groups(keys.outbox(1023))[0]["name"] == b"persist"
    grants.grant(engine, "alice", {"coins": 10}, "gift", "g1")
    with sent_commands() as sent:
        assert persistence.lag_ms(engine) == 0
    assert (sent.total, sent.round_trips) == (1, 1)


@pytest.mark.also_on_cluster
def test_persist_recreates_the_groups_of_a_redis_that_was_lost(durable_engine, real_redis):
    """The process remembers it made the groups; a Redis flushed since has none."""
    engine = durable_engine
    grants.grant(engine, "alice", {"coins": 10}, "gift", "g1")
    assert persistence.persist(engine).entries == 1
    for primary in connection.primaries(real_redis):
        primary.flushdb()
    grants.grant(engine, "bob", {"coins": 10}, "gift", "g2")
    assert persistence.persist(engine).entries == 1
    assert {r["player_id"] for r in rows(engine, db.user_resource_logs)} == {"alice", "bob"}
