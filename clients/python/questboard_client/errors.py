"""One exception class per error code of the API, all derived from `QuestboardError`.

The server answers every failure as `{"error": {"code", "message", "details"}}`; the
code is stable and picks the class here, so a game server writes
`except InsufficientFunds as error: error.details["required"]` instead of comparing
strings. A code this version does not know raises the class of its status (a 429 is
`RateLimited`, a 503 `ServiceUnavailable`, a 404 `NotFound`, ...; a status without a
class of its own `QuestboardError`), carrying the server's code, so a later server's
new code is caught and retried as its status is.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any


class QuestboardError(Exception):
    """An answer of the API that is not a success, or no answer at all.

    Attributes:
        code: the API's stable error code (`connection_error` when nothing answered).
        message: the server's message, for a person.
        details: what went wrong, by field or by fact ({} when nothing to add).
        status: the HTTP status, or None when nothing answered.
        retry_after: seconds the server asked to wait before a retry (Retry-After), or
            None when it asked nothing.
        replayed: True when the server answered the refusal it recorded for this
            Idempotency-Key (or exam_id) earlier (Idempotent-Replayed): its details
            are the first answer's, and the same key is refused so again; a new key
            tries anew.
        idempotency_key: the Idempotency-Key every attempt of the call sent (the
            caller's, or the one the client made for it), None for a call without
            one. After an error that leaves the outcome unknown (a 500, or no answer
            within the retry deadline) the write may have been applied: send the call
            again with this key to be answered from its first outcome.
    """

    code: str = "internal_error"
    idempotency_key: str | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        replayed: bool = False,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.status = status
        self.retry_after = retry_after
        self.replayed = replayed

    def __str__(self) -> str:
        where = f"{self.status} " if self.status is not None else ""
        return f"{where}{self.code}: {self.message}"


class BadRequest(QuestboardError):
    code = "bad_request"


class ValidationError(QuestboardError):
    """400: the request does not match the API; details name each field's problems."""

    code = "validation_error"


class Unauthorized(QuestboardError):
    """401: no valid API key."""

    code = "unauthorized"


class Forbidden(QuestboardError):
    """403: the key may not use this route (an admin route with a server key)."""

    code = "forbidden"


class Banned(Forbidden):
    """403: the player or the player's address is banned."""

    code = "banned"


class NotFound(QuestboardError):
    code = "not_found"


class UnknownItem(NotFound):
    """404: the catalog has no such item."""

    code = "unknown_item"


class NotRanked(NotFound):
    """404: the player has no place on that board."""

    code = "not_ranked"


class PeriodExpired(NotFound):
    """404: the board's period is no longer kept."""

    code = "period_expired"


class MethodNotAllowed(QuestboardError):
    code = "method_not_allowed"


class UriTooLong(BadRequest):
    """414: the request line is over the web server's limit (a very long query)."""

    code = "uri_too_long"


class ExpectationFailed(BadRequest):
    """417: an Expect header the web server does not support."""

    code = "expectation_failed"


class HeadersTooLarge(BadRequest):
    """431: too many headers, or one too large."""

    code = "headers_too_large"


class InsufficientFunds(QuestboardError):
    """409: details carry `resource`, `required` and `available`; nothing was changed."""

    code = "insufficient_funds"


class PriceChanged(QuestboardError):
    """409: the catalog price is not the `expected_price` the player saw."""

    code = "price_changed"


class BalanceLimitExceeded(QuestboardError):
    code = "balance_limit_exceeded"


class DailyLimitReached(QuestboardError):
    """409: today's cap (of ad rewards) is reached; nothing was granted."""

    code = "daily_limit_reached"


class StreakNotRepairable(QuestboardError):
    """409: no broken streak to buy back; details carry `reason` (none, repaired,
    expired or disabled); nothing was changed."""

    code = "streak_not_repairable"


class IdempotencyKeyReused(QuestboardError):
    """422: the Idempotency-Key (or exam_id) was used before with other content."""

    code = "idempotency_key_reused"


class UnknownTimezone(QuestboardError):
    """422: the time zone is no IANA name the server knows ("Asia/Tokyo" is one)."""

    code = "unknown_timezone"


class RateLimited(QuestboardError):
    """429: over a limit; `retry_after` is how many seconds to wait (from Retry-After)."""

    code = "rate_limited"


class RapidFire(RateLimited):
    """429: the same player acted again too fast (Retry-After: 1)."""

    code = "rapid_fire"


class InternalError(QuestboardError):
    code = "internal_error"


class NotImplementedByServer(QuestboardError):
    """501: a transfer coding the web server does not support."""

    code = "not_implemented"


class ServiceUnavailable(QuestboardError):
    """503: a store is unreachable; the client retries these within its deadline."""

    code = "service_unavailable"


class QuestboardConnectionError(QuestboardError):
    """No answer: the connection failed or timed out (retried within the deadline)."""

    code = "connection_error"


ERROR_CLASSES: dict[str, type[QuestboardError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        ValidationError,
        Unauthorized,
        Forbidden,
        Banned,
        NotFound,
        UnknownItem,
        NotRanked,
        PeriodExpired,
        MethodNotAllowed,
        UriTooLong,
        ExpectationFailed,
        HeadersTooLarge,
        InsufficientFunds,
        PriceChanged,
        BalanceLimitExceeded,
        DailyLimitReached,
        StreakNotRepairable,
        IdempotencyKeyReused,
        UnknownTimezone,
        RateLimited,
        RapidFire,
        InternalError,
        NotImplementedByServer,
        ServiceUnavailable,
    )
}


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """The Retry-After header in seconds from `now` (unix seconds; the system clock).

    The API sends whole seconds; a proxy or load balancer in front of it may send an
    HTTP date instead (RFC 9110 10.2.3), waited until. A date or delay already past is
    0; an absent or unreadable value is None (the backoff alone applies).
    """
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # asctime and "-0000" dates: HTTP dates are in GMT
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return max(seconds, 0.0)


def error_from_answer(
    status: int, body: Any, retry_after: str | None, replayed: bool = False
) -> QuestboardError:
    """The exception for a non-2xx answer: by its error code, else by its status;
    `replayed` when the server said it answers a recorded refusal again."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        code: str = error["code"]
        message = str(error.get("message", ""))
        given = error.get("details")
        details: dict[str, Any] = given if isinstance(given, dict) else {}
    else:  # not the API's shape: a proxy or load balancer answered
        code = _CODE_BY_STATUS.get(status, "internal_error" if status >= 500 else "bad_request")
        message, details = f"HTTP {status} without an API error body.", {}
    seconds = retry_after_seconds(retry_after)
    if seconds is None and isinstance(details.get("retry_after"), int | float):
        seconds = max(float(details["retry_after"]), 0.0)
    cls = ERROR_CLASSES.get(code) or _class_of_status(status)
    return cls(
        message,
        code=code,
        details=details,
        status=status,
        retry_after=seconds,
        replayed=replayed,
    )


def _class_of_status(status: int) -> type[QuestboardError]:
    """The class of a code this version does not know: its status's, when that status
    has one (every 5xx one, InternalError by default), else QuestboardError."""
    code = _CODE_BY_STATUS.get(status, "internal_error" if status >= 500 else "")
    return ERROR_CLASSES.get(code, QuestboardError)


_CODE_BY_STATUS = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    429: "rate_limited",
    501: "not_implemented",
    502: "service_unavailable",
    503: "service_unavailable",
    504: "service_unavailable",
}
