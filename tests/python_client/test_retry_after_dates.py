"""Retry-After as an HTTP date (RFC 9110 10.2.3), as a proxy or load balancer in front
of the service may send it on a 503 or 429: the client waits until then, as it waits
the service's own delay in seconds.

The fixtures (tests/python_client/conftest.py) serve the app on fakeredis with a fixed
clock behind werkzeug on a loopback port, through tests.python_client.gate.Gate.
"""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest
from questboard_client import Questboard, RetryPolicy, ServiceUnavailable
from questboard_client.errors import retry_after_seconds

from tests.conftest import SERVER_KEY
from tests.python_client.gate import EMPTY, NOON, cap_jitter


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("Wed, 25 Nov 2026 12:00:05 GMT", 5.0),
        ("Wednesday, 25-Nov-26 12:00:30 GMT", 30.0),  # RFC 850, obsolete but allowed
        ("Wed Nov 25 12:01:00 2026", 60.0),  # asctime
        ("Wed, 25 Nov 2026 11:59:00 GMT", 0.0),  # passed: no wait
        ("7", 7.0),
        ("0", 0.0),
        ("-3", 0.0),
        ("soon", None),
        ("nan", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_as_a_date(value, seconds):
    assert retry_after_seconds(value, now=NOON.timestamp()) == seconds


def test_a_proxys_503_with_a_retry_after_date_is_waited_out(base_url, gate, sleeps):
    gate.fail_next(1, status=503, retry_after=formatdate(time.time() + 3, usegmt=True))
    retry = RetryPolicy(deadline=30.0, jitter=cap_jitter)

    with Questboard(base_url, SERVER_KEY, retry=retry, sleep=sleeps.append) as qb:
        assert qb.wallet("alice").balances == EMPTY

    assert len(sleeps) == 1 and 1.0 < sleeps[0] <= 3.0  # the date is to the second
    assert len(gate.seen) == 2


def test_a_retry_after_date_beyond_the_deadline_gives_up_at_once(base_url, gate, sleeps):
    gate.fail_next(1, status=503, retry_after=formatdate(time.time() + 60, usegmt=True))

    qb = Questboard(base_url, SERVER_KEY, retry=RetryPolicy(deadline=10.0), sleep=sleeps.append)
    with qb, pytest.raises(ServiceUnavailable) as unavailable:
        qb.wallet("alice")

    assert 50 < unavailable.value.retry_after <= 60
    assert (sleeps, len(gate.seen)) == ([], 1)
