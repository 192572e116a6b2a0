"""One script-outcome contract: ScriptCode in Python, CODE in lua/include/codes.lua."""

from __future__ import annotations

import re

from engine.outcomes import ScriptCode
from engine.scripts import LUA_DIR

CODES_LUA = LUA_DIR / "include" / "codes.lua"


def lua_codes() -> dict[str, int]:
    """The CODE table of codes.lua, read as text: `NAME = <integer>,` lines."""
    body = CODES_LUA.read_text().split("]]", 1)[1]
    table = re.search(r"local CODE = \{(.*?)\n\}", body, re.DOTALL)
    assert table, "codes.lua defines `local CODE = {...}`"
    entries = [line.strip() for line in table[1].splitlines() if line.strip()]
    parsed = {}
    for entry in entries:
        match = re.fullmatch(r"([A-Z_]+) = (-?\d+),", entry)
        assert match, f"not a `NAME = integer,` line: {entry!r}"
        assert match[1] not in parsed, f"{match[1]} twice"
        parsed[match[1]] = int(match[2])
    return parsed


def test_the_lua_codes_have_the_names_and_values_of_the_enum():
    assert lua_codes() == {code.name: code.value for code in ScriptCode}


def test_no_two_codes_share_a_value():
    assert len(ScriptCode.__members__) == len({code.value for code in ScriptCode})
