"""The Python client covers the spec: every operation has a method that calls it.

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import re

import pytest
from questboard_client import (
    StreakNotRepairable,
)
from questboard_client.models import (
    ExamAttempt,
    GrantOrder,
)
from questboard_client.routes import LEFT_OUT, ROUTES


def test_the_client_covers_every_operation_of_the_spec(app):
    spec = app.test_client().get("/openapi.json").get_json()
    operations = {
        operation["operationId"]: (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "put", "post", "delete", "patch"}
    }

    not_covered = {op: route for op, route in operations.items() if op not in ROUTES}
    assert set(not_covered) == set(LEFT_OUT), "a new operation: call it or list it in LEFT_OUT"
    assert {op: ROUTES[op] for op in ROUTES if op in operations} == {
        op: route for op, route in operations.items() if op in ROUTES
    }
    assert set(ROUTES) <= set(operations), "the client calls an operation the spec lacks"


def _period_and_cohort_of(league) -> tuple[str, str]:
    assert league.cohort is not None, "alice's exam placed her in a cohort"
    return league.period, league.cohort.cohort_id


def refused_as(error: type[Exception], call, *args) -> None:
    with pytest.raises(error):
        call(*args)


def test_every_route_of_the_table_has_a_method_that_calls_it(qb, admin, gate):
    admin.grant("alice", {"coins": 100}, "welcome")
    qb.record_exam("alice", "a-1", "math", 10, 10, 1)
    calls = [
        qb.health,
        qb.catalog,
        lambda: qb.wallet("alice"),
        lambda: qb.purchase("alice", "logs"),
        lambda: qb.ledger_page("alice"),
        lambda: qb.leaderboard("weekly"),
        lambda: qb.around_me("weekly", "alice"),
        lambda: qb.player_ranks("alice"),
        lambda: qb.daily("alice"),
        lambda: qb.missions("alice"),
        lambda: qb.login("alice"),
        lambda: qb.ad_reward("alice"),
        lambda: refused_as(StreakNotRepairable, qb.repair_streak, "alice"),  # off by default
        lambda: qb.battle_pass("alice"),
        qb.tool_of_the_day,
        lambda: admin.set_tool_of_the_day("concrete"),
        lambda: admin.lift_ip_ban(admin.ban_ip("192.0.2.1", "test").ban.id),
        admin.ip_bans,
        lambda: admin.lift_player_ban(admin.ban_player("bob", "test").ban.id),
        admin.player_bans,
        lambda: qb.record_exams([ExamAttempt("alice", "a-2", "math", 10, 10, 1)]),
        lambda: admin.grant_batch([GrantOrder("alice", {"coins": 1}, "batch")]),
        lambda: qb.wallets(["alice", "bob"]),
        lambda: qb.player_league("alice"),
        lambda: qb.league_cohort(*_period_and_cohort_of(qb.player_league("alice"))),
        lambda: qb.put_settings("bob", "Asia/Tokyo"),
        lambda: qb.get_settings("bob"),
    ]
    for call in calls:
        call()

    def operation_of(method: str, path: str) -> str:
        for operation, (route_method, template) in ROUTES.items():
            pattern = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template))
            if method == route_method and re.fullmatch(pattern, path):
                return operation
        raise AssertionError(f"{method} {path} is in no route of the table")

    assert {operation_of(method, path) for method, path, _, _ in gate.seen} == set(ROUTES)
    changes = [(method, path, key) for method, path, _, key in gate.seen if method != "GET"]
    assert [(method, path) for method, path, key in changes if not key] == []
