"""When to try a call again, and how long to wait first: shared by both clients.

Connection failures, 503 and 429 are retried; every other answer is final. The wait
is exponential backoff with full jitter (so many game servers that failed together do
not come back together), never shorter than the server's Retry-After, and no retry
starts that could not begin before the caller's deadline.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from questboard_client.calls import Answer, Call
from questboard_client.decode_fields import UnexpectedAnswer
from questboard_client.errors import (
    NotFound,
    QuestboardConnectionError,
    QuestboardError,
    RateLimited,
    ServiceUnavailable,
    ValidationError,
    error_from_answer,
)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a client tries one logical call.

    Attributes:
        deadline: seconds from the first attempt after which no retry starts.
        max_attempts: attempts in all, the first included.
        base_delay: the backoff cap of the first retry (seconds); doubles each retry.
        max_delay: the largest backoff cap (a Retry-After may ask for longer).
        jitter: draws the wait between 0 and the cap (random.uniform by default).
    """

    deadline: float = 10.0
    max_attempts: int = 5
    base_delay: float = 0.1
    max_delay: float = 2.0
    jitter: Callable[[float, float], float] = field(default=random.uniform, compare=False)

    def delay_before_retry(
        self, failure: QuestboardError, attempts: int, elapsed: float
    ) -> float | None:
        """Seconds to wait before attempt `attempts + 1`, or None to give up now."""
        if not is_retryable(failure) or attempts >= self.max_attempts:
            return None
        cap = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
        delay = self.jitter(0.0, cap)
        if failure.retry_after is not None:
            delay = max(delay, failure.retry_after)
        if elapsed + delay >= self.deadline:
            return None
        return delay


def is_retryable(failure: QuestboardError) -> bool:
    return isinstance(failure, QuestboardConnectionError | ServiceUnavailable | RateLimited)


class Tries(Generic[T]):
    """The attempts of one logical call: each one's timeout, its result, or the wait.

    Both clients drive the same loop with it; only how they send and sleep differs.
    """

    def __init__(self, call: Call[T], policy: RetryPolicy, timeout: float) -> None:
        self.call = call
        self.policy = policy
        self.timeout = timeout
        self.started = time.monotonic()
        self.attempts = 0

    def next_timeout(self) -> float:
        """Counts the attempt about to start; its timeout ends by the deadline."""
        self.attempts += 1
        remaining = self.policy.deadline - (time.monotonic() - self.started)
        return max(min(self.timeout, remaining), 0.001)

    def result(self, status: int, headers: Mapping[str, str], content: bytes) -> T:
        try:
            return settle(self.call, self.attempts, status, headers, content, json.loads)
        except QuestboardError as failure:
            failure.idempotency_key = self.call.idempotency_key
            raise

    def wait_after(self, failure: QuestboardError) -> float:
        """Seconds to wait before the next attempt; raises `failure` if there is none."""
        delay = self.policy.delay_before_retry(
            failure, self.attempts, time.monotonic() - self.started
        )
        if delay is None:
            failure.idempotency_key = self.call.idempotency_key
            raise failure
        return delay


def no_json(status: int, headers: Mapping[str, str], content: bytes) -> UnexpectedAnswer:
    """A success without a JSON body: a proxy's page, an empty or cut-off answer."""
    kind = headers.get("Content-Type", "no Content-Type")
    what = f"is not JSON: {content[:80]!r}" if content else "has no body"
    return UnexpectedAnswer(f"The HTTP {status} answer ({kind}) {what}.", status=status)


def unsendable_url(error: Exception) -> ValidationError:
    """A URL httpx will not send (over 65,536 characters: a path parameter far beyond
    the API's bounds), refused as the server would refuse it, nothing sent."""
    return ValidationError(f"The request's URL cannot be sent: {error}.")


def connection_failure(error: Exception) -> QuestboardConnectionError:
    return QuestboardConnectionError(f"{type(error).__name__}: {error}")


def settle(
    call: Call[T],
    attempts: int,
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    parse_json: Callable[[bytes], Any],
) -> T:
    """The decoded result of an answer, or its exception raised.

    Args:
        attempts: which attempt this answer is to (1 for the first).
    """
    try:
        body = parse_json(content) if content else None
    except (ValueError, RecursionError):  # not JSON (a proxy's page), or nested too deep
        body = None
    replayed = headers.get("Idempotent-Replayed", "").lower() == "true"
    if 200 <= status < 300:
        try:
            return call.decode(Answer(status, body, replayed))
        except UnexpectedAnswer as unexpected:
            if body is None:  # say what came instead of a field it lacks
                raise no_json(status, headers, content) from unexpected
            raise
    if status in call.results_on and isinstance(body, dict):
        try:
            return call.decode(Answer(status, body, replayed=False))
        except UnexpectedAnswer:
            pass  # not the operation's own body (a proxy's): an error as any other
    failure = error_from_answer(status, body, headers.get("Retry-After"), replayed)
    if call.not_found_on_retry_is_done and attempts > 1 and isinstance(failure, NotFound):
        return call.decode(Answer(status, None, replayed=True))
    raise failure
