"""`player.unbanned`: sent when a lift ends the player's ban, with the lifted ban's
fields as the README lists them, and never while another ban still holds the player."""

from __future__ import annotations

import pytest

from engine.security import bans
from engine.webhooks import subscriptions
from tests.webhook_receiver import Receiver, run_jobs, webhook_engine


@pytest.fixture
def engine(real_redis, unlimited_rules, clock, sqlite_url):
    yield from webhook_engine(real_redis, unlimited_rules, clock, sqlite_url)


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


def test_an_unban_carries_the_lifted_bans_reason_expiry_and_creator(engine, receiver):
    subscriptions.create(engine, receiver.url, ["player.unbanned"])
    ban = bans.create(engine, "player", "alice", "chargeback", expires_in_seconds=3600)
    bans.delete(engine, "player", ban.ban_id)
    run_jobs(engine)

    [event] = receiver.events()
    assert (event["type"], event["player_id"]) == ("player.unbanned", "alice")
    assert event["data"] == {
        "ban_id": ban.ban_id,
        "reason": "chargeback",
        "expires_at": ban.expires_at.isoformat().replace("+00:00", "Z"),
        "created_by": "admin",
        "extended": False,
    }


def test_lifting_a_ban_that_another_has_replaced_sends_no_unban(engine, receiver, clock):
    """The first ban expired and a second one bans the player now: deleting the first
    leaves the player banned, so no receiver is told they were unbanned."""
    subscriptions.create(engine, receiver.url, ["player.unbanned"])
    first = bans.create(engine, "player", "alice", "first", expires_in_seconds=60)
    clock.advance(seconds=61)
    second = bans.create(engine, "player", "alice", "second")
    assert second.ban_id != first.ban_id

    bans.delete(engine, "player", first.ban_id)
    run_jobs(engine)
    assert bans.active_ban(engine, "alice", None) == second
    assert receiver.events() == []

    bans.delete(engine, "player", second.ban_id)
    run_jobs(engine)
    assert [event["data"]["ban_id"] for event in receiver.events()] == [second.ban_id]
