"""The one list of codes Lua scripts answer with, mirrored by lua/include/codes.lua.

Every script replies with one of these as its first value (the job-lock and rate-slot
scripts too), and every caller compares against the names, never a bare number.
Zero and positive codes are answers (applied, replayed, ...); negative codes are
refusals, each turned into one typed error by `decode` below, the one place that
reads a script's answer for the economy and the exams.
tests/test_script_codes.py checks that the Lua CODE_<NAME> locals have the same names and
values.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from engine.errors import (
    BalanceLimitError,
    DailyLimitReachedError,
    IdempotencyKeyReusedError,
    InsufficientFundsError,
    QuestboardError,
    RapidFireError,
    RateLimitedError,
    ScriptContractError,
    StreakNotRepairableError,
)


class ScriptCode(IntEnum):
    APPLIED = 0  # the change was made (a transaction, an activity, an exam counted, a lock)
    REPLAYED = 1  # a copy of a recorded request: its recorded outcome, nothing changed
    NO_CHANGE = 2  # a login of a day already claimed: nothing to do, nothing recorded
    UNANSWERED = 3  # an exam counted before whose boards are not written yet: finish them
    INSUFFICIENT_FUNDS = -1  # a balance would go below zero
    KEY_REUSED = -2  # the idempotency key (or exam id) was used for another request
    BALANCE_LIMIT = -3  # a balance would go above the rules' maximum
    DAILY_LIMIT = -4  # the daily cap (of ad rewards) is reached
    RAPID_FIRE = -5  # more state changes in one second than the rules allow
    RATE_LIMITED = -6  # the moving-window rate limit of the route group is reached
    LOCK_HELD = -7  # a live run of the job holds its lock
    LOCK_LOST = -8  # the run no longer holds its lock (expired, or declared dead)
    NOT_RANKED = -9  # the player has no place on the board
    NOT_REPAIRABLE = -10  # no broken streak to buy back: none, repaired, or too late


# The refusals: the error each one means, and the message, filled from the details the
# script returned. KEY_REUSED has no details of its own (the script knows the
# fingerprint, not the key): its caller passes the error to raise to `decode`.
SCRIPT_ERRORS: dict[ScriptCode, tuple[type[QuestboardError], str]] = {
    ScriptCode.INSUFFICIENT_FUNDS: (
        InsufficientFundsError,
        "Not enough {resource}: {required} needed, {available} available.",
    ),
    ScriptCode.KEY_REUSED: (
        IdempotencyKeyReusedError,
        "This Idempotency-Key was already used with a different request.",
    ),
    ScriptCode.BALANCE_LIMIT: (
        BalanceLimitError,
        "This would take {resource} above the limit of {limit}.",
    ),
    ScriptCode.DAILY_LIMIT: (
        DailyLimitReachedError,
        "The daily limit of {limit} is reached; it resets tomorrow.",
    ),
    ScriptCode.RAPID_FIRE: (RapidFireError, "More than {limit} changes in one second: slow down."),
    ScriptCode.RATE_LIMITED: (
        RateLimitedError,
        "Too many requests: the limit is {limit} per {scope}.",
    ),
    ScriptCode.NOT_REPAIRABLE: (
        StreakNotRepairableError,
        "There is no broken streak to repair ({reason}).",
    ),
}

# Fields of a recorded outcome that are the record's own, not details of a refusal.
_RECORD_FIELDS = ("fp", "code")


def from_script_code(code: int, details: dict[str, Any]) -> QuestboardError:
    """The typed error of a refusal code, its message filled from `details`."""
    known = SCRIPT_ERRORS.get(code)  # type: ignore[call-overload]
    if known is None:
        return ScriptContractError(f"unknown script code {code}", {"code": int(code)})
    error_class, template = known
    return error_class(template.format(**details), details)


def decode(
    code: int,
    body: dict[str, Any],
    *,
    replayed: bool = False,
    reused: QuestboardError | None = None,
) -> ScriptCode:
    """The answer a script's reply (or a recorded outcome) carries, or its refusal raised.

    One decoder for every script that answers {code, json}: grants and purchases, ad
    rewards and logins, exams. `body` is the decoded JSON; for a refusal its fields
    (but the record's own "fp" and "code") become the error's details.

    Args:
        replayed: the code comes from an outcome recorded earlier and answered again;
            the error says so (the web layer sets a header).
        reused: the error a KEY_REUSED answer raises: only the caller knows which key
            (an Idempotency-Key, an exam id) was reused. None: the generic one.

    Returns:
        The answer code (APPLIED, REPLAYED, NO_CHANGE, UNANSWERED).

    Raises:
        The refusal's QuestboardError; ScriptContractError for a code not in ScriptCode.
    """
    try:
        known = ScriptCode(int(code))
    except ValueError:
        raise ScriptContractError(f"unknown script code {code}", {"code": int(code)}) from None
    if known >= 0:
        return known
    if known is ScriptCode.KEY_REUSED and reused is not None:
        error = reused
    else:
        details = {name: value for name, value in body.items() if name not in _RECORD_FIELDS}
        error = from_script_code(known, details)
    error.replayed = replayed
    raise error
