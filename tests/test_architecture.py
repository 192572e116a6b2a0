"""The layering and the Lua contract, checked on the source itself."""

from __future__ import annotations

import ast
import functools
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


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "engine").rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT / "engine")),
)
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


# Includes are functions with parameters: each reads only what it is given, what it
# defines, and what the includes it names on its "Needs:" line define. The check is
# static and coarse: it tokenises the Lua (comments and strings dropped), takes every
# name that is not a field (after "." or ":") nor a table key ("name =" directly inside
# braces) as a read, and every name declared anywhere in the file (local, function,
# parameter, for variable) as defined, whatever its scope. So it catches a read of a
# caller's local, of KEYS or ARGV, or of another include's function not declared as
# needed; it does not catch a name read outside the block that declares it.
LUA_TOKEN = re.compile(
    r"""--\[\[.*?\]\]|--[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|\[\[.*?\]\]"""
    r"|[A-Za-z_][A-Za-z0-9_]*|==|~=|<=|>=|\.\.\.|\.\.|\d[\d.]*|\S",
    re.DOTALL,
)
LUA_KEYWORDS = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
}  # fmt: skip
LUA_GLOBALS = {  # what Redis's Lua offers every script (KEYS and ARGV left out on purpose)
    "redis", "cjson", "cmsgpack", "bit", "struct", "string", "table", "math", "tonumber",
    "tostring", "type", "pairs", "ipairs", "unpack", "select", "error", "pcall", "next",
    "assert", "setmetatable", "getmetatable", "rawget", "rawset", "rawequal", "xpcall",
}  # fmt: skip
NEEDS = re.compile(r"^Needs: (.*)\.$", re.MULTILINE)


def lua_names(source: str) -> tuple[set[str], set[str]]:
    """(names defined, names read) of a Lua file, as described above."""
    tokens = [t for t in LUA_TOKEN.findall(source) if not t.startswith(("--", '"', "'", "[["))]
    defined: set[str] = set()
    read: set[str] = set()
    brackets: list[str] = []
    declaring = False  # inside "local a, b" or a parameter list or "for a, b"
    for i, token in enumerate(tokens):
        before = tokens[i - 1] if i else ""
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in "({[":
            brackets.append(token)
        elif token in ")}]":
            brackets.pop()
        if token in ("local", "for") or (token == "(" and before_function(tokens, i)):
            declaring = True
            continue
        if declaring and token not in (",", "function") and not is_name(token):
            declaring = False
        if not is_name(token) or token in LUA_KEYWORDS:
            continue
        if before in (".", ":"):
            continue  # a field
        if after == "=" and brackets and brackets[-1] == "{":
            continue  # a table key
        if declaring or before == "function":
            defined.add(token)
        else:
            read.add(token)
    return defined, read


def before_function(tokens: list[str], i: int) -> bool:
    """Whether the "(" at i opens a function's parameter list."""
    return tokens[i - 1] == "function" or (i >= 2 and tokens[i - 2] == "function")


def is_name(token: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token) is not None


def include_needs(path: Path) -> list[str]:
    needs = NEEDS.search(path.read_text().split("]]", 1)[0])
    assert needs, f"{path.name} names what it needs: 'Needs: a, b.' or 'Needs: nothing.'"
    return [] if needs[1] == "nothing" else [name.strip() for name in needs[1].split(",")]


@pytest.mark.parametrize("path", INCLUDES, ids=lambda p: p.name)
def test_an_include_reads_only_its_parameters_its_own_names_and_what_it_needs(path):
    defined, read = lua_names(path.read_text())
    for needed in include_needs(path):
        defined |= lua_names((LUA_DIR / "include" / f"{needed}.lua").read_text())[0]
    assert read - defined - LUA_GLOBALS == set()


def test_the_free_name_check_sees_a_callers_local_keys_and_argv():
    _, read = lua_names(
        "local function f(a)\n  return a + WALLET .. KEYS[1] .. ARGV[2] .. t.x .. {y = 1}\nend"
    )
    assert read - LUA_GLOBALS == {"a", "WALLET", "KEYS", "ARGV", "t"}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_a_script_includes_what_each_include_needs_before_it(name):
    included = re.findall(
        r'^--- @include "([a-z_]+)"$', (LUA_DIR / f"{name}.lua").read_text(), re.MULTILINE
    )
    for position, include in enumerate(included):
        missing = set(include_needs(LUA_DIR / "include" / f"{include}.lua"))
        assert missing <= set(included[:position]), f"{include} needs {missing}"


