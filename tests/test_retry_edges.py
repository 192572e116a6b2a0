"""Retries as a game server or an admin sends them after a timeout: the answer to a
retry is the answer to the first request, and what the first request made is what
every later read shows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.clock import FixedClock

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis


@pytest.fixture
def clock():
    """A clock between two milliseconds, as a real one nearly always is."""
    return FixedClock(datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC))


@pytest.mark.parametrize(
    ("route", "target"),
    [("bans", {"ip": "192.0.2.0/24"}), ("player-bans", {"player_id": "mallory"})],
)
def test_a_ban_retried_after_a_timeout_answers_the_creation_time_the_first_answer_gave(
    client, admin_headers, route, target
):
    request = target | {"reason": "abuse", "expires_in_seconds": 600}
    first = client.post(f"/v1/admin/{route}", headers=admin_headers, json=request)
    retry = client.post(f"/v1/admin/{route}", headers=admin_headers, json=request)
    listed = client.get(f"/v1/admin/{route}", headers=admin_headers).get_json()["bans"]

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.get_json() == first.get_json()
    assert listed == [first.get_json()]
    assert first.get_json()["created_at"] == "2026-11-25T12:00:00.123000+00:00"
