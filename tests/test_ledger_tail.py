"""The ledger's Redis tail: a few persisted entries plus every one not yet persisted,
with older pages of the history served from SQL behind one cursor.

The Redis part runs on fakeredis and Redis; the seam with SQL on the real Redis
against SQLite and MariaDB.
"""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from engine import db, keys
from engine.economy import grants, ledger
from engine.ops import persistence, persistence_outbox, persistence_sql

KEEP = 4


def redis_ids(engine, player="alice") -> list[str]:
    return [entry.transaction_id for entry in ledger.kept_in_redis(engine, player)]


def sql_ids(engine, player="alice") -> set[str]:
    logs = db.user_resource_logs
    with engine.sql.connect() as conn:
        rows = conn.execute(select(logs.c.transaction_id).where(logs.c.player_id == player))
        return {row[0] for row in rows}


def grant(engine, n: int, player="alice") -> str:
    return grants.grant(engine, player, {"coins": 1}, f"gift {n}", f"g{n}").transaction_id


def every_page(engine, limit: int, player="alice") -> list[str]:
    seen, before = [], None
    while True:
        page = ledger.history(engine, player, limit=limit, before=before)
        if not page:
            return seen
        assert len(page) <= limit
        seen += [entry.transaction_id for entry in page]
        before = page[-1].transaction_id


def newest_first(ids: list[str]) -> list[str]:
    return sorted(ids, key=lambda tx: tuple(int(part) for part in tx.split("-")), reverse=True)


def test_entries_not_yet_persisted_are_never_trimmed(engine):
    engine.ledger_keep_entries = KEEP
    made = [grant(engine, n) for n in range(150)]

    assert redis_ids(engine) == made[::-1]  # nothing persisted: everything stays


def test_the_tail_keeps_only_the_setting_once_the_entries_are_persisted(durable_engine):
    engine = durable_engine
    engine.ledger_keep_entries = KEEP
    made = [grant(engine, n) for n in range(12)]
    persistence.persist(engine)

    made.append(grant(engine, 12))  # the next change trims what is persisted

    assert redis_ids(engine) == made[::-1][:KEEP]
    assert sql_ids(engine) == set(made[:-1])


def test_an_entry_trimmed_from_redis_is_always_already_in_sql(durable_engine):
    engine = durable_engine
    engine.ledger_keep_entries = 2
    made = []
    for n in range(60):
        made.append(grant(engine, n))
        kept, stored = redis_ids(engine), sql_ids(engine)
        assert kept == made[::-1][: max(2, len(set(made) - stored))]  # the newest only
        if n % 7 == 3:
            persistence.persist(engine)
            kept, stored = redis_ids(engine), sql_ids(engine)
        assert set(kept) | stored == set(made), n  # every entry is in Redis or in SQL


@pytest.mark.parametrize("limit", [1, 3, 7, 50])
def test_pages_cross_from_redis_to_sql_without_a_gap_or_a_double(durable_engine, limit):
    engine = durable_engine
    engine.ledger_keep_entries = KEEP
    made = [grant(engine, n) for n in range(13)]
    persistence.persist(engine)
    made += [grant(engine, n) for n in range(13, 20)]  # 7 not yet persisted

    assert len(redis_ids(engine)) == 7  # the persisted ones are trimmed: in SQL only
    assert every_page(engine, limit) == newest_first(made)
    page = ledger.history(engine, "alice", limit=5, before=made[10])
    assert [entry.transaction_id for entry in page] == made[5:10][::-1]
    assert [entry.balances_after["coins"] for entry in page] == [10, 9, 8, 7, 6]
    assert page[0].reason == "gift 9" and page[0].deltas == {"coins": 1}


def test_pages_include_archived_entries(durable_engine, clock):
    engine = durable_engine
    engine.ledger_keep_entries = 1
    made = [grant(engine, n) for n in range(3)]
    persistence.persist(engine)
    logs, archive = db.user_resource_logs, db.user_resource_logs_archive
    with engine.sql.begin() as conn:  # as the cleanup job moves rows past 30 days
        oldest = conn.execute(select(logs).where(logs.c.transaction_id == made[0])).mappings()
        conn.execute(archive.insert(), [dict(row) for row in oldest])
        conn.execute(logs.delete().where(logs.c.transaction_id == made[0]))
    made.append(grant(engine, 3))

    assert every_page(engine, 2) == made[::-1]


