"""A snapshot copies a live board in chunks while players keep playing: every player is
ranked, however the scores at a chunk's edge move during the copy (scores only rise)."""

from __future__ import annotations

from engine import boards
from engine.boards import snapshots
from tests.leaderboard_play import play


def snapshot_ranks(engine, board):
    return {
        p.decode(): int(r)
        for p, r in engine.redis.zrange(board.snapshot_ranks_key, 0, -1, withscores=True)
    }


def test_snapshot_ranks_every_player_when_one_rises_during_the_copy(engine, monkeypatch):
    monkeypatch.setattr(snapshots, "CHUNK", 2)
    for n in range(6):
        play(engine, f"p{n}", 10 * (n + 1))  # p0 = 10 ... p5 = 60
    board = boards.resolve(engine, "weekly")
    copy_chunk = engine.redis.zrangebyscore
    chunks = []

    def a_player_rises_after_the_first_chunk(*args, **kwargs):
        rows = copy_chunk(*args, **kwargs)
        chunks.append(rows)
        if len(chunks) == 1:  # p1, the first chunk's last, plays on: 20 -> 120
            play(engine, "p1", 100)
        return rows

    monkeypatch.setattr(engine.redis, "zrangebyscore", a_player_rises_after_the_first_chunk)
    assert snapshots.snapshot_board(engine, board) == 6
    assert snapshot_ranks(engine, board) == {"p1": 1, "p5": 2, "p4": 3, "p3": 4, "p2": 5, "p0": 6}
