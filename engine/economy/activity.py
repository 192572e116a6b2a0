"""Player activity: purchases, ad rewards and logins, each one call of lua/record_activity.lua.

`record` is the one path: engine.economy.purchases.purchase, `ad_reward` and `login` call
it, and it runs lua/record_activity.lua (+ includes replay, wallet, rate, progress, claim),
which checks the idempotency record, the player's rate limit and pace, debits and
credits the wallet with one ledger entry per change (lua/include/wallet.lua), and pays
what the activity earns. With the player's address, the address's rate slot is taken
first: engine.security.rate_limits.take_address_slot → lua/take_rate_slot.lua.

Any activity of a player (these, and an exam) is their first of the game day or not;
the first claims the daily login bonus, so a player who comes in by any path keeps
the streak. Each activity also advances the day's missions for its event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import orjson

from engine import keys, security
from engine.clock import from_ms, to_ms
from engine.economy import idempotency, transactions
from engine.economy.idempotency import IdempotentRequest, is_same_request
from engine.economy.transactions import Transaction
from engine.errors import RapidFireError
from engine.outcomes import ScriptCode, decode
from engine.progression import (
    NO_SEASON,
    DayContext,
    Progress,
    day_context,
    fresh_memo,
    timezones,
)
from engine.runtime import Engine
from engine.security import rate_limits

# Answers that are no attempted change: the address's rate-limit slot is given back.
NOT_ATTEMPTED = (
    ScriptCode.REPLAYED,
    ScriptCode.NO_CHANGE,
    ScriptCode.KEY_REUSED,
    ScriptCode.RATE_LIMITED,
)

# Activity kind -> the rules' rate-limit group of its route.
RATE_GROUPS = {"purchase": "purchases", "ad_reward": "ad_rewards", "login": "login"}


@dataclass(frozen=True)
class CallDay:
    """What every activity call within one second sends alike: the game day's context
    and the other days some zone may be in (engine.progression.timezones.zone_part),
    as the script's arguments and the parts of its keys. Both depend on the second
    only (a game day and a zone day start on a whole second), so `call_day` builds
    them once a second per process, not once a call."""

    second: int
    context: DayContext
    game_day: str  # the game day's date, as the daily key and a login's reference name it
    other_days: tuple[str, str]  # the daily keys' dates of the other two (include/zone.lua)
    season: str  # the battle-pass key's season
    context_arg: str  # ARGV[7]
    rewards_arg: str  # ARGV[8]


def call_day(engine: Engine, now: datetime) -> CallDay:
    """The CallDay of `now`'s second, kept in engine.memo (one entry, replaced)."""
    second = int(now.timestamp())
    current = fresh_memo(engine).get("activity_call_day")
    if current is not None and current.second == second:
        return current
    context = day_context(engine, now)
    zone = timezones.zone_part(engine, now)  # a player with a time zone: their own day
    others = [day.isoformat() for day in zone.days]
    others += [context.day.isoformat()] * (2 - len(others))  # as ZonePart.daily_keys
    current = engine.memo["activity_call_day"] = CallDay(
        second=second,
        context=context,
        game_day=context.day.isoformat(),
        other_days=(others[0], others[1]),
        season=context.season_id or NO_SEASON,
        context_arg=context.context + zone.context_tail,
        rewards_arg=context.rewards_json + zone.rewards_tail,
    )
    return current


def record(
    engine: Engine,
    player_id: str,
    kind: str,
    changes: dict[str, int],
    reason: str,
    event: str,
    request: IdempotentRequest | None,
    daily_cap: int = 0,
    address: str | None = None,
) -> Transaction:
    """Run one activity atomically; raises the engine error its refusal means.

    Rate limits and rapid fire count attempted changes only: a replay of a recorded
    outcome and a login of a claimed day are answered without being counted
    (engine.security.rate_limits). Violations the script finds (rapid fire, earning caps)
    become security events.
    """
    now = engine.clock.now()
    day = call_day(engine, now)
    group = RATE_GROUPS[kind]
    idempotency_key = (
        request.redis_key(player_id) if request else keys.daily(player_id, day.game_day)
    )
    taken = rate_limits.NO_ADDRESS  # no address: no slot to take, nothing sent
    if address is not None:
        taken = rate_limits.take_address_slot(
            engine,
            group,
            address,
            partial(_probe, idempotency_key, request, player_id, login=kind == "login"),
            partial(
                _changes_nothing,
                request,
                day.context.day.toordinal(),
                to_ms(now),
                login=kind == "login",
            ),
            # A login without a key has no name of its own: the game calendar's day is
            # not the day a zoned player claims (two of their days may share one).
            request_name=request.redis_key(player_id) if request else None,
        )
    args: list[Any] = [
        player_id,
        to_ms(now),
        engine.rules.limits.max_balance,
        request.fingerprint if request else "",
        engine.idempotency_ttl_seconds,
        request.reference if request else f"{kind}/{day.game_day}",
        day.context_arg,
        day.rewards_arg,
        kind,
        reason,
        event,
        daily_cap,
        engine.ledger_keep_entries,
        group,
    ]
    for resource, delta in changes.items():
        args += [resource, delta]
    # The keys of DayContext.player_keys and ZonePart.daily_keys, from the second's names.
    script_keys = [
        keys.wallet(player_id),
        keys.ledger(player_id),
        keys.player_outbox(player_id),
        idempotency_key,
        keys.daily(player_id, day.game_day),
        keys.streak(player_id),
        keys.battle_pass(player_id, day.season),
        keys.pace(player_id, day.second),
        keys.player_rate_window(player_id, group),
        keys.settings(player_id),
        keys.daily(player_id, day.other_days[0]),
        keys.daily(player_id, day.other_days[1]),
    ]
    code, payload = taken.run_script(engine, "record_activity", script_keys, args, NOT_ATTEMPTED)
    outcome = orjson.loads(payload)
    # The refusal of a reused key names the key: built only for that answer.
    reused = None
    if code == ScriptCode.KEY_REUSED:
        reused = transactions.key_reused(request.key if request else "")
    try:
        answer = decode(code, outcome, reused=reused)
    except RapidFireError:
        # Refused before it was recorded: a copy of it (a retry) is no second violation.
        named = f"{kind}/{day.game_day}"  # a login without a key: its natural key
        if request is not None:
            named = f"{request.reference}/{request.fingerprint}"
        violation = [dict(outcome, rule="rapid_fire")]
        security.report(engine, player_id, address, violation, "refused", request=named)
        raise
    replayed = answer is ScriptCode.REPLAYED
    transaction = transactions.outcome_to_transaction(engine, outcome, replayed=replayed)
    if answer is ScriptCode.APPLIED and transaction.progress and transaction.progress.violations:
        security.report(engine, player_id, address, transaction.progress.violations, "capped")
    return transaction


