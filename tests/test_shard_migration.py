"""Changing the player shard count: `questboard shards check` and `questboard shards
migrate --to N` (drain the outboxes into SQL, move every player key to its new tag,
record the new count), end to end on the real Redis and SQLite."""

from __future__ import annotations

import inspect
import re

import pytest

from config import Settings
from engine import connection, keys, shards
from engine.boards import leaderboards, resolve
from engine.boards.exams import Exam, record_exam
from engine.economy import activity, grants, ledger, purchases, wallet
from engine.progression import battle_pass
from engine.runtime import build_engine
from tests.test_cli import Cli

PLAYERS = [f"player-{n}" for n in range(40)] + ["p:42", "bob.smith"]


@pytest.fixture
def started(real_redis, clock, sqlite_url, tmp_path, player_shards):
    """A service that started on 16 shards and served some players. Its ledger lists
    keep 100 persisted entries, so the migration's drain into SQL leaves them whole and
    the move of each is compared (by default the drain would empty them)."""
    player_shards(16)
    settings = Settings(player_shards=16, database_url=sqlite_url, ledger_keep_entries=100)
    engine = build_engine(settings, real_redis, clock)
    for n, player in enumerate(PLAYERS):
        activity.login(engine, player)
        grants.grant(engine, player, {"coins": 500 + n}, "welcome", f"welcome-{player}")
        purchases.purchase(engine, player, "steel", 1 + n % 3, f"order-{player}")
        record_exam(engine, player, Exam(f"exam-{player}", "math", 10 + n, 10, 1 + n % 10))
        activity.ad_reward(engine, player, f"ad-{player}")
    env = {
        "DATABASE_URL": sqlite_url,
        "QUESTBOARD_VAR": str(tmp_path / "var"),
        "LEDGER_KEEP_ENTRIES": "100",
    }
    return engine, Cli(real_redis, clock, env)


READ_BY_TYPE = {
    "hash": lambda client, key: client.hgetall(key),
    "stream": lambda client, key: client.xrange(key),
    "string": lambda client, key: client.get(key),
    "zset": lambda client, key: client.zrange(key, 0, -1, withscores=True),
    "list": lambda client, key: client.lrange(key, 0, -1),
    "set": lambda client, key: client.smembers(key),
}


def player_keys(client) -> dict[str, object]:
    """Every player key with its shard tag left out, and its contents (outboxes and the
    2-second pace keys aside)."""
    found = {}
    for raw in (key for step in connection.scan_keys(client, "qb:{p*", 1000) for key in step):
        key = raw.decode()
        kind = client.type(key).decode()
        if key.endswith(":outbox") or ":pace:" in key or kind == "none":
            continue  # pace keys live 2 s of the server's real time
        value = READ_BY_TYPE[kind](client, key)
        found[re.sub(r"^qb:\{p\d+\}:", "qb:{}:", key)] = (kind, value, client.ttl(key) > 0)
    return found


def what_players_see(engine) -> dict[str, object]:
    seen = {}
    for player in PLAYERS:
        seen[player] = (
            wallet.balances(engine, player),
            [(e.transaction_id, e.kind, e.deltas) for e in ledger.history(engine, player, 100)],
            battle_pass.state(engine, player).xp,
            engine.redis.hgetall(keys.streak(player)),
        )
    for period_type in ("weekly", "monthly", "yearly"):
        page = leaderboards.top(engine, resolve(engine, period_type, "math"), limit=100)
        seen[period_type] = [(e.rank, e.player_id, e.score) for e in page.entries]
    return seen


def test_check_names_the_recorded_and_configured_counts_and_the_waiting_entries(started):
    _, questboard = started
    code, out, err = questboard("shards", "check")
    assert (code, err) == (0, "")
    assert "recorded in Redis: 16" in out
    assert re.search(r"waiting in the outboxes: [1-9][0-9]* entries", out)


@pytest.mark.also_on_cluster
def test_migrate_moves_every_player_key_and_changes_nothing_a_player_sees(started, player_shards):
    engine, questboard = started
    before_keys, before_seen = player_keys(engine.redis), what_players_see(engine)

    code, out, err = questboard("shards", "migrate", "--to", "64")

    assert (code, err) == (0, "")
    assert "PLAYER_SHARDS=64" in out
    assert engine.redis.get(keys.player_shards_record()) == b"64"
    player_shards(64)
    assert player_keys(engine.redis) == before_keys
    assert what_players_see(engine) == before_seen
    for raw in (k for step in connection.scan_keys(engine.redis, "qb:{p*", 1000) for k in step):
        key = raw.decode()
        player = keys.player_of(key)
        if player is not None:
            assert key.startswith(f"qb:{keys.shard_tag(keys.shard_of(player))}:"), key
    # every outbox was drained into SQL first, and the new ones have their group
    assert questboard("shards", "check")[1].count("waiting in the outboxes: 0 entries") == 1
    player_shards(64)  # the command, in this process, set its own PLAYER_SHARDS
    # a retried purchase is still answered from its record, not bought twice
    again = purchases.purchase(engine, "player-3", "steel", 1 + 3 % 3, "order-player-3")
    assert again.transaction.replayed
    assert wallet.balances(engine, "player-3") == before_seen["player-3"][0]
    # the service now starts on 64 only
    with pytest.raises(shards.PlayerShardsMismatchError, match="PLAYER_SHARDS=64, and"):
        build_engine(Settings(player_shards=16), engine.redis)
    build_engine(Settings(player_shards=64), engine.redis)


def test_migrate_back_and_forth_ends_where_it_started(started, player_shards):
    engine, questboard = started
    before_keys = player_keys(engine.redis)
    assert questboard("shards", "migrate", "--to", "1024")[0] == 0
    assert questboard("shards", "migrate", "--to", "16")[0] == 0
    player_shards(16)
    assert player_keys(engine.redis) == before_keys


def test_migrate_to_the_recorded_count_changes_nothing(started):
    _, questboard = started
    code, out, err = questboard("shards", "migrate", "--to", "16")
    assert (code, out) == (1, "")
    assert err == "questboard: Redis already holds PLAYER_SHARDS=16; nothing to change\n"


CHOSEN = {"key": "k:1/y{z}", "exam_id": "e:1/y"}  # suffixes a client chooses: anything goes


def player_key_functions():
    """Every function of engine.keys that builds a key of one player."""
    for name, function in sorted(vars(keys).items()):
        if callable(function) and not name.startswith("_"):
            try:
                parameters = list(inspect.signature(function).parameters.values())
            except (TypeError, ValueError):
                continue
            if parameters and parameters[0].name == "player_id" and name != "player_outbox":
                yield name, function, parameters[1:]


@pytest.mark.parametrize("name", [name for name, _, _ in player_key_functions()])
def test_every_player_key_names_its_player(name, player_shards):
    """shards migrate finds each key's player from its name: every kind must say how."""
    player_shards(1024)
    function, rest = next((f, rest) for n, f, rest in player_key_functions() if n == name)
    for player in ("alice", "p:42", "a.b-c_d"):
        args = [7 if p.annotation in (int, "int") else CHOSEN.get(p.name, "x-1") for p in rest]
        key = function(player, *args)
        if isinstance(key, str) and key.startswith("qb:{p"):  # not {sec}, not shard_of
            assert keys.player_of(key) == player, key
