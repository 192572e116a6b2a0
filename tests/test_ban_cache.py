"""engine.security.ban_cache: each process's copy of the bans, brought up to date from
the bans' change log at most a second after any change, on both backends."""

from __future__ import annotations

import pytest

from engine import keys
from engine.addresses import parse_address
from engine.clock import to_ms
from engine.runtime import Engine
from engine.security import ban_cache, bans

pytestmark = pytest.mark.also_on_cluster  # MULTI and pipelines on {sec}: one slot

ADDRESS = parse_address("203.0.113.9")


def another_process(engine: Engine) -> Engine:
    """An engine of its own (a worker, a web node, the CLI) on the same Redis and clock."""
    return Engine(redis=engine.redis, rules=engine.rules, clock=engine.clock)


def ban_for(engine: Engine, player_id: str | None, address=None):
    return ban_cache.ban_for(engine, player_id, address, to_ms(engine.clock.now()))


def test_a_change_elsewhere_is_applied_at_the_first_check_a_second_later(engine, clock):
    web = another_process(engine)
    assert ban_for(web, "mallory") is None
    ban = bans.create(engine, "player", "mallory", "bot")
    network = bans.create(engine, "ip", "203.0.113.0/24", "card testing")
    clock.advance(seconds=0.999)
    assert ban_for(web, "mallory") is None  # the copy serves, nothing is read
    clock.advance(seconds=0.001)
    assert ban_for(web, "mallory") == ban
    assert ban_for(web, None, ADDRESS) == network
    bans.delete(engine, "player", ban.ban_id)
    clock.advance(seconds=1)
    assert ban_for(web, "mallory") is None
    assert ban_for(web, "mallory", ADDRESS) == network


def test_the_process_that_changes_a_ban_sees_it_at_once(engine):
    assert ban_for(engine, "mallory") is None
    ban = bans.create(engine, "player", "mallory", "bot")
    assert ban_for(engine, "mallory") == ban
    repeat = bans.create(engine, "player", "mallory", "still a bot", expires_in_seconds=60)
    assert ban_for(engine, "mallory").reason == repeat.reason == "still a bot"
    bans.delete(engine, "player", ban.ban_id)
    assert ban_for(engine, "mallory") is None


def test_an_expiry_needs_no_change(engine, clock):
    bans.create(engine, "player", "mallory", "cool off", expires_in_seconds=60)
    assert ban_for(engine, "mallory") is not None
    clock.advance(seconds=60)
    assert ban_for(engine, "mallory") is None


def test_the_widest_network_in_force_answers_first(engine):
    wide = bans.create(engine, "ip", "203.0.0.0/16", "wide")
    bans.create(engine, "ip", "203.0.113.9", "narrow")
    assert ban_for(engine, None, ADDRESS) == wide
    assert ban_for(engine, None, parse_address("198.51.100.1")) is None
    assert ban_for(engine, None, parse_address("2001:db8::1")) is None


def test_a_log_that_no_longer_reaches_the_copy_means_reading_the_indexes(engine, clock):
    web = another_process(engine)
    bans.create(engine, "player", "first", "x")
    assert ban_for(web, "first") is not None
    ban = bans.create(engine, "player", "mallory", "bot")
    engine.redis.xtrim(keys.ban_changes(), maxlen=0)  # trimmed past the copy's last change
    bans.create(engine, "player", "later", "x")
    clock.advance(seconds=1)
    assert ban_for(web, "mallory") == ban


def test_a_lost_log_means_reading_the_indexes(engine, clock):
    web = another_process(engine)
    bans.create(engine, "player", "mallory", "bot")
    assert ban_for(web, "mallory") is not None
    engine.redis.flushdb()  # Redis lost: no bans, no log
    clock.advance(seconds=1)
    assert ban_for(web, "mallory") is None


def test_a_copy_is_checked_with_one_small_read(engine, clock):
    from bench.redis_count import sent_commands

    web = another_process(engine)
    ban_for(web, "alice")
    with sent_commands() as sent:
        for _ in range(10):
            ban_for(web, "alice")
        clock.advance(seconds=1)
        ban_for(web, "alice")
        ban_for(web, "alice")
    assert (sent.round_trips, dict(sent.commands)) == (1, {"xrange": 2})
