"""Concurrency against the real Redis server: the atomicity the engine promises."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine import Engine, boards
from engine.boards import exams, leaderboards
from engine.economy import activity, grants, ledger, purchases, wallet
from engine.errors import InsufficientFundsError
from engine.progression import battle_pass
from web import create_app


@pytest.fixture
def real_engine(real_redis, unlimited_rules, clock):
    return Engine(redis=real_redis, rules=unlimited_rules, clock=clock)


def run_together(count, task):
    """Start `count` calls of task(n) at the same moment; return results or exceptions."""
    barrier = threading.Barrier(count)

    def attempt(n):
        barrier.wait()
        try:
            return task(n)
        except Exception as error:  # collected and asserted on by the caller
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(attempt, range(count)))


def posted_at_once(app, path, headers, bodies):
    """POST each of `bodies` to `path` at the same moment, each from a client of its own."""
    return run_together(
        len(bodies), lambda n: app.test_client().post(path, headers=headers, json=bodies[n])
    )


def all_succeed_together(count, task):
    """run_together where every call must succeed: any exception fails the test, named."""
    results = run_together(count, task)
    assert [r for r in results if isinstance(r, Exception)] == []
    return results


def ledger_of(engine, player):
    """The whole ledger, after checking that it sums to the wallet for every resource."""
    entries = ledger.history(engine, player, limit=10_000)
    balances = wallet.balances(engine, player)
    for resource, balance in balances.items():
        assert sum(e.deltas.get(resource, 0) for e in entries) == balance, resource
    assert all(min(e.balances_after.values()) >= 0 for e in entries)
    return entries


def test_64_buyers_never_overdraw_one_wallet(real_engine):
    grants.grant(real_engine, "shared", {"coins": 1000}, "seed", "seed")

    results = run_together(
        64, lambda n: purchases.purchase(real_engine, "shared", "steel", 1, f"buy-{n}")
    )

    bought = [r for r in results if isinstance(r, purchases.Purchase)]
    refused = [r for r in results if isinstance(r, InsufficientFundsError)]
    assert len(bought) + len(refused) == 64
    entries = ledger_of(real_engine, "shared")
    earned = sum(e.deltas.get("coins", 0) for e in entries if e.kind.endswith(("bonus", "reward")))
    assert len(bought) == (1000 + earned) // 50  # every affordable purchase, and no more
    balances = wallet.balances(real_engine, "shared")
    assert 0 <= balances["coins"] < 50
    assert balances["steel"] == len(bought)
    assert [e.kind for e in entries].count("purchase") == len(bought)


def test_64_buyers_of_mixed_sizes_debit_exactly_what_succeeded(real_engine):
    grants.grant(real_engine, "shared", {"coins": 777}, "seed", "seed")

    results = run_together(
        64,
        lambda n: purchases.purchase(real_engine, "shared", "logs", n % 7 + 1, f"buy-{n}"),
    )

    bought = [r for r in results if isinstance(r, purchases.Purchase)]
    assert all(isinstance(r, purchases.Purchase | InsufficientFundsError) for r in results)
    entries = ledger_of(real_engine, "shared")
    debits = [e for e in entries if e.kind == "purchase"]
    assert sorted(-e.deltas["coins"] for e in debits) == sorted(p.cost["coins"] for p in bought)
    assert sum(e.deltas["logs"] for e in debits) == sum(p.quantity for p in bought)


def test_20_requests_with_one_key_make_one_change(real_engine):
    grants.grant(real_engine, "racer", {"coins": 1000}, "seed", "seed")

    results = all_succeed_together(
        20, lambda n: purchases.purchase(real_engine, "racer", "steel", 1, "one-key")
    )

    assert all(isinstance(r, purchases.Purchase) for r in results)
    assert len({r.transaction.transaction_id for r in results}) == 1
    assert sum(not r.transaction.replayed for r in results) == 1
    assert len({str(r.transaction.progress) for r in results}) == 1
    entries = ledger_of(real_engine, "racer")
    assert [e.kind for e in entries].count("purchase") == 1
    assert [e.kind for e in entries].count("login_bonus") == 1


def test_20_http_requests_with_one_key_get_one_answer(real_redis, settings, clock, admin_headers):
    app = create_app(settings, redis_client=real_redis, clock=clock)
    headers = admin_headers | {"Idempotency-Key": "race-1"}
    body = {"resources": {"coins": 25}, "reason": "race"}

    responses = all_succeed_together(
        20,
        lambda n: app.test_client().post(
            "/v1/admin/players/racer/grants", headers=headers, json=body
        ),
    )

    assert {r.status_code for r in responses} == {201}
    assert len({r.get_data() for r in responses}) == 1
    check = app.test_client().get("/v1/players/racer/wallet", headers=admin_headers)
    assert check.get_json()["balances"]["coins"] == 25


def test_20_copies_of_one_exam_count_once_and_answer_alike(real_engine):
    exam = exams.Exam("attempt-7", "math", 40, 10, 8)
    results = all_succeed_together(20, lambda n: exams.record_exam(real_engine, "racer", exam))

    assert all(isinstance(r, exams.ExamOutcome) for r in results)
    assert sum(r.created for r in results) == 1
    assert len({str(r.summary) for r in results}) == 1
    page = leaderboards.top(real_engine, boards.resolve(real_engine, "weekly"), fresh=True)
    assert [(e.player_id, e.score, e.exams) for e in page.entries] == [("racer", 40, 1)]


def test_concurrent_exams_of_one_player_sum_exactly(real_engine):
    results = all_succeed_together(
        32, lambda n: exams.record_exam(real_engine, "busy", exams.Exam(f"e{n}", "math", n, 10, 3))
    )
    assert [r.created for r in results] == [True] * 32
    page = leaderboards.top(real_engine, boards.resolve(real_engine, "yearly", "math"), fresh=True)
    [entry] = page.entries
    assert (entry.score, entry.exams, entry.questions, entry.correct) == (
        sum(range(32)),
        32,
        320,
        96,
    )


def test_20_concurrent_first_logins_grant_one_bonus(real_engine):
    results = all_succeed_together(20, lambda n: activity.login(real_engine, "early"))
    assert sum(r.claimed for r in results) == 1
    assert {r.streak for r in results} == {1}
    assert [e.kind for e in ledger_of(real_engine, "early")] == ["login_bonus"]


def test_a_mission_completes_once_under_concurrent_events(real_engine):
    real_engine.rules = dataclasses.replace(
        real_engine.rules, missions_per_day=len(real_engine.rules.missions)
    )
    results = all_succeed_together(
        24,
        lambda n: exams.record_exam(real_engine, "crowd", exams.Exam(f"c{n}", "math", 5, 10, 10)),
    )
    assert [r.created for r in results] == [True] * 24
    entries = ledger_of(real_engine, "crowd")
    rewards = sorted(e.reason for e in entries if e.kind == "mission_reward")
    assert rewards == [
        "mission exams_3",
        "mission login_1",
        "mission perfect_1",
        "mission solve_20",
        "mission solve_50",
    ]
    assert [e.kind for e in entries].count("login_bonus") == 1
    state = battle_pass.state(real_engine, "crowd")
    paid = sorted(int(e.reason.rsplit(" ", 1)[1]) for e in entries if e.kind == "level_reward")
    # 24 exams of 120 XP, and 1050 for the five missions: 3930 XP, level 4
    assert (state.xp, state.level) == (24 * 120 + 1050, 4)
    assert paid == [2, 3]  # the levels with a reward, each paid once


# Retry storms: copies of one request are answered, never counted against the player ---


def storm_app(real_redis, settings, clock):
    """The app with the shipped rules: rapid fire, rate limits and blocks all on."""
    return create_app(settings, redis_client=real_redis, clock=clock)


def assert_nothing_held_against(app, player, admin_headers):
    client = app.test_client()
    events = client.get(
        f"/v1/admin/security/events?player_id={player}", headers=admin_headers
    ).get_json()
    assert events == {"events": []}
    flags = client.get(f"/v1/admin/players/{player}/flags", headers=admin_headers).get_json()
    assert (flags["violations"], flags["in_window"], flags["blocked"]) == ({}, 0, None)


def test_20_copies_of_one_purchase_sent_at_once_all_get_its_answer(
    real_redis, settings, clock, server_headers, admin_headers
):
    app = storm_app(real_redis, settings, clock)
    app.test_client().post(
        "/v1/admin/players/storm/grants",
        headers=admin_headers | {"Idempotency-Key": "funds"},
        json={"resources": {"coins": 1000}, "reason": "funds"},
    )
    headers = server_headers | {"Idempotency-Key": "order-1", "X-Player-IP": "198.51.100.7"}

    responses = all_succeed_together(
        20,
        lambda n: app.test_client().post(
            "/v1/players/storm/purchases", headers=headers, json={"item": "steel", "quantity": 1}
        ),
    )

    assert [r.status_code for r in responses] == [201] * 20
    bodies = [r.get_json() for r in responses]
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["cost"] == {"coins": 50}
    assert bodies[0]["balances"]["steel"] == 1
    replayed = [r.headers.get("Idempotent-Replayed") for r in responses]
    assert sorted(replayed, key=str) == [None] + ["true"] * 19
    assert_nothing_held_against(app, "storm", admin_headers)
    entries = ledger_of(app.extensions["questboard.engine"], "storm")
    assert [e.kind for e in entries].count("purchase") == 1


def test_20_copies_of_one_login_sent_at_once_all_get_the_days_answer(
    real_redis, settings, clock, server_headers, admin_headers
):
    app = storm_app(real_redis, settings, clock)
    headers = server_headers | {"X-Player-IP": "198.51.100.7"}

    responses = all_succeed_together(
        20, lambda n: app.test_client().post("/v1/players/storm/login", headers=headers)
    )

    assert [r.status_code for r in responses] == [200] * 20
    bodies = [r.get_json() for r in responses]
    assert sum(body["claimed"] for body in bodies) == 1
    assert {body["streak"] for body in bodies} == {1}
    assert {body["progress"]["streak"] for body in bodies} == {1}
    assert all(body["balances"] == bodies[0]["balances"] for body in bodies)
    assert bodies[0]["balances"]["logs"] == 1
    assert_nothing_held_against(app, "storm", admin_headers)
    entries = ledger_of(app.extensions["questboard.engine"], "storm")
    assert [e.kind for e in entries] == ["login_bonus"]


def test_the_per_player_limit_holds_for_real_changes_across_workers(
    real_redis, settings, clock, server_headers, admin_headers
):
    """Two apps on one Redis are two gunicorn workers: the limit is shared."""
    workers = [storm_app(real_redis, settings, clock) for _ in range(2)]
    for worker in workers:  # rapid fire is not the point here
        engine = worker.extensions["questboard.engine"]
        engine.rules = dataclasses.replace(
            engine.rules,
            security=dataclasses.replace(engine.rules.security, max_changes_per_second=1000),
        )
    workers[0].test_client().post(
        "/v1/admin/players/storm/grants",
        headers=admin_headers | {"Idempotency-Key": "funds"},
        json={"resources": {"coins": 1000}, "reason": "funds"},
    )

    responses = all_succeed_together(
        20,
        lambda n: (
            workers[n % 2]
            .test_client()
            .post(
                "/v1/players/storm/purchases",
                headers=server_headers | {"Idempotency-Key": f"order-{n}"},
                json={"item": "logs", "quantity": 1},
            )
        ),
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 10 + [429] * 10  # purchases: 10 a minute per player
    for response in responses:
        if response.status_code == 429:
            error = response.get_json()["error"]
            assert (error["code"], error["details"]["scope"]) == ("rate_limited", "player")
            assert response.headers["Retry-After"] == "60"  # all ten at one moment
    balances = wallet.balances(workers[0].extensions["questboard.engine"], "storm")
    assert balances["logs"] == 10 + 1  # ten purchases and the day's login bonus


def test_20_copies_of_one_exam_and_one_ad_reward_sent_at_once_are_never_held_against_the_player(
    real_redis, settings, clock, server_headers, admin_headers
):
    app = storm_app(real_redis, settings, clock)
    headers = server_headers | {"X-Player-IP": "198.51.100.7"}
    exam = {
        "exam_id": "attempt-1",
        "category_id": "math",
        "score": 80,
        "total_questions": 10,
        "correct_answers": 8,
    }

    exam_answers = all_succeed_together(
        20,
        lambda n: app.test_client().post("/v1/players/storm/exams", headers=headers, json=exam),
    )
    ad_answers = all_succeed_together(
        20,
        lambda n: app.test_client().post(
            "/v1/players/storm/ad-rewards", headers=headers | {"Idempotency-Key": "ad-1"}
        ),
    )

    assert sorted(r.status_code for r in exam_answers) == [200] * 19 + [201]
    assert all(r.get_json() == exam_answers[0].get_json() for r in exam_answers)
    assert exam_answers[0].get_json()["boards"][0]["score"] == 80
    assert [r.status_code for r in ad_answers] == [201] * 20
    assert all(r.get_json() == ad_answers[0].get_json() for r in ad_answers)
    assert ad_answers[0].get_json()["ads_watched"] == 1
    assert_nothing_held_against(app, "storm", admin_headers)
    kinds = [e.kind for e in ledger_of(app.extensions["questboard.engine"], "storm")]
    assert kinds.count("ad_reward") == 1
