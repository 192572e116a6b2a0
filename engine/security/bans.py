"""IP and player bans, each with a reason and an optional expiry: placed, listed, lifted.

How a target is indexed (its field, the entry of the ban in force, the change log) is
engine.security.ban_index. Requests are checked against a copy of the indexes each
process keeps (engine.security.ban_cache): every change here is logged to the bans'
change stream in the same MULTI, and drops this process's copy. `active_ban` reads
Redis itself (one round trip, a bounded amount of work whatever the number of bans):
an address is looked up as the network it belongs to at every prefix length (33 for
IPv4, 129 for IPv6) with one HMGET on the index of banned networks, so a /24 ban and a
single-address ban are found the same way.

A target (a normalised network, see engine.addresses, or a player id) has at most one
ban in force: banning it again extends that ban. Overlapping bans (a /16, a /24 inside
it, an address inside both) are separate targets, each enforced until it is itself
lifted or expires.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from redis.client import Pipeline

from engine import keys
from engine.addresses import IpAddress, limit_key, parse_address
from engine.clock import from_ms, to_ms
from engine.errors import NotFoundError
from engine.runtime import Engine
from engine.security.ban_index import (
    candidate_fields,
    entry_in_force,
    log_change,
    network_field,
    network_field_of,
    parse_network,
)

__all__ = [
    "Ban",
    "active_ban",
    "create",
    "delete",
    "limit_key",
    "listing",
    "load",
    "network_field_of",
    "parse_address",
    "parse_network",
    "place",
    "purge_expired",
]

CACHE_MEMO = "bans"  # Engine.memo entry of the process's copy (engine.security.ban_cache)
MAX_BAN_EVENTS = 100_000  # keys.ban_events() is trimmed to about this many


@dataclass(frozen=True)
class Ban:
    ban_id: str
    kind: str  # "ip" or "player"
    target: str  # the network (203.0.113.0/24) or the player id
    reason: str
    created_at: datetime
    expires_at: datetime | None
    created_by: str  # "admin" or "automatic"


def create(
    engine: Engine,
    kind: str,
    target: str,
    reason: str,
    expires_in_seconds: int | None = None,
    created_by: str = "admin",
) -> Ban:
    """Ban a player or a network; the ban in force on that target if there is one."""
    return place(engine, kind, target, reason, expires_in_seconds, created_by)[0]


def place(
    engine: Engine,
    kind: str,
    target: str,
    reason: str,
    expires_in_seconds: int | None = None,
    created_by: str = "admin",
) -> tuple[Ban, bool]:
    """Ban a target, or extend the ban already in force on it; True if the ban is new.

    A target has at most one ban in force, so lifting a ban always lifts what it
    enforced, and a repeated request (a retry, a second admin) never makes a second
    ban. A repeat takes the later expiry (none: permanent), the new reason and the new
    creator, and keeps the first ban's id and creation time. Atomic: the index entry
    is watched, so two requests at once make one ban.

    Raises InvalidInputError for an ip target that is not an address or a network.
    """
    now = engine.clock.now()
    now_ms = to_ms(now)
    expires_ms = to_ms(now + timedelta(seconds=expires_in_seconds)) if expires_in_seconds else 0
    if kind == "ip":
        network = parse_network(target)
        target, index, field = str(network), keys.ip_bans(), network_field(network)
    else:
        index, field = keys.player_bans(), target

    def attempt(pipe: Pipeline) -> tuple[Ban, bool]:
        current = entry_in_force(pipe.hget(index, field), now_ms)
        existing = None
        if current is not None:
            pipe.watch(keys.ban(current[0]))
            existing = _decode(current[0], pipe.hgetall(keys.ban(current[0])))
        pipe.multi()
        if existing is not None:
            ban = _extended(existing, reason, expires_ms, created_by)
            record = keys.ban(ban.ban_id)
            pipe.hset(
                record,
                mapping={"reason": reason, "expires_at": _ms(ban), "created_by": created_by},
            )
        else:
            ban = Ban(
                ban_id=f"ban_{secrets.token_hex(8)}",
                kind=kind,
                target=target,
                reason=reason,
                created_at=from_ms(now_ms),  # as stored: every later read answers it
                expires_at=from_ms(expires_ms) if expires_ms else None,
                created_by=created_by,
            )
            record = keys.ban(ban.ban_id)
            pipe.hset(
                record,
                mapping={
                    "kind": kind,
                    "target": target,
                    "reason": reason,
                    "created_at": now_ms,
                    "expires_at": expires_ms,
                    "created_by": created_by,
                    "field": field,
                },
            )
            pipe.zadd(keys.bans_index(), {ban.ban_id: now_ms})
        # No Redis expiry (real time) on a ban of engine time: purge_expired removes it.
        pipe.persist(record)
        pipe.hset(index, field, f"{ban.ban_id}|{_ms(ban)}")
        log_change(pipe, kind, field, f"{ban.ban_id}|{_ms(ban)}")
        if kind == "player":  # in this MULTI: the webhooks' record of it (engine.webhooks)
            _ban_event(pipe, "player.banned", ban, now_ms, extended=existing is not None)
        return ban, existing is None

    placed = engine.redis.transaction(attempt, index, value_from_callable=True)
    _changed(engine)
    return placed


def _changed(engine: Engine) -> None:
    """After a change of the indexes: this process reads them again on its next check
    (the others apply the change within a second, engine.security.ban_cache)."""
    engine.memo.pop(CACHE_MEMO, None)


def _ban_event(pipe: Pipeline, kind: str, ban: Ban, now_ms: int, extended: bool) -> None:
    pipe.xadd(
        keys.ban_events(),
        {
            "type": kind,
            "player": ban.target,
            "ban": ban.ban_id,
            "reason": ban.reason,
            "expires_at": _ms(ban),
            "created_by": ban.created_by,
            "extended": int(extended),
            "at": now_ms,
        },
        maxlen=MAX_BAN_EVENTS,
        approximate=True,
    )


def _ms(ban: Ban) -> int:
    """The ban's expiry in ms, 0 for never (as stored)."""
    return to_ms(ban.expires_at) if ban.expires_at else 0


