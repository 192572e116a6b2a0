"""Write a benchmark's section of docs/benchmarks.md, between its own markers."""

from __future__ import annotations

import platform
import re
from datetime import UTC, datetime
from pathlib import Path

VERDICT = {True: "met", False: "NOT met"}
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Each section is written by its benchmark; rerun the command it names to refresh it.
Numbers from one run on one machine: compare the rows of a section with each other
(they were measured side by side), not with another machine.
"""


def table(columns: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def write_section(name: str, body: str) -> None:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = f"{begin}\n{body.strip()}\n\n_Measured {stamp} on {machine()}._\n{end}"
    text = DOC.read_text() if DOC.exists() else HEADER
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else f"{text}\n{block}\n"
    DOC.write_text(text)
