"""A cheater taken off the leaderboards leaves their league cohort too: the others move
up, the freed place goes to the next player to join, and the period's close neither pays
nor promotes them. A close already made is the record of what was paid: a removal after
it changes nothing of it."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from engine import db, keys, leagues
from engine.boards import exams, moderation
from engine.boards.exams import Exam
from engine.economy import wallet
from engine.leagues import close, payouts
from engine.leagues.cohorts import CohortMember

counter = iter(range(1_000_000))


def play(engine, player, score):
    exams.record_exam(engine, player, Exam(f"exam-{next(counter)}", "math", score, 10, 10))


def small_leagues(engine):
    """Cohorts of 4, one promoted and one relegated."""
    rules = engine.rules
    leagues_ = dataclasses.replace(rules.leagues, cohort_size=4, promote=1, relegate=1)
    return dataclasses.replace(engine, rules=dataclasses.replace(rules, leagues=leagues_))


@pytest.fixture
def small(engine):
    return small_leagues(engine)


@pytest.fixture
def durable(durable_engine):
    return small_leagues(durable_engine)


def start_in(engine, player, tier, period="2026-W48"):
    engine.redis.hset(keys.player_league(player), mapping={"period": period, "tier": tier})


def members(cohort):
    return [(m.player_id, m.rank, m.score, m.zone) for m in cohort.members]


def coins(engine, player):
    return wallet.balances(engine, player)["coins"]


def silver_week(engine):
    """mallory leads a silver cohort of four in 2026-W48."""
    for player, score in [("mallory", 99), ("alice", 40), ("bob", 30), ("carol", 20)]:
        start_in(engine, player, "silver")
        play(engine, player, score)


def test_a_removed_cheater_leaves_their_cohort_and_the_others_move_up(small, clock):
    silver_week(small)
    removal = moderation.remove_player(small, "mallory")
    assert [(c.period, c.cohort_id) for c in removal.cohorts] == [("2026-W48", "silver-1")]
    cohort = leagues.cohort(small, "2026-W48", "silver-1")
    assert members(cohort) == [
        ("alice", 1, 40, "promotion"),
        ("bob", 2, 30, "stay"),
        ("carol", 3, 20, "relegation"),
    ]
    assert leagues.player_league(small, "mallory", clock.now()).cohort is None
    assert moderation.remove_player(small, "mallory").cohorts == []  # nothing more to do


def test_the_freed_place_goes_to_the_next_player_to_join(small):
    silver_week(small)
    moderation.remove_from_leaderboards(small, "mallory")
    start_in(small, "dave", "silver")
    play(small, "dave", 5)
    cohort = leagues.cohort(small, "2026-W48", "silver-1")
    assert [m.player_id for m in cohort.members] == ["alice", "bob", "carol", "dave"]


def test_a_cheater_removed_before_the_close_is_neither_paid_nor_promoted(durable, clock):
    silver_week(durable)
    before = {p: coins(durable, p) for p in ("mallory", "alice", "bob", "carol")}
    clock.advance(days=7)  # the week has ended; its close has not run yet
    moderation.remove_from_leaderboards(durable, "mallory")

    report = close.close(durable, "2026-W48")

    assert (report.closed, report.players) == (True, 3)
    with durable.sql.connect() as conn:
        rows = conn.execute(select(db.league_results).order_by(db.league_results.c.position))
        recorded = [(r.player_id, r.rank, r.next_tier) for r in rows]
    assert recorded == [
        ("mallory", 0, "silver"),  # in no cohort (0), unranked: the tier played in, kept
        ("alice", 1, "gold"),
        ("bob", 2, "silver"),
        ("carol", 3, "bronze"),
    ]
    paid = {p: coins(durable, p) - before[p] for p in before}
    assert paid == {"mallory": 0, "alice": 200, "bob": 100, "carol": 100}
    tiers = {p: leagues.player_league(durable, p, clock.now()).tier for p in before}
    assert tiers == {"mallory": "silver", "alice": "gold", "bob": "silver", "carol": "bronze"}


def test_a_removal_between_two_runs_of_a_close_changes_nothing_it_pays_or_records(
    durable, clock, monkeypatch
):
    silver_week(durable)
    before = {p: coins(durable, p) for p in ("mallory", "alice", "bob", "carol")}
    clock.advance(days=7)
    monkeypatch.setattr(payouts, "CHUNK", 1)
    runs = iter([True, True])  # the first run pays mallory and alice, then stops
    assert close.close(durable, keep_going=lambda: next(runs, False)).closed is False

    removal = moderation.remove_player(durable, "mallory")
    assert close.close(durable).closed is True

    assert removal.cohorts == []  # the close had begun: its cohorts are its record
    with durable.sql.connect() as conn:
        rows = conn.execute(select(db.league_results).order_by(db.league_results.c.position))
        recorded = [(r.player_id, r.rank, r.prize) for r in rows]
    assert recorded == [
        ("mallory", 1, '{"coins": 200}'),
        ("alice", 2, '{"coins": 100}'),
        ("bob", 3, '{"coins": 100}'),
        ("carol", 4, None),
    ]  # each row's prize is what the ledger paid: once, by the first run's ranks
    paid = {p: coins(durable, p) - before[p] for p in before}
    assert paid == {"mallory": 200, "alice": 100, "bob": 100, "carol": 0}


def test_a_removal_after_the_close_changes_nothing_it_paid_or_recorded(durable, clock):
    silver_week(durable)
    clock.advance(days=7)
    close.close(durable, "2026-W48")
    paid = {p: coins(durable, p) for p in ("mallory", "alice")}
    closed = leagues.cohort(durable, "2026-W48", "silver-1")

    removal = moderation.remove_player(durable, "mallory")

    assert removal.cohorts == []  # the closed cohort is the record of its close
    assert leagues.cohort(durable, "2026-W48", "silver-1") == closed
    assert closed.members[0] == CohortMember("mallory", 1, 1, 99, "promotion")
    assert {p: coins(durable, p) for p in paid} == paid
    assert leagues.player_league(durable, "mallory", clock.now()).tier == "gold"


def test_the_admin_route_lists_the_cohorts_the_player_left(client, admin_headers, server_headers):
    for player, score in [("mallory", 99), ("alice", 40)]:
        exam = {
            "exam_id": f"{player}-1",
            "category_id": "math",
            "score": score,
            "total_questions": 10,
            "correct_answers": 9,
        }
        response = client.post(f"/v1/players/{player}/exams", headers=server_headers, json=exam)
        assert response.status_code == 201

    response = client.delete("/v1/admin/players/mallory/leaderboards", headers=admin_headers)

    assert response.status_code == 200
    assert response.get_json()["cohorts"] == [{"period": "2026-W48", "cohort_id": "bronze-1"}]
    cohort = client.get("/v1/leagues/2026-W48/cohorts/bronze-1", headers=server_headers)
    assert [m["player_id"] for m in cohort.get_json()["members"]] == ["alice"]
    again = client.delete("/v1/admin/players/mallory/leaderboards", headers=admin_headers)
    assert again.get_json()["cohorts"] == []
