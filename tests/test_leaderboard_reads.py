"""Reading leaderboards through the engine: around me, pages, snapshots and movement.

How a board is read: the window around a player, pages of the top, the snapshot
document and each entry's movement against the previous one, a player's ranks on
every current board.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from engine import boards
from engine.boards import leaderboards, snapshots
from engine.errors import InvalidInputError, NotFoundError, NotRankedError
from tests.leaderboard_play import play, table


def test_around_me_in_the_middle_at_the_top_and_at_the_bottom(engine):
    for n in range(10):
        play(engine, f"p{n}", 100 - n * 10)  # p0 = 100 ... p9 = 10
    board = boards.resolve(engine, "weekly")

    middle = leaderboards.around(engine, board, "p5", 2)
    assert [e.player_id for e in middle.above] == ["p3", "p4"]
    assert middle.entry.rank == 6
    assert [e.player_id for e in middle.below] == ["p6", "p7"]

    top = leaderboards.around(engine, board, "p0", 3)
    assert top.above == []
    assert top.entry.rank == 1
    assert [e.rank for e in top.below] == [2, 3, 4]

    bottom = leaderboards.around(engine, board, "p9", 3)
    assert [e.rank for e in bottom.above] == [7, 8, 9]
    assert bottom.entry.rank == 10
    assert bottom.below == []
    assert bottom.total_players == 10


def test_around_me_keeps_shared_ranks_across_the_window(engine, clock):
    for player in ("a", "b", "c", "d"):
        play(engine, player, 50)
        clock.advance(seconds=1)
    standing = leaderboards.around(engine, boards.resolve(engine, "weekly"), "d", 1)
    assert [e.rank for e in standing.above] == [1]
    assert standing.entry.rank == 1


def test_around_me_for_a_player_without_a_score(engine):
    play(engine, "alice", 10)
    with pytest.raises(NotRankedError):
        leaderboards.around(engine, boards.resolve(engine, "weekly"), "nobody")


def a_board_with_a_snapshot_a_tie_and_lost_aggregates(engine, clock):
    """alice 100, erin 90 (after the snapshot), bob and carol 80 (bob first), dave 50;
    the snapshot ranked alice 1, bob and carol 2, dave 4; carol's aggregates are gone."""
    play(engine, "alice", 100, correct=7)
    play(engine, "bob", 80, correct=8)
    clock.advance(seconds=1)
    play(engine, "carol", 80, correct=6)
    play(engine, "dave", 50, questions=5, correct=5)
    snapshots.take_snapshots(engine)
    clock.advance(minutes=1)
    play(engine, "erin", 90, correct=9)
    board = boards.resolve(engine, "weekly")
    engine.redis.hdel(board.aggregates_key, "carol")
    return board


def test_around_me_answers_each_entrys_sums_and_previous_rank(engine, clock):
    board = a_board_with_a_snapshot_a_tie_and_lost_aggregates(engine, clock)
    standing = leaderboards.around(engine, board, "bob", 1)
    assert standing.total_players == 5
    assert standing.above == [leaderboards.Entry(2, "erin", 90, 1, 10, 9, None)]
    assert standing.entry == leaderboards.Entry(3, "bob", 80, 1, 10, 8, 2)
    assert standing.below == [leaderboards.Entry(3, "carol", 80, 0, 0, 0, 2)]
    assert [(e.player_id, e.movement) for e in (*standing.above, standing.entry)] == [
        ("erin", "new"),
        ("bob", "down"),
    ]


def test_around_me_starting_inside_a_tie_gives_its_first_entry_the_shared_rank(engine, clock):
    board = a_board_with_a_snapshot_a_tie_and_lost_aggregates(engine, clock)
    standing = leaderboards.around(engine, board, "dave", 1)
    assert (standing.above, standing.entry, standing.below) == (
        [leaderboards.Entry(3, "carol", 80, 0, 0, 0, 2)],
        leaderboards.Entry(5, "dave", 50, 1, 5, 5, 4),
        [],
    )
    alone = leaderboards.around(engine, board, "carol", 0)
    assert (alone.above, alone.entry, alone.below) == ([], standing.above[0], [])


def test_the_snapshot_document_keeps_seven_values_an_entry(engine, clock):
    board = a_board_with_a_snapshot_a_tie_and_lost_aggregates(engine, clock)
    snapshots.take_snapshots(engine)
    document = json.loads(engine.redis.get(board.snapshot_top_key))
    assert document["total_players"] == 5
    assert document["rows"] == [
        *("alice", 100, 1, 1, 10, 7, 1),
        *("erin", 90, 2, 1, 10, 9, -1),
        *("bob", 80, 3, 1, 10, 8, 2),
        *("carol", 80, 3, 0, 0, 0, 2),
        *("dave", 50, 5, 1, 5, 5, 4),
    ]


def test_pages_continue_the_ranking(engine, clock):
    for n in range(6):
        play(engine, f"p{n}", 60 - n * 10 if n != 3 else 40)  # 60 50 40 40 20 10
        clock.advance(seconds=1)
    assert table(engine, limit=3, offset=2) == [("p2", 40, 3), ("p3", 40, 3), ("p4", 20, 5)]


