"""One script-outcome contract: ScriptCode in Python, CODE in lua/include/codes.lua."""

from __future__ import annotations

import re

import pytest

from engine.errors import (
    BalanceLimitError,
    DailyLimitReachedError,
    IdempotencyKeyReusedError,
    InsufficientFundsError,
    RapidFireError,
    RateLimitedError,
    ScriptContractError,
)
from engine.outcomes import ScriptCode, decode
from engine.scripts import LUA_DIR

CODES_LUA = LUA_DIR / "include" / "codes.lua"


def lua_codes() -> dict[str, int]:
    """The codes of codes.lua, read as text: its `local CODE_<NAME> = <integer>` lines."""
    body = CODES_LUA.read_text().split("]]", 1)[1]
    parsed: dict[str, int] = {}
    for line in body.splitlines():
        match = re.fullmatch(r"local CODE_([A-Z_]+) = (-?\d+)", line)
        if match:
            assert match[1] not in parsed, f"{match[1]} twice"
            parsed[match[1]] = int(match[2])
    return parsed


def test_the_lua_codes_have_the_names_and_values_of_the_enum():
    assert lua_codes() == {code.name: code.value for code in ScriptCode}


def test_the_applied_code_as_json_text_is_the_applied_code():
    body = CODES_LUA.read_text().split("]]", 1)[1]
    assert re.findall(r"^local CODE_APPLIED_TEXT = '(.*)'$", body, re.MULTILINE) == [
        str(ScriptCode.APPLIED.value)
    ]


def test_codes_lua_defines_only_codes():
    body = CODES_LUA.read_text().split("]]", 1)[1]
    lines = [line for line in body.splitlines() if line.strip()]
    assert len(lines) == len(ScriptCode) + 1  # and CODE_APPLIED_TEXT


def test_no_two_codes_share_a_value():
    assert len(ScriptCode.__members__) == len({code.value for code in ScriptCode})


LUA_FILES = sorted(
    path
    for path in [*LUA_DIR.glob("*.lua"), *(LUA_DIR / "include").glob("*.lua")]
    if path != CODES_LUA
)
# A script or include returning a code as a bare number: `return -2, x`, `return {-5, x}`,
# `return 0`, `return {1}`. Counts, ids and JSON are returned through variables.
BARE_CODE_RETURN = re.compile(r"\breturn\s*\{?\s*-?\d+\s*(?:[,}]|$)", re.MULTILINE)
# A code written into a recorded outcome as a bare number: '"code":0'.
BARE_CODE_FIELD = re.compile(r'"code":\s*-?\d')


def lua_code(path) -> str:
    """The file's Lua without its comments (the header names the codes in prose)."""
    source = path.read_text()
    source = re.sub(r"--\[\[.*?\]\]", "", source, flags=re.DOTALL)
    return re.sub(r"--[^\n]*", "", source)


@pytest.mark.parametrize("path", LUA_FILES, ids=lambda p: str(p.relative_to(LUA_DIR)))
def test_lua_returns_codes_by_name_never_as_bare_numbers(path):
    code = lua_code(path)
    assert BARE_CODE_RETURN.findall(code) == []
    assert BARE_CODE_FIELD.findall(code) == []


@pytest.mark.parametrize("path", LUA_FILES, ids=lambda p: str(p.relative_to(LUA_DIR)))
def test_every_file_that_names_a_code_includes_the_codes(path):
    code = lua_code(path)
    if "CODE_" not in code:
        return
    if path.parent.name == "include":
        assert re.search(r"^Needs: .*\bcodes\b", path.read_text(), re.MULTILINE)
    else:
        assert '--- @include "codes"' in path.read_text()


@pytest.mark.parametrize(
    "code", [ScriptCode.APPLIED, ScriptCode.REPLAYED, ScriptCode.NO_CHANGE, ScriptCode.UNANSWERED]
)
def test_decode_returns_an_answer_code_as_the_enum(code):
    answer = decode(int(code), {"fp": "f", "code": 0})
    assert answer is code


def test_decode_raises_a_refusal_with_the_scripts_details_but_the_records_own_fields():
    body = {"fp": "f", "code": -1, "resource": "coins", "required": 50, "available": 7}
    with pytest.raises(InsufficientFundsError) as raised:
        decode(-1, body)
    assert raised.value.message == "Not enough coins: 50 needed, 7 available."
    assert raised.value.details == {"resource": "coins", "required": 50, "available": 7}
    assert raised.value.replayed is False


def test_decode_marks_a_refusal_answered_again_from_its_record_as_replayed():
    body = {"fp": "f", "code": -4, "limit": 5, "used": 5}
    with pytest.raises(DailyLimitReachedError) as raised:
        decode(ScriptCode.DAILY_LIMIT, body, replayed=True)
    assert raised.value.message == "The daily limit of 5 is reached; it resets tomorrow."
    assert raised.value.details == {"limit": 5, "used": 5}
    assert raised.value.replayed is True


def test_decode_raises_the_callers_error_for_a_reused_key():
    reused = IdempotencyKeyReusedError("This exam_id was already used.", {"exam_id": "e1"})
    with pytest.raises(IdempotencyKeyReusedError) as raised:
        decode(ScriptCode.KEY_REUSED, {"fp": "f"}, reused=reused)
    assert raised.value is reused


@pytest.mark.parametrize(
    ("code", "body", "error_class", "message"),
    [
        (-3, {"resource": "logs", "limit": 9, "balance": 8}, BalanceLimitError,
         "This would take logs above the limit of 9."),
        (-5, {"limit": 8, "count": 9}, RapidFireError,
         "More than 8 changes in one second: slow down."),
        (-6, {"limit": "10/minute", "scope": "player", "group": "exams", "retry_after": 3},
         RateLimitedError, "Too many requests: the limit is 10/minute per player."),
    ],
)  # fmt: skip
def test_decode_turns_each_refusal_into_its_typed_error(code, body, error_class, message):
    with pytest.raises(error_class) as raised:
        decode(code, body)
    assert type(raised.value) is error_class
    assert raised.value.message == message
    assert raised.value.details == body


@pytest.mark.parametrize("code", [-42, 7, ScriptCode.LOCK_HELD])
def test_decode_refuses_a_code_it_cannot_turn_into_an_answer_or_an_error(code):
    with pytest.raises(ScriptContractError) as raised:
        decode(code, {})
    assert raised.value.code == "internal_error"
    assert raised.value.details == {"code": int(code)}
