"""The README's curl examples, pasted in order, answer what the README shows.

Every `curl` line in a ```sh block of the README runs, in the order it appears,
against one app (the clock at the README's moment, 2026-11-25 12:00 UTC, a new
store), with `$QB`, `$KEY` and `$ADMIN` as the README sets them. The `# ...` lines
after a command are its shown answer: an optional status, then JSON in which `...`
stands for any value, more keys of an object, or more items of a list. An example
without a shown answer must still succeed (a status below 400).

A block marked QA_MARK needs a QA deployment's clock moved (ALLOW_CLOCK_OVERRIDE): the
first test leaves it out; the second runs every example again up to the last marked
block, with the clock override on and each `.venv/bin/questboard` line of a marked block
run through the CLI on the same store, SQL and clock.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cli.main import main as cli_main
from engine import keys
from engine.clock import FixedClock, RedisOffsetClock
from tests.conftest import ADMIN_KEY, SERVER_KEY
from web import create_app

README = Path(__file__).resolve().parent.parent / "README.md"
README_MOMENT = datetime(2026, 11, 25, 12, tzinfo=UTC)  # the app's clock in the examples
ANY = "\u2026any"
SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)
SHOWN_STATUS = re.compile(r"^(\d{3})\b\s*")
QA_MARK = "<!-- readme test: qa clock -->"  # the block after it needs the clock moved
CLI = ".venv/bin/questboard "


@dataclass
class Example:
    line: int
    command: str
    shown: str
    qa: bool = False  # in a block marked QA_MARK


def examples(text: str, qa: bool = False) -> list[Example]:
    """The README's commands in order: its curl lines; with `qa`, also the blocks marked
    QA_MARK (a QA deployment's clock moved) and their `questboard` lines."""
    found: list[Example] = []
    commands = ("curl ", CLI) if qa else ("curl ",)
    for block in SH_BLOCK.finditer(text):
        marked = text[: block.start()].rstrip().endswith(QA_MARK)
        if marked and not qa:
            continue
        first_line = text.count("\n", 0, block.start(1)) + 1
        lines = block.group(1).split("\n")
        n = 0
        while n < len(lines):
            line = lines[n]
            if not line.startswith(commands):
                n += 1
                continue
            start = n
            command = line
            while command.endswith("\\") or not _complete(command):
                n += 1
                command = command.removesuffix("\\") + " " + lines[n].strip()
            n += 1
            shown = []
            while n < len(lines) and lines[n].startswith("#"):
                shown.append(lines[n][1:].strip())
                n += 1
            found.append(Example(first_line + start, command, " ".join(shown), marked))
    return found


def _complete(command: str) -> bool:
    """Whether a command's quotes are closed (a quoted body may span lines); a `#`
    comment after it is the shell's comment, its apostrophes no quotes."""
    try:
        shlex.split(command, comments=True)
    except ValueError:
        return False
    return True


def request_of(command: str) -> tuple[str, str, dict[str, str], str | None]:
    """Method, path, headers and body of a curl command line."""
    command = command.replace("$QB", "").replace("$KEY", SERVER_KEY).replace("$ADMIN", ADMIN_KEY)
    words = shlex.split(command)[1:]
    method, headers, body, url = None, {}, None, None
    n = 0
    while n < len(words):
        word = words[n]
        if word in ("-X", "--request"):
            method = words[n + 1]
            n += 2
        elif word in ("-H", "--header"):
            name, _, value = words[n + 1].partition(":")
            headers[name.strip()] = value.strip()
            n += 2
        elif word in ("-d", "--data"):
            body = words[n + 1]
            n += 2
        elif word.startswith("-"):
            n += 1
        else:
            url = word
            n += 1
    assert url is not None, command
    return method or ("POST" if body is not None else "GET"), url, headers, body


def expected_of(shown: str) -> tuple[int | None, Any]:
    """The shown status (or None) and the shown JSON with `...` as ANY markers."""
    status = None
    match = SHOWN_STATUS.match(shown)
    if match:
        status, shown = int(match.group(1)), shown[match.end() :]
    if not shown:
        return status, None
    return status, json.loads(_mark_ellipses(shown))


def _mark_ellipses(text: str) -> str:
    """Turn each `...` outside a string into a marker valid where it stands."""
    out: list[str] = []
    stack: list[str] = []
    n = 0
    in_string = False
    while n < len(text):
        char = text[n]
        if in_string:
            out.append(char)
            if char == "\\":
                out.append(text[n + 1])
                n += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("...", n):
            before = "".join(out).rstrip()
            if before.endswith(":") or not stack or stack[-1] == "[":
                out.append(json.dumps(ANY))
            else:
                out.append(f"{json.dumps(ANY)}: {json.dumps(ANY)}")
            n += 3
            continue
        else:
            if char in "{[":
                stack.append(char)
            elif char in "}]":
                stack.pop()
            out.append(char)
        n += 1
    return "".join(out)


def mismatches(expected: Any, actual: Any, where: str = "") -> list[str]:
    if expected in (ANY, "..."):
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where or '.'}: shown an object, got {actual!r}"]
        found = []
        for key, value in expected.items():
            if key == ANY:
                continue
            if key not in actual:
                found.append(f"{where}.{key}: shown, but not in the answer")
            else:
                found += mismatches(value, actual[key], f"{where}.{key}")
        if ANY not in expected:
            unshown = sorted(actual.keys() - expected)
            found += [f"{where}.{key}: in the answer, not shown" for key in unshown]
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: shown a list, got {actual!r}"]
        shown = [item for item in expected if item != ANY]
        if ANY not in expected and len(shown) != len(actual):
            return [f"{where}: shown {len(shown)} items, got {len(actual)}"]
        if len(actual) < len(shown):
            return [f"{where}: shown at least {len(shown)} items, got {len(actual)}"]
        found = []
        for n, item in enumerate(shown):
            found += mismatches(item, actual[n], f"{where}[{n}]")
        return found
    if isinstance(expected, float) or isinstance(actual, float):
        return [] if abs(float(expected) - float(actual)) < 1e-9 else [f"{where}: {actual!r}"]
    return [] if expected == actual else [f"{where}: shown {expected!r}, got {actual!r}"]


