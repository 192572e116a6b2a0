"""Which lines of the Lua scripts the test suite reaches: `make lua-coverage`.

Run as a program, it runs pytest with QUESTBOARD_LUA_TRANSFORM pointing at
`instrument` below, so engine/scripts.py registers instrumented copies of the scripts,
and with this module as a pytest plugin, which collects what they record. Then it
prints, per Lua file (each script and each include), the statement lines and the
condition outcomes (each `if`/`elseif` seen true, seen false) reached / total, and
those never reached.

How a line is counted: every line that starts a Lua statement gets a marker call in
front of it, `__cov('include/wallet.lua:57');`, which notes the line in a Lua table, and
every condition is wrapped, `if __br('include/wallet.lua:72', (cond)) then`, which notes
whether it was true or false and returns it unchanged; the
script's body runs as a function, and when it returns, one HSET writes the lines it ran
to one hash (COVERAGE_KEY) in the database the script runs on. The hash is not among
the script's KEYS: fine on standalone Redis and fakeredis, where the suite runs, never
in a cluster. A script stopped by an error records nothing of that call.
The plugin reads the hash before each FLUSHDB (the fixtures flush the real server's
database around every test) and, at the end of the run, from every fakeredis server
and from the run's real database. An include's lines count for every script that
inlines it, so the report lists includes once, as files of their own.

Usage: .venv/bin/python scripts/lua_coverage.py [--json out.json] [pytest args ...]
       .venv/bin/python scripts/lua_coverage.py --hits var/lua-coverage-hits.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA_DIR = ROOT / "lua"
COVERAGE_KEY = "questboard:lua-coverage"
HITS_FILE_ENV = "QUESTBOARD_LUA_COVERAGE_FILE"
INCLUDE = re.compile(r'^--- @include "([a-z_]+)"$')

# A line that starts with one of these continues the statement before it.
CONTINUATION_STARTS = ("end", "else", "elseif", "until", "..", "and", "or", ")", "}", "]")
# A code line that ends with one of these is continued on the next line.
CONTINUED_ENDS = ("..", "=", ",", "(", "{", "[", "+", "-", "*", "/", "<", ">", " and", " or")
CONTINUED_ENDS += (" not",)


def source_lines(name: str) -> Iterator[tuple[str, int, str]]:
    """(file, line number, text) of a script with its includes inlined, as lua_source does."""
    for number, text in enumerate((LUA_DIR / f"{name}.lua").read_text().splitlines(), 1):
        included = INCLUDE.match(text)
        if not included:
            yield f"{name}.lua", number, text
            continue
        include = f"include/{included[1]}.lua"
        # split, not splitlines: the include's last newline stays, as in lua_source
        for inner, inner_text in enumerate((LUA_DIR / include).read_text().split("\n"), 1):
            yield include, inner, inner_text


def code_of(text: str) -> str:
    """A line without its comment and its string literals' contents (no `--` or brackets)."""
    out, quote, i = [], "", 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 2
                continue
            if char == quote:
                quote = ""
                out.append(char)
        elif char in "'\"":
            quote = char
            out.append(char)
        elif text.startswith("--", i):
            break
        else:
            out.append(char)
        i += 1
    return "".join(out).rstrip()


