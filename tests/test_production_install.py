"""A production install, `pip install -c constraints.txt .` without the dev extra, runs.

The Procfile's processes and `make run` may import only what such an install provides:
the standard library, the project's own modules, and the distributions that the
`[project] dependencies` of pyproject.toml require (with what those require in turn).
A module that only the `dev` extra brings (pytest, ruff, ...) works in the checkout's
`.venv`, which has every extra, and fails on the first production start.

The wheel that `pip install .` builds carries every module and data file the service
reads (engine's sub-packages, lua/, migrations/, alembic.ini, rules.toml) and the web
process's launcher: the Procfile's processes and the `questboard` command run from it,
in any folder, without the checkout. constraints.txt pins every package an install
brings, at the versions pyproject.toml names.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
APP_TARGET = re.compile(r"^([A-Za-z_][\w.]*):[A-Za-z_]\w*$")  # granian's `module:factory`
MAKE_RUN_SCRIPT = re.compile(r"python\S*\s+(\S+\.py)\b")


def project_dependencies() -> list[Requirement]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return [Requirement(line) for line in tomllib.load(file)["project"]["dependencies"]]


def required_distributions(requirements: list[Requirement]) -> set[str]:
    """Every distribution a production install brings: the requirements, their extras'
    requirements and theirs, as the installed metadata names them (markers evaluated)."""
    found: set[str] = set()
    seen: set[tuple[str, tuple[str, ...]]] = set()
    pending = [(requirement, ("",)) for requirement in requirements]
    while pending:
        requirement, extras = pending.pop()
        if requirement.marker is not None and not any(
            requirement.marker.evaluate({"extra": extra}) for extra in extras
        ):
            continue
        wanted = ("", *sorted(requirement.extras))
        name = canonicalize_name(requirement.name)
        if (name, wanted) in seen:
            continue
        seen.add((name, wanted))
        found.add(name)
        for line in metadata.requires(requirement.name) or []:
            pending.append((Requirement(line), wanted))
    return found


def test_constraints_pin_every_package_of_an_install_at_the_version_it_runs():
    """constraints.txt pins every distribution the dependencies and the dev extra bring,
    at the version the checkout's .venv runs; pyproject.toml pins the same versions."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        project = tomllib.load(file)["project"]
    requirements = [
        Requirement(line)
        for line in [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    ]
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    unpinned = {
        name: (pins.get(name), metadata.version(name))
        for name in required_distributions(requirements)
        if pins.get(name) != metadata.version(name)
    }
    assert unpinned == {}
    loose = [str(r) for r in requirements if [s.operator for s in r.specifier] != ["=="]]
    assert loose == []
    differing = [
        str(r)
        for r in requirements
        if next(iter(r.specifier)).version != pins[canonicalize_name(r.name)]
    ]
    assert differing == []


def procfile_modules() -> dict[str, set[str]]:
    """Each Procfile process's modules: `python -m <module>`, the `module:factory` it
    serves, or the module behind a console script (`rq worker` -> rq's)."""
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, command = line.partition(":")
        words = [word for word in shlex.split(command) if word != "exec"]
        modules = {match[1] for word in words if (match := APP_TARGET.match(word))}
        if words[:2] == ["python", "-m"]:
            modules.add(words[2])
        else:
            (script,) = metadata.entry_points(group="console_scripts", name=words[0])
            modules.add(script.module)
        processes[name.strip()] = modules
    return processes


def make_run_module() -> str:
    """The launcher `make run` starts (the Makefile's `run:` recipe), as a module."""
    recipe = re.search(r"^run:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert recipe, "the Makefile has a run target"
    script = MAKE_RUN_SCRIPT.search(recipe[1])
    assert script, recipe[1]
    return script[1].removesuffix(".py").replace("/", ".")


def import_failures(modules: set[str], absent: set[str]) -> dict[str, str]:
    """Import each module in a fresh interpreter started in the checkout (as a Procfile
    runner starts the processes), with the top-level names in `absent` made impossible
    to import, as in an install without their distributions: {module: its error}."""
    code = (
        "import importlib, json, sys\n"
        f"ABSENT = {sorted(absent)!r}\n"
        "class NotInstalled:\n"
        "    @staticmethod\n"
        "    def find_spec(name, path=None, target=None):\n"
        "        if name.partition('.')[0] in ABSENT:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NotInstalled)\n"
        "failures = {}\n"
        f"for name in {sorted(modules)!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as error:\n"
        "        failures[name] = str(error)\n"
        "print(json.dumps(failures))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_procfile_names_the_three_processes_and_their_modules():
    processes = procfile_modules()
    assert sorted(processes) == ["scheduler", "web", "worker"]
    assert {"scripts.shared_socket_granian", "web"} <= processes["web"]
    assert processes["scheduler"] == {"jobs.scheduler"}
    assert make_run_module() == "scripts.run"


def test_the_procfile_and_make_run_import_only_what_a_production_install_brings():
    with (ROOT / "pyproject.toml").open("rb") as file:
        project = canonicalize_name(tomllib.load(file)["project"]["name"])
    brought = required_distributions(project_dependencies()) | {project}
    absent = {
        name
        for name, owners in metadata.packages_distributions().items()
        if not {canonicalize_name(owner) for owner in owners} & brought
    }
    assert {"pytest", "ruff", "fakeredis"} <= absent  # the dev extra is not brought
    modules = set().union(*procfile_modules().values(), {make_run_module()})
    assert import_failures(modules, absent) == {}


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> Path:
    """The wheel `pip install .` builds, from a copy of the checkout (a build writes
    build/ and *.egg-info beside the sources), unpacked as site-packages would hold it."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".*", "var", "build", "*.egg-info", "__pycache__", "tests", "bench", "clients"
        ),
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", work, source],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = work.glob("questboard-*.whl")
    site = work / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def test_the_wheel_holds_every_module_of_the_service(installed_wheel):
    expected = {
        path.relative_to(ROOT).as_posix()
        for package in ("engine", "web", "jobs", "cli", "migrations")
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    held = {path.relative_to(installed_wheel).as_posix() for path in installed_wheel.rglob("*.py")}
    assert expected - held == set()


def test_the_wheel_holds_the_lua_scripts_rules_and_migrations(installed_wheel):
    data = [
        *(ROOT / "lua").rglob("*.lua"),
        ROOT / "rules.toml",
        ROOT / "alembic.ini",
        ROOT / "migrations" / "script.py.mako",
    ]
    missing = [
        path.relative_to(ROOT).as_posix()
        for path in data
        if not (installed_wheel / path.relative_to(ROOT)).is_file()
    ]
    assert missing == []


def test_the_installed_service_runs_the_procfile_loads_its_scripts_and_migrates(
    installed_wheel, tmp_path
):
    """In an interpreter that sees the unpacked wheel and the dependencies but not the
    checkout (the .venv's editable finder, which maps our packages to it, taken out),
    started outside it: every module the Procfile runs imports (its web launcher
    included, so the Procfile runs from any folder), every Lua script is read with its
    includes, the default rules load, and `questboard migrate` brings a new database to
    the current schema."""
    code = (
        "import importlib, sys\n"
        "sys.meta_path[:] = [finder for finder in sys.meta_path\n"
        "                    if not getattr(finder, '__module__', '').startswith('__editable__')]\n"
        f"sys.path.insert(0, {str(installed_wheel)!r})\n"
        f"for name in {sorted(set().union(*procfile_modules().values()))!r}:\n"
        "    importlib.import_module(name)\n"
        "for name in ('jobs.tasks', 'cli.main'):  # the worker's jobs, the command\n"
        "    importlib.import_module(name)\n"
        "import engine\n"
        f"assert engine.__file__.startswith({str(installed_wheel)!r}), engine.__file__\n"
        "from engine.scripts import SCRIPTS, registered_source\n"
        "for name in SCRIPTS:\n"
        "    registered_source(name)\n"
        "from config import Settings\n"
        "from engine.rules import load_rules\n"
        "load_rules(Settings.from_env().rules_file)\n"
        "from cli.main import main\n"
        "sys.exit(main(['migrate']))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'questboard.db'}"}
    done = subprocess.run(
        [sys.executable, "-I", "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert re.fullmatch(r"Created the database schema at revision [0-9]{4}\.\n", done.stdout)
