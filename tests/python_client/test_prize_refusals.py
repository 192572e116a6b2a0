"""A closed period's prize the wallet refused reaches the Python client as refused:
`prize` None and `prize_refused` the rules' prize with the wallet's code, on a closed
board's entries and on a closed league cohort's members, as the ledger shows it.

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from questboard_client import UnexpectedAnswer
from questboard_client.models import Entry, LeagueMember, PrizeRefused

from engine import keys
from engine.boards import prizes
from engine.leagues import close
from tests.test_board_prizes import with_prizes

FULL = PrizeRefused({"coins": 1000}, "balance_limit_exceeded")
CLOSED_W48 = datetime(2026, 11, 30, 3, 10, tzinfo=UTC)  # 2026-W48 ended at 03:00


def at_the_balance_limit(engine, player: str) -> None:
    engine.redis.hset(keys.wallet(player), "coins", engine.rules.limits.max_balance)


def prize_entries(qb, player: str, reason: str) -> list[dict[str, int]]:
    """What the player's ledger's prize entries whose reason starts so credited."""
    return [
        entry.deltas
        for entry in qb.ledger(player)
        if entry.kind == "prize" and entry.reason.startswith(reason)
    ]


def test_a_closed_boards_prize_the_wallet_refused_is_read_refused(qb, app, clock):
    engine = with_prizes(app.extensions["questboard.engine"])
    qb.record_exam("alice", "attempt-1", "math", 90, 10, 9)
    qb.record_exam("bob", "attempt-2", "math", 80, 10, 8)
    at_the_balance_limit(engine, "alice")
    clock.set(CLOSED_W48)
    prizes.close_ended(engine)

    page = qb.leaderboard("weekly", period="2026-W48")

    assert page.entries[0] == Entry(
        1, "alice", 90, 1, 10, 9, 0.9, None, "new", prize=None, prize_refused=FULL
    )
    assert [(e.player_id, e.prize, e.prize_refused) for e in page.entries] == [
        ("alice", None, FULL),
        ("bob", {"coins": 100}, None),
    ]
    week = "board weekly:global 2026-W48 "
    assert [prize_entries(qb, p, week) for p in ("alice", "bob")] == [[], [{"coins": 100}]]
    math = qb.leaderboard("weekly", category="math", period="2026-W48")
    assert [(e.prize, e.prize_refused) for e in math.entries] == [
        ({"bricks": 5}, None),  # the category board's prize fitted in the wallet
        (None, None),
    ]


def test_a_closed_cohorts_prize_the_wallet_refused_is_read_refused(qb, app, clock):
    engine = app.extensions["questboard.engine"]
    qb.record_exam("alice", "attempt-1", "math", 90, 10, 9)
    qb.record_exam("bob", "attempt-2", "math", 80, 10, 8)
    at_the_balance_limit(engine, "alice")
    clock.set(CLOSED_W48)
    close.close(engine, "2026-W48")

    cohort = qb.league_cohort("2026-W48", "bronze-1")

    refused = PrizeRefused({"coins": 100}, "balance_limit_exceeded")  # [leagues.prizes.bronze]
    assert cohort.members == (
        LeagueMember("alice", 1, 1, 90, "promotion", None, refused),
        LeagueMember("bob", 2, 2, 80, "promotion", {"coins": 50}, None),
    )
    week = "league weekly 2026-W48 "
    assert [prize_entries(qb, p, week) for p in ("alice", "bob")] == [[], [{"coins": 50}]]


ENTRY = {
    "rank": 1,
    "player_id": "alice",
    "score": 90,
    "exams": 1,
    "questions": 10,
    "correct": 9,
    "accuracy": 0.9,
    "rank_previous": None,
    "movement": "new",
}
PAGE = {
    "board": "weekly",
    "category": None,
    "period": "2026-W48",
    "ended_at": "2026-11-30T03:00:00+00:00",
    "total_players": 1,
    "source": "live",
    "snapshot_at": None,
}


def test_an_entry_without_the_field_reads_as_no_refusal(qb, gate):
    gate.answer_next(200, PAGE | {"entries": [ENTRY | {"prize": {"coins": 1000}}]})

    [entry] = qb.leaderboard("weekly", period="2026-W48").entries

    assert (entry.prize, entry.prize_refused) == ({"coins": 1000}, None)


@pytest.mark.parametrize(
    "refused",
    [
        {"prize": {"coins": 1000}},
        {"prize": {"coins": "many"}, "code": "balance_limit_exceeded"},
        {"prize": {"coins": True}, "code": "balance_limit_exceeded"},
        {"prize": {"coins": 1000}, "code": 409},
        "balance_limit_exceeded",
    ],
)
def test_a_refusal_of_an_unknown_shape_raises_unexpected_answer(qb, gate, refused):
    gate.answer_next(200, PAGE | {"entries": [ENTRY | {"prize": None, "prize_refused": refused}]})

    with pytest.raises(UnexpectedAnswer):
        qb.leaderboard("weekly", period="2026-W48")
