"""The Python client package's typing: mypy --strict passes."""

from __future__ import annotations

import subprocess
import sys

from tests.python_client.gate import CLIENT_PACKAGE


def test_the_client_package_passes_mypy_strict(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path),
            str(CLIENT_PACKAGE / "questboard_client"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=CLIENT_PACKAGE,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found")
