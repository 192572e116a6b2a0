"""The league_close job: final standings to SQL, promotion and relegation, prizes paid
exactly once (a run killed midway and run again, a run repeated), absent players."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from engine import db, keys, leagues
from engine.boards import exams
from engine.boards.exams import Exam
from engine.economy import ledger, wallet
from engine.leagues import close, final, payouts

counter = iter(range(1_000_000))


def play(engine, player, score):
    exams.record_exam(engine, player, Exam(f"exam-{next(counter)}", "math", score, 10, 10))


@pytest.fixture
def league_engine(durable_engine):
    """Cohorts of 4, one promoted and one relegated, prizes for ranks 1 and 2-3."""
    rules = durable_engine.rules
    return dataclasses.replace(
        durable_engine,
        rules=dataclasses.replace(
            rules,
            leagues=dataclasses.replace(rules.leagues, cohort_size=4, promote=1, relegate=1),
        ),
    )


def start_in(engine, player, tier, period="2026-W48"):
    engine.redis.hset(keys.player_league(player), mapping={"period": period, "tier": tier})


def coins(engine, player):
    return wallet.balances(engine, player)["coins"]


def prize_entries(engine, player):
    return [e for e in ledger.history(engine, player, limit=1000) if e.kind == payouts.ROUTE]


def results(engine):
    """The ranked members' result rows (not those of members the close skipped)."""
    table = db.league_results
    with engine.sql.connect() as conn:
        rows = conn.execute(select(table).where(~table.c.skipped).order_by(table.c.position))
        return [(r.player_id, r.tier, r.position, r.rank, r.score, r.next_tier) for r in rows]


def test_the_close_promotes_relegates_pays_and_records(league_engine, clock):
    engine = league_engine
    for player, score in [("p1", 40), ("p2", 30), ("p3", 20), ("p4", 10)]:
        start_in(engine, player, "silver")
        play(engine, player, score)
    before = {p: coins(engine, p) for p in ("p1", "p2", "p3", "p4")}
    assert close.close(engine, "2026-W48").closed is False  # it has not ended
    clock.advance(days=7)

    report = close.close(engine)

    assert (report.period, report.closed, report.players, report.cohorts) == (
        "2026-W48",
        True,
        4,
        1,
    )
    assert results(engine) == [
        ("p1", "silver", 1, 1, 40, "gold"),
        ("p2", "silver", 2, 2, 30, "silver"),
        ("p3", "silver", 3, 3, 20, "silver"),
        ("p4", "silver", 4, 4, 10, "bronze"),
    ]
    paid = {p: coins(engine, p) - before[p] for p in before}
    assert paid == {"p1": 200, "p2": 100, "p3": 100, "p4": 0}
    assert close.close(engine).closed is False  # closed once
    assert {p: coins(engine, p) - before[p] for p in before} == paid
    # the next week starts from the close's tiers; the closed cohort stays readable
    assert [leagues.player_league(engine, p, clock.now()).tier for p in paid] == [
        "gold",
        "silver",
        "silver",
        "bronze",
    ]
    assert len(leagues.cohort(engine, "2026-W48", "silver-1").members) == 4


@pytest.mark.also_on_cluster  # the reads and writes of many slots, in threads
def test_a_close_killed_midway_and_run_again_pays_each_prize_once(
    league_engine, clock, monkeypatch
):
    engine = league_engine
    players = [f"p{n}" for n in range(12)]  # three cohorts of 4, three prizes each
    for n, player in enumerate(players):
        play(engine, player, 100 - n)
    before = {p: coins(engine, p) for p in players}
    clock.advance(days=7)
    monkeypatch.setattr(payouts, "CHUNK", 2)
    answer_of = payouts.transactions.answer_of
    calls = []

    def killed_on_the_fourth_answer(*args):
        calls.append(1)
        if len(calls) == 4:  # the chunk's payments are made; the run dies before recording
            raise RuntimeError("killed")
        return answer_of(*args)

    monkeypatch.setattr(payouts.transactions, "answer_of", killed_on_the_fourth_answer)
    with pytest.raises(RuntimeError, match="killed"):
        close.close(engine)
    monkeypatch.setattr(payouts.transactions, "answer_of", answer_of)
    assert close.close(engine).closed is True
    # and again from scratch: the records of the close and of the payments lost
    engine.redis.delete(keys.league_closed("weekly", "2026-W48"))
    engine.redis.delete(keys.payouts_paid("league:weekly:2026-W48"))
    assert close.close(engine).closed is True

    expected = {
        p: (100 if n % 4 == 0 else 50 if n % 4 in (1, 2) else 0) for n, p in enumerate(players)
    }
    assert {p: coins(engine, p) - before[p] for p in players} == expected
    assert {p: len(prize_entries(engine, p)) for p in players} == {
        p: int(bool(amount)) for p, amount in expected.items()
    }
    assert len(results(engine)) == 12


