"""The Python client's retries: what is retried, how long it waits, nothing done twice.

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest
from questboard_client import (
    Banned,
    IdempotencyKeyReused,
    InsufficientFunds,
    Questboard,
    QuestboardConnectionError,
    RateLimited,
    RetryPolicy,
    ServiceUnavailable,
    ValidationError,
)
from questboard_client.models import (
    ExamAttempt,
    GrantOrder,
    Wallet,
)

from engine import keys
from tests.conftest import SERVER_KEY
from tests.python_client.gate import EMPTY, cap_jitter


def test_a_503_is_retried_with_the_same_idempotency_key_and_buys_once(qb, admin, gate, sleeps):
    admin.grant("alice", {"coins": 1000}, "welcome")
    gate.fail_next(2, status=503, retry_after="0")

    bought = qb.purchase("alice", "logs", 3)

    purchases = [key for method, path, _, key in gate.seen if path.endswith("/purchases")]
    assert len(purchases) == 3
    assert len(set(purchases)) == 1
    assert re.fullmatch(r"qb-[0-9a-f]{32}", purchases[0])
    assert sleeps == [0.1, 0.2]  # exponential backoff; Retry-After: 0 asks for no more
    assert bought.replayed is False
    assert qb.wallet("alice").balances["coins"] == 1000 - 30 + 10  # one purchase, one mission
    kinds = [entry.kind for entry in qb.ledger("alice")]
    assert kinds.count("purchase") == 1


def test_a_purchase_whose_answer_was_lost_is_retried_and_reported_as_a_replay(qb, admin, gate):
    admin.grant("alice", {"coins": 1000}, "welcome")
    gate.lose_next_answer()

    bought = qb.purchase("alice", "logs", 3, idempotency_key="order-lost")

    assert gate.keys()[-2:] == ["order-lost", "order-lost"]
    assert bought.replayed is True
    assert bought.balances["logs"] == 3 + 1  # three bought, one from the login bonus
    assert [entry.kind for entry in qb.ledger("alice")].count("purchase") == 1


def test_an_exam_retried_after_a_lost_answer_counts_once(qb, gate):
    gate.lose_next_answer()

    summary = qb.record_exam("alice", "attempt-9", "math", 50, 10, 5)

    assert gate.keys() == ["attempt-9", "attempt-9"]
    assert summary.replayed is True
    assert qb.leaderboard("weekly").entries[0].exams == 1


def test_a_batch_of_exams_answers_each_item_with_its_summary_or_its_error(qb, admin):
    attempts = [
        ExamAttempt("alice", "a-1", "math", 80, 10, 8),
        ExamAttempt("bob", "b-1", "math", 90, 10, 11),  # more correct answers than questions
        ExamAttempt("carol", "c-1", "math", 70, 10, 7),
    ]
    admin.ban_player("carol", "bot")

    first = qb.record_exams(attempts)
    again = qb.record_exams(attempts)

    assert [(item.status, item.ok) for item in first] == [(201, True), (400, False), (403, False)]
    assert first[0].result is not None and first[0].result.replayed is False
    assert [b.rank for b in first[0].result.boards] == [1] * 6
    assert isinstance(first[1].error, ValidationError)
    assert isinstance(first[2].error, Banned)
    assert first[2].error.details["reason"] == "bot"
    assert again[0].status == 200 and again[0].result is not None
    assert again[0].result.replayed is True
    assert again[0].result.boards == first[0].result.boards


def test_a_grant_batch_retried_after_a_lost_answer_grants_each_item_once(admin, gate):
    orders = [GrantOrder("alice", {"coins": 500}, "gift"), GrantOrder("bob", {"coins": -1}, "fix")]
    gate.lose_next_answer()

    items = admin.grant_batch(orders)

    assert [(item.status, item.ok) for item in items] == [(200, True), (409, False)]
    assert items[0].result is not None and items[0].result.replayed is True
    assert items[0].result.balances == EMPTY | {"coins": 500}
    assert isinstance(items[1].error, InsufficientFunds)
    first, retry = (json.loads(body)["grants"] for body in gate.bodies("/grants:batch"))
    assert [g["idempotency_key"] for g in first] == [g["idempotency_key"] for g in retry]
    reused = admin.grant_batch(
        [GrantOrder("alice", {"coins": 5}, "gift", first[0]["idempotency_key"])]
    )
    assert isinstance(reused[0].error, IdempotencyKeyReused)


def test_wallets_of_many_players_in_one_call(qb, admin):
    admin.grant("alice", {"coins": 500}, "gift")

    items = qb.wallets(["alice", "bob"])

    assert [item.result for item in items] == [
        Wallet("alice", EMPTY | {"coins": 500}),
        Wallet("bob", EMPTY),
    ]


def test_a_lifted_ban_whose_answer_was_lost_is_done_on_retry(admin, gate):
    placed = admin.ban_player("mallory", "cheating")
    gate.lose_next_answer()

    admin.lift_player_ban(placed.ban.id)

    deletes = [path for method, path, _, _ in gate.seen if method == "DELETE"]
    assert deletes == [f"/v1/admin/player-bans/{placed.ban.id}"] * 2
    assert admin.player_bans() == ()


class FailingConnections(httpx.BaseTransport):
    """Fails the first `count` requests with `error` (no answer), then sends for real."""

    def __init__(self, count: int, error: type[httpx.RequestError] = httpx.ConnectError) -> None:
        self.count = count
        self.error = error
        self.real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.count:
            self.count -= 1
            raise self.error("no answer", request=request)
        return self.real.handle_request(request)

    def close(self) -> None:
        self.real.close()


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.DecodingError],
)
def test_a_request_without_an_answer_is_retried(base_url, gate, sleeps, error):
    transport = FailingConnections(1, error)
    retry = RetryPolicy(jitter=cap_jitter)
    with Questboard(
        base_url, SERVER_KEY, retry=retry, transport=transport, sleep=sleeps.append
    ) as qb:
        assert qb.wallet("alice").balances == EMPTY
    assert sleeps == [0.1]
    assert len(gate.seen) == 1

    with (
        Questboard(
            base_url, SERVER_KEY, retry=RetryPolicy(max_attempts=2), transport=FailingConnections(2)
        ) as qb,
        pytest.raises(QuestboardConnectionError) as failed,
    ):
        qb.wallet("alice")
    assert (failed.value.code, failed.value.status) == ("connection_error", None)


def test_a_429_waits_its_retry_after_then_succeeds(qb, gate, sleeps):
    gate.fail_next(1, status=429, code="rate_limited", retry_after="2")

    assert qb.wallet("alice").balances == EMPTY

    assert sleeps == [2.0]
    assert len(gate.seen) == 2


def test_a_retry_after_beyond_the_deadline_raises_rate_limited_at_once(base_url, gate, sleeps):
    gate.fail_next(1, status=429, code="rate_limited", retry_after="30")
    retry = RetryPolicy(deadline=10.0)

    qb = Questboard(base_url, SERVER_KEY, retry=retry, sleep=sleeps.append)
    with qb, pytest.raises(RateLimited) as limited:
        qb.wallet("alice")

    assert (limited.value.status, limited.value.retry_after) == (429, 30.0)
    assert (sleeps, len(gate.seen)) == ([], 1)


def test_retries_stop_after_max_attempts(base_url, gate, sleeps):
    gate.fail_next(5, status=503, retry_after="0")
    retry = RetryPolicy(max_attempts=3, jitter=cap_jitter)

    qb = Questboard(base_url, SERVER_KEY, retry=retry, sleep=sleeps.append)
    with qb, pytest.raises(ServiceUnavailable) as unavailable:
        qb.ad_reward("alice")

    assert (unavailable.value.status, unavailable.value.code) == (503, "service_unavailable")
    assert sleeps == [0.1, 0.2]
    assert len(gate.seen) == 3
    assert len(set(gate.keys())) == 1


def test_a_deadline_too_short_for_the_retry_after_gives_up_on_a_503(base_url, gate, sleeps):
    gate.fail_next(2, status=503, retry_after="1")
    qb = Questboard(base_url, SERVER_KEY, retry=RetryPolicy(deadline=0.5), sleep=sleeps.append)

    with qb, pytest.raises(ServiceUnavailable) as unavailable:
        qb.wallet("alice")

    assert (unavailable.value.retry_after, sleeps, len(gate.seen)) == (1.0, [], 1)


def test_a_proxys_502_page_is_retried_and_raised_as_service_unavailable(qb, base_url, gate):
    gate.fail_next_as_a_proxy(502)
    assert qb.wallet("alice").balances == EMPTY
    assert len(gate.seen) == 2

    gate.fail_next_as_a_proxy(502)
    once = Questboard(base_url, SERVER_KEY, retry=RetryPolicy(max_attempts=1))
    with once, pytest.raises(ServiceUnavailable) as unavailable:
        once.wallet("alice")
    assert (unavailable.value.status, unavailable.value.message) == (
        502,
        "HTTP 502 without an API error body.",
    )


def test_the_servers_rapid_fire_refusal_is_waited_out_and_the_exam_counted_once(
    base_url, gate, clock, store, rules
):
    """The server's own 429 (rapid_fire, Retry-After: 1): the client's wait moves the
    fixed clock on by what it waits, and the retry with the same exam_id is counted.

    Alice has already made all but one of the changes this second allows: her count is
    set where the server keeps it, without its expiry. That expiry is 2 s of real time
    (the key is named by the engine second; the expiry only bounds memory), which a
    loaded machine could spend on eight real exams while the test's clock stands still.
    Her next exam is the last the second allows; the one after it is refused."""
    allowed = rules.security.max_changes_per_second
    second = int(clock.now().timestamp())
    store.set(keys.pace("alice", second), allowed - 1)
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds=seconds)

    with Questboard(base_url, SERVER_KEY, sleep=wait) as qb:
        last = qb.record_exam("alice", "attempt-7", "math", 10, 10, 1)
        assert waits == []

        refused_then_counted = qb.record_exam("alice", "attempt-8", "math", 10, 10, 1)

        assert waits == [1.0]
        assert gate.keys() == ["attempt-7", "attempt-8", "attempt-8"]
        assert (last.replayed, refused_then_counted.replayed) == (False, False)
        assert qb.leaderboard("weekly").entries[0].exams == 2