def test_the_shown_answer_syntax_is_understood():
    status, shown = expected_of('201 {"a": 1, "b": [{"c": "..."}, ...], ...}')
    assert status == 201
    assert mismatches(shown, {"a": 1, "b": [{"c": 5}, {"d": 1}], "e": 2}) == []
    assert mismatches(shown, {"a": 2, "b": []}) == [
        ".a: shown 1, got 2",
        ".b: shown at least 1 items, got 0",
    ]
    assert mismatches(expected_of('{"a": 1}')[1], {"a": 1, "z": 0}) == [
        ".z: in the answer, not shown"
    ]


@pytest.mark.app_on_both_backends  # and the cluster: every example on each
def test_the_readme_examples_answer_what_the_readme_shows(client):
    found = examples(README.read_text())
    assert len(found) >= 15
    problems = []
    for example in found:
        problems += run_example(client, example)
    assert not problems, "\n".join(problems)


def run_example(client, example: Example) -> list[str]:
    """What differs between the example's shown answer and the app's."""
    method, path, headers, body = request_of(example.command)
    response = client.open(path, method=method, headers=headers, data=body)
    where = f"README.md:{example.line} {method} {path}"
    try:
        status, shown = expected_of(example.shown)
    except json.JSONDecodeError as error:
        return [f"{where}: the shown answer is not JSON with `...`: {error}"]
    problems = []
    if status is not None and response.status_code != status:
        problems.append(f"{where}: status {response.status_code}, shown {status}")
    elif status is None and response.status_code >= 400:
        problems.append(f"{where}: status {response.status_code} {response.get_data()!r}")
    if shown is not None:
        problems += [f"{where}: {p}" for p in mismatches(shown, response.get_json())]
    return problems


def readme_toml(starting: str) -> str:
    """The README's ```toml block that starts with `starting`."""
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(), re.DOTALL)
    return next(block for block in blocks if block.startswith(starting))


def test_the_readme_qa_walkthrough_answers_what_it_shows(settings, store, tmp_path):
    """Every example again, then the blocks marked QA_MARK: the QA clock moved over
    missed days and past the week's end, the `questboard` jobs run as pasted, on the
    rules plus the README's board prizes."""
    rules = tmp_path / "rules.toml"
    rules.write_text(
        settings.rules_file.read_text() + "\n" + readme_toml("[leaderboards.prizes.weekly]")
    )
    settings = dataclasses.replace(settings, allow_clock_override=True, rules_file=rules)
    clock = RedisOffsetClock(store, keys.clock_offset(), base=FixedClock(README_MOMENT))
    client = create_app(settings, redis_client=store, clock=clock).test_client()
    env = {
        "DATABASE_URL": settings.database_url,
        "RULES_FILE": str(rules),
        "ALLOW_CLOCK_OVERRIDE": "true",
        "REDIS_URL": settings.redis_url,
    }
    found = examples(README.read_text(), qa=True)
    last = max(n for n, example in enumerate(found) if example.qa)
    found = found[: last + 1]  # the examples after it expect the README's moment
    assert any(example.command.startswith(CLI) for example in found)
    problems = []
    for example in found:
        if not example.command.startswith(CLI):
            problems += run_example(client, example)
            continue
        out, err = io.StringIO(), io.StringIO()
        argv = shlex.split(example.command)[1:]
        code = cli_main(argv, env=env, redis_client=store, clock=clock, out=out, err=err)
        if code != 0:
            problems.append(
                f"README.md:{example.line} {example.command}: exit {code} {err.getvalue()}"
            )
    assert not problems, "\n".join(problems)
