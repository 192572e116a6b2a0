"""Two closes of one period at once (a run whose lock lapsed and the next, on two
workers): each prize is paid once, each member's result written once, for the league
close and the board prizes' close alike."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from engine import db
from engine.boards import prizes
from engine.leagues import close
from tests.test_board_prizes import after_the_week, play_week, prize_entries, with_prizes
from tests.test_league_close import coins, play, start_in

RUNS = 4


def at_once(task) -> list:
    """`task()` in RUNS threads released together; their results or exceptions."""
    barrier = threading.Barrier(RUNS)

    def attempt(_):
        barrier.wait()
        try:
            return task()
        except Exception as error:  # asserted on by the caller
            return error

    with ThreadPoolExecutor(max_workers=RUNS) as pool:
        return list(pool.map(attempt, range(RUNS)))


def small_leagues(engine):
    rules = engine.rules
    leagues_ = dataclasses.replace(rules.leagues, cohort_size=4, promote=1, relegate=1)
    return dataclasses.replace(engine, rules=dataclasses.replace(rules, leagues=leagues_))


def test_league_closes_run_at_once_pay_each_prize_once(durable_engine, clock):
    engine = small_leagues(durable_engine)
    players = [f"p{n}" for n in range(12)]  # three silver cohorts of four
    for n, player in enumerate(players):
        start_in(engine, player, "silver")
        play(engine, player, 100 - n)
    before = {p: coins(engine, p) for p in players}
    clock.advance(days=7)

    reports = at_once(lambda: close.close(engine, "2026-W48"))

    assert not [r for r in reports if isinstance(r, Exception)]
    assert any(r.closed for r in reports)
    gained = {p: coins(engine, p) - before[p] for p in players}
    by_cohort = [200, 100, 100, 0]  # the rules' silver prizes by rank, in each cohort
    assert sorted(gained.values(), reverse=True) == sorted(by_cohort * 3, reverse=True)
    assert {p: len(prize_entries(engine, p)) for p in players} == {
        p: int(bool(amount)) for p, amount in gained.items()
    }
    with engine.sql.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(db.league_results)).scalar()
    assert rows == 12


def test_board_prize_closes_run_at_once_pay_each_prize_once(durable_engine):
    engine = with_prizes(durable_engine)
    scores = {"alice": 90, "bob": 80, "carol": 70, "dave": 60}
    play_week(engine, scores)
    before = {p: coins(engine, p) for p in scores}
    after_the_week(engine)

    reports = at_once(lambda: prizes.close_ended(engine))

    assert not [r for r in reports if isinstance(r, Exception)]
    gained = {p: coins(engine, p) - before[p] for p in scores}
    assert gained == {"alice": 1000, "bob": 100, "carol": 100, "dave": 0}
    assert [len(prize_entries(engine, p)) for p in scores] == [2, 1, 1, 0]  # + weekly:math
