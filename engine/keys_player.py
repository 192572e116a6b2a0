"""Player keys: wallet, ledger, idempotency records, the shard outbox, and the player's
progression (the day's counters, streak, settings, battle pass, pace, rate windows);
the day's missions and tool and the QA clock offset.

Every key of one player is in the player's shard slot (engine.keys_shards).
"""

from __future__ import annotations

from engine import addresses
from engine.keys_shards import PREFIX, _player, shard_of, shard_tag


def wallet(player_id: str) -> str:
    """Hash: resource -> balance."""
    return _player("wallet", player_id)


def ledger(player_id: str) -> str:
    """List: the newest of the player's balance changes, newest first, each a JSON array
    `[transaction_id, kind, deltas, balances, reason, at]`: those waiting to be persisted
    and the newest `LEDGER_KEEP_ENTRIES` persisted ones (engine.economy.ledger)."""
    return _player("tx", player_id)


def idempotency(player_id: str, route: str, key: str) -> str:
    """String (JSON): the recorded outcome of one idempotent request; expires."""
    return f"{PREFIX}:{shard_tag(shard_of(player_id))}:idem:{route}:{player_id}/{key}"


def outbox(shard: int) -> str:
    """Stream: every ledger entry of the shard's players, until persisted to SQL."""
    return f"{PREFIX}:{shard_tag(shard)}:outbox"


def player_outbox(player_id: str) -> str:
    return outbox(shard_of(player_id))


def daily(player_id: str, game_day: str) -> str:
    """Hash: the player's counters for one game day; expires after the day (plus grace)."""
    return f"{PREFIX}:{shard_tag(shard_of(player_id))}:daily:{game_day}:{player_id}"


def streak(player_id: str) -> str:
    """Hash: last_day (date ordinal of the last claimed day), streak, best; after a
    claim found the streak broken, with streak repair: lost (its length; 0 once
    repaired) and repair_by (ms)."""
    return _player("streak", player_id)


def settings(player_id: str) -> str:
    """Hash: the player's settings: timezone (an IANA name), days (the start of each of
    the player's local days, engine.progression.timezones), until (the last day it
    covers); no such hash for a player on the game calendar."""
    return _player("settings", player_id)


def battle_pass(player_id: str, season_id: str) -> str:
    """Hash: xp and rewarded_level in one season."""
    return f"{PREFIX}:{shard_tag(shard_of(player_id))}:bp:{season_id}:{player_id}"


def pace(player_id: str, second: int) -> str:
    """String: the player's state changes within one second (rapid-fire check); 2 s TTL."""
    return f"{PREFIX}:{shard_tag(shard_of(player_id))}:pace:{player_id}:{second}"


def player_rate_window(player_id: str, group: str) -> str:
    """Sorted set: the player's counted requests in one route group's moving rate-limit
    window (member: time and request, score: ms); expires with the window. The
    state-changing groups count attempted changes, the reads (`default`) every read."""
    return f"{PREFIX}:{shard_tag(shard_of(player_id))}:rate:{group}:{player_id}"


def address_rate_window(group: str, address: str) -> str:
    """Sorted set: the counted requests from one player address in one route group's
    moving rate-limit window (member: a request's token, score: ms); expires with the
    window.
    An IPv6 address counts with its /64 (engine.addresses.limit_key)."""
    return f"{PREFIX}:rate:{group}:{addresses.limit_key(address)}"


def battle_pass_pattern(season_id: str) -> str:
    """SCAN pattern for every battle-pass hash of one season, in every shard."""
    return f"{PREFIX}:{{p*}}:bp:{season_id}:*"


def wallets_pattern() -> str:
    """SCAN pattern for every wallet, in every shard."""
    return f"{PREFIX}:{{p*}}:wallet:*"


def daily_pattern() -> str:
    """SCAN pattern for every player's daily hashes, in every shard."""
    return f"{PREFIX}:{{p*}}:daily:*"


def settings_pattern() -> str:
    """SCAN pattern for every player's settings hash, in every shard."""
    return f"{PREFIX}:{{p*}}:settings:*"


def player_keys_pattern() -> str:
    """SCAN pattern for every key of every player shard (outboxes included)."""
    return f"{PREFIX}:{{p*"


def missions_of_day(game_day: str) -> str:
    """String (JSON list of mission ids): the day's missions, written by daily_reset."""
    return f"{PREFIX}:{{daily}}:missions:{game_day}"


def tool_of_day(game_day: str) -> str:
    """String: the day's tool, written by daily_reset or an admin override."""
    return f"{PREFIX}:{{daily}}:tool:{game_day}"


def clock_offset() -> str:
    """String: milliseconds added to real time, when the QA clock override is on."""
    return f"{PREFIX}:{{clock}}:offset"
