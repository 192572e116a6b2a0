"""The one list of codes Lua scripts answer with, mirrored by lua/include/codes.lua.

Every script replies with one of these as its first value (the job-lock and rate-slot
scripts too), and every caller compares against the names, never a bare number.
Zero and positive codes are answers (applied, replayed, ...); negative codes are
refusals, each turned into one typed error by `engine.errors.from_script_code`.
tests/test_script_codes.py checks that the Lua table has the same names and values.
"""

from __future__ import annotations

from enum import IntEnum


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
