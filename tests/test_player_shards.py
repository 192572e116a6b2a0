"""The player shard count: a setting (PLAYER_SHARDS), the key names it gives, and the
start-up check that refuses a Redis written with another count."""

from __future__ import annotations

import zlib

import pytest
from redis.crc import key_slot

from config import ConfigError, Settings
from engine import keys, shards
from engine.runtime import build_engine


def test_sixteen_shards_keep_the_tags_of_existing_deployments(player_shards):
    player_shards(16)
    shard = zlib.crc32(b"alice") % 16
    assert keys.wallet("alice") == f"qb:{{p{shard:02d}}}:wallet:alice"
    assert [keys.shard_tag(s) for s in (0, 7, 15)] == ["{p00}", "{p07}", "{p15}"]


def test_a_large_count_keeps_two_digits_below_100_and_grows_after(player_shards):
    player_shards(1024)
    tags = [keys.shard_tag(s) for s in range(1024)]
    assert tags[:3] == ["{p00}", "{p01}", "{p02}"]
    assert tags[99:101] == ["{p99}", "{p100}"]
    assert tags[-1] == "{p1023}"
    assert len(set(tags)) == len({key_slot(f"qb:{tag}:outbox".encode()) for tag in tags}) == 1024
    assert keys.shard_of("alice") == zlib.crc32(b"alice") % 1024


def test_changing_the_count_moves_players_at_once(player_shards):
    """shard_of is cached: a new count must not answer from the old count's cache."""
    player_shards(16)
    assert keys.shard_of("player-1000") == zlib.crc32(b"player-1000") % 16
    player_shards(1024)
    assert keys.player_shards() == 1024
    assert keys.shard_of("player-1000") == zlib.crc32(b"player-1000") % 1024
    assert keys.wallet("player-1000").startswith(
        f"qb:{keys.shard_tag(keys.shard_of('player-1000'))}:"
    )


@pytest.mark.parametrize("count", [0, 16_385])
def test_a_count_out_of_range_is_refused(player_shards, count):
    with pytest.raises(ValueError, match="between 1 and 16384"):
        player_shards(count)


def test_the_default_is_the_setting_and_the_key_functions_agree():
    assert Settings().player_shards == keys.DEFAULT_PLAYER_SHARDS == keys.player_shards()


def test_player_shards_is_read_from_the_environment():
    assert Settings.from_env({"PLAYER_SHARDS": "16"}).player_shards == 16
    assert Settings.from_env({}).player_shards == keys.DEFAULT_PLAYER_SHARDS
    with pytest.raises(ConfigError, match="PLAYER_SHARDS must be between 1 and 16384"):
        Settings.from_env({"PLAYER_SHARDS": "0"})


def test_build_engine_sets_the_count_and_records_it_in_an_empty_redis(fake_redis, rules):
    build_engine(Settings(player_shards=64), fake_redis)
    assert keys.player_shards() == 64
    assert fake_redis.get(keys.player_shards_record()) == b"64"
    build_engine(Settings(player_shards=64), fake_redis)  # the same count: starts again


def test_a_redis_written_with_another_count_is_refused_in_one_line(any_redis):
    build_engine(Settings(player_shards=16), any_redis)
    with pytest.raises(shards.PlayerShardsMismatchError) as refused:
        build_engine(Settings(player_shards=1024), any_redis)
    message = str(refused.value)
    assert "\n" not in message
    assert message == (
        "Redis holds player data written with PLAYER_SHARDS=16, and PLAYER_SHARDS is 1024: "
        "start with PLAYER_SHARDS=16, or change the count with "
        "`questboard shards migrate --to 1024` (docs/redis-keys.md)"
    )
    assert any_redis.get(keys.player_shards_record()) == b"16"  # left as it was


def test_data_from_before_the_setting_counts_as_sixteen_shards(any_redis):
    """A deployment that ran before the count was recorded used 16: its outboxes say so
    (all of the 16, none beyond)."""
    for shard in range(16):
        any_redis.xgroup_create(f"qb:{{p{shard:02d}}}:outbox", "persist", mkstream=True)
    with pytest.raises(shards.PlayerShardsMismatchError, match="PLAYER_SHARDS=16, and"):
        build_engine(Settings(player_shards=1024), any_redis)
    assert any_redis.get(keys.player_shards_record()) is None
    build_engine(Settings(player_shards=16), any_redis)
    assert any_redis.get(keys.player_shards_record()) == b"16"


def test_a_change_under_way_is_refused(fake_redis):
    fake_redis.set(keys.player_shards_record(), "migrating:16:1024")
    with pytest.raises(shards.PlayerShardsMismatchError, match="from 16 to 1024 is under way"):
        build_engine(Settings(player_shards=1024), fake_redis)


def test_an_unreachable_redis_at_start_up_does_not_stop_the_service(rules):
    """The service starts and answers 503 while Redis is down (test_http_economy); the
    persist job checks the count on every run instead."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    unreachable = redis.Redis(port=1, retry=Retry(NoBackoff(), 0))
    engine = build_engine(Settings(player_shards=64), unreachable)
    assert keys.player_shards() == 64 and engine.redis is unreachable


def test_a_persist_run_on_a_redis_of_another_count_fails_with_the_line(fake_redis, clock):
    """A process that started while Redis was down, with another count: its persist
    job refuses instead of draining another count's outboxes."""
    from engine.ops import job_catalog

    fake_redis.set(keys.player_shards_record(), "16")
    engine = build_engine(Settings(player_shards=64), fake_redis, clock, verify_shards=False)
    with pytest.raises(shards.PlayerShardsMismatchError, match="PLAYER_SHARDS=16, and"):
        job_catalog.task_for("persist", lambda *args: None)(engine, None)


def test_make_run_on_a_redis_of_another_count_stops_in_one_line(real_redis, tmp_path):
    """The launcher checks before it starts any process (they would each fail to boot)."""
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import real_redis_url

    def free_port() -> int:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]

    root = Path(__file__).resolve().parent.parent
    real_redis.set(keys.player_shards_record(), "16")
    env = dict(
        os.environ,
        REDIS_URL=real_redis_url(),
        PLAYER_SHARDS="256",
        QUESTBOARD_VAR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'questboard.db'}",
        PORT=str(free_port()),
    )
    result = subprocess.run(
        [sys.executable, str(root / "scripts" / "run.py")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "Cannot start: Redis holds player data written with PLAYER_SHARDS=16, and "
        "PLAYER_SHARDS is 256: start with PLAYER_SHARDS=16, or change the count with "
        "`questboard shards migrate --to 256` (docs/redis-keys.md)\n"
    )