def test_a_player_absent_a_whole_week_drops_a_tier(league_engine, clock):
    engine = league_engine
    start_in(engine, "away", "gold")
    play(engine, "away", 10)
    start_in(engine, "other", "gold")
    play(engine, "other", 20)
    clock.advance(days=7)
    close.close(engine)  # "away" is last of two: relegated to silver
    assert leagues.player_league(engine, "away", clock.now()).tier == "silver"
    clock.advance(days=7)  # W49 without an exam
    close.close(engine)
    assert leagues.player_league(engine, "away", clock.now()).tier == "bronze"
    play(engine, "away", 5)
    assert leagues.player_league(engine, "away", clock.now()).cohort.cohort_id == "bronze-1"


def test_the_job_closes_every_ended_period_it_missed(league_engine, clock):
    engine = league_engine
    start_in(engine, "p1", "silver")
    play(engine, "p1", 10)
    clock.advance(days=7)
    play(engine, "p1", 10)  # W49, before W48's close: gold, from W48's final standings
    clock.advance(days=14)  # the job did not run for two weeks: W48 and W49 wait
    reports = close.close_ended(engine)  # every week kept (12) not closed, oldest first
    assert [(r.period, r.closed, r.players) for r in reports if r.players] == [
        ("2026-W48", True, 1),
        ("2026-W49", True, 1),
    ]
    assert [r.period for r in reports][-3:] == ["2026-W48", "2026-W49", "2026-W50"]
    assert len(reports) == 12 and all(r.closed for r in reports)
    assert close.close_ended(engine) == []  # nothing left to close
    # promoted from gold in W49 to sapphire, absent in W50: gold in W51
    assert leagues.player_league(engine, "p1", clock.now()).tier == "gold"


def test_with_one_week_kept_the_job_passes_over_expired_weeks_and_closes_the_last(
    league_engine, clock
):
    rules = league_engine.rules
    kept = dataclasses.replace(rules.leaderboards, keep_weeks=1)  # the rules' least
    engine = dataclasses.replace(league_engine, rules=dataclasses.replace(rules, leaderboards=kept))
    for player, score in [("p1", 40), ("p2", 30)]:
        start_in(engine, player, "silver")
        play(engine, player, score)
    clock.advance(days=7)

    reports = close.close_ended(engine)  # W47 and before expired with their boards

    assert [(r.period, r.closed, r.players) for r in reports] == [("2026-W48", True, 2)]
    assert leagues.player_league(engine, "p1", clock.now()).tier == "gold"
    clock.advance(days=14)  # W48 and W49 are no longer kept: the job passes over them too
    assert [(r.period, r.closed) for r in close.close_ended(engine)] == [("2026-W50", True)]
    assert [r[0] for r in results(engine)] == ["p1", "p2"]  # closed once


