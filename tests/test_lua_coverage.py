"""The Lua source hook of engine/scripts.py and the line counting of scripts/lua_coverage.py."""

from __future__ import annotations

import json

from engine import keys
from engine.scripts import SCRIPTS, Scripts, lua_source, registered_source
from scripts import lua_coverage

PLAYER = "alice"


def name_only(name: str, source: str) -> str:
    """A transform that replaces every script by one answering its own name."""
    return f"return '{name}'"


def test_without_a_transform_the_registered_source_is_the_inlined_file(monkeypatch):
    monkeypatch.delenv("QUESTBOARD_LUA_TRANSFORM", raising=False)
    assert all(registered_source(name) == lua_source(name) for name in SCRIPTS)


def test_a_transform_named_in_the_environment_rewrites_every_script_registered(
    monkeypatch, fake_redis
):
    monkeypatch.setenv("QUESTBOARD_LUA_TRANSFORM", "tests.test_lua_coverage:name_only")
    scripts = Scripts(fake_redis)
    assert scripts.take_rate_slot(keys=["window"], args=[]) == b"take_rate_slot"
    assert scripts.reap_job_runs(keys=["lock", "running"], args=[]) == b"reap_job_runs"


def test_statements_are_marked_and_continuation_lines_are_not():
    lines = [
        "--[[ header",
        "local x = 1  -- not code ]]",
        "local a = f(1,",
        "  2)",
        "local b = 'x' ..",
        "  'y'",
        "if a and",
        "    b then",
        "  return {a,",
        "    b}",
        "elseif b then",
        "  g('--', '(')",
        "else",
        "  return",
        "end",
    ]
    assert lua_coverage.statement_lines(lines) == [2, 4, 6, 8, 11, 13]


def transfer(redis, idem: str):
    return Scripts(redis).apply_transaction(
        keys=[
            keys.wallet(PLAYER),
            keys.ledger(PLAYER),
            keys.player_outbox(PLAYER),
            keys.idempotency(PLAYER, "grant", idem),
        ],
        args=[
            PLAYER,
            "grant",
            "t",
            1_795_600_000_000,
            "fp",
            60,
            1000,
            f"grant/{idem}",
            10,
            *("coins", 5),
        ],
    )


def test_an_instrumented_script_answers_the_same_and_records_the_lines_it_ran(
    monkeypatch, any_redis
):
    code, plain = transfer(any_redis, "plain")
    monkeypatch.setenv("QUESTBOARD_LUA_TRANSFORM", "scripts.lua_coverage:instrument")
    instrumented_code, instrumented = transfer(any_redis, "marked")

    assert (code, instrumented_code) == (0, 0)
    assert json.loads(instrumented)["deltas"] == json.loads(plain)["deltas"] == {"coins": 5}
    assert json.loads(instrumented)["balances"] == {"coins": 10}
    reached = {field.decode() for field in any_redis.hkeys(lua_coverage.COVERAGE_KEY)}
    assert "include/wallet.lua:101" in reached  # the HSET of the wallet
    assert "include/wallet.lua:73" not in reached  # the refusal for insufficient funds
    assert reached <= {
        f"{file}:{line}" for file, lines in lua_coverage.all_statements().items() for line in lines
    }