def _extended(ban: Ban, reason: str, expires_ms: int, created_by: str) -> Ban:
    """`ban` after a repeat: the later expiry (never is the latest), the new reason."""
    later = 0 if expires_ms == 0 or _ms(ban) == 0 else max(expires_ms, _ms(ban))
    return replace(
        ban,
        reason=reason,
        expires_at=from_ms(later) if later else None,
        created_by=created_by,
    )


def _decode(ban_id: str, raw: dict[bytes, bytes]) -> Ban | None:
    if not raw:
        return None
    record = {k.decode(): v.decode() for k, v in raw.items()}
    expires = int(record["expires_at"])
    return Ban(
        ban_id=ban_id,
        kind=record["kind"],
        target=record["target"],
        reason=record["reason"],
        created_at=from_ms(int(record["created_at"])),
        expires_at=from_ms(expires) if expires else None,
        created_by=record["created_by"],
    )


def load(engine: Engine, ban_ids: list[str]) -> list[Ban]:
    """The records of these bans that still exist, in one round trip."""
    pipe = engine.redis.pipeline(transaction=False)
    for ban_id in ban_ids:
        pipe.hgetall(keys.ban(ban_id))
    found = [_decode(ban_id, raw) for ban_id, raw in zip(ban_ids, pipe.execute(), strict=True)]
    return [ban for ban in found if ban is not None]


def listing(engine: Engine, kind: str) -> list[Ban]:
    """The live bans of a kind, newest first."""
    now = engine.clock.now()
    ids = [b.decode() for b in engine.redis.zrevrange(keys.bans_index(), 0, -1)]
    found = load(engine, ids)
    gone = set(ids) - {ban.ban_id for ban in found}
    if gone:  # records purged meanwhile, or expired by Redis (an earlier version's TTL)
        engine.redis.zrem(keys.bans_index(), *gone)
    return [
        ban
        for ban in found
        if ban.kind == kind and (ban.expires_at is None or ban.expires_at > now)
    ]


def delete(engine: Engine, kind: str, ban_id: str) -> None:
    """Lift a ban. Raises NotFoundError if there is no such ban of that kind.

    A player's lift is recorded for the webhooks (`player.unbanned`, with the lifted
    ban's reason, expiry and creator) only when it was the ban in force: lifting a ban
    that a later one replaced leaves the player banned.

    Atomic with `place`: the record and the index are watched, so a repeat of the ban
    arriving meanwhile either extends it before it is lifted or makes a new one after.
    """
    record = keys.ban(ban_id)
    index = keys.ip_bans() if kind == "ip" else keys.player_bans()

    def attempt(pipe: Pipeline) -> str | None:
        """Lift the ban; its target's index field if it was the ban in force there."""
        raw = pipe.hgetall(record)
        stored, field = _decode(ban_id, raw), raw.get(b"field")
        if stored is None or stored.kind != kind or field is None:
            raise NotFoundError(f"There is no {kind} ban {ban_id}.", {"ban_id": ban_id})
        current = pipe.hget(index, field)
        in_force = current is not None and current.decode().split("|")[0] == ban_id
        pipe.multi()
        pipe.delete(record)
        pipe.zrem(keys.bans_index(), ban_id)
        if in_force:
            pipe.hdel(index, field)
            log_change(pipe, kind, field.decode(), "")
            if kind == "player":
                # Only the ban in force: lifting one another ban replaced leaves the
                # player banned, and no receiver may be told otherwise.
                _ban_event(
                    pipe, "player.unbanned", stored, to_ms(engine.clock.now()), extended=False
                )
        return field.decode() if in_force else None

    lifted_field = engine.redis.transaction(attempt, record, index, value_from_callable=True)
    _changed(engine)
    if lifted_field is not None:
        _reinstate_duplicate(engine, kind, index, lifted_field)