def _probe(
    idempotency_key: str,
    request: IdempotentRequest | None,
    player_id: str,
    pipe: Any,
    *,
    login: bool | None = None,
) -> None:
    """Queue the reads `_changes_nothing` decides on: the call's idempotency record, and
    for a login (keyed or not) the streak's last claimed day and, for a claim made in a
    time zone of the player's own, when that day ends and the date whose hash holds it,
    with whether the player keeps a zone (their settings' day table, include/zone.lua).
    `login` None: the call is a login when it has no request."""
    if request is not None:
        pipe.get(idempotency_key)
    if _is_login(request, login):
        pipe.hmget(keys.streak(player_id), "last_day", "claim_ends", "claimed_on")
        pipe.hexists(keys.settings(player_id), "days")


def _is_login(request: IdempotentRequest | None, login: bool | None) -> bool:
    return request is None if login is None else login


def _changes_nothing(
    request: IdempotentRequest | None,
    game_day: int,
    now_ms: int,
    *replies: Any,
    login: bool | None = None,
) -> bool:
    """Whether the call is known to change nothing: its outcome is recorded (with the
    same fingerprint: a reuse of the key is refused by the script anyway), or, for a
    login, the day is claimed. By the game calendar: the game day is the last claimed
    and no zone's claim is kept (claim_ends). In the player's own zone: they keep a
    zone and the claimed local day has not ended (now before claim_ends), so the
    script's next claim, never before claim_ends, has not come (include/claim.lua's
    day_claimed); once it has ended their next day may have begun, which only the
    script can tell. A claim written in the hash of the date before the one it counts
    for (claimed_on: after a move west of more than a day) leaves that date's login to
    be counted by the script (include/claim.lua's early_login_due). A keyed login of
    a claimed day changes nothing either (its answer is recorded, nothing counted);
    `login` None: the call is a login when it has no request."""
    if request is not None:
        recorded, *replies = replies
        if recorded is not None and is_same_request(
            idempotency.load(recorded), request.fingerprint
        ):
            return True
    if not _is_login(request, login):
        return False
    (last_day, claim_ends, claimed_on), zoned = replies
    if claimed_on is not None and claimed_on != last_day:
        return False
    if claim_ends is not None:
        return bool(zoned) and now_ms < int(claim_ends) * 1000
    return last_day is not None and int(last_day) == game_day


@dataclass(frozen=True)
class LoginResult:
    claimed: bool
    streak: int
    reward: dict[str, int]
    next_claim_at: datetime
    balances: dict[str, int]
    progress: Progress
    replayed: bool = False  # answered from the record of its Idempotency-Key


LOGIN_ROUTE = "login"


def login(
    engine: Engine,
    player_id: str,
    address: str | None = None,
    idempotency_key: str | None = None,
) -> LoginResult:
    """Claim the day's login bonus if it is not claimed yet; its natural key is the day.

    With an `idempotency_key`, the answer is recorded like a purchase's: a retry of it
    (a game server that lost the answer) is answered the first answer, the bonus it
    claimed included, on any day, and claims nothing."""
    request = None
    if idempotency_key is not None:
        request = IdempotentRequest.of(LOGIN_ROUTE, idempotency_key, {})
    transaction = record(
        engine, player_id, LOGIN_ROUTE, {}, "login", "", request=request, address=address
    )
    progress = transaction.progress or Progress()
    bonus = progress.daily_bonus
    return LoginResult(
        claimed=bonus is not None,
        streak=bonus["streak"] if bonus else progress.streak,
        reward=dict(bonus["reward"]) if bonus else {},
        next_claim_at=from_ms(progress.claim_ends * 1000)
        if progress.claim_ends
        # a replay: the reset after the first answer, as it said
        else engine.calendar.next_reset(
            transaction.at if transaction.replayed else engine.clock.now()
        ),
        balances=transaction.balances,
        progress=progress,
        replayed=transaction.replayed,
    )


AD_ROUTE = "ad_reward"


def ad_reward(
    engine: Engine, player_id: str, idempotency_key: str, address: str | None = None
) -> Transaction:
    """Grant the rules' ad reward, up to the daily cap.

    Raises:
        DailyLimitReachedError: the cap is reached; nothing granted.
        IdempotencyKeyReusedError.
    """
    ads = engine.rules.ads
    return record(
        engine,
        player_id,
        AD_ROUTE,
        dict(ads.reward),
        "ad watched",
        "watch_ad",
        IdempotentRequest.of(AD_ROUTE, idempotency_key, {}),
        daily_cap=ads.daily_cap,
        address=address,
    )
