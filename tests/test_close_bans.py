"""A player banned when a period closes takes no prize and no promotion: the league
close and the board-prize close skip them (they keep their tier), the others move up,
and the players a close skips are fixed by its first run, so a ban lifted or placed
before a rerun of the same close changes nothing it pays."""

from __future__ import annotations

from sqlalchemy import select

from engine import db, keys, leagues
from engine.boards import Board, prizes
from engine.economy import wallet
from engine.leagues import close, payouts
from engine.security import bans
from tests import test_league_close
from tests.test_board_prizes import after_the_week, play_week, prize_entries, with_prizes
from tests.test_league_close import play, results, start_in


def coins(engine, player):
    return wallet.balances(engine, player)["coins"]


# Cohorts of 4, one promoted and one relegated, silver prizes 200 (1) and 100 (2-3).
league_engine = test_league_close.league_engine


def silver_cohort(engine, scores):
    for player, score in scores.items():
        start_in(engine, player, "silver")
        play(engine, player, score)
    return {player: coins(engine, player) for player in scores}


SCORES = {"p1": 40, "p2": 30, "p3": 20, "p4": 10}


def test_a_banned_leader_takes_no_prize_nor_promotion_and_the_others_move_up(league_engine, clock):
    engine = league_engine
    before = silver_cohort(engine, SCORES)
    clock.advance(days=7)
    bans.create(engine, "player", "p1", "cheating")

    report = close.close(engine)

    assert (report.closed, report.players, report.prizes) == (True, 3, 3)
    assert results(engine) == [  # ranked as a cohort of three; the banned's row is skipped
        ("p2", "silver", 1, 1, 30, "gold"),
        ("p3", "silver", 2, 2, 20, "silver"),
        ("p4", "silver", 3, 3, 10, "bronze"),
    ]
    assert {p: coins(engine, p) - before[p] for p in before} == {
        "p1": 0,
        "p2": 200,
        "p3": 100,
        "p4": 100,
    }
    tiers = {p: leagues.player_league(engine, p, clock.now()).tier for p in before}
    assert tiers == {"p1": "silver", "p2": "gold", "p3": "silver", "p4": "bronze"}


def test_a_banned_player_in_the_relegation_zone_keeps_their_tier(league_engine, clock):
    engine = league_engine
    silver_cohort(engine, SCORES)
    clock.advance(days=7)
    bans.create(engine, "player", "p4", "abuse")
    close.close(engine)
    tiers = {p: leagues.player_league(engine, p, clock.now()).tier for p in SCORES}
    assert tiers == {"p1": "gold", "p2": "silver", "p3": "bronze", "p4": "silver"}


def test_players_who_start_the_next_period_before_the_close_get_the_tiers_it_gives(
    league_engine, clock
):
    engine = league_engine
    silver_cohort(engine, SCORES)
    clock.advance(days=7)  # 2026-W49; the close of 2026-W48 has not run yet
    bans.create(engine, "player", "p1", "cheating")
    for player in ("p1", "p2"):  # their first exams of 2026-W49 place them in a tier now
        play(engine, player, 5)

    close.close(engine)

    assert [row[0::5] for row in results(engine)] == [
        ("p2", "gold"),
        ("p3", "silver"),
        ("p4", "bronze"),
    ]
    tiers = {p: leagues.player_league(engine, p, clock.now()).tier for p in ("p1", "p2")}
    assert tiers == {"p1": "silver", "p2": "gold"}  # the banned keeps their tier


def test_a_ban_expired_before_the_close_skips_nothing(league_engine, clock):
    engine = league_engine
    before = silver_cohort(engine, SCORES)
    bans.create(engine, "player", "p1", "a day off", expires_in_seconds=86_400)
    clock.advance(days=7)
    close.close(engine)
    assert coins(engine, "p1") - before["p1"] == 200
    assert leagues.player_league(engine, "p1", clock.now()).tier == "gold"


def test_a_ban_lifted_between_two_runs_of_a_league_close_changes_nothing_it_pays(
    league_engine, clock, monkeypatch
):
    engine = league_engine
    before = silver_cohort(engine, SCORES)
    clock.advance(days=7)
    ban = bans.create(engine, "player", "p1", "cheating")
    monkeypatch.setattr(payouts, "CHUNK", 1)
    runs = iter([True, False])  # the first run stops after one payment
    assert close.close(engine, keep_going=lambda: next(runs, False)).closed is False
    bans.delete(engine, "player", ban.ban_id)
    bans.create(engine, "player", "p3", "banned after the first run")

    assert close.close(engine).closed is True  # the skipped players are the first run's
    assert close.close(engine).closed is False  # and closed once

    paid = {p: coins(engine, p) - before[p] for p in before}
    assert paid == {"p1": 0, "p2": 200, "p3": 100, "p4": 100}
    assert [len(prize_entries(engine, p)) for p in before] == [0, 1, 1, 1]
    assert [row[0] for row in results(engine)] == ["p2", "p3", "p4"]
    assert leagues.player_league(engine, "p1", clock.now()).tier == "silver"


