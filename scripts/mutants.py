"""The mutation check: break the code on purpose and make sure the tests notice.

Each mutant in `tests/mutants.py` is a named set of text replacements that removes a
guarantee the engine gives (a check moved out of its atomic step, a replay answered
in Python, an alert raised too often). For each mutant this script copies the
committed tree and the working changes to a scratch folder, applies the replacements,
runs the tests that should catch it, and expects them to fail. A mutant the tests
survive is a gap in the suite.

    make mutants                          # every mutant, 10 runs each
    .venv/bin/python scripts/mutants.py --runs 3 ad_cap_checked_in_python

The exit code is 0 only when every mutant was caught in every run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.mutants import MUTANTS, Mutant  # noqa: E402

COPIED = ("config.py", "rules.toml", "pyproject.toml", "alembic.ini", "migrations", "bench", "cli")
COPIED += ("engine", "web", "jobs", "lua", "tests", "scripts")


def scratch_copy(mutant: Mutant) -> Path:
    """A copy of the project's code with the mutant's replacements applied."""
    folder = Path(tempfile.mkdtemp(prefix=f"mutant-{mutant.name}-"))
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, folder / name)
    for replacement in mutant.replacements:
        path = folder / replacement.path
        text = path.read_text()
        found = text.count(replacement.old)
        if found != 1:
            raise SystemExit(
                f"{mutant.name}: expected the text to replace once in {replacement.path}, "
                f"found it {found} times; update tests/mutants.py to today's code"
            )
        path.write_text(text.replace(replacement.old, replacement.new))
    return folder


def run_tests(folder: Path, tests: list[str] | tuple[str, ...]) -> tuple[int, str]:
    """The test run's exit code and the first test it reports failed ('' if none)."""
    command = [
        str(ROOT / ".venv/bin/python"),
        "-m",
        "pytest",
        "-q",
        "-x",
        "-p",
        "no:cacheprovider",
        *tests,
    ]
    env = dict(os.environ, PYTHONPATH=str(folder), PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED ")]
    return done.returncode, failed[0].split(" ", 2)[1] if failed else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--runs", type=int, default=10, help="test runs per mutant")
    options = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if not options.names or m.name in options.names]
    unknown = set(options.names) - {m.name for m in MUTANTS}
    if unknown:
        print(f"unknown mutants: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2

    tests = sorted({test for mutant in chosen for test in mutant.tests})
    unchanged = scratch_copy(Mutant("unchanged", (), tuple(tests)))
    try:
        if run_tests(unchanged, tests)[0] != 0:
            print("the tests fail on the unchanged code: fix that first", file=sys.stderr)
            return 2
    finally:
        shutil.rmtree(unchanged, ignore_errors=True)
    survived = 0
    print(f"{'mutant':48} caught  seconds  first test that failed")
    for mutant in chosen:
        folder = scratch_copy(mutant)
        started = time.monotonic()
        try:
            runs = [run_tests(folder, mutant.tests) for _ in range(options.runs)]
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        codes = [code for code, _ in runs]
        if any(code not in (0, 1) for code in codes):
            print(f"{mutant.name}: the tests could not run (exit codes {codes})", file=sys.stderr)
            return 2
        caught = sum(code == 1 for code in codes)
        survived += caught < options.runs
        elapsed = time.monotonic() - started
        first = next((test for _, test in runs if test), "")
        print(f"{mutant.name:48} {caught:>2}/{options.runs:<2} {elapsed:8.1f}  {first}")
    print(f"command: .venv/bin/python scripts/mutants.py --runs {options.runs}")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