@pytest.mark.parametrize("player", ["alice", "bob.smith", "p:42", "Z-9_x"])
def test_a_players_keys_share_one_hash_slot(player):
    player_keys = [
        keys.wallet(player),
        keys.ledger(player),
        keys.player_outbox(player),
        keys.idempotency(player, "purchase", "any-key/with:odd{chars}"),
    ]
    assert len({key_slot(key.encode()) for key in player_keys}) == 1


@pytest.mark.parametrize("count", [16, keys.DEFAULT_PLAYER_SHARDS])
def test_players_spread_over_every_shard(player_shards, count):
    player_shards(count)
    shards = {keys.shard_of(f"player-{n}") for n in range(20 * count)}
    assert shards == set(range(count))


# Packages ---------------------------------------------------------------------------

ENGINE = ROOT / "engine"
PACKAGES = sorted(p.name for p in ENGINE.iterdir() if (p / "__init__.py").exists())
DEPENDS_ON = re.compile(r"^Depends on: (.*)\.$", re.MULTILINE)


def package_of(module: str) -> str | None:
    """The engine package a dotted module belongs to: a sub-package, or 'core'."""
    parts = module.split(".")
    if parts[0] != "engine":
        return None
    if len(parts) > 1 and parts[1] in PACKAGES:
        return parts[1]
    return "core"


@functools.cache
def engine_imports(path: Path) -> frozenset[str]:
    """The engine modules and packages a file imports (absolute imports only). Parsed once
    a run: the package graph of each package's test and the key-name check read the same
    files."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("engine")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "engine":
                found |= {f"engine.{alias.name}" for alias in node.names}
            elif node.module.startswith("engine."):
                found.add(node.module)
    return frozenset(found)


def package_graph() -> dict[str, set[str]]:
    """Package -> the other packages its modules import."""
    graph: dict[str, set[str]] = {name: set() for name in [*PACKAGES, "core"]}
    for path in ENGINE.rglob("*.py"):
        dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        own = package_of(dotted)
        for module in engine_imports(path):
            other = package_of(module)
            if module == "engine" or other is None or other == own:
                continue
            graph[own].add(other)
    return graph


def declared_dependencies(package: str) -> set[str]:
    init = ENGINE / "__init__.py" if package == "core" else ENGINE / package / "__init__.py"
    docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
    match = DEPENDS_ON.search(docstring)
    assert match, f"{init.relative_to(ROOT)}: its docstring has no 'Depends on: ...' line"
    listed = {name.strip() for name in match.group(1).split(",")}
    return set() if listed == {"nothing"} else listed


def test_the_engine_is_split_into_packages_by_domain():
    assert PACKAGES == [
        "boards",
        "economy",
        "leagues",
        "ops",
        "progression",
        "rules",
        "security",
        "webhooks",
    ]


@pytest.mark.parametrize("package", [*PACKAGES, "core"])
def test_each_package_depends_only_on_what_its_docstring_lists(package):
    assert package_graph()[package] <= declared_dependencies(package)


def test_the_package_graph_has_no_cycle():
    graph = package_graph()
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(package: str, path: list[str]) -> None:
        assert package not in visiting, " -> ".join([*path, package])
        if package in done:
            return
        visiting.add(package)
        for other in sorted(graph[package]):
            visit(other, [*path, package])
        visiting.remove(package)
        done.add(package)

    for package in graph:
        visit(package, [])


def test_key_names_are_imported_from_engine_keys_alone():
    """engine.keys re-exports its domain modules (engine.keys_*); the rest of the code
    imports the key functions from engine.keys, so there is one place to find them."""
    importers = set()
    folders = [p for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")]
    for path in [*ROOT.glob("*.py"), *(f for d in folders for f in d.rglob("*.py"))]:
        if path.parent == ENGINE and path.name.startswith("keys"):
            continue
        if any(module.startswith("engine.keys_") for module in engine_imports(path)):
            importers.add(str(path.relative_to(ROOT)))
    assert importers == set()
    for name, value in vars(keys).items():
        if callable(value) and not name.startswith("_") and hasattr(value, "__module__"):
            assert value.__module__.startswith("engine.keys"), name