def test_a_cursor_older_than_everything_is_an_empty_page(durable_engine):
    engine = durable_engine
    grant(engine, 0)
    persistence.persist(engine)

    assert ledger.history(engine, "alice", before="1-0") == []
    assert ledger.history(engine, "alice", before="0-0") == []


def test_a_ledger_tail_is_small_in_redis(real_redis, rules, clock):
    from engine.runtime import Engine

    engine = Engine(redis=real_redis, rules=rules, clock=clock)
    engine.ledger_keep_entries = 20
    for n in range(20):
        grant(engine, n)

    tail = keys.ledger("alice")
    assert real_redis.type(tail) == b"list"
    assert real_redis.object("encoding", tail) in (b"listpack", b"quicklist")  # one node
    assert real_redis.memory_usage(tail, samples=0) < 2_600  # ~110 bytes an entry


def test_the_ledger_route_pages_across_redis_and_sql(real_redis, settings, clock, server_headers):
    from web import create_app

    app = create_app(
        dataclasses.replace(settings, ledger_keep_entries=5), redis_client=real_redis, clock=clock
    )
    engine = app.extensions["questboard.engine"]
    made = [grant(engine, n) for n in range(240)]
    persistence.persist(engine)
    made += [grant(engine, n) for n in range(240, 250)]  # not yet persisted
    http, seen, query = app.test_client(), [], "limit=50"
    while True:
        page = http.get(f"/v1/players/alice/ledger?{query}", headers=server_headers).get_json()
        if not page["entries"]:
            break
        seen += [entry["transaction_id"] for entry in page["entries"]]
        query = f"limit=50&before={seen[-1]}"

    assert seen == made[::-1]
    assert len(redis_ids(engine)) == 10
    engine.sql.dispose()


def test_the_persist_job_trims_the_tail_it_committed_without_waiting_for_a_change(
    durable_engine,
):
    engine = durable_engine
    engine.ledger_keep_entries = KEEP
    made = [grant(engine, n) for n in range(12)]

    persistence.persist(engine)

    assert redis_ids(engine) == made[::-1][:KEEP]
    assert sql_ids(engine) == set(made)


def test_the_persist_job_never_trims_an_entry_made_after_its_batch_was_read(durable_engine):
    engine = durable_engine
    engine.ledger_keep_entries = 0
    made = [grant(engine, n) for n in range(5)]
    batch = persistence_outbox._read(engine, "c1", 100, 60_000)
    later = grant(engine, 5)  # in the outbox, not in the batch: not in SQL

    persistence_sql._write(engine, batch, persistence_sql.PersistReport())
    persistence_outbox._acknowledge(engine, batch)

    assert redis_ids(engine) == [later]
    assert sql_ids(engine) == set(made)
    assert every_page(engine, 3) == newest_first([*made, later])


def test_a_returning_players_persisted_entries_leave_redis_by_default(durable_engine, settings):
    """A player who plays every day keeps no ledger entry in Redis between days by
    default (LEDGER_KEEP_ENTRIES 0): the persist job drops what it committed, and pages
    come from SQL, the newest from Redis while they wait."""
    engine = durable_engine
    engine.ledger_keep_entries = settings.ledger_keep_entries  # the default, LEDGER_KEEP_ENTRIES
    made = []
    for day in range(6):
        made += [grant(engine, day * 6 + n) for n in range(6)]  # a day's six changes
        persistence.persist(engine)
        assert not engine.redis.exists(keys.ledger("alice")), day
    made.append(grant(engine, 36))  # the next day's first change, not yet persisted

    assert settings.ledger_keep_entries == 0
    assert redis_ids(engine) == [made[-1]]
    assert every_page(engine, 50) == newest_first(made)
    assert every_page(engine, 4) == newest_first(made)
