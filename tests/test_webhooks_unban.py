"""`player.unbanned`: sent when a lift ends the player's ban, with the lifted ban's
fields as the README lists them, and never while another ban still holds the player."""

from __future__ import annotations

from engine.security import bans
from engine.webhooks import subscriptions
from tests.webhook_fixtures import engine as engine  # a fixture: its own name
from tests.webhook_fixtures import receiver as receiver  # a fixture: its own name
from tests.webhook_receiver import run_jobs


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


def test_a_duplicate_ban_put_back_in_force_is_announced_after_the_unban(engine, receiver, clock):
    """Earlier versions could store two bans of one player, the index naming one: when
    that one is lifted the other is put back in force, so the unban is followed by the
    ban that now holds the player, never left as the last word."""
    from engine import keys
    from engine.clock import to_ms

    subscriptions.create(engine, receiver.url, ["player.banned", "player.unbanned"])
    for ban_id in ("ban_00000000000000b1", "ban_00000000000000b2"):
        engine.redis.hset(
            keys.ban(ban_id),
            mapping={
                "kind": "player",
                "target": "alice",
                "reason": ban_id,
                "created_at": to_ms(clock.now()),
                "expires_at": 0,
                "created_by": "admin",
                "field": "alice",
            },
        )
        engine.redis.zadd(keys.bans_index(), {ban_id: to_ms(clock.now())})
        engine.redis.hset(keys.player_bans(), "alice", f"{ban_id}|0")

    bans.delete(engine, "player", "ban_00000000000000b2")
    run_jobs(engine)

    assert bans.active_ban(engine, "alice", None).ban_id == "ban_00000000000000b1"
    assert [(e["type"], e["data"]["ban_id"]) for e in receiver.events()] == [
        ("player.unbanned", "ban_00000000000000b2"),
        ("player.banned", "ban_00000000000000b1"),
    ]
