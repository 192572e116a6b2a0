"""Rate limits, each taken in the same round trip as the work it limits.

The reads (wallet, ledger, daily, missions, battle pass, ranks) count every request in
the player's window of their group inside their own script, lua/read_player.lua, which
reads the player's keys in the same slot: `read_player`. With an address
(`X-Player-IP`), `take_address_read` counts the read in the address's window first
(lua/take_rate_slot.lua, on the address's own slot). Limits are parsed once per
process (`window_of`).

The routes that change a player's state are limited where the change is decided. A
client retrying on a flaky network sends copies of one request; a copy that replays
a recorded outcome, or a login of a day already claimed, changes nothing, so no limit
may count or refuse it. Only the action's own script knows, atomically, whether a call
is such a copy, so the limits are taken there or around it:

- The per-player limit runs inside the action's script (record_activity.lua,
  record_exams.lua), after its replay and no-op checks: the player's window is a key of
  the player's hash slot, like every key the script takes.
- The per-address limit (other players' requests share it, so it lives in another
  slot) is taken before the script (take_rate_slot.lua), in one round trip with a read
  of the player's slot that tells whether the call is already known to change nothing
  (its outcome is recorded, or the day is claimed): `take_address_slot`. A known copy
  gives its place back in the round trip of the action's script (the ZREM queued in
  the same batch), so with an address every such request is two round trips, replays
  included. When the address is at its limit, the call goes on only if it is a known
  copy; the script then only answers it. A call the script alone finds to change
  nothing (a copy racing its first copy, a refusal by the player's limit) gives its
  place back in a round trip of its own, as does a known copy when the action's
  script waits for replicas (REDIS_WAIT_REPLICAS: the WAIT goes with that script on
  its own connection, engine.replication).

Either way a change happens only with a place in both windows, so every limit holds for
real changes across processes. The address's place of a purchase, an ad reward, a
login, a streak repair or an exam is the request's own (its member the key of the
request's idempotency record or the exam's; a login without a key has a place of its
own, since a zoned player's two local days may share one game day): a copy that finds
it taken by another copy, in flight or recorded, takes none and goes on to be answered
as that copy is (its outcome; or the change itself if its script comes first, counted
in that place), at a full window too, and is never counted twice. Windows are moving
windows of the engine clock, in sorted sets (member: the request, score: ms).
"""

from __future__ import annotations

import itertools
import math
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from engine import keys
from engine.clock import to_ms
from engine.errors import RateLimitedError
from engine.outcomes import ScriptCode
from engine.runtime import Engine

UNIT_MS = {"second": 1_000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000}

# The rate-limit groups whose routes change a player's state; their limits are taken
# by the action (take_address_slot and its script), never before it by the web layer.
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


@lru_cache(maxsize=256)
def window_of(text: str) -> Window:
    """A limit of the rules, parsed once per process (the rules hold a few)."""
    return Window.parse(text)


def refused(window: Window, scope: str, group: str, wait_ms: int) -> RateLimitedError:
    """The 429 of a full window: Retry-After is the wait until a place frees, in whole
    seconds (at least one)."""
    retry_after = max(1, math.ceil(int(wait_ms) / 1000))
    return RateLimitedError(
        f"Too many requests: the limit is {window.text} per {scope}.",
        {"limit": window.text, "scope": scope, "group": group, "retry_after": retry_after},
    )


_token_prefix = secrets.token_hex(6)
_token_numbers = itertools.count()


def request_token() -> str:
    """A window member unique to this call: the process's random prefix and a number.

    A `secrets.token_hex` per call was a getrandom() system call on every request,
    which gives the GIL up and then waits behind the worker's other threads to take it
    back. A forked child draws its own prefix."""
    return f"{_token_prefix}{next(_token_numbers):x}"


def _new_token_prefix() -> None:
    global _token_prefix, _token_numbers
    _token_prefix, _token_numbers = secrets.token_hex(6), itertools.count()


os.register_at_fork(after_in_child=_new_token_prefix)


def _window_args(window: Window | None, now_ms: int) -> list:
    """ARGV 1-4 of take_rate_slot.lua and read_player.lua; a count of 0 is no limit."""
    if window is None:
        return [now_ms, 0, 0, ""]
    return [now_ms, window.count, window.window_ms, request_token()]


def read_player(
    engine: Engine,
    player_id: str,
    group: str | None,
    read_keys: list[str],
    read: str = "hgetall",
    now_ms: int | None = None,
) -> list:
    """Read keys of the player's slot (lua/read_player.lua), counted in the player's
    window of `group` in the same call; `group` None counts nothing (admin tools, jobs).

    Returns each key's reply: of HGETALL (a flat list of fields and values) when `read`
    is "hgetall", of LRANGE 0 -1 when it is "lrange".

    Raises:
        RateLimitedError: the player's window of `group` is full; nothing was read.
    """
    limit = engine.rules.security.limits_for(group).player if group is not None else None
    window = window_of(limit) if limit is not None else None
    if now_ms is None:
        now_ms = to_ms(engine.clock.now())
    reply = engine.scripts.read_player(
        keys=[keys.player_rate_window(player_id, group or "default"), *read_keys],
        args=[*_window_args(window, now_ms), read],
    )
    if window is not None and reply[0] == ScriptCode.RATE_LIMITED:
        raise refused(window, "player", group or "default", reply[1])
    return reply[1:]


