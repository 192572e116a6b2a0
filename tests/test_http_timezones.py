"""A player's time zone over HTTP: PUT and GET /v1/players/{id}/settings, and the
login, daily and missions that then follow the player's own day."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine import db
from engine.progression import timezones
from tests.conftest import error_of

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis

SETTINGS = "/v1/players/alice/settings"


def put_zone(client, headers, timezone):
    return client.put(SETTINGS, headers=headers, json={"timezone": timezone})


def test_a_zone_is_set_read_and_cleared(client, server_headers):
    unset = client.get(SETTINGS, headers=server_headers)
    assert (unset.status_code, unset.get_json()) == (200, {"player_id": "alice", "timezone": None})
    for _ in range(2):  # a PUT again is the same PUT
        answer = put_zone(client, server_headers, "Asia/Tokyo")
        assert answer.status_code == 200
        assert answer.get_json() == {"player_id": "alice", "timezone": "Asia/Tokyo"}
    assert client.get(SETTINGS, headers=server_headers).get_json()["timezone"] == "Asia/Tokyo"
    cleared = put_zone(client, server_headers, None)
    assert cleared.get_json() == {"player_id": "alice", "timezone": None}
    assert client.get(SETTINGS, headers=server_headers).get_json()["timezone"] is None


def test_an_unknown_zone_is_422_and_keeps_the_zone(client, server_headers):
    put_zone(client, server_headers, "Asia/Tokyo")
    refused = put_zone(client, server_headers, "Mars/Olympus")
    assert refused.status_code == 422
    assert error_of(refused) == {
        "code": "unknown_timezone",
        "message": "'Mars/Olympus' is not a time zone.",
        "details": {"timezone": ["Must be an IANA time zone name, e.g. Asia/Tokyo."]},
    }
    assert client.get(SETTINGS, headers=server_headers).get_json()["timezone"] == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "timezone"), ({"timezone": 9}, "timezone"), ({"timezone": "UTC", "x": 1}, "x")],
)
def test_a_malformed_body_is_400(client, server_headers, body, field):
    refused = client.put(SETTINGS, headers=server_headers, json=body)
    assert refused.status_code == 400
    error = error_of(refused)
    assert error["code"] == "validation_error"
    assert field in error["details"]


def test_a_banned_player_cannot_change_or_read_their_settings(
    client, server_headers, admin_headers
):
    banned = client.post(
        "/v1/admin/player-bans",
        headers=admin_headers,
        json={"player_id": "alice", "reason": "test"},
    )
    assert banned.status_code == 201
    assert put_zone(client, server_headers, "Asia/Tokyo").status_code == 403
    assert client.get(SETTINGS, headers=server_headers).status_code == 403


def test_zone_changes_count_in_the_players_default_limit(app, client, server_headers):
    """A zone change is a player route without a group of its own: it counts in the
    player's `default` window (here 3 a minute), and one over it changes nothing."""
    engine = app.extensions["questboard.engine"]
    security = engine.rules.security
    tight = dataclasses.replace(security.rate_limits["default"], player="3/minute")
    engine.rules = dataclasses.replace(
        engine.rules,
        security=dataclasses.replace(
            security, rate_limits={**security.rate_limits, "default": tight}
        ),
    )
    zones = ["Asia/Tokyo", "America/Los_Angeles", "Asia/Tokyo", "America/Los_Angeles"]

    codes = [put_zone(client, server_headers, zone).status_code for zone in zones]

    assert codes == [200, 200, 200, 429]
    assert timezones.get_settings(engine, "alice").timezone == "Asia/Tokyo"
    with engine.sql.connect() as conn:
        kept = conn.execute(
            select(db.settings.c.value).where(db.settings.c.name == timezones.sql_name("alice"))
        ).scalar_one()
    assert kept == "Asia/Tokyo"  # what a rebuild would restore


def test_login_daily_and_missions_follow_the_players_day(client, server_headers, clock):
    clock.set(datetime(2026, 11, 25, 19, 0, tzinfo=UTC))  # 04:00 on the 26th in Tokyo
    put_zone(client, server_headers, "Asia/Tokyo")
    login = client.post("/v1/players/alice/login", headers=server_headers).get_json()
    assert (login["claimed"], login["streak"]) == (True, 1)
    assert login["next_claim_at"] == "2026-11-26T18:00:00+00:00"
    for route in ("daily", "missions"):
        day = client.get(f"/v1/players/alice/{route}", headers=server_headers).get_json()
        assert (day["game_day"], day["next_reset_at"]) == (
            "2026-11-26",
            "2026-11-26T18:00:00+00:00",
        )
    daily = client.get("/v1/players/alice/daily", headers=server_headers).get_json()
    assert daily["login"] == {"claimed": True, "streak": 1}
    clock.set(datetime(2026, 11, 26, 3, 30, tzinfo=UTC))  # the game's new day, not Alice's
    again = client.post("/v1/players/alice/login", headers=server_headers).get_json()
    assert (again["claimed"], again["next_claim_at"]) == (False, "2026-11-26T18:00:00+00:00")
    bob = client.post("/v1/players/bob/login", headers=server_headers).get_json()
    assert bob["next_claim_at"] == "2026-11-27T03:00:00+00:00"  # the game calendar's