def _reinstate_duplicate(engine: Engine, kind: str, index: str, field: str) -> None:
    """Put back in force a ban of the same target that an earlier version stored beside
    the one just lifted (it kept one index entry for both), so that no ban is listed and
    not enforced. The one that expires last is chosen; others follow as each is lifted.
    For a player it is announced (`player.banned`) after the lift's `player.unbanned`.
    """
    ids = [b.decode() for b in engine.redis.zrange(keys.bans_index(), 0, -1)]
    pipe = engine.redis.pipeline(transaction=False)
    for ban_id in ids:
        pipe.hmget(keys.ban(ban_id), "kind", "field", "expires_at")
    now_ms = to_ms(engine.clock.now())
    duplicates = [
        (ban_id, int(expires))
        for ban_id, (stored_kind, stored_field, expires) in zip(ids, pipe.execute(), strict=True)
        if stored_kind is not None
        and stored_kind.decode() == kind
        and stored_field.decode() == field
        and (int(expires) == 0 or int(expires) > now_ms)
    ]
    if not duplicates:
        return
    ban_id, expires = max(duplicates, key=lambda found: found[1] or float("inf"))

    def attempt(pipe: Pipeline) -> None:
        if pipe.hexists(index, field):
            return  # a new ban of the target came first
        reinstated = _decode(ban_id, pipe.hgetall(keys.ban(ban_id)))
        if reinstated is None:
            return  # lifted meanwhile
        pipe.multi()
        pipe.hset(index, field, f"{ban_id}|{expires}")
        log_change(pipe, kind, field, f"{ban_id}|{expires}")
        if kind == "player":  # the lift just announced an unban: the player is banned
            _ban_event(pipe, "player.banned", reinstated, now_ms, extended=False)

    engine.redis.transaction(attempt, index, keys.ban(ban_id))
    _changed(engine)


def active_ban(engine: Engine, player_id: str | None, address: IpAddress | None) -> Ban | None:
    """The ban that stops this request, if any: one round trip."""
    if player_id is None and address is None:
        return None
    pipe = engine.redis.pipeline(transaction=False)
    if player_id is not None:
        pipe.hget(keys.player_bans(), player_id)
    if address is not None:
        pipe.hmget(keys.ip_bans(), candidate_fields(address))
    replies = pipe.execute()
    entries = []
    if player_id is not None:
        entries.append(replies.pop(0))
    if address is not None:
        entries.extend(replies.pop(0))
    now_ms = to_ms(engine.clock.now())
    for entry in entries:
        in_force = entry_in_force(entry, now_ms)
        if in_force is not None:
            found = load(engine, [in_force[0]])
            if found:
                return found[0]
    return None


def purge_expired(engine: Engine) -> int:
    """Remove the bans expired by the engine clock (the weekly cleanup); how many.

    Each index entry goes in a watched MULTI, logged like every change of the indexes
    so that every process's copy drops it, with its record and its place in the
    listing; then the records of expired bans no entry points at (replaced by a later
    ban). Records have no Redis expiry: Redis counts real time and a ban engine time,
    so under a QA clock moved back a record Redis expired left its ban in force,
    unlisted and impossible to lift.
    """
    now_ms = to_ms(engine.clock.now())
    removed = 0
    for kind, index in (("ip", keys.ip_bans()), ("player", keys.player_bans())):
        for field, entry in engine.redis.hgetall(index).items():
            if entry_in_force(entry, now_ms) is None:
                removed += _purge_entry(engine, kind, index, field.decode(), entry)
    ids = [b.decode() for b in engine.redis.zrange(keys.bans_index(), 0, -1)]
    pipe = engine.redis.pipeline(transaction=False)
    for ban_id in ids:
        pipe.hget(keys.ban(ban_id), "expires_at")
    for ban_id, expires in zip(ids, pipe.execute(), strict=True):
        expired = expires is not None and 0 < int(expires) <= now_ms
        if expires is None or expired:  # gone (an earlier version's expiry) or expired
            engine.redis.delete(keys.ban(ban_id))
            engine.redis.zrem(keys.bans_index(), ban_id)
            removed += expired
    _changed(engine)
    return removed


def _purge_entry(engine: Engine, kind: str, index: str, field: str, entry: bytes) -> int:
    """Remove an expired index entry and its ban, unless it changed meanwhile; 1 or 0."""
    ban_id = entry.decode().split("|")[0]

    def attempt(pipe: Pipeline) -> int:
        if pipe.hget(index, field) != entry:
            return 0  # a new ban of the target, or a lift, came first
        pipe.multi()
        pipe.hdel(index, field)
        log_change(pipe, kind, field, "")
        pipe.delete(keys.ban(ban_id))
        pipe.zrem(keys.bans_index(), ban_id)
        return 1

    return engine.redis.transaction(attempt, index, value_from_callable=True)
