"""A closed league cohort's page follows the close: each member's zone is the one the
close gave them (league_results), and a member the close skipped (banned at the close:
no results row, no promotion, no prize) shows no zone, where Redis would still have put
them in the promotion zone. Each member's prize is what the close paid them, as their
ledger shows it: a prize the wallet refused is shown refused, not paid."""

from __future__ import annotations

import dataclasses

import pytest

from engine import keys
from engine.economy import ledger
from engine.leagues import close, payouts
from engine.security import bans
from tests.test_league_close import play, start_in

SCORES = {"p1": 40, "p2": 30, "p3": 20, "p4": 10}
PAGE = "/v1/leagues/2026-W48/cohorts/silver-1"


@pytest.fixture
def engine(app):
    """Cohorts of 4, one promoted and one relegated; the app's engine (SQL: SQLite)."""
    engine = app.extensions["questboard.engine"]
    rules = engine.rules
    engine.rules = dataclasses.replace(
        rules, leagues=dataclasses.replace(rules.leagues, cohort_size=4, promote=1, relegate=1)
    )
    for player, score in SCORES.items():
        start_in(engine, player, "silver")
        play(engine, player, score)
    return engine


def page(client, headers):
    response = client.get(PAGE, headers=headers)
    assert response.status_code == 200
    return response.get_json()


def shown(body):
    return [(m["player_id"], m["rank"], m["zone"], m["prize"]) for m in body["members"]]


def test_after_the_close_a_banned_leader_shows_no_zone_and_the_next_one_is_promoted(
    engine, client, server_headers, clock
):
    clock.advance(days=7)
    bans.create(engine, "player", "p1", "cheating")
    live = page(client, server_headers)  # ended, not yet closed: as the close would zone it
    assert [m["zone"] for m in live["members"]] == [None, "promotion", "stay", "relegation"]

    close.close(engine)
    body = page(client, server_headers)

    assert shown(body) == [  # still in the standings, as a ban leaves them
        ("p1", 1, None, None),
        ("p2", 2, "promotion", {"coins": 200}),
        ("p3", 3, "stay", {"coins": 100}),
        ("p4", 4, "relegation", {"coins": 100}),
    ]
    assert (body["promotion_zone"], body["relegation_zone"]) == (1, 1)


def test_after_the_close_a_banned_player_in_the_relegation_zone_shows_no_zone(
    engine, client, server_headers, clock
):
    clock.advance(days=7)
    bans.create(engine, "player", "p4", "abuse")
    close.close(engine)

    body = page(client, server_headers)

    assert [(m["player_id"], m["zone"]) for m in body["members"]] == [
        ("p1", "promotion"),
        ("p2", "stay"),
        ("p3", "relegation"),  # the close relegated the last one it ranked
        ("p4", None),
    ]
    assert (body["promotion_zone"], body["relegation_zone"]) == (1, 1)


def test_a_close_that_skipped_no_one_shows_the_zones_it_gave(engine, client, server_headers, clock):
    clock.advance(days=7)
    close.close(engine)
    body = page(client, server_headers)
    assert [m["zone"] for m in body["members"]] == ["promotion", "stay", "stay", "relegation"]
    assert all(m["prize"] is not None for m in body["members"][:3])


def prizes_in_the_ledger(engine, player):
    """What the ledger's prize entries credited the player, None for none."""
    entries = [e for e in ledger.history(engine, player, limit=100) if e.kind == payouts.ROUTE]
    return entries[0].deltas if entries else None