def board_rows(engine):
    with engine.sql.connect() as conn:
        rows = conn.execute(
            select(db.board_prizes).where(db.board_prizes.c.board == "weekly:global")
        )
        return sorted((r.rank, r.player_id) for r in rows)


def test_a_banned_player_takes_no_board_prize_and_the_next_players_move_up(durable_engine):
    engine = with_prizes(durable_engine)
    play_week(engine, {"mallory": 99, "alice": 90, "bob": 80, "carol": 70})
    before = {p: coins(engine, p) for p in ("mallory", "alice", "bob", "carol")}
    after_the_week(engine)
    bans.create(engine, "player", "mallory", "cheating")

    prizes.close_ended(engine)

    gained = {p: coins(engine, p) - before[p] for p in before}
    assert gained == {"mallory": 0, "alice": 1000, "bob": 100, "carol": 100}
    assert board_rows(engine) == [(1, "alice"), (2, "bob"), (3, "carol")]
    assert wallet.balances(engine, "mallory")["bricks"] == 0  # nor the category board's


def test_banned_players_filling_the_prized_ranks_pass_every_prize_down(durable_engine):
    engine = with_prizes(durable_engine)
    scores = {"mallory": 99, "eve": 98, "trent": 97, "alice": 90, "bob": 80, "carol": 70}
    play_week(engine, scores)
    before = {p: coins(engine, p) for p in scores}
    after_the_week(engine)
    for cheater in ("mallory", "eve", "trent"):  # all three prized ranks
        bans.create(engine, "player", cheater, "cheating")
    prizes.close_ended(engine)
    gained = {p: coins(engine, p) - before[p] for p in before}
    assert gained == {"mallory": 0, "eve": 0, "trent": 0, "alice": 1000, "bob": 100, "carol": 100}


def test_players_tied_after_a_banned_one_share_the_rank_they_move_up_to(durable_engine):
    engine = with_prizes(durable_engine)
    play_week(engine, {"mallory": 99, "alice": 90, "bob": 90, "carol": 70, "dave": 60})
    before = {p: coins(engine, p) for p in ("alice", "bob", "carol", "dave")}
    after_the_week(engine)
    bans.create(engine, "player", "mallory", "cheating")
    prizes.close_ended(engine)
    gained = {p: coins(engine, p) - before[p] for p in before}
    assert gained == {"alice": 1000, "bob": 1000, "carol": 100, "dave": 0}  # ranks 1, 1, 3, 4


def test_a_ban_lifted_between_two_runs_of_a_board_close_changes_nothing_it_pays(
    durable_engine,
):
    engine = with_prizes(durable_engine)
    play_week(engine, {"mallory": 99, "alice": 90, "bob": 80, "carol": 70})
    before = {p: coins(engine, p) for p in ("mallory", "alice", "bob", "carol")}
    after_the_week(engine)
    ban = bans.create(engine, "player", "mallory", "cheating")
    week = Board("weekly", engine.calendar.parse("weekly", "2026-W48"), None)
    runs = iter([True, False])  # the first run stops after one payment
    now = engine.clock.now()
    assert prizes.close(engine, week, now, lambda: next(runs, False), chunk=1) is None
    assert coins(engine, "alice") - before["alice"] == 1000
    bans.delete(engine, "player", ban.ban_id)

    prizes.close_ended(engine)
    prizes.close_ended(engine)

    gained = {p: coins(engine, p) - before[p] for p in before}
    assert gained == {"mallory": 0, "alice": 1000, "bob": 100, "carol": 100}
    assert [len(prize_entries(engine, p)) for p in before] == [1, 1, 1, 1]
    # the category board's close first ran after the lift: it pays mallory its prize
    assert [wallet.balances(engine, p)["bricks"] for p in ("mallory", "alice")] == [5, 0]
    assert board_rows(engine) == [(1, "alice"), (2, "bob"), (3, "carol")]


def test_the_closed_page_shows_the_prize_of_the_player_after_a_banned_one(
    client, app, server_headers
):
    engine = with_prizes(app.extensions["questboard.engine"])
    play_week(engine, {"mallory": 99, "alice": 90, "bob": 80, "carol": 70})
    after_the_week(engine)
    bans.create(engine, "player", "mallory", "cheating")
    prizes.close_ended(engine)

    body = client.get("/v1/leaderboards/weekly?period=2026-W48", headers=server_headers)
    shown = [(e["rank"], e["player_id"], e["prize"]) for e in body.get_json()["entries"]]
    assert shown == [  # still on the board, as a ban leaves it; the prizes moved down
        (1, "mallory", None),
        (2, "alice", {"coins": 1000}),
        (3, "bob", {"coins": 100}),
        (4, "carol", {"coins": 100}),
    ]


def test_the_skipped_players_are_kept_beside_the_payout(league_engine, clock):
    engine = league_engine
    silver_cohort(engine, SCORES)
    clock.advance(days=7)
    bans.create(engine, "player", "p2", "cheating")
    close.close(engine)
    assert payouts.banned_at_close(engine, "league:weekly:2026-W48", 0) == {"p2"}
    assert engine.redis.ttl(keys.payouts_banned("league:weekly:2026-W48")) > 0
