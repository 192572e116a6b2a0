"""Rate limits of the routes that change a player's state, decided where the change is.

A client retrying on a flaky network sends copies of one request; a copy that replays
a recorded outcome, or a login of a day already claimed, changes nothing, so no limit
may count or refuse it. Only the action's own script knows, atomically, whether a call
is such a copy, so the limits are taken there or around it:

- The per-player limit runs inside the action's script (record_activity.lua,
  record_exams.lua), after its replay and no-op checks: the player's window is a key of
  the player's hash slot, like every key the script takes.
- The per-address limit (other players' requests share it, so it lives in another
  slot) is taken before the script (take_rate_slot.lua) and given back when the script
  answers that the call changed nothing. When the address is at its limit, the call
  goes on only if it is already known to change nothing (its outcome is recorded, or
  the day is claimed); the script then only answers it.

Either way a change happens only with a place in both windows, so every limit holds
for real changes across processes. A copy holds a place in its address's window only
while it is in flight, and is refused only in one case: it reaches an address already
at its limit before the first of its copies has recorded an outcome (it is then, as
far as anyone can know, a new change). Windows are moving windows of the engine clock,
in sorted sets (member: the request, score: ms).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from engine import keys
from engine.clock import to_ms
from engine.errors import RateLimitedError
from engine.outcomes import ScriptCode
from engine.runtime import Engine

UNIT_MS = {"second": 1_000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000}

# The rate-limit groups whose routes change a player's state; their limits are taken
# here and in the scripts, never by the web layer's limiter.
STATE_CHANGING_GROUPS = ("purchases", "ad_rewards", "login", "exams")


@dataclass(frozen=True)
class Window:
    """A limit of the rules ("10/minute") as a count per window of milliseconds."""

    text: str
    count: int
    window_ms: int

    @classmethod
    def parse(cls, text: str) -> Window:
        count, unit = text.split("/")
        return cls(text=text, count=int(count), window_ms=UNIT_MS[unit])


def player_limits_context(security) -> str:
    """The per-player limits of the state-changing groups, as include/progress.lua reads
    them: "group:count:window_ms:text;..." (a group without one is left out)."""
    parts = []
    for group in STATE_CHANGING_GROUPS:
        limit = security.limits_for(group).player
        if limit is not None:
            window = Window.parse(limit)
            parts.append(f"{group}:{window.count}:{window.window_ms}:{window.text}")
    return ";".join(parts)


@dataclass(frozen=True)
class AddressSlot:
    """A place taken in an address's window, to give back if the call changed nothing."""

    key: str
    member: str

    def give_back(self, engine: Engine) -> None:
        engine.redis.zrem(self.key, self.member)


def take_address_slot(
    engine: Engine,
    group: str,
    address: str | None,
    changes_nothing: Callable[[], bool],
) -> AddressSlot | None:
    """Count this call in its address's window of `group`.

    Returns the slot taken, or None when there is no address or no limit, or when the
    address is at its limit but `changes_nothing()` says the call is a known replay or
    no-op (answered without counting).

    Raises:
        RateLimitedError: the address is at its limit and the call would change state.
    """
    limit = engine.rules.security.limits_for(group).address
    if address is None or limit is None:
        return None
    window = Window.parse(limit)
    key = keys.address_rate_window(group, address)
    member = secrets.token_hex(8)
    now_ms = to_ms(engine.clock.now())
    reply = engine.scripts.take_rate_slot(
        keys=[key], args=[now_ms, window.count, window.window_ms, member]
    )
    if reply[0] == ScriptCode.APPLIED:
        return AddressSlot(key, member)
    if changes_nothing():
        return None
    retry_after = max(1, math.ceil(int(reply[1]) / 1000))
    raise RateLimitedError(
        f"Too many requests: the limit is {limit} per address.",
        {"limit": limit, "scope": "address", "group": group, "retry_after": retry_after},
    )
