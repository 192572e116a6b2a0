"""The one error path out of the service: every failure becomes the same JSON body.

`{"error": {"code": "<snake_case>", "message": "<for a person>", "details": {...}}}`.
Engine errors carry their code; this module alone decides their HTTP status, by the
error's class (STATUS_BY_ERROR): every class has its entry, checked at start-up and by
tests/test_errors_mapping.py. No stack trace ever reaches a client: unexpected
exceptions are logged and answered 500.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from redis.exceptions import (
    AskError,
    BusyLoadingError,
    ClusterError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.exceptions import NoSuchJobError
from sqlalchemy.exc import OperationalError as SqlOperationalError
from sqlalchemy.exc import TimeoutError as SqlPoolTimeoutError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from engine.connection import ClusterUnreachableError
from engine.errors import (
    BalanceLimitError,
    BannedError,
    DailyLimitReachedError,
    IdempotencyKeyReusedError,
    InsufficientFundsError,
    InvalidInputError,
    NotFoundError,
    NotRankedError,
    PeriodExpiredError,
    PriceChangedError,
    QuestboardError,
    RapidFireError,
    RateLimitedError,
    ScriptContractError,
    StreakNotRepairableError,
    UnknownItemError,
    UnknownTimezoneError,
)

log = logging.getLogger(__name__)

# Each engine error class and its one status, found by the error's exact class. A
# class missing here fails tests/test_errors_mapping.py (which walks every subclass)
# and stops the app at start-up (init_app), so it never reaches a client as a 500.
STATUS_BY_ERROR: dict[type[QuestboardError], int] = {
    InvalidInputError: 400,
    BannedError: 403,
    NotFoundError: 404,
    UnknownItemError: 404,
    NotRankedError: 404,
    PeriodExpiredError: 404,
    InsufficientFundsError: 409,
    PriceChangedError: 409,
    BalanceLimitError: 409,
    DailyLimitReachedError: 409,
    StreakNotRepairableError: 409,
    IdempotencyKeyReusedError: 422,
    UnknownTimezoneError: 422,
    RapidFireError: 429,
    RateLimitedError: 429,
    QuestboardError: 500,  # raised as itself only for a bug
    ScriptContractError: 500,  # a script answered what the engine does not understand
}

# The codes the web layer answers itself, with no engine error behind them.
WEB_STATUS_BY_CODE = {"unauthorized": 401, "forbidden": 403, "service_unavailable": 503}


def _status_by_code() -> dict[str, int]:
    """Every code the service answers and its status; one status per code, or no start."""
    by_code = dict(WEB_STATUS_BY_CODE)
    for error_class, status in STATUS_BY_ERROR.items():
        if by_code.setdefault(error_class.code, status) != status:
            raise RuntimeError(f"the code {error_class.code!r} is given two statuses")
    return by_code


STATUS_BY_CODE = _status_by_code()

# Werkzeug's exceptions by status, for errors raised before a view runs.
CODE_BY_STATUS = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "validation_error",
    415: "validation_error",
    429: "rate_limited",
}


class ApiError(HTTPException):
    """An error the web layer raises itself (auth, bad path parameters)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(description=message)
        self.code = status
        self.error_code = code
        self.details = details or {}
        self.extra_headers = headers or {}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict:
    """The one error shape, also written by the gunicorn worker (web.worker)."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None):
    response = jsonify(error_body(code, message, details))
    response.status_code = status
    return response


def unmapped_errors(
    status_by_error: dict[type[QuestboardError], int],
) -> list[type[QuestboardError]]:
    """The engine error classes defined so far (QuestboardError and every subclass, at
    any depth) that `status_by_error` gives no status."""
    missing: list[type[QuestboardError]] = []
    waiting: list[type[QuestboardError]] = [QuestboardError]
    while waiting:
        error_class = waiting.pop(0)
        if error_class not in status_by_error and error_class not in missing:
            missing.append(error_class)
        waiting.extend(error_class.__subclasses__())
    return missing


def status_of(error: QuestboardError) -> int:
    """The status of the error's own class.

    Every class is in STATUS_BY_ERROR (checked at start-up); a class made after start-up
    answers its nearest mapped ancestor's status, logged as the bug it is.
    """
    status = STATUS_BY_ERROR.get(type(error))
    if status is None:
        log.error("no HTTP status for %s", type(error).__qualname__)
        status = next(STATUS_BY_ERROR[c] for c in type(error).__mro__ if c in STATUS_BY_ERROR)
    return status


def handle_engine_error(error: QuestboardError):
    response = error_response(status_of(error), error.code, error.message, error.details)
    if error.code == "rapid_fire":
        response.headers["Retry-After"] = "1"
    if error.replayed:  # the recorded refusal of an earlier request with this key
        response.headers["Idempotent-Replayed"] = "true"
    elif error.code == "rate_limited":
        response.headers["Retry-After"] = str(error.details["retry_after"])
    return response


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    if isinstance(error, ApiError):
        response = error_response(status, error.error_code, error.description, error.details)
        response.headers.update(error.extra_headers)
    else:
        data = getattr(error, "data", None) or {}
        if "messages" in data:  # webargs: {location: {field: [messages]}}
            details: dict[str, Any] = {}
            for location, errors in data["messages"].items():
                if isinstance(errors, dict):
                    details.update(errors)
                else:  # e.g. {"json": ["Invalid JSON body."]}
                    details[location] = errors
            message = "The request is not valid."
        elif status == 413:
            details = {"body": ["The request body is too large."]}
            message = "The request body is too large."
        else:
            details = {}
            message = error.description or error.name
        code = CODE_BY_STATUS.get(status, "internal_error" if status >= 500 else "bad_request")
        response = error_response(status, code, message, details)
    headers = (getattr(error, "data", None) or {}).get("headers") or {}
    for name, value in headers.items():
        response.headers[name] = value
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def handle_store_unavailable(error: Exception):
    """Redis or the SQL database unreachable, timing out or still loading, or the Redis
    Cluster healing: a retry can succeed, so 503.

    A write that timed out may have been applied; its retry with the same
    Idempotency-Key (or exam_id) is answered from the recorded outcome, never twice.
    """
    store = "durable" if isinstance(error, SqlOperationalError | SqlPoolTimeoutError) else "live"
    log.warning("%s store unavailable: %s", store, error)
    response = error_response(
        503,
        "service_unavailable",
        f"The {store} store is unavailable; retry shortly (with the same Idempotency-Key).",
        {"retry_after": 1, "store": store},
    )
    response.headers["Retry-After"] = "1"
    return response


def handle_no_such_job(error: NoSuchJobError):
    """A job id that names no job (the job dashboard's pages take any id in the path)."""
    return error_response(404, "not_found", "There is no such job.")


def handle_unexpected(error: Exception):
    log.exception("unhandled error", exc_info=error)
    return error_response(500, "internal_error", "Something went wrong on our side.")


def init_app(app: Flask) -> None:
    missing = unmapped_errors(STATUS_BY_ERROR)
    if missing:
        names = ", ".join(error_class.__qualname__ for error_class in missing)
        raise RuntimeError(f"engine errors without an HTTP status in web.errors: {names}")
    app.register_error_handler(QuestboardError, handle_engine_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    for unavailable in (
        RedisConnectionError,
        RedisTimeoutError,
        BusyLoadingError,
        # A cluster healing (failover, resharding) after redis-py's own retries: MOVED
        # and ASK (AskError, MovedError), CLUSTERDOWN and MASTERDOWN (ClusterError),
        # TRYAGAIN, a slot no node serves, no node answering for the slot map. A
        # cross-slot command stays a 500: a bug.
        AskError,
        ClusterError,
        TryAgainError,
        SlotNotCoveredError,
        ClusterUnreachableError,
        SqlOperationalError,
        SqlPoolTimeoutError,
    ):
        app.register_error_handler(unavailable, handle_store_unavailable)
    app.register_error_handler(NoSuchJobError, handle_no_such_job)
    app.register_error_handler(Exception, handle_unexpected)
