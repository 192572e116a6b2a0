"""The SQL tables that span players: leaderboard aggregates and their cache, league
results, board prizes, security events, job runs, settings, webhooks and the records of
idempotent requests Redis keeps that no other row gives back.

They share the schema's MetaData of engine.db_player_tables; engine.db re-exports
both modules' tables (import them from there).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects import mysql

from engine.db_player_tables import PLAYER, metadata

quiz_leaderboard_aggregates = Table(
    "quiz_leaderboard_aggregates",
    metadata,
    Column("player_id", PLAYER, primary_key=True),
    Column("period_type", String(8), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("category", String(64), primary_key=True),
    Column("total_score", BigInteger, nullable=False),
    Column("exams_taken", Integer, nullable=False),
    Column("questions", BigInteger, nullable=False),
    Column("correct_answers", BigInteger, nullable=False),
    Column("reached_s", Integer, nullable=False),
    Column("rank_current", Integer, nullable=True),
    Column("rank_previous", Integer, nullable=True),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_aggregates_board_score", "period_type", "period", "category", "total_score"),
)

leaderboard_cache = Table(
    "leaderboard_cache",
    metadata,
    Column("period_type", String(8), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("category", String(64), primary_key=True),
    Column("snapshot_ms", BigInteger, nullable=False),
    Column("document", Text().with_variant(mysql.MEDIUMTEXT(), "mysql"), nullable=False),
)

security_events = Table(
    "security_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", String(48), nullable=False, unique=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("player_id", PLAYER, nullable=False),
    Column("address", String(64), nullable=True),
    Column("rule", String(64), nullable=False),
    Column("details", Text, nullable=False),
    Column("action", String(32), nullable=False),
    Index("ix_security_events_at", "at_ms"),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("run_id", String(48), nullable=False, unique=True),
    Column("name", String(64), nullable=False),
    Column("scheduled_ms", BigInteger, nullable=True),
    Column("started_ms", BigInteger, nullable=False),
    Column("finished_ms", BigInteger, nullable=True),
    Column("duration_ms", BigInteger, nullable=True),
    Column("status", String(16), nullable=False),
    Column("rows_affected", BigInteger, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Index("ix_job_runs_name_started", "name", "started_ms"),
)

# Leagues (engine.leagues.close): every member of every closed cohort, written once by
# the period's league_close (rows by their key, so a rerun adds nothing).
league_results = Table(
    "league_results",
    metadata,
    Column("period_type", String(16), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("player_id", PLAYER, primary_key=True),
    Column("tier", String(32), nullable=False),
    Column("cohort", Integer, nullable=False),  # its number in the tier: "<tier>-<cohort>"
    Column("position", Integer, nullable=False),  # place in the final order
    Column("rank", Integer, nullable=False),  # competition rank by score
    Column("score", BigInteger, nullable=False),
    Column("next_tier", String(32), nullable=False),
    Column("prize", Text, nullable=True),  # JSON amounts, or NULL
    Column("closed_ms", BigInteger, nullable=False),
    # The wallet's refusal of the prize, its code ("balance_limit_exceeded"): not paid.
    # NULL: paid, or no prize. Set by the close after its payments.
    Column("prize_refused", String(64), nullable=True),
    # A member the close skipped (banned at the close): listed at their place in the
    # standings (position, rank), next_tier their own tier, no prize, no zone. Also a
    # player removed from their cohort before the close (engine.boards.moderation):
    # cohort, position, rank and score 0 (in no cohort's page), next_tier their tier.
    Column("skipped", Boolean, nullable=False, server_default=false()),
    Index("ix_league_results_cohort", "period_type", "period", "tier", "cohort"),
)

# Board prizes (engine.boards.prizes): what each closed period's board paid, written
# once by its close (rows by their key, so a rerun adds nothing).
board_prizes = Table(
    "board_prizes",
    metadata,
    Column("board", String(48), primary_key=True),  # "weekly:global", "weekly:math"
    Column("period", String(16), primary_key=True),
    Column("player_id", PLAYER, primary_key=True),
    Column("rank", Integer, nullable=False),
    Column("score", BigInteger, nullable=False),
    Column("prize", Text, nullable=False),  # JSON amounts
    Column("transaction_id", String(64), nullable=False),  # or "refused:<code>"
    Column("paid_ms", BigInteger, nullable=False),
)

settings = Table(
    "settings",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)


# Webhooks (engine.webhooks): subscriptions, the events they asked for, one delivery
# row per (subscription, event). Events and deliveries are written in the transaction
# that persists what produced them.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("description", String(255), nullable=False),
    Column("events", Text, nullable=False),  # JSON list of event types
    Column("enabled", Integer, nullable=False),
    # whsec_ secrets, or enc:v1: and a Fernet token (engine.webhooks.encryption): 191 chars
    Column("secret", String(255), nullable=False),
    Column("previous_secret", String(255), nullable=True),  # still signs until...
    Column("previous_until_ms", BigInteger, nullable=True),
    Column("failing_since_ms", BigInteger, nullable=True),
    Column("disabled_reason", String(255), nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("event_id", String(48), primary_key=True),
    Column("type", String(48), nullable=False),
    Column("player_id", PLAYER, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("data", Text().with_variant(mysql.MEDIUMTEXT(), "mysql"), nullable=False),
    Index("ix_webhook_events_created", "created_ms"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("subscription_id", String(40), nullable=False),
    Column("event_id", String(48), nullable=False),
    Column("sequence", String(64), nullable=False),  # delivered in order within one
    Column("status", String(16), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_ms", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("first_attempt_ms", BigInteger, nullable=True),
    Column("last_attempt_ms", BigInteger, nullable=True),
    Column("delivered_ms", BigInteger, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(255), nullable=True),
    Column("latency_ms", Integer, nullable=True),
    UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery"),
    Index("ix_webhook_deliveries_pending", "status", "subscription_id", "sequence", "id"),
    Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
    Index("ix_webhook_deliveries_event", "event_id"),
    Index("ix_webhook_deliveries_created", "created_ms"),
)

# Idempotency records (engine.economy.idempotency_records): the outcome of a request with an
# Idempotency-Key that no other row gives back (a webhook subscription created, its
# secret rotated: written with the change; a keyed login that claimed nothing: by the
# persist job, from its outbox entry), for `questboard rebuild` to restore while
# the key lives (IDEMPOTENCY_TTL_SECONDS after created_ms). `owner` is the player the
# key belongs to, or "" for an admin request.
idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("owner", PLAYER, primary_key=True),
    Column("route", String(96), primary_key=True),
    Column("idem_key", String(128), primary_key=True),
    Column("record", Text, nullable=False),  # the record's JSON, as Redis holds it
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_idempotency_records_created", "created_ms"),
)