def test_movement_after_a_snapshot(engine, clock):
    play(engine, "alice", 100)
    play(engine, "bob", 80)
    play(engine, "carol", 60)
    snapshots.take_snapshots(engine)
    clock.advance(minutes=10)
    play(engine, "carol", 50)  # 110: up from 3 to 1
    play(engine, "dave", 5)  # new

    board = boards.resolve(engine, "weekly")
    live = leaderboards.top(engine, board, fresh=True)
    moves = {e.player_id: (e.rank, e.rank_previous, e.movement) for e in live.entries}
    assert moves == {
        "carol": (1, 3, "up"),
        "alice": (2, 1, "down"),
        "bob": (3, 2, "down"),
        "dave": (4, None, "new"),
    }
    standing = leaderboards.around(engine, board, "bob", 0)
    assert (standing.entry.rank_previous, standing.entry.movement) == (2, "down")


def test_top_reads_are_live_and_the_snapshot_is_read_only_on_request(engine, clock):
    play(engine, "alice", 100)
    snapshots.take_snapshots(engine)
    taken = engine.clock.now()
    clock.advance(minutes=1)
    play(engine, "bob", 200)
    board = boards.resolve(engine, "weekly")

    live = leaderboards.top(engine, board)
    assert (live.source, live.snapshot_at, live.total_players) == ("live", None, 2)
    assert [(e.player_id, e.rank, e.rank_previous) for e in live.entries] == [
        ("bob", 1, None),
        ("alice", 2, 1),
    ]

    frozen = leaderboards.top(engine, board, source="snapshot")
    assert (frozen.source, frozen.snapshot_at, frozen.total_players) == ("snapshot", taken, 2)
    assert [(e.player_id, e.rank) for e in frozen.entries] == [("alice", 1)]
    clock.advance(days=3)  # an old snapshot is still what was asked for
    assert leaderboards.top(engine, board, source="snapshot").snapshot_at == taken
    assert leaderboards.top(engine, board, offset=1, source="snapshot").entries == []
    with pytest.raises(InvalidInputError):
        leaderboards.top(engine, board, source="cache")


def test_a_snapshot_read_of_a_board_without_one_is_not_found(engine):
    play(engine, "alice", 100)
    with pytest.raises(NotFoundError):
        leaderboards.top(engine, boards.resolve(engine, "weekly"), source="snapshot")


def test_only_the_current_period_has_a_next_reset(engine, clock):
    play(engine, "alice", 100)
    clock.set(datetime(2026, 12, 2, 12, tzinfo=UTC))
    past = leaderboards.top(engine, boards.resolve(engine, "monthly", period="2026-11"))
    assert (past.next_reset_at, past.ended_at) == (None, datetime(2026, 12, 1, 3, tzinfo=UTC))
    standing = leaderboards.around(
        engine, boards.resolve(engine, "monthly", period="2026-11"), "alice"
    )
    assert (standing.next_reset_at, standing.ended_at) == (
        None,
        datetime(2026, 12, 1, 3, tzinfo=UTC),
    )
    current = leaderboards.top(engine, boards.resolve(engine, "monthly"))
    assert (current.next_reset_at, current.ended_at) == (datetime(2027, 1, 1, 3, tzinfo=UTC), None)


def test_snapshot_entries_carry_their_movement_against_the_previous_snapshot(engine, clock):
    play(engine, "alice", 100)
    play(engine, "bob", 50)
    snapshots.take_snapshots(engine)
    clock.advance(hours=2)
    play(engine, "bob", 100)  # 150
    snapshots.take_snapshots(engine)
    page = leaderboards.top(engine, boards.resolve(engine, "weekly"), source="snapshot")
    assert page.source == "snapshot"
    assert [(e.player_id, e.rank, e.rank_previous, e.movement) for e in page.entries] == [
        ("bob", 1, 2, "up"),
        ("alice", 2, 1, "down"),
    ]


def test_snapshot_ranks_every_player_even_with_many_equal_scores(engine, monkeypatch):
    monkeypatch.setattr(snapshots, "CHUNK", 7)
    for n in range(30):
        play(engine, f"p{n:02d}", 10 if n < 20 else n)  # p20..p29 score 20..29, the rest 10
    board = boards.resolve(engine, "weekly")
    assert snapshots.snapshot_board(engine, board) == 30
    ranks = {
        p.decode(): int(r)
        for p, r in engine.redis.zrange(board.snapshot_ranks_key, 0, -1, withscores=True)
    }
    assert ranks == {f"p{n:02d}": 30 - n for n in range(20, 30)} | {
        f"p{n:02d}": 11 for n in range(20)
    }
    assert not engine.redis.exists(board.snapshot_building_key)


def test_snapshot_runs_over_every_current_board(engine):
    play(engine, "alice", 10, category="math")
    play(engine, "bob", 10, category="history")
    report = snapshots.take_snapshots(engine)
    assert report.boards == 3 * 3  # global, math, history for each period type
    assert engine.redis.exists(boards.resolve(engine, "yearly", "history").snapshot_top_key)


def test_a_players_ranks_on_every_current_board(engine):
    play(engine, "alice", 50, category="math")
    play(engine, "bob", 70, category="math")
    play(engine, "alice", 10, category="art")
    standings = leaderboards.player_ranks(engine, "alice")
    summary = [
        (s.board.period_type, s.board.category, s.entry.rank, s.entry.score) for s in standings
    ]
    assert summary == [
        ("weekly", None, 2, 60),
        ("weekly", "art", 1, 10),
        ("weekly", "math", 2, 50),
        ("monthly", None, 2, 60),
        ("monthly", "art", 1, 10),
        ("monthly", "math", 2, 50),
        ("yearly", None, 2, 60),
        ("yearly", "art", 1, 10),
        ("yearly", "math", 2, 50),
    ]
    assert leaderboards.player_ranks(engine, "nobody") == []
