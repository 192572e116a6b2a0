"""Races on the real Redis server, each repeated over many rounds with fresh players.

A check done outside the atomic step (in Python, before or after a script) loses a
race only now and then; twenty rounds of twenty or more threads that start together
make such a loss show up on every run. Every result of every call is checked.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine import Engine, boards, keys, security
from engine.boards import exams, leaderboards, moderation
from engine.economy import activity
from engine.errors import DailyLimitReachedError
from engine.security import bans

ROUNDS = 20


@pytest.fixture
def real_engine(real_redis, unlimited_rules, clock, sqlite_url):
    engine = Engine(redis=real_redis, rules=unlimited_rules, clock=clock, database_url=sqlite_url)
    yield engine
    engine.sql.dispose()


def together(count: int, task) -> list:
    """Run task(n) for n in range(count), all released at once; results or exceptions."""
    barrier = threading.Barrier(count)

    def attempt(n):
        barrier.wait()
        try:
            return task(n)
        except Exception as error:  # every one is asserted on by the caller
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(attempt, range(count)))


def test_the_ad_reward_cap_holds_under_30_concurrent_views(real_engine):
    ads = real_engine.rules.ads
    for round_ in range(ROUNDS):
        player = f"viewer-{round_}"
        results = together(
            30, lambda n, player=player: activity.ad_reward(real_engine, player, f"ad-{n}")
        )

        rewarded = [r for r in results if not isinstance(r, Exception)]
        refused = [r for r in results if isinstance(r, DailyLimitReachedError)]
        assert len(rewarded) == ads.daily_cap, round_
        assert len(refused) == 30 - ads.daily_cap, round_
        ad_entries = [
            entry
            for entry in real_engine.redis.lrange(keys.ledger(player), 0, -1)
            if json.loads(entry)[1] == "ad_reward"
        ]
        assert len(ad_entries) == ads.daily_cap, round_


def test_concurrent_violations_block_the_player_once_and_alert_once(real_engine, caplog):
    rules = real_engine.rules.security
    real_engine.rules = dataclasses.replace(
        real_engine.rules,
        security=dataclasses.replace(rules, alert_violations_per_minute=10_000),
    )
    count = rules.block_after_violations * 4
    for round_ in range(ROUNDS):
        player = f"cheat-{round_}"
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
            results = together(
                count,
                lambda n, player=player: security.record_violation(
                    real_engine, player, None, "impossible_score", {"n": n}, "refused"
                ),
            )

        assert all(isinstance(r, security.SecurityEvent) for r in results), round_
        blocks = [b for b in bans.listing(real_engine, "player") if b.target == player]
        assert len(blocks) == 1, (round_, blocks)
        assert blocks[0].created_by == "automatic"
        block_alerts = [r for r in caplog.records if player in r.getMessage()]
        assert len(block_alerts) == 1, (round_, [r.getMessage() for r in block_alerts])


def test_removing_a_cheater_during_other_players_exams_loses_none_of_theirs(real_engine):
    for round_ in range(ROUNDS // 4):
        category = f"race{round_}"
        cheater = f"cheater-{round_}"
        exams.record_exam(real_engine, cheater, exams.Exam(f"c-{round_}", category, 90, 10, 9))

        def act(n: int, category=category, cheater=cheater, round_=round_):
            if n == 0:
                return moderation.remove_from_leaderboards(real_engine, cheater)
            return exams.record_exam(
                real_engine, f"honest-{round_}-{n}", exams.Exam(f"h-{n}", category, n, 10, 5)
            )

        results = together(24, act)

        assert all(not isinstance(r, Exception) for r in results), round_
        for period_type in ("weekly", "monthly", "yearly"):
            board = boards.resolve(real_engine, period_type, category)
            page = leaderboards.top(real_engine, board, limit=100, fresh=True)
            listed = {e.player_id: e.score for e in page.entries}
            assert listed == {f"honest-{round_}-{n}": n for n in range(1, 24)}, round_
            assert page.total_players == 23


def test_the_fraud_alert_is_raised_once_a_minute_under_concurrent_violations(
    real_engine, caplog, clock
):
    threshold = real_engine.rules.security.alert_violations_per_minute
    for round_ in range(ROUNDS // 4):
        clock.advance(minutes=1)  # each round its own minute
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="questboard.alerts"):
            results = together(
                threshold * 2,
                lambda n, round_=round_: security.record_violation(
                    real_engine, f"crowd-{round_}-{n}", None, "impossible_score", {}, "refused"
                ),
            )

        assert all(isinstance(r, security.SecurityEvent) for r in results), round_
        fraud_alerts = [r for r in caplog.records if '"fraud_violations"' in r.getMessage()]
        assert len(fraud_alerts) == 1, round_
