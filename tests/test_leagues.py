"""Leagues through the engine: joining on the first scored exam, cohorts in arrival
order, standings with the boards' tie rule, tiers carried over and dropped."""

from __future__ import annotations

import dataclasses

import pytest
import redis

from engine import Engine, boards, keys, leagues
from engine.boards import exams
from engine.boards.exams import Exam
from engine.errors import InvalidInputError, NotFoundError
from engine.leagues import cohorts
from engine.rules.leagues import LeagueRules
from tests.test_concurrency import run_together

counter = iter(range(1_000_000))


def play(engine, player, score, category="math"):
    exam = Exam(f"exam-{next(counter)}", category, score, 10, 10)
    return exams.record_exam(engine, player, exam)


def with_leagues(rules, **changes):
    return dataclasses.replace(rules, leagues=dataclasses.replace(rules.leagues, **changes))


@pytest.fixture
def small(engine):
    """The engine with cohorts of 4, one promoted and one relegated."""
    return dataclasses.replace(
        engine, rules=with_leagues(engine.rules, cohort_size=4, promote=1, relegate=1)
    )


def standings(league):
    return [(m.player_id, m.rank, m.score, m.zone) for m in league.cohort.members]


def test_the_composite_multiplier_is_the_boards(engine):
    assert cohorts.MULTIPLIER == boards.MULTIPLIER


def test_a_player_joins_on_their_first_scored_exam(engine, clock):
    before = leagues.player_league(engine, "alice", clock.now())
    assert (before.tier, before.cohort, before.period) == ("bronze", None, "2026-W48")
    assert before.ends_at == engine.calendar.end(engine.calendar.parse("weekly", "2026-W48"))
    play(engine, "alice", 40)
    play(engine, "alice", 30)  # the week's total counts
    league = leagues.player_league(engine, "alice", clock.now())
    assert league.cohort.cohort_id == "bronze-1"
    assert standings(league) == [("alice", 1, 70, "promotion")]


def test_cohorts_fill_in_arrival_order_with_the_boards_tie_rule(small, clock):
    for player, score in [("a", 10), ("b", 30), ("c", 30), ("d", 5), ("e", 50)]:
        play(small, player, score)
    first = leagues.player_league(small, "c", clock.now())
    assert first.cohort.cohort_id == "bronze-1"
    assert standings(first) == [
        ("b", 1, 30, "promotion"),  # reached 30 before c
        ("c", 1, 30, "stay"),
        ("a", 3, 10, "stay"),
        ("d", 4, 5, "stay"),  # the lowest tier relegates nobody
    ]
    assert leagues.player_league(small, "e", clock.now()).cohort.cohort_id == "bronze-2"
    spectator = leagues.cohort(small, "2026-W48", "bronze-1")
    assert spectator.members == first.cohort.members
    assert (spectator.promotion_zone, spectator.relegation_zone) == (1, 0)


def test_the_league_counts_only_its_board(small, clock):
    small = dataclasses.replace(small, rules=with_leagues(small.rules, score="math"))
    play(small, "a", 10, category="math")
    play(small, "a", 90, category="art")
    assert standings(leagues.player_league(small, "a", clock.now()))[0][2] == 10


def test_an_unknown_cohort_is_not_found_and_a_bad_id_is_invalid(engine):
    with pytest.raises(NotFoundError):
        leagues.cohort(engine, "2026-W48", "bronze-1")
    with pytest.raises(InvalidInputError):
        leagues.cohort(engine, "2026-W48", "tin-1")


def test_the_next_period_starts_from_the_last_standings_before_the_close(small, clock):
    for player, score in [("top", 50), ("mid", 30), ("low", 10)]:
        play(small, player, score)
    clock.advance(days=7)
    for player in ("top", "mid", "low"):
        play(small, player, 1)
    assert leagues.player_league(small, "top", clock.now()).tier == "silver"
    assert leagues.player_league(small, "mid", clock.now()).tier == "bronze"


def test_a_batch_before_the_close_reads_every_last_standing_at_once(small, clock):
    for player, score in [("top", 50), ("mid", 30), ("low", 10)]:
        play(small, player, score)
    clock.advance(days=7)
    batch = [(p, Exam(f"exam-{next(counter)}", "math", 1, 10, 10)) for p in ("low", "top", "mid")]
    exams.record_exam_batch(small, batch)
    tiers = {p: leagues.player_league(small, p, clock.now()).tier for p in ("top", "mid", "low")}
    assert tiers == {"top": "silver", "mid": "bronze", "low": "bronze"}


def test_a_whole_period_away_drops_a_tier(small, clock):
    small.redis.hset(
        keys.player_league("away"),
        mapping={"period": "2026-W46", "tier": "gold", "next": "2026-W46|ruby"},
    )
    # W47 missed: the ruby from W46's close drops to sapphire in W48
    assert leagues.player_league(small, "away", clock.now()).tier == "sapphire"
    play(small, "away", 10)
    assert leagues.player_league(small, "away", clock.now()).cohort.cohort_id == "sapphire-1"
    clock.advance(days=7 * 30)
    assert leagues.player_league(small, "away", clock.now()).tier == "bronze"


def test_zones_with_fewer_members_than_the_zones(rules):
    league = dataclasses.replace(rules.leagues, promote=5, relegate=5)
    assert isinstance(league, LeagueRules)
    zones = [league.zone("silver", p, 3, rank=p, score=10 - p) for p in (1, 2, 3)]
    assert zones == ["promotion"] * 3
    zones = [league.zone("diamond", p, 7, rank=p, score=10 - p) for p in (1, 2, 3)]
    assert zones == ["stay"] * 2 + ["relegation"]
    assert league.next_tier("diamond", 1, 30, rank=1, score=9) == "diamond"


def test_200_concurrent_first_exams_never_overfill_a_cohort(real_redis, unlimited_rules, clock):
    kwargs = real_redis.connection_pool.connection_kwargs
    wide = redis.Redis(connection_pool=redis.ConnectionPool(max_connections=256, **kwargs))
    engine = Engine(redis=wide, rules=unlimited_rules, clock=clock)
    results = run_together(200, lambda n: play(engine, f"racer-{n}", n % 17))
    assert [r for r in results if isinstance(r, Exception)] == []
    everything = real_redis.hgetall(keys.league_rosters("weekly", "2026-W48", "bronze"))
    last = everything.pop(b"last")
    rosters = {n: r for n, r in everything.items() if n.isdigit()}
    sizes = sorted((int(n), len(r.split())) for n, r in rosters.items())
    assert sizes == [(n, 30) for n in range(1, 7)] + [(7, 20)]
    assert last == b"7|20"
    placed = [p for _, r in rosters.items() for p in r.split()]
    assert len(set(placed)) == 200
    scores = keys.league_scores("weekly", "2026-W48", "bronze")
    for number, roster in rosters.items():  # each cohort's copy of its composites
        copy = [int(v) for v in everything[b"scores:" + number].split()]
        assert copy == [int(real_redis.zscore(scores, p)) for p in roster.split()]