def test_a_prize_the_wallet_refused_at_its_balance_limit_is_shown_refused_not_paid(
    engine, client, server_headers, clock
):
    engine.redis.hset(keys.wallet("p1"), "coins", engine.rules.limits.max_balance)
    clock.advance(days=7)
    close.close(engine)

    body = page(client, server_headers)

    assert shown(body) == [
        ("p1", 1, "promotion", None),  # the winner's 200 did not fit in the wallet
        ("p2", 2, "stay", {"coins": 100}),
        ("p3", 3, "stay", {"coins": 100}),
        ("p4", 4, "relegation", None),
    ]
    assert [m["prize_refused"] for m in body["members"]] == [
        {"prize": {"coins": 200}, "code": "balance_limit_exceeded"},
        None,
        None,
        None,
    ]
    assert [m["prize"] for m in body["members"]] == [
        prizes_in_the_ledger(engine, player) for player in SCORES
    ]


def test_a_close_killed_before_it_marks_the_refusals_never_shows_the_refused_prize_paid(
    engine, client, server_headers, clock, monkeypatch
):
    engine.redis.hset(keys.wallet("p1"), "coins", engine.rules.limits.max_balance)
    clock.advance(days=7)

    def killed(*args):  # the results' rows are in SQL and every prize is paid or refused
        raise RuntimeError("killed")

    monkeypatch.setattr(close, "record_refusals", killed)
    with pytest.raises(RuntimeError, match="killed"):
        close.close(engine)

    body = page(client, server_headers)
    assert [(m["player_id"], m["prize"], m["prize_refused"]) for m in body["members"]] == [
        ("p1", None, {"prize": {"coins": 200}, "code": "balance_limit_exceeded"}),
        ("p2", {"coins": 100}, None),
        ("p3", {"coins": 100}, None),
        ("p4", None, None),
    ]


def test_a_close_stopped_before_every_prize_is_paid_shows_no_prize_yet(
    engine, client, server_headers, clock, monkeypatch
):
    engine.redis.hset(keys.wallet("p1"), "coins", engine.rules.limits.max_balance)
    clock.advance(days=7)
    monkeypatch.setattr(payouts, "CHUNK", 1)
    asked = []

    def lock_lost_after_the_first_payment():
        asked.append(1)
        return len(asked) == 1

    report = close.close(engine, keep_going=lock_lost_after_the_first_payment)

    assert report.closed is False
    body = page(client, server_headers)  # p1's refusal known, p2's and p3's prizes not paid
    assert [(m.get("prize"), m.get("prize_refused")) for m in body["members"]] == [(None, None)] * 4
    assert [prizes_in_the_ledger(engine, player) for player in SCORES] == [None] * 4

    monkeypatch.setattr(payouts, "CHUNK", 5_000)
    assert close.close(engine).closed is True
    assert shown(page(client, server_headers)) == [
        ("p1", 1, "promotion", None),
        ("p2", 2, "stay", {"coins": 100}),
        ("p3", 3, "stay", {"coins": 100}),
        ("p4", 4, "relegation", None),
    ]


def test_a_close_killed_between_two_sql_transactions_shows_each_cohort_whole_or_not_yet(
    engine, client, server_headers, clock, monkeypatch
):
    for player, score in {"p5": 40, "p6": 30, "p7": 20, "p8": 10}.items():  # silver-2
        start_in(engine, player, "silver")
        play(engine, player, score)
    clock.advance(days=7)
    monkeypatch.setattr(close, "WRITE_CHUNK", 3)  # rows a transaction: fewer than a cohort's
    begin = engine.sql.begin
    transactions = []

    def the_second_one_fails():
        transactions.append(1)
        if len(transactions) == 2:
            raise RuntimeError("killed")
        return begin()

    monkeypatch.setattr(engine.sql, "begin", the_second_one_fails)
    with pytest.raises(RuntimeError, match="killed"):
        close.close(engine)

    first = page(client, server_headers)  # its rows all written: the close's zones
    assert [(m["player_id"], m["zone"]) for m in first["members"]] == [
        ("p1", "promotion"),
        ("p2", "stay"),
        ("p3", "stay"),
        ("p4", "relegation"),
    ]
    second = client.get("/v1/leagues/2026-W48/cohorts/silver-2", headers=server_headers)
    assert [m.get("prize") for m in second.get_json()["members"]] == [None] * 4  # none yet
