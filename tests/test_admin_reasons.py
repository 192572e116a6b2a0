"""A ban's or a grant's reason is one readable line: refused with a clear error when it
holds a control character (a terminal escape, a NUL, a line break) or is blank, over
the API and in the CLI, and kept as written otherwise."""

from __future__ import annotations

import pytest

from engine.security import bans
from tests.cli_harness import engine_of as engine_of  # a fixture: its own name
from tests.cli_harness import questboard as questboard  # a fixture: its own name
from tests.conftest import error_of

UNREADABLE = [
    "\x1b[2J\x1b[31mcleared your screen",  # ESC: a terminal escape in `bans list`
    "line one\nline two",
    "tab\there",
    "nul\x00byte",
    "del\x7f",
    "c1 \x85 next line",
    "   ",
    "",
    "x" * 201,
]
READABLE = ["bot", "card testing on 203.0.113.0/24", "Betrug: Konto gesperrt 🚫", "x" * 200]


@pytest.mark.parametrize("reason", UNREADABLE)
def test_a_ban_with_an_unreadable_reason_is_refused(client, admin_headers, reason):
    for path, body in (
        ("/v1/admin/player-bans", {"player_id": "mallory", "reason": reason}),
        ("/v1/admin/bans", {"ip": "203.0.113.7", "reason": reason}),
    ):
        response = client.post(path, headers=admin_headers, json=body)
        assert response.status_code == 400, (path, response.get_json())
        assert set(error_of(response)["details"]) == {"reason"}
    listed = client.get("/v1/admin/player-bans", headers=admin_headers).get_json()
    assert listed["bans"] == []


@pytest.mark.parametrize("reason", UNREADABLE)
def test_a_grant_with_an_unreadable_reason_is_refused(client, admin_headers, reason):
    response = client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "g1"},
        json={"resources": {"coins": 5}, "reason": reason},
    )
    assert response.status_code == 400, response.get_json()
    assert set(error_of(response)["details"]) == {"reason"}
    wallet = client.get("/v1/players/alice/wallet", headers=admin_headers).get_json()
    assert wallet["balances"]["coins"] == 0


@pytest.mark.parametrize("reason", READABLE)
def test_a_readable_reason_is_kept_as_written(client, admin_headers, reason):
    response = client.post(
        "/v1/admin/player-bans",
        headers=admin_headers,
        json={"player_id": "mallory", "reason": reason},
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["reason"] == reason
    granted = client.post(
        "/v1/admin/players/alice/grants",
        headers=admin_headers | {"Idempotency-Key": "g1"},
        json={"resources": {"coins": 5}, "reason": reason},
    )
    assert granted.status_code == 201, granted.get_json()


@pytest.mark.parametrize("reason", ["\x1b[2Jcleared", "two\nlines", "  "])
def test_the_cli_refuses_an_unreadable_reason_in_one_line(questboard, engine_of, reason):
    code, out, err = questboard("bans", "create", "--player", "mallory", "--reason", reason)
    assert (code, out) == (2, "")
    assert err.startswith("questboard: The reason is not valid: One line of 1 to 200")
    assert err.count("\n") == 1
    assert bans.listing(engine_of, "player") == []
