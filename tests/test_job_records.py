"""Job runs recorded in SQL through an outage: kept in Redis meanwhile, and written by
the first run whose own write succeeds once SQL answers again."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from engine import db, keys
from engine.ops import job_records, jobruns
from engine.ops.job_catalog import SPECS

PERSIST = SPECS["persist"]


def rows(engine) -> dict[str, str]:
    """run id -> status, as SQL holds them."""
    with engine.sql.connect() as conn:
        found = conn.execute(select(db.job_runs.c.run_id, db.job_runs.c.status)).all()
    return dict(found)


@pytest.fixture
def outage(monkeypatch):
    """SQL down until the test calls the fixture's value; every write fails meanwhile."""
    upsert = job_records._upsert

    def unavailable(engine, rows_):
        raise OperationalError("INSERT", {}, ConnectionError("the database went away"))

    monkeypatch.setattr(job_records, "_upsert", unavailable)
    return lambda: monkeypatch.setattr(job_records, "_upsert", upsert)


def test_runs_of_an_outage_reach_sql_with_the_first_run_after_it(durable_engine, clock, outage):
    during = [jobruns.run(durable_engine, PERSIST, lambda e, lease: 1) for _ in range(3)]
    assert rows(durable_engine) == {}
    outage()  # SQL is back

    after = jobruns.run(durable_engine, PERSIST, lambda e, lease: 1)

    assert rows(durable_engine) == {run.run_id: "succeeded" for run in [*during, after]}
    assert durable_engine.redis.scard(keys.job_runs_unrecorded()) == 0


def test_a_run_whose_start_sql_missed_is_recorded_whole_at_its_end(durable_engine, clock, outage):
    def ends_the_outage(engine, lease):
        outage()
        return 7

    record = jobruns.run(durable_engine, PERSIST, ends_the_outage)

    with durable_engine.sql.connect() as conn:
        [row] = conn.execute(select(db.job_runs)).mappings().all()
    assert (row["run_id"], row["status"], row["rows_affected"]) == (record.run_id, "succeeded", 7)
    assert row["started_ms"] is not None and row["finished_ms"] is not None


def test_a_run_writes_a_bounded_number_of_missed_runs(durable_engine, outage, monkeypatch):
    monkeypatch.setattr(job_records, "CATCH_UP_BATCH", 2)
    for _ in range(5):
        jobruns.run(durable_engine, PERSIST, lambda e, lease: 1)
    outage()

    jobruns.run(durable_engine, PERSIST, lambda e, lease: 1)

    assert len(rows(durable_engine)) == 1 + 2
    assert durable_engine.redis.scard(keys.job_runs_unrecorded()) == 3


def test_a_missed_run_whose_redis_record_expired_is_let_go(durable_engine, outage):
    lost = jobruns.run(durable_engine, PERSIST, lambda e, lease: 1)
    durable_engine.redis.delete(keys.job_run(lost.run_id))  # 14 days later
    outage()

    kept = jobruns.run(durable_engine, PERSIST, lambda e, lease: 1)

    assert rows(durable_engine) == {kept.run_id: "succeeded"}
    assert durable_engine.redis.scard(keys.job_runs_unrecorded()) == 0
