"""Questboard's Python client: `Questboard` (sync) and `AsyncQuestboard` (asyncio).

    with Questboard("https://questboard.example.com", api_key) as questboard:
        bought = questboard.purchase("alice", "steel", 2)

Results are frozen dataclasses (`questboard_client.models`), and so are the batch
calls' items (`ExamAttempt`, `GrantOrder`, exported here); failures raise the classes
of `questboard_client.errors`, all derived from `QuestboardError`.
"""

from questboard_client import models
from questboard_client.aio import AsyncQuestboard
from questboard_client.client import Questboard
from questboard_client.decode import UnexpectedAnswer
from questboard_client.errors import (
    BadRequest,
    BalanceLimitExceeded,
    Banned,
    DailyLimitReached,
    ExpectationFailed,
    Forbidden,
    HeadersTooLarge,
    IdempotencyKeyReused,
    InsufficientFunds,
    InternalError,
    MethodNotAllowed,
    NotFound,
    NotImplementedByServer,
    NotRanked,
    PeriodExpired,
    PriceChanged,
    QuestboardConnectionError,
    QuestboardError,
    RapidFire,
    RateLimited,
    ServiceUnavailable,
    StreakNotRepairable,
    Unauthorized,
    UnknownItem,
    UnknownTimezone,
    UriTooLong,
    ValidationError,
)
from questboard_client.models import ExamAttempt, GrantOrder
from questboard_client.retry import RetryPolicy

__all__ = [
    "AsyncQuestboard",
    "BadRequest",
    "BalanceLimitExceeded",
    "Banned",
    "DailyLimitReached",
    "ExamAttempt",
    "ExpectationFailed",
    "Forbidden",
    "GrantOrder",
    "HeadersTooLarge",
    "IdempotencyKeyReused",
    "InsufficientFunds",
    "InternalError",
    "MethodNotAllowed",
    "NotFound",
    "NotImplementedByServer",
    "NotRanked",
    "PeriodExpired",
    "PriceChanged",
    "Questboard",
    "QuestboardConnectionError",
    "QuestboardError",
    "RapidFire",
    "RateLimited",
    "RetryPolicy",
    "ServiceUnavailable",
    "StreakNotRepairable",
    "Unauthorized",
    "UnexpectedAnswer",
    "UnknownItem",
    "UnknownTimezone",
    "UriTooLong",
    "ValidationError",
    "models",
]
