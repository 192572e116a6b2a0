"""Settings read from the environment, each with its default (the README lists them).

`Settings.from_env()` is the only place that reads `os.environ` for the service;
tests build `Settings(...)` directly.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from redis.connection import parse_url

from engine.connection import cluster_nodes, is_cluster_url
from engine.zone_names import known_zones

ROOT = Path(__file__).resolve().parent
DEFAULT_RULES_FILE = ROOT / "rules.toml"
DEFAULT_DATABASE_URL = f"sqlite:///{ROOT / 'var' / 'questboard.db'}"


class ConfigError(ValueError):
    """The environment holds a value the service cannot start with."""


@dataclass(frozen=True)
class ApiKey:
    role: str  # "server" or "admin"
    secret: str


# What an Authorization header can carry and web.auth reads back as it is: printable
# ASCII (other bytes reach the app as latin-1), no white space at either end (stripped).
PRESENTABLE_SECRET = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


def parse_api_keys(raw: str) -> tuple[ApiKey, ...]:
    """Parse `role:secret,role:secret`; roles are `server` and `admin`.

    A secret listed for both roles is refused (the key ring would answer the admin role
    for it, so the game servers' key would open /v1/admin), and so is one no header can
    present; one repeated in its own role is kept once.
    """
    keys: dict[str, tuple[ApiKey, int]] = {}  # secret -> its key, the entry that gave it
    for position, item in enumerate(part.strip() for part in raw.split(",")):
        if not item:
            continue
        role, sep, secret = item.partition(":")
        if not sep or role not in ("server", "admin") or not secret:
            raise ConfigError(
                f"API_KEYS entry {position + 1} must be 'server:<secret>' or 'admin:<secret>'"
            )
        if not PRESENTABLE_SECRET.fullmatch(secret):
            raise ConfigError(
                f"API_KEYS entry {position + 1}: a secret is printable ASCII, without white "
                "space at its ends (an Authorization header carries no other)"
            )
        earlier = keys.setdefault(secret, (ApiKey(role=role, secret=secret), position))
        if earlier[0].role != role:
            raise ConfigError(
                f"API_KEYS entry {position + 1} gives the secret of entry {earlier[1] + 1} "
                f"another role ({earlier[0].role}, then {role})"
            )
    return tuple(key for key, _ in keys.values())


def parse_secrets_keys(raw: str) -> tuple[str, ...]:
    """Parse WEBHOOK_SECRETS_KEY: comma-separated Fernet keys (32 bytes, url-safe base64,
    `Fernet.generate_key()`); the first encrypts, all decrypt."""
    keys = []
    for position, item in enumerate(part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            size = len(base64.urlsafe_b64decode(item.encode()))
        except (binascii.Error, ValueError):
            size = 0
        if size != 32:
            raise ConfigError(
                f"WEBHOOK_SECRETS_KEY entry {position + 1} is not a Fernet key "
                "(32 bytes in url-safe base64: Fernet.generate_key())"
            )
        keys.append(item)
    return tuple(keys)


def _int(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _flag(env: dict[str, str], name: str) -> bool:
    raw = (env.get(name) or "false").strip().lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    return raw in ("true", "1", "yes")


def _timezone(name: str) -> str:
    """A zone a player could choose too (engine.zone_names): a place, the same on every host."""
    if name in known_zones():
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise ConfigError(f"GAME_TIMEZONE {name!r} is not a known IANA timezone")


def _check_database_number(name: str, url: str) -> None:
    """A Redis URL's database is a number (`/3`, or `?db=3`), and 0 on a cluster, which
    has no other: redis-py reads `redis://host/abc` as database 0 without a word, so a
    typo would put the service on another database than the one meant."""
    if not url or "://" not in url or url.lower().startswith("unix:"):
        return
    parts = urlsplit(url)
    path = parts.path.strip("/")
    chosen = [path] if path else []
    chosen += [v for k, v in parse_qsl(parts.query) if k == "db"]
    for database in chosen:
        if not database.isascii() or not database.isdigit():
            raise ConfigError(f"{name} names database {database!r}, which is not a number")
        if is_cluster_url(url) and int(database) != 0:
            raise ConfigError(
                f"{name} names database {database} of a Redis Cluster, which has database 0 only"
            )


def _check_redis_url(name: str, url: str) -> None:
    """A Redis URL redis-py (or engine.connection, for a cluster) can read: checked here
    so every process refuses it in one line, as a setting, before it connects."""
    if not url:
        return
    try:
        cluster_nodes(url) if is_cluster_url(url) else parse_url(url)
    except ValueError as error:
        raise ConfigError(f"{name} is not a Redis URL: {error}") from None


def _alert_url(url: str | None) -> str | None:
    """ALERT_WEBHOOK_URL is an http(s) URL with a host: anything else made every alert's
    POST thread die with a traceback (urllib's 'unknown url type')."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        usable = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed [IPv6 address
        usable = False
    if not usable:
        raise ConfigError("ALERT_WEBHOOK_URL must be an http:// or https:// URL with a host")
    return url


SQL_BACKENDS = {"sqlite": ("", "pysqlite"), "mysql": ("", "pymysql"), "mariadb": ("", "pymysql")}


def _check_database_url(url: str) -> None:
    """DATABASE_URL names a store the service has a driver for (SQLite, or MariaDB/MySQL
    through PyMySQL): another dialect would stop every process with an ImportError."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    backend, _, driver = scheme.partition("+")
    if driver not in SQL_BACKENDS.get(backend, ()):
        raise ConfigError(
            f"DATABASE_URL must be sqlite:///<file> or mysql+pymysql://<user>:<password>@"
            f"<host>/<database>, got {scheme + '://' if scheme else 'no scheme'}"
        )


def _refuse_clock_override_in_production(environment: str, allow_clock_override: bool) -> None:
    if allow_clock_override and environment == "production":
        raise ConfigError("ALLOW_CLOCK_OVERRIDE is refused when QUESTBOARD_ENV=production")


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    rq_redis_url: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    api_keys: tuple[ApiKey, ...] = field(default_factory=tuple)
    game_timezone: str = "UTC"
    day_reset_hour: int = 3
    rules_file: Path = DEFAULT_RULES_FILE
    idempotency_ttl_seconds: int = 86_400
    ledger_keep_entries: int = 0
    max_body_bytes: int = 16_384
    environment: str = "development"
    allow_clock_override: bool = False
    alert_webhook_url: str | None = None
    player_shards: int = 256  # engine.keys.DEFAULT_PLAYER_SHARDS; fixed per deployment
    webhook_allow_private: bool = False  # webhooks may go to private addresses (tests)
    # WEBHOOK_SECRETS_KEY: signing secrets encrypted at rest; the first key encrypts
    webhook_secrets_keys: tuple[str, ...] = field(default=(), repr=False)
    # Replicas that must hold a balance change before it is answered (engine.replication)
    redis_wait_replicas: int = 0
    redis_wait_timeout_ms: int = 1_000

    def __post_init__(self) -> None:
        # Settings built in code (a test, an embedding app) get the same refusal as the
        # environment's: the QA clock moves every balance's day and every period's end.
        _refuse_clock_override_in_production(self.environment, self.allow_clock_override)

    @property
    def queue_redis_url(self) -> str:
        """RQ's Redis: RQ cannot run on Redis Cluster, the engine can."""
        return self.rq_redis_url or self.redis_url

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        redis_url = env.get("REDIS_URL") or cls.redis_url
        environment = env.get("QUESTBOARD_ENV") or "development"
        allow_clock_override = _flag(env, "ALLOW_CLOCK_OVERRIDE")
        _refuse_clock_override_in_production(environment, allow_clock_override)
        secrets_keys = parse_secrets_keys(env.get("WEBHOOK_SECRETS_KEY", ""))
        if not secrets_keys and environment == "production":
            raise ConfigError(
                "WEBHOOK_SECRETS_KEY is required when QUESTBOARD_ENV=production: webhook "
                "signing secrets are not kept in plain text there"
            )
        if not env.get("DATABASE_URL") and environment == "production":
            raise ConfigError(
                "DATABASE_URL is required when QUESTBOARD_ENV=production: without it the "
                "service would keep its durable record in a SQLite file beside its code"
            )
        _check_database_number("REDIS_URL", redis_url)
        _check_database_number("RQ_REDIS_URL", env.get("RQ_REDIS_URL") or "")
        _check_redis_url("REDIS_URL", redis_url)
        _check_redis_url("RQ_REDIS_URL", env.get("RQ_REDIS_URL") or "")
        _check_database_url(env.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
        if is_cluster_url(redis_url) and not env.get("RQ_REDIS_URL"):
            raise ConfigError(
                "REDIS_URL is a Redis Cluster, where RQ cannot run: set RQ_REDIS_URL to a "
                "standalone Redis for the job queue"
            )
        if is_cluster_url(env.get("RQ_REDIS_URL") or ""):
            raise ConfigError(
                "RQ_REDIS_URL is a Redis Cluster, where RQ cannot run: set it to a standalone "
                "Redis for the job queue"
            )
        return cls(
            redis_url=redis_url,
            rq_redis_url=env.get("RQ_REDIS_URL") or None,
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            api_keys=parse_api_keys(env.get("API_KEYS", "")),
            game_timezone=_timezone(env.get("GAME_TIMEZONE") or "UTC"),
            day_reset_hour=_int(env, "DAY_RESET_HOUR", 3, 0, 23),
            rules_file=Path(env.get("RULES_FILE") or DEFAULT_RULES_FILE),
            idempotency_ttl_seconds=_int(env, "IDEMPOTENCY_TTL_SECONDS", 86_400, 60, 30 * 86_400),
            ledger_keep_entries=_int(env, "LEDGER_KEEP_ENTRIES", 0, 0, 10_000),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 16_384, 1_024, 10 * 1_048_576),
            environment=environment,
            allow_clock_override=allow_clock_override,
            alert_webhook_url=_alert_url(env.get("ALERT_WEBHOOK_URL") or None),
            player_shards=_int(env, "PLAYER_SHARDS", cls.player_shards, 1, 16_384),
            webhook_allow_private=_flag(env, "WEBHOOK_ALLOW_PRIVATE"),
            webhook_secrets_keys=secrets_keys,
            redis_wait_replicas=_int(env, "REDIS_WAIT_REPLICAS", 0, 0, 16),
            redis_wait_timeout_ms=_int(env, "REDIS_WAIT_TIMEOUT_MS", 1_000, 1, 60_000),
        )
