"""A ledger cursor is read within the bound README gives for it, and refused past it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import error_of

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_digits() -> int:
    """How many digits README allows each part of a `before` cursor."""
    found = re.search(r"`<ms>-<seq>` with each part of 1 to (\d+) digits", README.read_text())
    assert found, "README names the cursor's bound"
    return int(found[1])


def test_a_cursor_of_the_longest_parts_readme_allows_is_read(client, server_headers):
    digits = "9" * readme_digits()
    response = client.get(
        "/v1/players/alice/ledger",
        headers=server_headers,
        query_string={"before": f"{digits}-{digits}"},
    )
    assert response.status_code == 200
    assert response.get_json()["entries"] == []


def test_a_cursor_one_digit_longer_is_a_400_naming_before(client, server_headers):
    digits = "1" + "0" * readme_digits()
    response = client.get(
        "/v1/players/alice/ledger", headers=server_headers, query_string={"before": f"{digits}-0"}
    )
    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["before"]
