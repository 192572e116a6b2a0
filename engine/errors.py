"""The engine's typed errors. Each carries a stable snake_case `code`.

Lua scripts refuse with negative codes (engine.outcomes.ScriptCode); `engine.outcomes.decode`
turns each into one of these.
The web layer maps each class to an HTTP status and the JSON error body.
"""

from __future__ import annotations

from typing import Any


class QuestboardError(Exception):
    code = "internal_error"
    # True when the error is a refusal recorded earlier under the same idempotency key
    # and answered again from that record (the web layer says so in a header).
    replayed = False

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInputError(QuestboardError):
    """Input the engine refuses even though it passed the schema (e.g. a bad period)."""

    code = "validation_error"


class InsufficientFundsError(QuestboardError):
    code = "insufficient_funds"


class BalanceLimitError(QuestboardError):
    code = "balance_limit_exceeded"


class UnknownItemError(QuestboardError):
    code = "unknown_item"


class PriceChangedError(QuestboardError):
    code = "price_changed"


class IdempotencyKeyReusedError(QuestboardError):
    code = "idempotency_key_reused"


class UnknownTimezoneError(QuestboardError):
    """A time zone name the IANA database (zoneinfo) does not know."""

    code = "unknown_timezone"


class NotFoundError(QuestboardError):
    code = "not_found"


class DailyLimitReachedError(QuestboardError):
    code = "daily_limit_reached"


class RapidFireError(QuestboardError):
    code = "rapid_fire"


class RateLimitedError(QuestboardError):
    """Over a rate limit of the rules; details carry `retry_after` (seconds)."""

    code = "rate_limited"


class StreakNotRepairableError(QuestboardError):
    """No broken streak to buy back; details carry `reason`: none, repaired or expired."""

    code = "streak_not_repairable"


class BannedError(QuestboardError):
    code = "banned"


class NotRankedError(QuestboardError):
    code = "not_ranked"


class PeriodExpiredError(QuestboardError):
    code = "period_expired"


class ScriptContractError(QuestboardError):
    """A Lua script answered with something the engine does not understand."""

    code = "internal_error"
