"""lua/read_player.lua called directly: a player's keys read, the read counted in the
player's moving rate-limit window in the same step."""

from __future__ import annotations

from engine import keys
from engine.outcomes import ScriptCode
from engine.scripts import Scripts
from tests.script_state import state, written

NOW = 1_795_600_000_000
WINDOW_MS = 60_000
RATE = keys.player_rate_window("alice", "default")
WALLET = keys.wallet("alice")
STREAK = keys.streak("alice")
LIST = keys.player_rate_window("alice", "a-list")  # any list of the player's slot


def read(redis, *read_keys, member="a", now=NOW, count=2, read_args=("hgetall",)):
    return Scripts(redis).read_player(
        keys=[RATE, *read_keys], args=[now, count, WINDOW_MS, member, *read_args]
    )


def test_a_read_that_fits_returns_every_hash_and_is_counted(any_redis):
    any_redis.hset(WALLET, mapping={"coins": 5, "logs": 1})
    any_redis.hset(STREAK, mapping={"streak": 2})
    reply = read(any_redis, WALLET, STREAK, keys.daily("alice", "2026-11-28"))
    assert reply[0] == ScriptCode.APPLIED
    assert dict(zip(reply[1][::2], reply[1][1::2], strict=True)) == {b"coins": b"5", b"logs": b"1"}
    assert reply[2:] == [[b"streak", b"2"], []]
    assert state(any_redis)[RATE] == [("a", NOW)]
    assert 59_000 < any_redis.pttl(RATE) <= WINDOW_MS


def test_a_full_window_refuses_with_the_wait_reads_nothing_and_writes_nothing(any_redis):
    read(any_redis, WALLET, member="a", now=NOW - 20_000)
    read(any_redis, WALLET, member="b", now=NOW - 5_000)
    before = state(any_redis)
    assert read(any_redis, WALLET, member="c") == [ScriptCode.RATE_LIMITED, 40_000]
    assert written(before, state(any_redis)) == {}


def test_reads_that_left_the_window_make_room(any_redis):
    read(any_redis, WALLET, member="a", now=NOW - WINDOW_MS)  # leaves the window exactly now
    read(any_redis, WALLET, member="b", now=NOW - 1_000)
    assert read(any_redis, WALLET, member="c") == [ScriptCode.APPLIED, []]
    assert state(any_redis) == {RATE: [("b", NOW - 1_000), ("c", NOW)]}


def test_no_limit_counts_nothing(any_redis):
    for member in "abc":
        assert read(any_redis, WALLET, member=member, count=0) == [ScriptCode.APPLIED, []]
    assert state(any_redis) == {}


def test_a_list_read_returns_each_list_whole(any_redis):
    any_redis.rpush(LIST, "3", "2", "1")
    reply = read(any_redis, LIST, WALLET, read_args=("lrange",))
    assert reply == [ScriptCode.APPLIED, [b"3", b"2", b"1"], []]
