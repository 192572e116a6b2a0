"""Leaderboard keys: each board's scores, aggregates and snapshots, the index of a
period's boards, the prizes a closed board paid; and the player-slot keys of the exam
path (an exam attempt's record, the player's aggregates on a period's boards).
"""

from __future__ import annotations

from engine.keys_shards import PREFIX, shard_of, shard_tag

# A board is (period type, period, category); "global" is the board of all categories.
# Each board's keys share the board's own hash tag, e.g. {lb:weekly:2026-W48:global}.


def exam(player_id: str, exam_id: str) -> str:
    """Hash: the recorded outcome of one exam attempt (fp, result, summary); expires."""
    return f"{PREFIX}:{shard_tag(shard_of(player_id))}:exam:{player_id}/{exam_id}"


def board_stats(player_id: str) -> str:
    """Hash: "<period>:<category>" -> the player's exact aggregates on that board, for
    every kept period the player played (engine.boards.exam_stats)."""
    return f"{PREFIX}:{shard_tag(shard_of(player_id))}:stats:{player_id}"


def player_board_stats(player_id: str, period_type: str, period: str) -> str:
    """Hash: the player's exact aggregates on every board of one period, as versions
    before board_stats kept them (category -> sums): read while one lives out its TTL,
    moved into board_stats by the player's first exam of its period."""
    tag = shard_tag(shard_of(player_id))
    return f"{PREFIX}:{tag}:lbstats:{period_type}:{period}:{player_id}"


def _board(period_type: str, period: str, category: str, part: str) -> str:
    return f"{PREFIX}:{{lb:{period_type}:{period}:{category}}}:{part}"


def board_scores(period_type: str, period: str, category: str) -> str:
    """Sorted set: player -> composite score (total, then who reached it first)."""
    return _board(period_type, period, category, "scores")


def board_aggregates(period_type: str, period: str, category: str) -> str:
    """Hash: player -> "score:exams:questions:correct", a copy kept beside the scores."""
    return _board(period_type, period, category, "aggregates")


def board_snapshot_ranks(period_type: str, period: str, category: str) -> str:
    """Sorted set: player -> their competition rank at the last snapshot."""
    return _board(period_type, period, category, "snapshot:ranks")


def board_snapshot_ranking(period_type: str, period: str, category: str) -> str:
    """Sorted set: the ranks of a snapshot being taken; replaces snapshot:ranks."""
    return _board(period_type, period, category, "snapshot:ranking")


def board_snapshot_top(period_type: str, period: str, category: str) -> str:
    """String (JSON): the top entries at the last snapshot, with snapshot_at."""
    return _board(period_type, period, category, "snapshot:top")


def board_snapshot_building(period_type: str, period: str, category: str) -> str:
    """Sorted set: the frozen copy of the scores a snapshot ranks; removed when published."""
    return _board(period_type, period, category, "snapshot:building")


def board_removals() -> str:
    """String: a count of the removals of players from the boards (engine.boards.moderation),
    raised after each removal's Redis step; a persist write that sees it changed since its
    reads writes its batch again (engine.ops.persistence_sql)."""
    return f"{PREFIX}:{{lbremovals}}"


def board_index(period_type: str, period: str) -> str:
    """Set: the categories that have a board in this period (besides global)."""
    return f"{PREFIX}:{{lbindex}}:{period_type}:{period}"


def board_prizes(board: str, period: str) -> str:
    """Hash: player -> {"rank", "score", "prize", "transaction_id"} (JSON) of the prizes a
    closed period's board paid (`board` "weekly:global", "weekly:math"; transaction_id
    "refused:<code>" for one the wallet refused): what its page shows; kept as long as
    the period's board. engine.boards.prizes."""
    return f"{PREFIX}:{{prizes:{board}:{period}}}:paid"


def board_prizes_closed(board: str, period: str) -> str:
    """String: set once every prize of the board's period is paid and recorded."""
    return f"{PREFIX}:{{prizes:{board}:{period}}}:closed"


def board_prizes_seen(board: str) -> str:
    """String: ms when the board_prizes job first saw the board among the rules' prized
    boards; the periods that ended after it are all its to pay, however late."""
    return f"{PREFIX}:{{prizes:{board}}}:seen"
