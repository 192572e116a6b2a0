"""A write whose outcome the client cannot know names the key it was sent with.

The client makes an Idempotency-Key for a write the caller gave none (README: "the
others get one made for them too") and retries only what is safe to retry. A 500, or
503s past the retry deadline, end the call with an exception while the server may have
applied the write: the exception's `idempotency_key` is the key every attempt sent, so
the caller can send the call again later with it and be answered from the first
outcome instead of buying twice.

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import asyncio

import pytest
from questboard_client import AsyncQuestboard, QuestboardError, ServiceUnavailable

from tests.conftest import SERVER_KEY
from tests.python_client.gate import Failure


def applied_then_lost_as_a_500(gate) -> None:
    gate.failures.append(Failure(500, "internal_error", None, after_app=True))


def test_a_purchase_lost_to_a_500_can_be_sent_again_with_the_key_the_error_names(qb, admin, gate):
    admin.grant("bob", {"coins": 1000}, "top-up")
    applied_then_lost_as_a_500(gate)

    with pytest.raises(QuestboardError) as lost:
        qb.purchase("bob", "logs")

    assert lost.value.status == 500
    assert lost.value.idempotency_key == gate.keys()[-1] is not None
    again = qb.purchase("bob", "logs", idempotency_key=lost.value.idempotency_key)
    assert again.replayed is True
    purchases = [e for e in admin.ledger("bob") if e.kind == "purchase"]
    assert len(purchases) == 1


def test_the_callers_own_key_is_the_one_named(qb, gate):
    applied_then_lost_as_a_500(gate)
    with pytest.raises(QuestboardError) as lost:
        qb.ad_reward("bob", idempotency_key="ad-81723")
    assert lost.value.idempotency_key == "ad-81723"


def test_a_write_given_up_after_its_retries_names_the_key_all_of_them_sent(qb, gate):
    gate.fail_next(10)
    with pytest.raises(ServiceUnavailable) as given_up:
        qb.purchase("bob", "logs")
    sent = gate.keys()
    assert len(sent) > 1 and len(set(sent)) == 1
    assert given_up.value.idempotency_key == sent[0]


def test_a_read_names_no_key(qb, gate):
    gate.answer_next(500, {"error": {"code": "internal_error", "message": "x", "details": {}}})
    with pytest.raises(QuestboardError) as failed:
        qb.wallet("bob")
    assert failed.value.idempotency_key is None


def test_the_async_client_names_the_key_too(base_url, gate):
    async def session() -> QuestboardError:
        async def wait(seconds: float) -> None:
            return None

        qb = AsyncQuestboard(base_url, SERVER_KEY, sleep=wait)
        try:
            applied_then_lost_as_a_500(gate)
            with pytest.raises(QuestboardError) as lost:
                await qb.ad_reward("bob")
            return lost.value
        finally:
            await qb.close()

    error = asyncio.run(session())
    assert error.idempotency_key == gate.keys()[-1] is not None