def code_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(index, code) of each line holding code: comments, blank lines and header skipped."""
    in_comment = False
    for index, text in enumerate(lines):
        stripped = text.strip()
        if in_comment:
            in_comment = "]]" not in stripped
            continue
        if stripped.startswith("--[["):
            in_comment = "]]" not in stripped[4:]
            continue
        code = code_of(text).strip()
        if code:
            yield index, code


def statement_lines(lines: list[str]) -> list[int]:
    """Indexes of the lines that start a statement (outside comments, tables and calls)."""
    starts: list[int] = []
    depth, continued = 0, False
    for index, code in code_lines(lines):
        if depth == 0 and not continued and not code.startswith(CONTINUATION_STARTS):
            starts.append(index)
        depth += sum(code.count(c) for c in "({[") - sum(code.count(c) for c in ")}]")
        continued = code.endswith(CONTINUED_ENDS) or (
            code.startswith(("if ", "elseif ")) and not code.endswith("then")
        )
    return starts


def condition_lines(lines: list[str]) -> list[int]:
    """Indexes of the lines that start an `if` or `elseif` condition."""
    return [index for index, code in code_lines(lines) if code.startswith(("if ", "elseif "))]


def next_then(lines: list[str], index: int, column: int) -> tuple[int, int]:
    """Where the keyword `then` closing a condition is: the first one outside strings."""
    while True:
        text, quote, i = lines[index], "", column
        while i < len(text):
            char = text[i]
            if quote:
                i += 2 if char == "\\" else 1
                quote = "" if char == quote else quote
                continue
            if char in "'\"":
                quote = char
            elif text.startswith("--", i):
                break
            elif re.match(r"\bthen\b", text[i:]) and (i == 0 or not text[i - 1].isalnum()):
                return index, i
            i += 1
        index, column = index + 1, 0


def instrument(name: str, source: str) -> str:
    """The script's source with a marker in front of every statement line and around
    every `if`/`elseif` condition (which notes whether it was true or false).

    The lines are rebuilt from lua/ (to know which file each comes from) and must join
    to exactly the source engine/scripts.py registers; a difference stops the run.
    """
    located = list(source_lines(name))
    lines = [text for _, _, text in located]
    if "\n".join(lines).rstrip("\n") != source.rstrip("\n"):
        raise RuntimeError(f"{name}.lua: the inlined source is not the one registered")
    for index in condition_lines(lines):
        file, number, text = located[index]
        start = re.match(r"\s*(?:if|elseif)\s", text).end()
        then_index, then_column = next_then(lines, index, start)
        closing = lines[then_index]
        lines[then_index] = f"{closing[:then_column]})) {closing[then_column:]}"
        text = lines[index]
        lines[index] = f"{text[:start]}__br('{file}:{number}', ({text[start:]}"
    for index in statement_lines(lines):
        file, number, _ = located[index]
        lines[index] = f"__cov('{file}:{number}'); {lines[index]}"
    return "\n".join([*PROLOGUE, *lines, *EPILOGUE]) + "\n"


# The instrumented script: the lines it runs are noted, and written once when it returns.
PROLOGUE = [
    "local __hits = {}",
    "local function __cov(line) __hits[line] = true end",
    "local function __br(at, value)",
    "  __hits[at .. (value and ':T' or ':F')] = true",
    "  return value",
    "end",
    "local function __main()",
]
EPILOGUE = [
    "end",
    "local function __record(...)",
    "  local fields = {}",
    "  for line in pairs(__hits) do",
    "    fields[#fields + 1] = line",
    "    fields[#fields + 1] = 1",
    "  end",
    "  if #fields > 0 then",
    f"    redis.call('HSET', '{COVERAGE_KEY}', unpack(fields))",
    "  end",
    "  return ...",
    "end",
    "return __record(__main())",
]


def all_points() -> dict[str, set[str]]:
    """File -> what can be reached in it, over every registered script: each statement
    line ("57") and both outcomes of each condition ("72:T", "72:F")."""
    from engine.scripts import SCRIPTS

    points: dict[str, set[str]] = {}
    for name in SCRIPTS:
        located = list(source_lines(name))
        lines = [text for _, _, text in located]
        for index in statement_lines(lines):
            file, number, _ = located[index]
            points.setdefault(file, set()).add(str(number))
        for index in condition_lines(lines):
            file, number, _ = located[index]
            points[file].update({f"{number}:T", f"{number}:F"})
    return points


# The pytest plugin ----------------------------------------------------------------------

_hits: set[str] = set()


def _harvest(client) -> None:
    _hits.update(field.decode() for field in client.hkeys(COVERAGE_KEY))


def pytest_configure(config) -> None:
    import fakeredis
    import redis

    flushdb = redis.Redis.flushdb

    def harvesting_flushdb(self, *args, **kwargs):
        _harvest(self)
        return flushdb(self, *args, **kwargs)

    redis.Redis.flushdb = harvesting_flushdb
    servers = []
    server_init = fakeredis.FakeServer.__init__

    def tracked_init(self, *args, **kwargs):
        server_init(self, *args, **kwargs)
        servers.append(self)

    fakeredis.FakeServer.__init__ = tracked_init
    config._lua_coverage_servers = servers


def pytest_sessionfinish(session) -> None:
    import fakeredis

    from tests import conftest

    for server in session.config._lua_coverage_servers:
        for database in range(16):
            _harvest(fakeredis.FakeRedis(server=server, db=database))
    if conftest._leased_database is not None:  # the run used the real server
        import redis

        _harvest(redis.Redis.from_url(conftest.real_redis_url()))
    Path(os.environ[HITS_FILE_ENV]).write_text(json.dumps(sorted(_hits)))


# The report ------------------------------------------------------------------------------


def report(hits: set[str]) -> dict[str, dict]:
    """File -> statements and condition outcomes: reached, total, and the unreached ones."""
    figures = {}
    for file, points in sorted(all_points().items()):
        unreached = {point for point in points if f"{file}:{point}" not in hits}
        figures[file] = {
            kind: {
                "reached": len(of_kind) - len(of_kind & unreached),
                "total": len(of_kind),
                "unreached": sorted(of_kind & unreached, key=lambda p: (int(p.split(":")[0]), p)),
            }
            for kind, of_kind in (
                ("lines", {p for p in points if ":" not in p}),
                ("branches", {p for p in points if ":" in p}),
            )
        }
    return figures


def print_report(figures: dict[str, dict]) -> None:
    """One line per file: lines and branches reached / total, then what was not reached."""
    totals = {"lines": [0, 0], "branches": [0, 0]}
    print(f"{'file':30} {'lines':>9} {'branches':>9}  unreached (line, or line:T/F outcome)")
    for file, figure in figures.items():
        counts = []
        for kind in ("lines", "branches"):
            totals[kind][0] += figure[kind]["reached"]
            totals[kind][1] += figure[kind]["total"]
            counts.append(f"{figure[kind]['reached']:>4}/{figure[kind]['total']:<4}")
        unreached = figure["lines"]["unreached"] + figure["branches"]["unreached"]
        print(f"{file:30} {counts[0]} {counts[1]}  {', '.join(unreached) or '-'}")
    lines, branches = totals["lines"], totals["branches"]
    print(
        f"{'all':30} {lines[0]:>4}/{lines[1]:<4} {branches[0]:>4}/{branches[1]:<4}  "
        f"({100 * lines[0] / lines[1]:.1f}% of lines, {100 * branches[0] / branches[1]:.1f}%"
        " of branches)"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--hits", help="report on this file of a previous run; run nothing")
    options, pytest_args = parser.parse_known_args(argv)
    if options.hits:
        hits_file, returncode = Path(options.hits), 0
    else:
        hits_file = ROOT / "var" / "lua-coverage-hits.json"
        hits_file.parent.mkdir(exist_ok=True)
        env = dict(
            os.environ,
            QUESTBOARD_LUA_TRANSFORM="scripts.lua_coverage:instrument",
            PYTHONPATH=str(ROOT),
            **{HITS_FILE_ENV: str(hits_file)},
        )
        command = [sys.executable, "-m", "pytest", "-p", "scripts.lua_coverage", "-q"]
        tests = subprocess.run([*command, "-p", "no:cacheprovider", *pytest_args], env=env)
        returncode = tests.returncode
    figures = report(set(json.loads(hits_file.read_text())))
    print_report(figures)
    if options.json:
        Path(options.json).write_text(json.dumps(figures, indent=2) + "\n")
    return returncode


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main(sys.argv[1:]))
