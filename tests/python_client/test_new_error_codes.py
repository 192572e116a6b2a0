"""An error code this client does not know yet, under a status it does: the answer is
raised as its status's class with the server's code, and retried when its status is
(a later server's new 429 or 503 is waited out as those are).

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import pytest
from questboard_client import (
    Forbidden,
    NotFound,
    Questboard,
    QuestboardError,
    RateLimited,
    RetryPolicy,
    ServiceUnavailable,
)

from tests.conftest import SERVER_KEY
from tests.python_client.gate import EMPTY


@pytest.mark.parametrize(
    ("status", "code", "retry_after"),
    [(429, "season_quota_exceeded", "2"), (503, "maintenance", "1")],
)
def test_a_new_code_of_a_retried_status_is_retried(qb, gate, sleeps, status, code, retry_after):
    gate.fail_next(1, status=status, code=code, retry_after=retry_after)

    assert qb.wallet("alice").balances == EMPTY

    assert sleeps == [float(retry_after)]
    assert len(gate.seen) == 2


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (404, "season_not_found", NotFound),
        (403, "region_blocked", Forbidden),
        (429, "season_quota_exceeded", RateLimited),
        (503, "maintenance", ServiceUnavailable),
    ],
)
def test_a_new_code_raises_the_class_of_its_status_with_its_code(base_url, gate, status, code, cls):
    gate.fail_next(1, status=status, code=code, retry_after=None)
    once = Questboard(base_url, SERVER_KEY, retry=RetryPolicy(max_attempts=1))

    with once, pytest.raises(cls) as refused:
        once.wallet("alice")

    assert (refused.value.code, refused.value.status, refused.value.message) == (
        code,
        status,
        "canned",
    )


def test_a_new_code_of_a_status_without_a_class_raises_the_base_class(qb, gate):
    gate.fail_next(1, status=409, code="season_closed", retry_after=None)

    with pytest.raises(QuestboardError) as refused:
        qb.wallet("alice")

    assert type(refused.value) is QuestboardError
    assert (refused.value.code, refused.value.status) == ("season_closed", 409)
    assert len(gate.seen) == 1
