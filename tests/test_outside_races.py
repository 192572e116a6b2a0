"""Races tried from outside, on the real Redis: one request arriving twice at once, and
two requests of one player (or an admin's and a job's) crossing. Each interleaving is
forced: a barrier, or a function patched to pause at an exact point on an event; no
sleeps.
"""

from __future__ import annotations

import threading

import pytest

from engine.webhooks import delivery, subscriptions
from tests.webhook_receiver import Receiver, webhook_engine


@pytest.fixture
def hook_engine(real_redis, unlimited_rules, clock, sql_url):
    """On SQLite and on the MariaDB server."""
    yield from webhook_engine(real_redis, unlimited_rules, clock, sql_url)


def in_thread(task) -> threading.Thread:
    thread = threading.Thread(target=task, daemon=True)
    thread.start()
    return thread


def test_a_redelivery_asked_while_an_attempt_is_in_flight_is_not_undone_by_its_outcome(
    hook_engine, clock
):
    receiver = Receiver(fail_first=1)
    try:
        subscription, _ = subscriptions.create(hook_engine, receiver.url, ["grant.applied"])
        queued = subscriptions.ping(hook_engine, subscription.id)
        delivery.run(hook_engine)  # the first attempt fails: a retry is scheduled
        clock.advance(minutes=1)  # the retry is due
        held = threading.Event()
        receiver.hold, receiver.arrived = held, threading.Event()
        job = in_thread(lambda: delivery.run(hook_engine))
        assert receiver.arrived.wait(10)  # the second attempt is in flight
        again = subscriptions.redeliver(hook_engine, subscription.id, queued.id)
        assert (again.status, again.next_attempt_at) == ("pending", clock.now())
        receiver.hold = None  # the receiver is fixed: later attempts are answered 200
        held.set()  # the attempt in flight ends without an answer
        job.join(10)

        delivery.run(hook_engine)

        [logged] = subscriptions.deliveries(hook_engine, subscription.id)
        assert logged.status == "delivered"
        assert [e["id"] for e in receiver.events()] == [queued.event_id]
    finally:
        receiver.stop()
