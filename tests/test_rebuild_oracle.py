"""Nothing a player can read is lost with Redis: a seeded random session of players
(logins, exams, purchases, ads, grants, streak freezes and repairs, time zones, a ban and
its lift, a cheater taken off the boards) across the daily reset, a week's end and a
month's, then the persist job, then Redis lost (FLUSHDB) and `questboard rebuild`'s
engine function run as the README's recovery says (web processes stopped first: the app
after the rebuild is a new one). Every read route answers for every player what it
answered before; every write of the session sent again is answered as a replay and
changes nothing."""

from __future__ import annotations

import pytest

from engine import boards, errors
from engine.boards import exams, leaderboards, moderation, snapshots
from engine.ops import persistence, rebuild


def test_a_past_periods_movement_outlives_a_removal_then_a_rebuild(durable_engine, clock):
    """Taking a cheater off the boards drops the snapshot tops that showed them (in Redis
    and SQL) but keeps the others' ranks at the last snapshot: a past period, never
    snapshotted again, keeps showing their movement, and after a rebuild as well."""
    for player, score in (("ann", 30), ("ben", 20), ("cheat", 90)):
        exams.record_exam(durable_engine, player, exams.Exam("q1", "math", score, 10, 5))
    snapshots.take_snapshots(durable_engine)
    clock.advance(minutes=30)
    exams.record_exam(durable_engine, "ben", exams.Exam("q2", "math", 15, 10, 5))  # passes ann
    clock.advance(days=7)  # 2026-W48 is a past period
    moderation.remove_from_leaderboards(durable_engine, "cheat")
    week = boards.resolve(durable_engine, "weekly", None, "2026-W48")
    shown = leaderboards.top(durable_engine, week).entries
    before = [(e.player_id, e.rank, e.rank_previous, e.movement) for e in shown]
    assert before == [("ben", 1, 3, "up"), ("ann", 2, 2, "same")]

    persistence.persist(durable_engine)
    durable_engine.redis.flushdb()
    rebuild.rebuild(durable_engine)

    shown = leaderboards.top(durable_engine, week).entries
    assert [(e.player_id, e.rank, e.rank_previous, e.movement) for e in shown] == before


def test_a_snapshot_a_removal_dropped_stays_dropped_through_a_rebuild(durable_engine, clock):
    """A removal drops the snapshot of every board the cheater is on, also one taken before
    their first exam there (which does not show them): that board is read live, and a
    past period's `?source=snapshot` stays 404, after a rebuild as before it."""
    exams.record_exam(durable_engine, "ann", exams.Exam("q1", "math", 30, 10, 5))
    snapshots.take_snapshots(durable_engine)
    clock.advance(minutes=30)
    exams.record_exam(durable_engine, "cheat", exams.Exam("q1", "math", 90, 10, 5))
    clock.advance(days=7)  # 2026-W48 is a past period
    moderation.remove_from_leaderboards(durable_engine, "cheat")
    week = boards.resolve(durable_engine, "weekly", "math", "2026-W48")
    with pytest.raises(errors.NotFoundError):
        leaderboards.top(durable_engine, week, source="snapshot")

    persistence.persist(durable_engine)
    durable_engine.redis.flushdb()
    rebuild.rebuild(durable_engine)

    with pytest.raises(errors.NotFoundError):
        leaderboards.top(durable_engine, week, source="snapshot")


def test_a_keyed_login_retried_after_a_rebuild_answers_the_bonus_it_claimed(
    standalone_client, server_headers
):
    """A login's Idempotency-Key makes a retry, on any day, answer the first answer, the
    day's bonus it claimed included (README, Idempotency); after a rebuild as before it:
    the bonus's ledger entry carries the key."""
    keyed = server_headers | {"Idempotency-Key": "session-1"}
    first = standalone_client.post("/v1/players/alice/login", headers=keyed).get_json()
    engine = standalone_client.application.extensions["questboard.engine"]
    persistence.persist(engine)
    engine.redis.flushdb()
    rebuild.rebuild(engine)

    again = standalone_client.post("/v1/players/alice/login", headers=keyed)

    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (200, "true")
    body = again.get_json()
    assert (body["claimed"], body["streak"], body["reward"]) == (True, 1, {"logs": 1})
    assert body["progress"]["daily_bonus"] == first["progress"]["daily_bonus"]
    assert (body["balances"], body["next_claim_at"]) == (first["balances"], first["next_claim_at"])
    wallet = standalone_client.get("/v1/players/alice/wallet", headers=server_headers)
    assert wallet.get_json()["balances"]["logs"] == 1  # paid once
