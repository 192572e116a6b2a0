"""The engine's dependencies in one object: Redis, rules, clock, calendar, scripts.

Web and jobs each build one `Engine` at start-up and pass it to engine functions.
There is no module-level client: tests build engines on fakeredis or a real Redis.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from engine.calendar import GameCalendar
from engine.clock import Clock, SystemClock
from engine.replication import ReplicaWait
from engine.rules import Rules
from engine.scripts import Scripts


@dataclass
class Engine:
    redis: Any
    rules: Rules
    clock: Clock = field(default_factory=SystemClock)
    calendar: GameCalendar = field(default_factory=GameCalendar)
    idempotency_ttl_seconds: int = 86_400
    ledger_keep_entries: int = 0  # persisted entries a player's Redis ledger keeps (and the rest)
    alert_webhook_url: str | None = None
    webhook_allow_private: bool = False  # engine.webhooks.guard: private receivers allowed
    # WEBHOOK_SECRETS_KEY (engine.webhooks.encryption); never in a repr
    webhook_secrets_keys: tuple[str, ...] = field(default=(), repr=False)
    database_url: str | None = None
    replica_wait: ReplicaWait | None = None  # REDIS_WAIT_REPLICAS (engine.replication)
    scripts: Scripts = field(init=False)
    memo: dict = field(default_factory=dict, repr=False)  # per-process derived data
    _sql: Any = field(default=None, repr=False)

    @property
    def sql(self) -> Any:
        """The SQL engine (SQLAlchemy) of the durable record, created on first use."""
        if self._sql is None:
            from engine import db

            if not self.database_url:
                raise RuntimeError("this engine has no DATABASE_URL")
            self._sql = db.connect(self.database_url)
        return self._sql

    def __post_init__(self) -> None:
        self.scripts = Scripts(self.redis, self.replica_wait)


def build_engine(
    settings: Any,
    redis_client: Any = None,
    clock: Clock | None = None,
    verify_shards: bool = True,
    warn_plain_secrets: bool = True,
) -> Engine:
    """The engine a process runs on, from its Settings (config.Settings).

    It sets the process's player shard count (engine.keys) from PLAYER_SHARDS and, unless
    `verify_shards` is False (`questboard shards`, which changes it), refuses a Redis
    written with another count (engine.shards.PlayerShardsMismatchError). Without
    WEBHOOK_SECRETS_KEY it warns, unless `warn_plain_secrets` is False (the CLI), that
    webhook signing secrets are kept in plain text.
    """
    from engine import keys
    from engine.clock import RedisOffsetClock
    from engine.connection import connect
    from engine.rules import load_rules

    client = redis_client if redis_client is not None else connect(settings.redis_url)
    if clock is None:
        clock = (
            RedisOffsetClock(client, keys.clock_offset())
            if settings.allow_clock_override
            else SystemClock()
        )
    engine = Engine(
        redis=client,
        rules=load_rules(settings.rules_file),
        clock=clock,
        calendar=GameCalendar(settings.game_timezone, settings.day_reset_hour),
        idempotency_ttl_seconds=settings.idempotency_ttl_seconds,
        ledger_keep_entries=settings.ledger_keep_entries,
        alert_webhook_url=settings.alert_webhook_url,
        webhook_allow_private=getattr(settings, "webhook_allow_private", False),
        webhook_secrets_keys=getattr(settings, "webhook_secrets_keys", ()),
        database_url=settings.database_url,
        replica_wait=ReplicaWait(
            getattr(settings, "redis_wait_replicas", 0),
            getattr(settings, "redis_wait_timeout_ms", 1_000),
        ),
    )
    keys.set_player_shards(getattr(settings, "player_shards", keys.DEFAULT_PLAYER_SHARDS))
    if verify_shards:
        from redis.exceptions import ConnectionError, TimeoutError

        from engine import shards

        try:
            shards.verify(client, keys.player_shards())
        except (ConnectionError, TimeoutError) as error:  # start, answer 503 until it is back
            logging.getLogger("questboard").warning(
                "player shard count not checked at start-up, Redis unreachable: %s "
                "(the persist job checks it on every run)",
                error,
            )
    if warn_plain_secrets and not engine.webhook_secrets_keys:
        logging.getLogger("questboard").warning(
            "WEBHOOK_SECRETS_KEY is not set: webhook signing secrets are stored in plain "
            "text in SQL (set it in production, then run `questboard webhooks encrypt-secrets`)"
        )
    from engine.rules.progression import warn_of_season_gaps

    # Rules that run out of seasons soon: say so at start-up.
    warn_of_season_gaps(engine.rules.battle_pass, engine.calendar.game_day(engine.clock.now()))
    return engine