@pytest.mark.also_on_cluster  # the reads and writes of many slots, in threads
def test_a_close_read_and_written_in_small_pieces_records_every_member_once(
    league_engine, clock, monkeypatch
):
    engine = league_engine
    pieces = {"WRITE_CHUNK": 5, "RECORDS_A_CALL": 2, "RECORD_CALLS": 3}
    for name, size in pieces.items():
        monkeypatch.setattr(close, name, size)
    for name, size in {"READ_COHORTS": 2, "READ_CALLS": 2}.items():
        monkeypatch.setattr(final, name, size)
    monkeypatch.setattr(payouts, "CHUNK", 3)
    bronze = [f"b{n:02}" for n in range(30)]  # 8 cohorts: 7 of 4, the last of 2
    silver = [f"s{n}" for n in range(10)]  # 3 cohorts: 2 of 4, the last of 2
    for n, player in enumerate(bronze):
        play(engine, player, 100 - n)  # each cohort finishes in arrival order
    for n, player in enumerate(silver):
        start_in(engine, player, "silver")
        play(engine, player, 50 + n)  # each cohort finishes in reverse arrival order
    before = {p: coins(engine, p) for p in bronze + silver}
    expected, prizes = {}, {}
    for number, start in enumerate(range(0, 30, 4), start=1):
        for position, player in enumerate(bronze[start : start + 4], start=1):
            expected[player] = ("bronze", number, position, "silver" if position == 1 else "bronze")
            prizes[player] = {1: 100, 2: 50, 3: 50}.get(position, 0)
    for number, start in enumerate(range(0, 10, 4), start=1):
        members = silver[start : start + 4][::-1]
        for position, player in enumerate(members, start=1):
            after = "gold" if position == 1 else "bronze" if position == len(members) else "silver"
            expected[player] = ("silver", number, position, after)
            prizes[player] = {1: 200, 2: 100, 3: 100}.get(position, 0)
    clock.advance(days=7)

    report = close.close(engine, "2026-W48")

    assert (report.closed, report.players, report.cohorts, report.prizes) == (True, 40, 11, 31)
    with engine.sql.connect() as conn:
        rows = conn.execute(select(db.league_results))
        recorded = {r.player_id: (r.tier, r.cohort, r.position, r.next_tier) for r in rows}
    assert recorded == expected
    assert {p: coins(engine, p) - before[p] for p in before} == prizes
    assert {p: leagues.player_league(engine, p, clock.now()).tier for p in expected} == {
        p: after for p, (_, _, _, after) in expected.items()
    }
    assert close.close(engine, "2026-W48").closed is False


def test_a_close_whose_sql_write_fails_after_the_payments_is_finished_by_the_next_run(
    league_engine, clock, monkeypatch
):
    engine = league_engine
    players = [f"p{n}" for n in range(8)]  # two cohorts of 4
    for n, player in enumerate(players):
        play(engine, player, 100 - n)
    before = {p: coins(engine, p) for p in players}
    clock.advance(days=7)
    write_results = close.write_results

    def the_database_is_down(*args):
        raise RuntimeError("SQL down")

    monkeypatch.setattr(close, "write_results", the_database_is_down)
    with pytest.raises(RuntimeError, match="SQL down"):
        close.close(engine, "2026-W48")
    paid_once = {p: coins(engine, p) - before[p] for p in players}
    assert paid_once == {p: (100, 50, 50, 0)[n % 4] for n, p in enumerate(players)}
    assert results(engine) == []  # not marked closed: the next run repeats every step
    monkeypatch.setattr(close, "write_results", write_results)

    assert close.close(engine, "2026-W48").closed is True

    assert len(results(engine)) == 8
    assert {p: coins(engine, p) - before[p] for p in players} == paid_once
    assert {p: len(prize_entries(engine, p)) for p in players} == {
        p: int(bool(amount)) for p, amount in paid_once.items()
    }


def refusals(engine):
    with engine.sql.connect() as conn:
        rows = conn.execute(select(db.league_results))
        return {r.player_id: r.prize_refused for r in rows}


def test_a_prize_the_wallet_refuses_at_its_balance_limit_is_recorded_refused_not_paid(
    league_engine, clock
):
    engine = league_engine
    for player, score in [("p1", 40), ("p2", 30), ("p3", 20), ("p4", 10)]:
        start_in(engine, player, "silver")
        play(engine, player, score)
    most = engine.rules.limits.max_balance
    engine.redis.hset(keys.wallet("p1"), "coins", most)  # no room for the winner's 200
    clock.advance(days=7)

    assert close.close(engine).closed is True

    unpaid = {"p1": "balance_limit_exceeded", "p2": None, "p3": None, "p4": None}
    assert refusals(engine) == unpaid
    assert (coins(engine, "p1"), prize_entries(engine, "p1")) == (most, [])
    assert [len(prize_entries(engine, p)) for p in ("p2", "p3", "p4")] == [1, 1, 0]
    # a close run again from scratch (its records and the payments' lost) records the same
    engine.redis.delete(keys.league_closed("weekly", "2026-W48"))
    engine.redis.delete(keys.payouts_paid("league:weekly:2026-W48"))
    assert close.close(engine).closed is True
    assert refusals(engine) == unpaid
    assert coins(engine, "p1") == most
