"""The player-day memory benchmark prints what a day costs per family and for 10M players
(`python -m bench.player_day_memory`)."""

from __future__ import annotations

import pytest

from bench import player_day_memory
from bench.player_day_memory import Anatomy, Family
from engine import keys
from tests.conftest import real_redis_url


def test_every_key_family_of_a_player_day_is_named():
    named = {
        keys.ledger("p1"): "ledger (Redis tail)",
        keys.idempotency("p1", "purchase", "k"): "idempotency records",
        keys.daily("p1", "2026-11-28"): "daily counters",
        keys.league_members("weekly", "2026-W48", "bronze"): "leagues (members, rosters, scores)",
        keys.league_tiers("weekly", "2026-W48"): "leagues (members, rosters, scores)",
    }
    assert {key: player_day_memory.family_of(key) for key in named} == named


def test_the_projection_scales_bytes_a_player_to_ten_million_players():
    assert player_day_memory.projected_gb(3_000) == pytest.approx(30.0)
    assert player_day_memory.DAILY_PLAYERS == 10_000_000


def test_the_lasting_total_leaves_out_what_expires_or_drains_within_minutes():
    after = {
        "wallet": Family(keys=2, bytes=240),
        "rate-limit windows": Family(keys=4, bytes=600),
        "rapid-fire counters": Family(keys=1, bytes=70),
        "outbox streams (until persisted)": Family(keys=1, bytes=5_000),
        "idempotency records": Family(keys=2, bytes=400, expired=1),
    }
    assert player_day_memory.lasting_bytes(after) == 640


def test_the_benchmark_prints_bytes_a_player_by_family_and_the_projection(
    real_redis, monkeypatch, capsys
):
    monkeypatch.setenv("BENCH_REDIS_URL", real_redis_url())

    player_day_memory.main(["--players", "2"])

    out = capsys.readouterr().out
    assert "| ledger (Redis tail) | 2 | 0 |" in out
    assert "| idempotency records | 6 | 0 |" in out  # the grant's and two purchases'
    assert "GB for 10,000,000 daily players" in out
    [total] = [line for line in out.splitlines() if line.startswith("| total |")]
    projected = float(total.rstrip(" |").rsplit("|", 1)[1].replace(",", ""))
    per_player = float(total.split("|")[5].replace(",", ""))
    assert projected == pytest.approx(player_day_memory.projected_gb(per_player), abs=0.01)
    assert real_redis.dbsize() == 0  # the benchmark's keys are flushed after it


def test_a_keys_anatomy_is_its_name_its_data_and_the_rest_redis_adds(real_redis):
    wallet, window = keys.wallet("p1"), keys.player_rate_window("p1", "login")
    real_redis.hset(wallet, mapping={"coins": "500", "logs": "3"})
    real_redis.zadd(window, {"1795882405891:login": 1795882405891})

    families = player_day_memory.anatomy(real_redis)

    size = real_redis.memory_usage(wallet, samples=0)
    data = len("coins500logs3")
    assert families["wallet"] == Anatomy(
        keys=1, bytes=size, names=len(wallet), data=data, encodings={"hash listpack": 1}
    )
    assert families["wallet"].overhead == size - len(wallet) - data > 0
    assert families["rate-limit windows"].data == len("1795882405891:login") + 8  # a score: 8


def test_the_benchmark_prints_what_a_key_of_each_family_is_made_of(real_redis, monkeypatch, capsys):
    monkeypatch.setenv("BENCH_REDIS_URL", real_redis_url())

    player_day_memory.main(["--players", "2"])

    out = capsys.readouterr().out.split("What a key is made of")[1]
    [ledger] = [line for line in out.splitlines() if line.startswith("| ledger (Redis tail) |")]
    assert ledger.split(" | ")[1] == "1.00"  # keys a player
    assert ledger.endswith("| list quicklist 2 |") or ledger.endswith("| list listpack 2 |")


def test_with_persist_the_day_ends_with_the_outboxes_drained_into_sql(real_redis):
    _, after = player_day_memory.play_day(real_redis_url(), 2, persist=True)

    outboxes = [keys.outbox(shard) for shard in range(keys.player_shards())]
    assert sum(real_redis.xlen(outbox) for outbox in outboxes) == 0
    # every entry persisted, none kept by default (LEDGER_KEEP_ENTRIES 0): no ledger key
    assert "ledger (Redis tail)" not in after
    assert not any(real_redis.exists(keys.ledger(f"m{n}")) for n in range(2))
    assert after["idempotency records"].keys == 2 + 2 * 2
