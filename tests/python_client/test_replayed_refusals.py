"""A refusal answered again for the same Idempotency-Key says it is a replay.

The server records a refusal (409 insufficient_funds, daily_limit_reached, ...) under the
request's key and answers every later request with that key the same refusal, with
Idempotent-Replayed: true (in a batch, the item's "replayed"), even after the cause is
gone: a purchase refused for want of coins is refused again after a grant, with the
details of the first answer. The raised exception's `replayed` tells the caller so, as
a success's `replayed` does, so it knows to send a new key rather than read the stale
details as the wallet's state.

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import pytest
from questboard_client import InsufficientFunds
from questboard_client.models import GrantOrder


def test_a_refused_purchase_sent_again_with_its_key_is_a_replayed_refusal(qb, admin):
    with pytest.raises(InsufficientFunds) as first:
        qb.purchase("bob", "logs", idempotency_key="bob-order-1")
    admin.grant("bob", {"coins": 100}, "top-up")

    with pytest.raises(InsufficientFunds) as again:
        qb.purchase("bob", "logs", idempotency_key="bob-order-1")

    assert first.value.replayed is False
    assert again.value.replayed is True
    assert again.value.details == first.value.details  # the first answer's: 0 available
    assert qb.purchase("bob", "logs", idempotency_key="bob-order-2").replayed is False


def test_a_refused_batch_item_sent_again_is_a_replayed_refusal(admin):
    order = GrantOrder("carol", {"coins": -5}, "correction", idempotency_key="fix-carol")

    [first] = admin.grant_batch([order])
    [again] = admin.grant_batch([order])

    assert isinstance(first.error, InsufficientFunds) and first.error.replayed is False
    assert isinstance(again.error, InsufficientFunds) and again.error.replayed is True
