"""Fraud violations: recorded as security events, counted per player, acted upon.

A violation is a value that passed validation but that no honest player produces: an
exam result above what the exam allows (the engine's checks), rapid fire and earnings
beyond a daily cap (inside the Lua scripts). A client's or an admin's invalid input is
a 400 and never a violation, and a replayed request or a call that changes nothing is
never judged. `record_violation` is the one place that records a violation (`report`
passes it those a script found): each one is appended to
the security event stream (time, player, address, rule, details, action) and counted
per player; past the rules' threshold within the window the player is blocked for a
while (a player ban the bans module enforces), and when violations service-wide pass
the rules' rate per minute an alert is raised.

The package also holds `bans` (how their targets are indexed: `ban_index`) and
`rate_limits` (the per-address windows and the per-player limits the scripts enforce).

Depends on: core.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine import alerts, keys
from engine.clock import from_ms, to_ms
from engine.metrics import SECURITY_VIOLATIONS
from engine.runtime import Engine
from engine.security import bans

MAX_EVENTS = 1_000_000  # the stream is trimmed to about this many; SQL keeps them all
SCAN_LIMIT = 10_000  # the most events one filtered read looks through


@dataclass(frozen=True)
class SecurityEvent:
    event_id: str
    at: datetime
    player_id: str
    address: str | None
    rule: str
    details: dict[str, Any]
    action: str


def record_violation(
    engine: Engine,
    player_id: str,
    address: str | None,
    rule: str,
    details: dict[str, Any],
    action: str,
) -> SecurityEvent:
    """Record one violation; block the player if it is one too many."""
    rules = engine.rules.security
    now = engine.clock.now()
    now_ms = to_ms(now)
    window_start = now_ms - rules.violation_window_minutes * 60_000
    minute = now_ms // 60_000
    pipe = engine.redis.pipeline(transaction=True)
    pipe.xadd(
        keys.security_events(),
        {
            "at": now_ms,
            "player": player_id,
            "address": address or "",
            "rule": rule,
            "details": json.dumps(details, sort_keys=True),
            "action": action,
        },
        maxlen=MAX_EVENTS,
        approximate=True,
    )
    recent = keys.recent_violations(player_id)
    pipe.zremrangebyscore(recent, "-inf", window_start)
    pipe.zcard(recent)
    pipe.incr(keys.violations_in_minute(minute))
    pipe.expire(keys.violations_in_minute(minute), 180)
    event_id, _, _, per_minute, _ = pipe.execute()
    SECURITY_VIOLATIONS.labels(rule).inc()
    event_id = event_id.decode()
    pipe = engine.redis.pipeline(transaction=True)
    pipe.zadd(recent, {event_id: now_ms})
    pipe.pexpire(recent, rules.violation_window_minutes * 60_000)
    pipe.zcard(recent)
    _, _, in_window = pipe.execute()

    if (
        in_window >= rules.block_after_violations
        and bans.active_ban(engine, player_id, None) is None
    ):
        _block(engine, player_id, rule, in_window)
    if per_minute == rules.alert_violations_per_minute + 1:
        alerts.raise_alert(
            "fraud_violations",
            f"More than {rules.alert_violations_per_minute} fraud violations in one minute.",
            {
                "minute": from_ms(minute * 60_000).isoformat(),
                "last_rule": rule,
                "last_player": player_id,
            },
            at=now,
            webhook_url=engine.alert_webhook_url,
        )
    return SecurityEvent(event_id, now, player_id, address, rule, details, action)


def _block(engine: Engine, player_id: str, rule: str, in_window: int) -> None:
    """Block the player for the rules' time, and alert once per block.

    Concurrent violations may all find the player unblocked; `bans.place` makes one
    ban of them all (a target has one ban in force), and only the call that made it
    raises the alert.
    """
    rules = engine.rules.security
    ban, new = bans.place(
        engine,
        "player",
        player_id,
        f"automatic: {in_window} fraud violations in "
        f"{rules.violation_window_minutes} minutes (last: {rule})",
        expires_in_seconds=rules.block_minutes * 60,
        created_by="automatic",
    )
    if new:
        alerts.raise_alert(
            "player_blocked",
            f"Player {player_id} blocked for {rules.block_minutes} minutes: "
            f"{in_window} fraud violations in {rules.violation_window_minutes} minutes.",
            {"player_id": player_id, "ban_id": ban.ban_id, "last_rule": rule},
            at=engine.clock.now(),
            webhook_url=engine.alert_webhook_url,
        )


def report(
    engine: Engine,
    player_id: str,
    address: str | None,
    violations: list[dict],
    action: str,
    request: str | None = None,
) -> None:
    """Record violations (each a dict with its `rule` and details), found by a script
    or by the engine's checks; block the player past the rules' threshold.

    `request` names a request the engine refused before anything recorded it (its name
    and its content's digest): a copy of it, a client's retry, is the same violation and
    is not recorded again while the idempotency records last (the scripts' violations
    need no name: a script never judges a replay)."""
    if request is not None and not engine.redis.set(
        keys.violation_copy(player_id, request), 1, nx=True, ex=engine.idempotency_ttl_seconds
    ):
        return
    for violation in violations:
        details = {name: value for name, value in violation.items() if name != "rule"}
        record_violation(engine, player_id, address, violation["rule"], details, action)


def events(
    engine: Engine, player_id: str | None = None, rule: str | None = None, limit: int = 50
) -> list[SecurityEvent]:
    """The newest events, optionally for one player or rule (looks through SCAN_LIMIT)."""
    found: list[SecurityEvent] = []
    newest = "+"
    examined = 0
    while len(found) < limit and examined < SCAN_LIMIT:
        rows = engine.redis.xrevrange(keys.security_events(), max=newest, min="-", count=500)
        if not rows:
            break
        for entry_id, fields in rows:
            examined += 1
            event = _event(entry_id, fields)
            if (player_id is None or event.player_id == player_id) and (
                rule is None or event.rule == rule
            ):
                found.append(event)
                if len(found) == limit:
                    break
        newest = f"({rows[-1][0].decode()}"
    return found


def _event(entry_id: bytes, fields: dict[bytes, bytes]) -> SecurityEvent:
    return SecurityEvent(
        event_id=entry_id.decode(),
        at=from_ms(int(fields[b"at"])),
        player_id=fields[b"player"].decode(),
        address=fields[b"address"].decode() or None,
        rule=fields[b"rule"].decode(),
        details=json.loads(fields[b"details"]),
        action=fields[b"action"].decode(),
    )


@dataclass(frozen=True)
class PlayerFlags:
    player_id: str
    violations: dict[str, int]  # rule -> count within the window
    in_window: int
    window_minutes: int
    blocked: bans.Ban | None


def flags(engine: Engine, player_id: str) -> PlayerFlags:
    """The player's violations within the window, by rule, and the ban in force.

    The rules are those of the window's events in the stream (the window's set holds
    their ids): a count kept beside it could only expire whole, a window after the
    last violation, and so counted every violation since the player was last quiet.
    """
    rules = engine.rules.security
    window_start = to_ms(engine.clock.now() - timedelta(minutes=rules.violation_window_minutes))
    ids = engine.redis.zrangebyscore(keys.recent_violations(player_id), window_start, "+inf")
    pipe = engine.redis.pipeline(transaction=False)
    for event_id in ids:
        pipe.xrange(keys.security_events(), min=event_id, max=event_id, count=1)
    counts: dict[str, int] = {}
    for found in pipe.execute() if ids else []:
        for _, fields in found:  # none if the stream was trimmed past it
            rule = fields[b"rule"].decode()
            counts[rule] = counts.get(rule, 0) + 1
    return PlayerFlags(
        player_id=player_id,
        violations=counts,
        in_window=len(ids),
        window_minutes=rules.violation_window_minutes,
        blocked=bans.active_ban(engine, player_id, None),
    )