def take_address_read(engine: Engine, group: str, address: str, now_ms: int) -> None:
    """Count a read in its address's window of `group` (lua/take_rate_slot.lua, on the
    address's own slot); a read is always counted, it changes nothing to give back.

    Raises:
        RateLimitedError: the address's window is full.
    """
    limit = engine.rules.security.limits_for(group).address
    if limit is None:
        return
    window = window_of(limit)
    reply = engine.scripts.take_rate_slot(
        keys=[keys.address_rate_window(group, address)], args=_window_args(window, now_ms)
    )
    if reply[0] != ScriptCode.APPLIED:
        raise refused(window, "address", group, reply[1])


def player_limits_context(security) -> str:
    """The per-player limits of the state-changing groups, as include/context.lua reads
    them: "group:count:window_ms:text;..." (a group without one is left out)."""
    parts = []
    for group in STATE_CHANGING_GROUPS:
        limit = security.limits_for(group).player
        if limit is not None:
            window = window_of(limit)
            parts.append(f"{group}:{window.count}:{window.window_ms}:{window.text}")
    return ";".join(parts)


@dataclass(frozen=True)
class AddressSlot:
    """A place taken in an address's window, to give back if the call changed nothing."""

    key: str
    member: str

    def give_back(self, engine: Engine, pipe: Any = None) -> None:
        """ZREM the place; queued on `pipe` (a ScriptBatch's) when given, so it rides
        in the round trip of the action's script instead of one of its own."""
        (pipe if pipe is not None else engine.redis).zrem(self.key, self.member)


@dataclass(frozen=True)
class AddressTake:
    """What the address's round trip learnt: the place taken (None: no address, no
    limit, or the window full for a call that changes nothing), and whether the call
    is already known to change nothing (then `slot` is to be given back with the
    action)."""

    slot: AddressSlot | None
    changes_nothing: bool
    # The place is the request's own (its member the request's name, shared by its
    # copies): a copy of it carrying the change out counts in this place.
    shared: bool = False

    def run_script(
        self,
        engine: Engine,
        name: str,
        script_keys: list[str],
        args: list[Any],
        not_attempted: tuple[ScriptCode, ...],
    ) -> tuple[Any, Any]:
        """The action's script `name` called after this take, its (code, payload).

        A place taken by a call already known to change nothing goes back in the round
        trip of the script's answer; one whose script answers a code of `not_attempted`
        (a copy racing its first copy) goes back after it: neither is ever counted. A
        shared place stays when the script answers a copy's outcome (REPLAYED,
        KEY_REUSED): that copy made its change in this place, holding none of its own.
        """
        script = getattr(engine.scripts, name)
        slot = self.slot
        if slot is not None and self.changes_nothing and script.wait is None:
            batch = engine.scripts.batch()
            slot.give_back(engine, batch.pipe)
            batch.call(name, script_keys, args)
            return batch.execute()[1]
        code, payload = script(keys=script_keys, args=args)
        made_by_a_copy = self.shared and code in MADE_BY_A_COPY
        if slot is not None and code in not_attempted and not made_by_a_copy:
            slot.give_back(engine)
        return code, payload


NO_ADDRESS = AddressTake(None, False)
# A script's answers that a copy of the request made (or refused) its change
MADE_BY_A_COPY = (ScriptCode.REPLAYED, ScriptCode.KEY_REUSED)


def take_address_slot(
    engine: Engine,
    group: str,
    address: str | None,
    probe: Callable[[Any], None],
    changes_nothing: Callable[[Any], bool],
    request_name: str | None = None,
) -> AddressTake:
    """Count this call in its address's window of `group`, and learn in the same
    round trip whether it is known to change nothing.

    `probe(pipe)` queues the reads of the player's slot that tell (the call's
    idempotency record; for a login, the day's claim and whether the player keeps a
    time zone) beside the address's take_rate_slot.lua; `changes_nothing(*replies)`
    reads their replies, in order. On a Redis Cluster the two slots may live on two
    nodes: the batch sends to both at once.

    `request_name` (the key of the request's idempotency record) is the window's
    member, so copies of one request share one place: a copy that finds the place
    taken by another goes on without one, to be answered as the first copy is (its
    outcome, or the change if it comes first), even at a full window, and is never
    counted twice. Without it each call is a member of its own.

    Returns the place and the verdict (NO_ADDRESS when there is no address or no limit:
    nothing is sent).

    Raises:
        RateLimitedError: the address is at its limit and the call would change state.
    """
    limit = engine.rules.security.limits_for(group).address
    if address is None or limit is None:
        return NO_ADDRESS
    window = window_of(limit)
    key = keys.address_rate_window(group, address)
    args = _window_args(window, to_ms(engine.clock.now()))
    if request_name is not None:
        args[3] = request_name
    batch = engine.scripts.batch()
    batch.call("take_rate_slot", [key], args)
    probe(batch.pipe)
    reply, *probed = batch.execute()
    known = changes_nothing(*probed)
    if reply[0] == ScriptCode.APPLIED:
        return AddressTake(AddressSlot(key, args[3]), known, shared=request_name is not None)
    if known or reply[0] == ScriptCode.REPLAYED:  # a copy holds the request's place
        return AddressTake(None, known)
    raise refused(window, "address", group, reply[1])
