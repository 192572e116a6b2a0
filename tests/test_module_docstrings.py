"""Module docstrings that tell the path: route → engine function → Lua file.

Each web module's docstring starts with its routes and names each route it registers
(compared with the app's URL rules); every engine name and Lua file a docstring names
exists, so the path a reader follows is the path the code takes.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEB_MODULES = sorted(path.stem for path in (ROOT / "web").glob("*.py"))
# The engine modules whose docstrings carry a path down to Lua.
ENGINE_PATH_MODULES = [
    "engine.economy.transactions",
    "engine.economy.activity",
    "engine.economy.purchases",
]
LUA_FILE = re.compile(r"\blua/(?:include/)?[a-z_]+\.lua\b")
INCLUDES = re.compile(r"\b(lua/[a-z_]+\.lua)\s+\(\+\s+includes\s+([a-z_,\s]+)\)")
DOTTED_NAME = re.compile(r"\b(?:engine|jobs|web)(?:\.[A-Za-z_]\w*)+")
ROUTE = re.compile(r"`(GET|POST|PUT|DELETE|PATCH) (/[^`]*)`")


def docstring_of(module_name: str) -> str:
    path = ROOT / (module_name.replace(".", "/") + ".py")
    return ast.get_docstring(ast.parse(path.read_text())) or ""


def registered_routes(app) -> dict[str, set[str]]:
    """web module -> its routes as `METHOD /path/{param}`, from the app's URL rules."""
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        module = app.view_functions[rule.endpoint].__module__
        if not module.startswith("web."):
            continue  # flask-smorest's spec and docs, rq-dashboard, Flask's static files
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.setdefault(module, set()).add(f"{method} {path}")
    return routes


def resolves(dotted: str) -> bool:
    """Whether `a.b.c.name` is a module, or an attribute of the longest module prefix."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def test_every_web_module_docstring_starts_with_and_names_each_route_it_registers(app):
    routes = registered_routes(app)

    assert {"web.purchases", "web.bans", "web.monitoring", "web.api"} <= set(routes)
    for module, module_routes in routes.items():
        docstring = docstring_of(module)
        named = {f"{method} {path}" for method, path in ROUTE.findall(docstring)}
        assert module_routes <= named, (module, sorted(module_routes - named))
        assert named <= module_routes, (module, sorted(named - module_routes))
        assert ROUTE.match(docstring), f"{module}'s docstring does not start with its route"


@pytest.mark.parametrize("module", [f"web.{name}" for name in WEB_MODULES] + ENGINE_PATH_MODULES)
def test_every_lua_file_and_engine_name_a_path_docstring_names_exists(module):
    docstring = docstring_of(module)

    for lua_file in LUA_FILE.findall(docstring):
        assert (ROOT / lua_file).is_file(), (module, lua_file)
    for script, names in INCLUDES.findall(docstring):
        included = set(re.findall(r'--- @include "([a-z_]+)"', (ROOT / script).read_text()))
        for name in (name.strip() for name in names.split(",")):
            assert name in included, (module, script, name)
            assert (ROOT / "lua" / "include" / f"{name}.lua").is_file(), (module, name)
    for dotted in DOTTED_NAME.findall(docstring):
        assert resolves(dotted.rstrip(".")), (module, dotted)


def test_a_purchase_is_followed_from_its_route_to_the_lua_that_debits_the_wallet():
    web_path = " ".join(docstring_of("web.purchases").split())
    assert web_path.startswith(
        "`POST /v1/players/{player_id}/purchases` → engine.economy.purchases.purchase →"
        " engine.economy.activity.record → lua/record_activity.lua"
    )
    assert "engine.economy.activity.record" in docstring_of("engine.economy.purchases")
    assert "lua/record_activity.lua" in docstring_of("engine.economy.activity")
    assert '--- @include "wallet"' in (ROOT / "lua/record_activity.lua").read_text()


def test_the_transactions_docstring_names_every_lua_script_that_writes_a_balance():
    docstring = docstring_of("engine.economy.transactions")
    writers = {
        path.name
        for path in (ROOT / "lua").glob("*.lua")
        if '--- @include "wallet"' in path.read_text()
    }

    assert writers == {
        "apply_transaction.lua",
        "record_activity.lua",
        "record_exams.lua",
        "repair_streak.lua",
    }
    for writer in writers:
        assert f"lua/{writer}" in docstring, writer


def test_the_architecture_page_is_linked_and_names_only_files_and_names_that_exist():
    page = (ROOT / "docs/architecture.md").read_text()

    assert "(docs/architecture.md)" in (ROOT / "README.md").read_text()
    files = set(re.findall(r"\b(?:web|engine|jobs|lua|tests)/[\w/]+\.(?:py|lua)\b", page))
    assert {"web/errors.py", "lua/record_activity.lua", "engine/economy/transactions.py"} <= files
    for path in files:
        assert (ROOT / path).is_file(), path
    for dotted in DOTTED_NAME.findall(page):
        assert resolves(dotted.rstrip(".")), dotted
    packages = {"rules", "core", "economy", "boards", "progression", "security", "ops"}
    assert all(f"{package}/" in page or package == "core" for package in packages)
