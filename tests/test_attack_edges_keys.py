"""API_KEYS as an attacker would wish it misread: a secret that is a server key and an
admin key at once, or one no Authorization header can present, stops the start."""

from __future__ import annotations

import pytest

from config import ApiKey, ConfigError, parse_api_keys
from web.auth import KeyRing, role_of


def test_a_secret_given_to_both_roles_is_refused():
    # The key ring answers the higher role for a secret it holds twice, so the game
    # servers' key would open every /v1/admin route.
    both = KeyRing((ApiKey("server", "shared"), ApiKey("admin", "shared")))
    assert role_of(both, "/v1/admin/bans", "Bearer shared") == "admin"
    with pytest.raises(ConfigError, match=r"API_KEYS entry 2 .*entry 1"):
        parse_api_keys("server:shared,admin:shared")
    with pytest.raises(ConfigError, match=r"API_KEYS entry 3 .*entry 1"):
        parse_api_keys("admin:shared, server:other, server:shared")


def test_a_secret_repeated_in_its_own_role_is_kept_once():
    assert parse_api_keys("server:a,server:a,admin:b") == (
        ApiKey("server", "a"),
        ApiKey("admin", "b"),
    )


@pytest.mark.parametrize(
    "raw",
    [
        "server: abc",  # a header's value is read without the space
        "server:\tabc,admin:x",  # a tab after the colon
        "server:ab\u00e9",  # beyond ASCII: a header carries it as other bytes
        "server:a\x01b",
        "server:a\u200bb",  # a zero-width space
    ],
)
def test_a_secret_no_authorization_header_can_present_is_refused(raw):
    with pytest.raises(ConfigError, match=r"API_KEYS entry 1: .*printable ASCII"):
        parse_api_keys(raw)


def test_visible_secrets_and_inner_spaces_are_kept():
    assert parse_api_keys("server:a-b_c.d~e+f/g=, admin:x:y z") == (
        ApiKey("server", "a-b_c.d~e+f/g="),
        ApiKey("admin", "x:y z"),
    )
    assert (
        role_of(KeyRing((ApiKey("admin", "x:y z"),)), "/v1/admin/bans", "Bearer x:y z") == "admin"
    )
