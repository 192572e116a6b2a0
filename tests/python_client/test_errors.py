"""The Python client's errors: each refusal of the server raises its own class.

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import pytest
import questboard_client
from questboard_client import (
    DailyLimitReached,
    Forbidden,
    IdempotencyKeyReused,
    InsufficientFunds,
    NotFound,
    NotRanked,
    PriceChanged,
    Questboard,
    Unauthorized,
    UnexpectedAnswer,
    UnknownItem,
    ValidationError,
)
from questboard_client.errors import ERROR_CLASSES

from tests.python_client.gate import EMPTY
from web.errors import CODE_BY_STATUS, STATUS_BY_CODE
from web.worker import ERRORS_BY_STATUS


def test_a_409_raises_insufficient_funds_with_details(qb):
    with pytest.raises(InsufficientFunds) as refused:
        qb.purchase("alice", "steel", 2)

    error = refused.value
    assert (error.status, error.code) == (409, "insufficient_funds")
    assert error.details == {"resource": "coins", "required": 100, "available": 0}
    assert isinstance(error, questboard_client.QuestboardError)
    assert qb.wallet("alice").balances == EMPTY


def test_each_refusal_raises_its_class(base_url, qb, admin):
    admin.grant("alice", {"coins": 1000}, "welcome")
    with pytest.raises(PriceChanged) as changed:
        qb.purchase("alice", "steel", expected_price={"coins": 40})
    assert changed.value.status == 409
    with pytest.raises(UnknownItem) as unknown:
        qb.purchase("alice", "gold")
    assert (unknown.value.status, isinstance(unknown.value, NotFound)) == (404, True)
    with pytest.raises(ValidationError) as invalid:
        qb.purchase("alice", "steel", 0)
    assert invalid.value.details == {"quantity": ["Must be between 1 and 100."]}
    qb.purchase("alice", "logs", 1, idempotency_key="k-1")
    with pytest.raises(IdempotencyKeyReused) as reused:
        qb.purchase("alice", "logs", 2, idempotency_key="k-1")
    assert reused.value.status == 422
    with pytest.raises(NotRanked):
        qb.around_me("weekly", "alice")
    with pytest.raises(Forbidden) as forbidden:
        qb.grant("alice", {"coins": 1}, "not an admin")
    assert forbidden.value.code == "forbidden"
    for _ in range(5):
        qb.ad_reward("alice")
    with pytest.raises(DailyLimitReached):
        qb.ad_reward("alice")
    with Questboard(base_url, "wrong-key") as stranger, pytest.raises(Unauthorized) as denied:
        stranger.wallet("alice")
    assert (denied.value.status, denied.value.details) == (401, {})


def test_every_error_code_the_server_answers_has_its_class(app):
    spec = app.test_client().get("/openapi.json").get_json()
    spec_codes = set(spec["components"]["schemas"]["ErrorInfo"]["properties"]["code"]["enum"])
    server_codes = set(STATUS_BY_CODE) | set(CODE_BY_STATUS.values()) | {"bad_request"}
    gunicorn_codes = {code for code, _ in ERRORS_BY_STATUS.values()}  # web/worker.py

    assert spec_codes | server_codes | gunicorn_codes <= set(ERROR_CLASSES)

    for code, cls in ERROR_CLASSES.items():
        assert cls.code == code
        assert issubclass(cls, questboard_client.QuestboardError)


@pytest.mark.parametrize(
    "body",
    [
        {"player_id": "alice", "balances": {"coins": "many"}},
        {"player_id": "alice", "balances": {"coins": True}},
        {"player_id": "alice"},
        ["not", "an", "object"],
        {"tool": "concrete", "game_day": "today", "next_reset_at": "2026-11-26T03:00:00+00:00"},
        {"tool": "concrete", "game_day": "2026-11-25", "next_reset_at": "soon"},
    ],
)
def test_a_success_of_an_unknown_shape_raises_unexpected_answer_without_a_retry(qb, gate, body):
    gate.answer_next(200, body)

    with pytest.raises(UnexpectedAnswer) as unexpected:
        qb.tool_of_the_day() if "tool" in body else qb.wallet("alice")

    assert unexpected.value.code == "unexpected_answer"
    assert len(gate.seen) == 1


@pytest.mark.parametrize("levels", [["x"], [None], [2.5], ["2"], [True]])
def test_levels_gained_that_are_not_integers_raise_unexpected_answer(qb, gate, levels):
    xp = {"season": "2026-autumn", "gained": 20, "total": 1020, "level": 2}
    progress = {"daily_bonus": None, "missions": [], "level_rewards": [], "streak": 1}
    body = {
        "claimed": False,
        "streak": 1,
        "reward": {},
        "next_claim_at": "2026-11-26T03:00:00+00:00",
        "balances": EMPTY,
        "progress": progress | {"xp": xp | {"levels_gained": levels}},
    }
    gate.answer_next(200, body)

    with pytest.raises(UnexpectedAnswer) as unexpected:
        qb.login("alice")

    assert "levels_gained" in unexpected.value.message
    assert len(gate.seen) == 1
    gate.answer_next(200, body | {"progress": progress | {"xp": xp | {"levels_gained": [2]}}})
    assert qb.login("alice").progress.xp.levels_gained == (2,)


@pytest.mark.parametrize(
    ("content", "content_type", "says"),
    [
        (b"<html><body>Please sign in to the network</body></html>", "text/html", "not JSON"),
        (b"", "application/json", "no body"),
        (b'{"player_id": "alice", "balances": {', "application/json", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", "not JSON"),
    ],
    ids=["html", "empty", "cut-off", "nested-too-deep"],
)
def test_a_success_whose_body_is_no_json_says_so(qb, gate, content, content_type, says):
    gate.answer_next_raw(200, content, content_type)

    with pytest.raises(UnexpectedAnswer) as unexpected:
        qb.wallet("alice")

    assert says in unexpected.value.message
    assert content_type in unexpected.value.message
    assert unexpected.value.status == 200
    assert len(gate.seen) == 1
