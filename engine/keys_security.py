"""Security keys: bans, their indexes and change stream, violation counters and the
security event streams, all under the {sec} hash tag.
"""

from __future__ import annotations

from engine.keys_shards import PREFIX

# Bans, violation counters and the security event stream share the {sec} hash tag:
# one ban check is one round trip, and a violation updates its counters together.

SECURITY = f"{PREFIX}:{{sec}}"


def ban(ban_id: str) -> str:
    """Hash: one ban (kind, target, reason, created_at, expires_at, created_by)."""
    return f"{SECURITY}:ban:{ban_id}"


def bans_index() -> str:
    """Sorted set: ban id -> created at (ms), every live ban."""
    return f"{SECURITY}:bans"


def ip_bans() -> str:
    """Hash: network ("4:<hex>/<prefix>" or "6:<hex>/<prefix>") -> "<ban id>|<expires ms>"."""
    return f"{SECURITY}:bans:ip"


def player_bans() -> str:
    """Hash: player id -> "<ban id>|<expires ms>" (expires 0: never)."""
    return f"{SECURITY}:bans:player"


def ban_changes() -> str:
    """Stream: every change of the two ban indexes (kind, field, entry: the new value,
    empty when removed), added in the change's MULTI; each process applies the new ones
    to its copy of the bans (engine.security.ban_cache). Trimmed to about 10,000."""
    return f"{SECURITY}:bans:changes"


def security_events() -> str:
    """Stream: every violation (at, player, address, rule, details, action)."""
    return f"{SECURITY}:events"


def ban_events() -> str:
    """Stream: player bans placed and lifted (type, player, ban, reason, expires_at,
    created_by, at), written in the ban's own MULTI; drained by the webhooks job."""
    return f"{SECURITY}:ban-events"


def recent_violations(player_id: str) -> str:
    """Sorted set: the player's violations in the window (member: event id, score: ms)."""
    return f"{SECURITY}:recent:{player_id}"


def violation_copy(player_id: str, request: str) -> str:
    """String: set when a violation found in one request of the player (`request`: the
    request's name and its content's digest) is recorded; a copy of that request (a
    retry) finds it and records nothing more. Expires with the idempotency records."""
    return f"{SECURITY}:copy:{player_id}/{request}"


def violations_in_minute(minute: int) -> str:
    """String: violations service-wide in one minute (unix minutes); for alerting."""
    return f"{SECURITY}:minute:{minute}"
