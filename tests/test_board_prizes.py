"""Period-end prizes on the boards: paid once from the final standings of a closed
period (after any cheater's removal), recorded, and shown on the closed period's board
as the ledger shows them: a prize the wallet refused is shown refused, not paid."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime

import pytest

from engine import keys
from engine.boards import Board, exams, moderation, prizes
from engine.boards.exams import Exam
from engine.economy import ledger, wallet
from engine.leagues.results import MemberPrize, PrizeRefused
from engine.rules.board_prizes import parse_board_prizes
from engine.rules.fields import Field, RulesError

exam_ids = itertools.count()

PRIZES = {
    "weekly": {"1": {"coins": 1000}, "2-3": {"coins": 100}},
    "weekly:math": {"1": {"bricks": 5}},
}


def with_prizes(engine):
    board_prizes = parse_board_prizes(Field(PRIZES, "leaderboards.prizes"), ("coins", "bricks"))
    engine.rules = dataclasses.replace(
        engine.rules,
        leaderboards=dataclasses.replace(engine.rules.leaderboards, prizes=board_prizes),
    )
    return engine


@pytest.fixture
def prized(engine):
    return with_prizes(engine)


def play_week(engine, scores: dict[str, int], category: str = "math") -> None:
    engine.clock.set(datetime(2026, 11, 25, 12, tzinfo=UTC))  # in 2026-W48
    for player, score in scores.items():
        exams.record_exam(engine, player, Exam(f"x{next(exam_ids)}", category, score, 10, 5))


def after_the_week(engine) -> None:
    engine.clock.set(datetime(2026, 11, 30, 3, 10, tzinfo=UTC))  # W48 ended at 03:00


def prize_entries(engine, player: str) -> list:
    return [e for e in ledger.history(engine, player, limit=1000) if e.kind == "prize"]


def coins(engine, player: str) -> int:
    return wallet.balances(engine, player)["coins"]


def test_the_close_pays_each_rank_its_prize(prized):
    play_week(prized, {"alice": 90, "bob": 80, "carol": 70, "dave": 60})
    before = {p: coins(prized, p) for p in ("alice", "bob", "carol", "dave")}
    after_the_week(prized)
    prizes.close_ended(prized)
    gained = {p: coins(prized, p) - before[p] for p in before}
    assert gained == {"alice": 1000, "bob": 100, "carol": 100, "dave": 0}
    assert sorted(e.reason for e in prize_entries(prized, "alice")) == [
        "board weekly:global 2026-W48 rank 1",
        "board weekly:math 2026-W48 rank 1",
    ]
    # the category board pays its own prize
    assert wallet.balances(prized, "alice")["bricks"] == 5


def test_players_tied_at_the_last_prized_rank_each_take_its_prize(prized):
    # carol and dave share rank 3, the deepest with a prize; dave is listed 4th
    play_week(prized, {"alice": 90, "bob": 80, "carol": 70, "dave": 70, "erin": 60})
    before = {p: coins(prized, p) for p in ("alice", "bob", "carol", "dave", "erin")}
    after_the_week(prized)
    prizes.close_ended(prized)
    gained = {p: coins(prized, p) - before[p] for p in before}
    assert gained == {"alice": 1000, "bob": 100, "carol": 100, "dave": 100, "erin": 0}
    assert [e.reason for e in prize_entries(prized, "dave")] == [
        "board weekly:global 2026-W48 rank 3"
    ]


def test_a_long_tie_at_the_first_rank_pays_every_player_in_it(prized):
    tied = {f"p{n:02}": 50 for n in range(12)}
    play_week(prized, tied)
    before = {p: coins(prized, p) for p in tied}
    after_the_week(prized)
    prizes.close_ended(prized)
    assert {p: coins(prized, p) - before[p] for p in tied} == dict.fromkeys(tied, 1000)


def test_a_cheaters_removal_moves_the_prize_to_the_next_player(prized):
    play_week(prized, {"mallory": 99, "alice": 90, "bob": 80, "carol": 70})
    before = {p: coins(prized, p) for p in ("mallory", "alice", "bob", "carol")}
    after_the_week(prized)
    moderation.remove_from_leaderboards(prized, "mallory")
    prizes.close_ended(prized)
    gained = {p: coins(prized, p) - before[p] for p in before}
    assert gained == {"mallory": 0, "alice": 1000, "bob": 100, "carol": 100}


def test_a_removal_after_the_close_takes_nothing_back_and_pays_nothing_more(
    client, app, server_headers
):
    prized = with_prizes(app.extensions["questboard.engine"])
    play_week(prized, {"mallory": 99, "alice": 90, "bob": 80, "carol": 70})
    after_the_week(prized)
    prizes.close_ended(prized)
    paid = {p: coins(prized, p) for p in ("mallory", "alice", "bob", "carol")}

    moderation.remove_from_leaderboards(prized, "mallory")
    prizes.close_ended(prized)

    assert {p: coins(prized, p) for p in paid} == paid
    body = client.get("/v1/leaderboards/weekly?period=2026-W48", headers=server_headers)
    shown = [(e["rank"], e["player_id"], e["prize"]) for e in body.get_json()["entries"]]
    assert shown == [  # the others move up; each shows the prize the close paid them
        (1, "alice", {"coins": 100}),
        (2, "bob", {"coins": 100}),
        (3, "carol", None),
    ]


def test_a_repeated_or_replayed_close_pays_nothing_twice(prized):
    play_week(prized, {"alice": 90, "bob": 80})
    after_the_week(prized)
    prizes.close_ended(prized)
    prizes.close_ended(prized)  # repeated
    for board in ("weekly:global", "weekly:math"):  # replayed: as if never marked closed
        prized.redis.delete(keys.board_prizes_closed(board, "2026-W48"))
    prizes.close_ended(prized)
    assert [len(prize_entries(prized, p)) for p in ("alice", "bob")] == [2, 1]  # weekly, math


def test_a_close_killed_midway_pays_the_rest_once_on_the_next_run(prized):
    play_week(prized, {"alice": 90, "bob": 80, "carol": 70})
    after_the_week(prized)
    runs = iter([True, False])  # the run loses its lock after its first chunk
    prizes.close_ended(prized, keep_going=lambda: next(runs, False), chunk=1)
    prizes.close_ended(prized)
    assert [len(prize_entries(prized, p)) for p in ("alice", "bob", "carol")] == [2, 1, 1]


def test_a_removal_between_two_runs_of_a_close_changes_nothing_it_pays_or_records(prized):
    play_week(prized, {"mallory": 99, "alice": 90, "bob": 80, "carol": 70})
    before = {p: coins(prized, p) for p in ("mallory", "alice", "bob", "carol")}
    after_the_week(prized)
    board = Board("weekly", prized.calendar.parse("weekly", "2026-W48"), None)
    runs = iter([True, True])  # the first run pays mallory and alice, then stops
    assert prizes.close(prized, board, prized.clock.now(), lambda: next(runs, False), 1) is None
    moderation.remove_from_leaderboards(prized, "mallory")

    prizes.close_ended(prized)

    paid = {p: coins(prized, p) - before[p] for p in before}
    assert paid == {"mallory": 1000, "alice": 100, "bob": 100, "carol": 0}  # the first run's
    shown = prizes.prizes_of(prized, board, list(before))
    assert shown == {  # as the ledger paid them
        "mallory": MemberPrize(paid={"coins": 1000}),
        "alice": MemberPrize(paid={"coins": 100}),
        "bob": MemberPrize(paid={"coins": 100}),
        "carol": MemberPrize(),
    }


def test_no_prize_before_the_period_ends(prized):
    play_week(prized, {"alice": 90})
    prizes.close_ended(prized)
    assert prize_entries(prized, "alice") == []


def test_the_closed_periods_board_shows_each_entrys_prize(client, app, server_headers):
    prized = with_prizes(app.extensions["questboard.engine"])
    play_week(prized, {"alice": 90, "bob": 80, "carol": 70, "dave": 60})
    after_the_week(prized)
    prizes.close_ended(prized)
    body = client.get("/v1/leaderboards/weekly?period=2026-W48", headers=server_headers)
    body = body.get_json()
    shown = {e["player_id"]: e["prize"] for e in body["entries"]}
    assert shown == {
        "alice": {"coins": 1000},
        "bob": {"coins": 100},
        "carol": {"coins": 100},
        "dave": None,
    }
    current = client.get("/v1/leaderboards/weekly", headers=server_headers).get_json()
    assert all("prize" not in e for e in current["entries"])


def prizes_in_the_ledger(engine, player: str, board: str) -> dict[str, int] | None:
    """What the ledger's prize entries of the board's closed week credited the player,
    None for none."""
    reason = f"board {board} 2026-W48 rank "
    credited = [e.deltas for e in prize_entries(engine, player) if e.reason.startswith(reason)]
    assert len(credited) <= 1
    return credited[0] if credited else None


def at_the_balance_limit(engine, player: str) -> None:
    engine.redis.hset(keys.wallet(player), "coins", engine.rules.limits.max_balance)


def test_a_prize_the_wallet_refused_at_its_balance_limit_is_shown_refused_not_paid(
    client, app, server_headers
):
    prized = with_prizes(app.extensions["questboard.engine"])
    play_week(prized, {"alice": 90, "bob": 80, "carol": 70, "dave": 60})
    at_the_balance_limit(prized, "alice")  # no room for the winner's 1000 coins
    after_the_week(prized)
    prizes.close_ended(prized)

    body = client.get("/v1/leaderboards/weekly?period=2026-W48", headers=server_headers)
    entries = body.get_json()["entries"]

    assert [(e["player_id"], e["prize"], e["prize_refused"]) for e in entries] == [
        ("alice", None, {"prize": {"coins": 1000}, "code": "balance_limit_exceeded"}),
        ("bob", {"coins": 100}, None),
        ("carol", {"coins": 100}, None),
        ("dave", None, None),
    ]
    assert [e["prize"] for e in entries] == [
        prizes_in_the_ledger(prized, e["player_id"], "weekly:global") for e in entries
    ]
    assert coins(prized, "alice") == prized.rules.limits.max_balance
    # the category board's prize, in bricks, fitted: paid and shown paid
    math = client.get(
        "/v1/leaderboards/weekly?category=math&period=2026-W48", headers=server_headers
    ).get_json()["entries"]
    assert [(e["player_id"], e["prize"], e["prize_refused"]) for e in math[:2]] == [
        ("alice", {"bricks": 5}, None),
        ("bob", None, None),
    ]
    assert prizes_in_the_ledger(prized, "alice", "weekly:math") == {"bricks": 5}


def test_a_record_written_before_refusals_were_shown_reads_as_before(prized):
    """A paid prize's record in Redis holds rank, score, prize and transaction id, as
    every close wrote it; a refused one the same, with "refused:<code>" for the id."""
    board = Board("weekly", prized.calendar.parse("weekly", "2026-W48"), None)
    after_the_week(prized)
    prized.redis.hset(
        keys.board_prizes("weekly:global", "2026-W48"),
        mapping={
            "alice": '{"rank": 1, "score": 90, "prize": {"coins": 1000}, '
            '"transaction_id": "refused:balance_limit_exceeded"}',
            "bob": '{"rank": 2, "score": 80, "prize": {"coins": 100}, '
            '"transaction_id": "1764000000000-0"}',
        },
    )

    found = prizes.prizes_of(prized, board, ["alice", "bob", "carol"])

    assert found == {
        "alice": MemberPrize(refused=PrizeRefused({"coins": 1000}, "balance_limit_exceeded")),
        "bob": MemberPrize(paid={"coins": 100}),
        "carol": MemberPrize(),
    }


def test_rules_refuse_an_unknown_board_and_overlapping_ranks():
    with pytest.raises(RulesError, match="daily"):
        parse_board_prizes(Field({"daily": {"1": {"coins": 1}}}, "p"), ("coins",))
    with pytest.raises(RulesError, match="overlapping"):
        parse_board_prizes(
            Field({"weekly": {"1-3": {"coins": 1}, "3": {"coins": 2}}}, "p"), ("coins",)
        )
