"""A cheater's removal racing a persist run, on the real Redis with SQLite and MariaDB.

The run reads the cheater's aggregates from Redis, the removal then takes them off
Redis and deletes their SQL rows, and only then does the run write its batch: the old
totals must not come back into SQL, where a rebuild after a Redis loss would put the
cheater back on the boards.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from engine import boards, db, keys
from engine.boards import exam_record, exams, leaderboards, moderation
from engine.boards.exams import Exam
from engine.calendar import PERIOD_TYPES
from engine.errors import NotRankedError
from engine.ops import persistence, persistence_sql, rebuild
from tests.conftest import flush_primaries, on_cluster

WAIT = 30  # seconds: a bound on waiting for the other thread, never an ordering


def aggregates_of(engine, player):
    table = db.quiz_leaderboard_aggregates
    with engine.sql.connect() as conn:
        rows = conn.execute(select(table).where(table.c.player_id == player)).mappings()
        return {(r["period_type"], r["period"], r["category"]): r["total_score"] for r in rows}


def current_boards(engine, category):
    now = engine.clock.now()
    return [
        boards.Board(period_type, boards.current_period(engine, period_type, now), c)
        for period_type in PERIOD_TYPES
        for c in (None, category)
    ]


def persist_as_the_job(engine):
    return persistence.persist(engine, consumer=persistence.JOB_CONSUMER, claim_idle_ms=0)


@pytest.fixture
def batch_waiting(durable_engine, clock):
    """mallory (900) and bob (50) played and were persisted; each has played once more
    since (mallory 800, bob 60): one batch of both waits in the outbox."""
    engine = durable_engine
    exams.record_exam(engine, "mallory", Exam("m0", "math", 900, 10, 10))
    exams.record_exam(engine, "bob", Exam("b0", "math", 50, 10, 5))
    persistence.persist(engine)
    clock.advance(seconds=1)
    exams.record_exam(engine, "mallory", Exam("m1", "math", 800, 10, 10))
    exams.record_exam(engine, "bob", Exam("b1", "math", 60, 10, 6))
    return engine


def hold_after_reading(monkeypatch):
    """Stop the next persist write between its Redis reads and its SQL transaction (the
    exam records are its last read): `read` is set there, and it waits for `go`."""
    read, go = threading.Event(), threading.Event()
    real_read = exam_record.read

    def read_then_wait(*args, **kwargs):
        replies = real_read(*args, **kwargs)
        if not read.is_set():
            read.set()
            assert go.wait(WAIT)
        return replies

    monkeypatch.setattr(exam_record, "read", read_then_wait)
    return read, go


@pytest.mark.also_on_cluster
def test_a_removal_between_a_persist_read_and_its_write_stays_removed(
    batch_waiting, monkeypatch, request
):
    engine = batch_waiting
    read, go = hold_after_reading(monkeypatch)
    failures = []

    def persist():
        try:
            persistence.persist(engine)
        except Exception as failure:  # reported to the test below
            failures.append(failure)

    run = threading.Thread(target=persist, daemon=True)
    run.start()
    assert read.wait(WAIT)  # the run holds mallory's 1700 read from Redis

    moderation.remove_from_leaderboards(engine, "mallory")
    assert aggregates_of(engine, "mallory") == {}
    go.set()
    run.join(WAIT)

    assert not run.is_alive() and failures == []
    assert aggregates_of(engine, "mallory") == {}  # the run wrote none of the old totals
    assert set(aggregates_of(engine, "bob").values()) == {110}  # and bob's batch is in
    assert persistence.lag_ms(engine) is None  # all of it acknowledged

    if on_cluster(request):  # Redis lost
        flush_primaries(engine.redis)
    else:
        engine.redis.flushdb()
    rebuild.rebuild(engine)

    for board in current_boards(engine, "math"):
        with pytest.raises(NotRankedError):
            leaderboards.around(engine, board, "mallory")
        entry = leaderboards.around(engine, board, "bob").entry
        assert (entry.rank, entry.score) == (1, 110)


def test_a_removal_after_the_write_checked_deletes_what_it_wrote(batch_waiting, monkeypatch):
    """The write has read mallory's totals and upserted them, and found no removal since
    its reads; the removal comes now, before the commit. Its SQL step comes after the
    write's upserts whichever commits first, so mallory's rows are gone at the end."""
    engine = batch_waiting
    checked, go, deleting = threading.Event(), threading.Event(), threading.Event()
    real_get, real_delete = engine.redis.get, moderation._remove_from_sql
    counts = []

    def get_then_wait(name, *args, **kwargs):
        value = real_get(name, *args, **kwargs)
        if name == keys.board_removals():
            counts.append(value)
            if len(counts) == 2:  # the check inside the write's transaction
                checked.set()
                assert go.wait(WAIT)
        return value

    def delete_in_sql(*args, **kwargs):
        deleting.set()  # Redis done and the count raised: the SQL delete comes next
        real_delete(*args, **kwargs)

    monkeypatch.setattr(engine.redis, "get", get_then_wait)
    monkeypatch.setattr(moderation, "_remove_from_sql", delete_in_sql)
    failures = []

    def in_thread(task):
        def run():
            try:
                task()
            except Exception as failure:  # reported to the test below
                failures.append(failure)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    writing = in_thread(lambda: persist_as_the_job(engine))
    assert checked.wait(WAIT)
    removing = in_thread(lambda: moderation.remove_from_leaderboards(engine, "mallory"))
    assert deleting.wait(WAIT)
    go.set()
    writing.join(WAIT)
    removing.join(WAIT)

    assert not writing.is_alive() and not removing.is_alive() and failures == []
    assert counts[0] == counts[1]  # the write was not sent back: the removal came after
    assert aggregates_of(engine, "mallory") == {}
    assert set(aggregates_of(engine, "bob").values()) == {110}


def test_a_batch_that_removals_keep_overtaking_is_left_for_the_next_run(batch_waiting, monkeypatch):
    """Every write of the batch sees a removal land after its read: the run stops with
    an error after a few, its entries still waiting, and the next run writes them."""
    engine = batch_waiting
    real_read = exam_record.read

    def read_then_remove(*args, **kwargs):
        replies = real_read(*args, **kwargs)
        moderation.remove_from_leaderboards(engine, "mallory")
        return replies

    monkeypatch.setattr(exam_record, "read", read_then_remove)
    with pytest.raises(persistence_sql.RemovedWhileWritingError, match="removed"):
        persist_as_the_job(engine)
    assert persistence.lag_ms(engine) is not None  # nothing acknowledged
    assert aggregates_of(engine, "mallory") == {}
    assert set(aggregates_of(engine, "bob").values()) == {50}  # the first batch's only

    monkeypatch.setattr(exam_record, "read", real_read)
    persist_as_the_job(engine)  # claims what the failed run left pending

    assert aggregates_of(engine, "mallory") == {}
    assert set(aggregates_of(engine, "bob").values()) == {110}
    assert persistence.lag_ms(engine) is None
