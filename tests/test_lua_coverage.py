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


def test_conditions_are_found_with_the_then_that_closes_them():
    lines = ["if a == 'then' and", "    b then -- then", "elseif c then x() end"]
    assert lua_coverage.condition_lines(lines) == [0, 2]
    assert lua_coverage.next_then(lines, 0, 3) == (1, 6)
    assert lua_coverage.next_then(lines, 2, 7) == (2, 9)


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
    replayed_if, refused_if = line_of("if replay_code then"), line_of("if code then")
    assert {f"{replayed_if}:F", f"{refused_if}:F"} <= reached  # neither a replay nor refused
    assert {f"{replayed_if}:T", f"{refused_if}:T"}.isdisjoint(reached)
    assert line_of("return {code, outcome}") not in reached  # the refusal's return
    assert line_of("redis.call('SET', IDEM, outcome, 'EX', ttl)", last=True) in reached
    reachable = lua_coverage.all_points()
    assert reached <= {f"{file}:{point}" for file, points in reachable.items() for point in points}


def line_of(text: str, last: bool = False) -> str:
    """ "apply_transaction.lua:<n>" of the (first or last) line of that script holding text."""
    lines = (lua_coverage.LUA_DIR / "apply_transaction.lua").read_text().splitlines()
    numbers = [number for number, line in enumerate(lines, 1) if text in line]
    return f"apply_transaction.lua:{numbers[-1] if last else numbers[0]}"
