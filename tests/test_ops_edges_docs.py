"""What README tells an operator to run does what it says."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_readmes_standalone_job_dashboard_listens_on_this_machine_only():
    """rq-dashboard has no key of its own and binds 0.0.0.0 unless told otherwise."""
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"`(rq-dashboard --[^`]*)`", readme)

    assert commands
    assert all("--bind 127.0.0.1" in command for command in commands)
