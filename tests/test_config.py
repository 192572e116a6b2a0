"""Settings from the environment: defaults, parsing and refusals."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from config import DEFAULT_RULES_FILE, ApiKey, ConfigError, Settings, parse_api_keys


def test_defaults():
    settings = Settings.from_env({})
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.queue_redis_url == settings.redis_url
    assert settings.game_timezone == "UTC"
    assert settings.day_reset_hour == 3
    assert settings.rules_file == DEFAULT_RULES_FILE
    assert settings.database_url.endswith("var/questboard.db")
    assert settings.api_keys == ()
    assert settings.ledger_keep_entries == 0


def test_rq_can_use_another_redis():
    settings = Settings.from_env({"REDIS_URL": "redis://a/0", "RQ_REDIS_URL": "redis://b/1"})
    assert settings.redis_url == "redis://a/0"
    assert settings.queue_redis_url == "redis://b/1"


def test_api_keys_are_parsed():
    assert parse_api_keys("server:abc, admin:x:y,") == (
        ApiKey("server", "abc"),
        ApiKey("admin", "x:y"),
    )


@pytest.mark.parametrize("raw", ["abc", "root:abc", "server:", ":abc"])
def test_bad_api_keys_are_refused(raw):
    with pytest.raises(ConfigError, match="API_KEYS entry 1"):
        parse_api_keys(raw)


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"DAY_RESET_HOUR": "24"}, "DAY_RESET_HOUR"),
        ({"DAY_RESET_HOUR": "x"}, "DAY_RESET_HOUR"),
        ({"GAME_TIMEZONE": "Mars/Olympus"}, "GAME_TIMEZONE"),
        ({"IDEMPOTENCY_TTL_SECONDS": "5"}, "IDEMPOTENCY_TTL_SECONDS"),
        ({"LEDGER_KEEP_ENTRIES": "-1"}, "LEDGER_KEEP_ENTRIES"),
        ({"LEDGER_KEEP_ENTRIES": "10001"}, "LEDGER_KEEP_ENTRIES"),
    ],
)
def test_bad_numbers_are_refused(env, name):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env(env)


def test_a_game_timezone_is_kept():
    assert (
        Settings.from_env({"GAME_TIMEZONE": "Europe/Istanbul"}).game_timezone == "Europe/Istanbul"
    )


def test_production_requires_a_database_url():
    """Production never falls back to the SQLite file make run uses: it would keep the
    ledger beside the code, lost at the next deploy."""
    key = Fernet.generate_key().decode()
    production = {"QUESTBOARD_ENV": "production", "WEBHOOK_SECRETS_KEY": key}
    with pytest.raises(ConfigError, match=r"^DATABASE_URL is required when QUESTBOARD_ENV"):
        Settings.from_env(production)
    url = "mysql+pymysql://questboard@db.internal/questboard"
    assert Settings.from_env(production | {"DATABASE_URL": url}).database_url == url
    assert Settings.from_env({}).database_url.startswith("sqlite:///")  # development


def test_settings_built_in_code_refuse_the_qa_clock_in_production():
    """The environment's refusal holds for settings an embedding app or a test builds."""
    with pytest.raises(ConfigError, match=r"^ALLOW_CLOCK_OVERRIDE is refused"):
        Settings(environment="production", allow_clock_override=True)
    assert Settings(environment="staging", allow_clock_override=True).allow_clock_override


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REDIS_URL": "redis://127.0.0.1:6379/abc"}, "REDIS_URL names database 'abc'"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/0?db=x"}, "REDIS_URL names database 'x'"),
        ({"RQ_REDIS_URL": "redis://127.0.0.1:6379/1a"}, "RQ_REDIS_URL names database '1a'"),
        (
            {"REDIS_URL": "redis+cluster://127.0.0.1:7000/3", "RQ_REDIS_URL": "redis://h/1"},
            "REDIS_URL names database 3 of a Redis Cluster",
        ),
    ],
)
def test_a_redis_url_naming_no_database_number_is_refused(env, message):
    """redis-py reads a database that is no number as 0 without a word."""
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379",
        "redis://127.0.0.1:6379/",
        "redis://127.0.0.1:6379/15",
        "redis://:secret@127.0.0.1:6379/2?socket_timeout=5",
        "unix:///tmp/redis.sock?db=3",
    ],
)
def test_redis_urls_with_a_database_number_or_none_are_kept(url):
    assert Settings.from_env({"REDIS_URL": url}).redis_url == url
