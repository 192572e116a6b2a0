"""Exams and leaderboards seen from outside: what a player's standing, a category's
board and an exam's replay are after Redis is lost and rebuilt from SQL."""

from __future__ import annotations

import pytest
import sqlalchemy

from engine import boards, db, keys
from engine.boards import exams, leaderboards, moderation, snapshots
from engine.ops import persistence, rebuild


def play(engine, player: str, exam_id: str, score: int, category: str = "math"):
    return exams.record_exam(engine, player, exams.Exam(exam_id, category, score, 10, 5))


def standings(engine, category: str | None = None) -> list[tuple[str, int, int, int]]:
    page = leaderboards.top(engine, boards.resolve(engine, "weekly", category))
    return [(e.player_id, e.rank, e.score, e.exams) for e in page.entries]


def lose_redis(engine) -> None:
    persistence.persist(engine)
    engine.redis.flushdb()
    rebuild.rebuild(engine)


def test_ids_that_differ_only_in_case_stay_apart_through_a_rebuild(durable_engine, clock):
    """Ids are case-sensitive (player ids, categories, exam ids): Bob and bob are two
    players, Math and math two boards, Q1 and q1 two attempts, in SQL as in Redis."""
    play(durable_engine, "Bob", "q1", 70)
    clock.advance(seconds=2)
    play(durable_engine, "bob", "q1", 20)
    clock.advance(seconds=2)
    first = play(durable_engine, "carol", "Q1", 30, category="Math")
    clock.advance(seconds=2)
    play(durable_engine, "carol", "q1", 40)
    before = [standings(durable_engine, category) for category in (None, "math", "Math")]
    assert before[0] == [("Bob", 1, 70, 1), ("carol", 1, 70, 2), ("bob", 3, 20, 1)]

    lose_redis(durable_engine)

    assert [standings(durable_engine, category) for category in (None, "math", "Math")] == before
    again = play(durable_engine, "carol", "Q1", 30, category="Math")
    assert (again.created, again.summary) == (False, first.summary)  # answered, not counted
    assert standings(durable_engine, "Math") == [("carol", 1, 30, 1)]


def test_every_text_column_compares_case_and_accents_on_mariadb(mariadb_database):
    """MariaDB's default collations fold case and accents: a key column under one would
    make Bob's row bob's. Every character column of the schema compares bytes."""
    sql = db.connect(mariadb_database)
    try:
        with sql.connect() as conn:
            folding = conn.execute(
                sqlalchemy.text(
                    "SELECT table_name, column_name, collation_name"
                    " FROM information_schema.columns WHERE table_schema = DATABASE()"
                    " AND table_name <> 'alembic_version' AND collation_name IS NOT NULL"
                    " AND collation_name <> 'utf8mb4_bin'"
                )
            ).all()
    finally:
        sql.dispose()
    assert folding == []


@pytest.mark.app_on_both_backends  # fakeredis, Redis, the cluster
def test_a_batchs_ties_are_listed_in_the_order_sent(client, server_headers):
    """Among equal scores the player who reached the score first is listed first; in a
    batch, the item sent first. p92 and p100 share a player shard, p0 is on another."""
    assert keys.shard_of("p92") == keys.shard_of("p100") != keys.shard_of("p0")
    sent = ["p92", "p0", "p100"]
    items = [
        {"player_id": player, "exam_id": "round-1", "category_id": "math", "score": 10}
        | {"total_questions": 10, "correct_answers": 5}
        for player in sent
    ]
    response = client.post("/v1/exams:batch", headers=server_headers, json={"exams": items})
    assert [item["status"] for item in response.get_json()["results"]] == [201, 201, 201]

    for board in ("weekly", "weekly?category=math", "monthly", "yearly?category=math"):
        page = client.get(f"/v1/leaderboards/{board}", headers=server_headers).get_json()
        assert [(e["player_id"], e["rank"]) for e in page["entries"]] == [
            ("p92", 1),
            ("p0", 1),
            ("p100", 1),
        ]


def test_a_cheater_removed_while_a_snapshot_runs_stays_off_through_a_rebuild(
    durable_engine, monkeypatch
):
    """The snapshot copies a board, then ranks the copy: a cheater removed in between is
    in the copy but no longer on the board, and must not be written back into SQL."""
    play(durable_engine, "cheat", "q1", 900)
    play(durable_engine, "good", "q1", 50)
    persistence.persist(durable_engine)
    copy_scores = snapshots._copy_scores

    def removed_meanwhile(engine, source, target):
        copied = copy_scores(engine, source, target)
        if not removed:  # once, after the first board's copy
            removed.append(moderation.remove_from_leaderboards(engine, "cheat"))
        return copied

    removed: list = []

    monkeypatch.setattr(snapshots, "_copy_scores", removed_meanwhile)
    snapshots.take_snapshots(durable_engine)
    assert standings(durable_engine) == [("good", 1, 50, 1)]

    lose_redis(durable_engine)

    assert standings(durable_engine) == [("good", 1, 50, 1)]
    assert standings(durable_engine, "math") == [("good", 1, 50, 1)]


def shown(page) -> list[tuple[str, int, int, int | None, str]]:
    return [(e.player_id, e.rank, e.score, e.rank_previous, e.movement) for e in page.entries]


def test_a_past_periods_movement_and_snapshot_outlive_a_rebuild(durable_engine, clock):
    """No snapshot job will take a past period again: what its last snapshot showed comes
    back from SQL, the frozen top and each player's rank at it."""
    for player, score in (("ann", 30), ("ben", 20), ("cid", 10)):
        play(durable_engine, player, "q1", score)
    snapshots.take_snapshots(durable_engine)
    clock.advance(minutes=30)
    play(durable_engine, "cid", "q2", 15)  # cid passes ben
    play(durable_engine, "dee", "q1", 5)  # after the snapshot: new
    clock.advance(days=7)  # 2026-W48 is a past period
    week = boards.resolve(durable_engine, "weekly", "math", "2026-W48")
    live, frozen = (leaderboards.top(durable_engine, week, source=s) for s in ("live", "snapshot"))
    assert shown(live) == [
        ("ann", 1, 30, 1, "same"),
        ("cid", 2, 25, 3, "up"),
        ("ben", 3, 20, 2, "down"),
        ("dee", 4, 5, None, "new"),
    ]

    lose_redis(durable_engine)

    assert shown(leaderboards.top(durable_engine, week)) == shown(live)
    again = leaderboards.top(durable_engine, week, source="snapshot")
    assert (again.snapshot_at, shown(again)) == (frozen.snapshot_at, shown(frozen))
