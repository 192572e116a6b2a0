"""GAME_TIMEZONE takes the names a player may take for their own zone: a place of the
zone database (engine.zone_names), the same on every host."""

from __future__ import annotations

import pytest

from config import ConfigError, Settings


@pytest.mark.parametrize(
    "name",
    [
        "localtime",  # the host's own zone: each web node, worker and scheduler its own
        "Factory",  # the database's "no zone set" marker
        "right/Europe/Berlin",  # Berlin counting leap seconds: its resets 27 s off
        "posix/Europe/Berlin",  # a copy of the database, not a name of it
        "posixrules",
    ],
)
def test_a_game_timezone_that_is_no_place_is_refused(name):
    """Each of these was accepted before (zoneinfo opens its file), and a player's PUT
    .../settings refuses each with 422 unknown_timezone."""
    with pytest.raises(ConfigError, match="GAME_TIMEZONE"):
        Settings.from_env({"GAME_TIMEZONE": name})


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "Pacific/Chatham", "EST5EDT"])
def test_a_game_timezone_a_player_may_choose_is_kept(name):
    assert Settings.from_env({"GAME_TIMEZONE": name}).game_timezone == name
