"""The layering and the Lua contract, checked on the source itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from redis.crc import key_slot

from engine import keys
from engine.scripts import LUA_DIR, SCRIPTS

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_ENGINE = {
    "flask",
    "flask_smorest",
    "marshmallow",
    "webargs",
    "rq",
    "rq_scheduler",
    "web",
    "jobs",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "engine").glob("*.py")), ids=lambda p: p.name)
def test_engine_never_imports_the_transport_or_the_queue(path):
    assert not imported_modules(path) & FORBIDDEN_IN_ENGINE


def test_every_lua_file_is_registered_and_every_registration_has_a_file():
    assert {p.stem for p in LUA_DIR.glob("*.lua")} == set(SCRIPTS)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_lua_header_names_keys_argv_and_returns(name):
    source = (LUA_DIR / f"{name}.lua").read_text()
    header = source.split("]]", 1)[0]
    assert header.startswith(f"--[[ {name}:")
    for word in ("KEYS", "ARGV[1]", "Returns"):
        assert word in header
    count = SCRIPTS[name]
    if isinstance(count, tuple):  # n keys per item: listed as "  1 ...", "  2 ...", ...
        listed = set(re.findall(r"^\s+(\d+) \S", header.split("ARGV[1]")[0], re.MULTILINE))
        assert listed == {str(n) for n in range(1, count[0] + 1)}
    else:
        documented = set(re.findall(r"KEYS\[(\d+)\]", header))
        assert documented == {str(n) for n in range(1, count + 1)}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_lua_reads_no_clock_and_builds_no_keys(name):
    body = (LUA_DIR / f"{name}.lua").read_text().split("]]", 1)[1]
    assert not re.search(r"redis\.call\(\s*['\"]TIME", body, re.IGNORECASE)
    assert "qb:" not in body  # key names come in through KEYS


INCLUDES = sorted((LUA_DIR / "include").glob("*.lua"))


def test_every_include_is_used_by_a_script():
    used = set()
    for path in LUA_DIR.glob("*.lua"):
        used |= set(re.findall(r'^--- @include "([a-z_]+)"$', path.read_text(), re.MULTILINE))
    assert {path.stem for path in INCLUDES} == used


@pytest.mark.parametrize("path", INCLUDES, ids=lambda p: p.name)
def test_lua_includes_say_what_they_provide_read_no_clock_and_build_no_keys(path):
    source = path.read_text()
    header, body = source.split("]]", 1)
    assert header.startswith(f"--[[ include {path.stem}:")
    assert not re.search(r"redis\.call\(\s*['\"]TIME", body, re.IGNORECASE)
    assert "qb:" not in body  # key names come in from the including script's KEYS


@pytest.mark.parametrize("player", ["alice", "bob.smith", "p:42", "Z-9_x"])
def test_a_players_keys_share_one_hash_slot(player):
    player_keys = [
        keys.wallet(player),
        keys.ledger(player),
        keys.player_outbox(player),
        keys.idempotency(player, "purchase", "any-key/with:odd{chars}"),
    ]
    assert len({key_slot(key.encode()) for key in player_keys}) == 1


def test_players_spread_over_every_shard():
    shards = {keys.shard_of(f"player-{n}") for n in range(2000)}
    assert shards == set(range(keys.PLAYER_SHARDS))
